package measure

import (
	"fmt"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
)

// Check decides a yes/no measure from the entity's attestations.
type Check interface {
	// answer decides the measure for the period from the attestations about it.
	answer(s *scope, atts []Attestation) Reason
}

// Attestation is a recorded yes/no fact about an entity: an attestation answered, a
// security risk analysis done, a function enabled for a span of time, a registry
// engagement reached.
type Attestation struct {
	ID        string
	MeasureID string    // the measure it answers
	Yes       bool      // the answer given
	At        time.Time // when it was done or answered; for an enabled function, since when
	Until     time.Time // for an enabled function, until when; zero while still enabled
}

// Answered is a yes/no measure decided for an entity and period.
type Answered struct {
	MeasureID string
	Yes       bool
	Reason    Reason
}

// Answer decides yes/no measure m for entity e and period p from the entity's
// attestations (the caller passes those of e; others are ignored by measure ID only).
func Answer(m Measure, e contract.Entity, p Period, atts []Attestation, o Options) (Answered, error) {
	if m.Kind != YesNo || m.Check == nil {
		return Answered{}, errs.Field(errs.Invalid, "measure", "%s is not a yes/no measure", m.ID)
	}
	s, err := newScope(m, e, p, o)
	if err != nil {
		return Answered{}, err
	}
	var mine []Attestation
	for _, a := range atts {
		if a.MeasureID == m.ID {
			mine = append(mine, a)
		}
	}
	why := m.Check.answer(s, mine)
	return Answered{MeasureID: m.ID, Yes: why.Code == Met, Reason: why}, nil
}

// Attest is a yes/no measure answered as attested: the latest answer given in the
// reporting year counts.
type Attest struct{}

func (Attest) answer(s *scope, atts []Attestation) Reason {
	var last *Attestation
	for i := range atts {
		a := &atts[i]
		if last == nil || a.At.After(last.At) {
			last = a
		}
	}
	switch {
	case last == nil:
		return Reason{Code: Missing, Note: "not attested"}
	case !last.Yes:
		return Reason{Code: Missing, Ref: last.ID, At: last.At, Note: "attested no"}
	}
	return Reason{Code: Met, Ref: last.ID, At: last.At, Note: "attested yes"}
}

// DoneInYear is a yes/no measure met by an action done within the calendar year of
// the period, before or after the period (the security risk analysis: CMS and the
// ONC general notes).
type DoneInYear struct{}

func (DoneInYear) answer(s *scope, atts []Attestation) Reason {
	jan1 := time.Date(s.year, time.January, 1, 0, 0, 0, 0, s.cal.Location())
	for _, a := range atts {
		if a.Yes && !a.At.Before(jan1) && a.At.Before(jan1.AddDate(1, 0, 0)) {
			return Reason{Code: Met, Ref: a.ID, At: a.At, Note: fmt.Sprintf("done on %s, in %d", s.day(a.At), s.year)}
		}
	}
	return Reason{Code: Missing, Note: fmt.Sprintf("not done in calendar year %d", s.year)}
}

// EnabledThroughout is a yes/no measure met by a function enabled for the whole
// period (clinical decision support, drug-drug and drug-allergy checks): one enabled
// span must cover every day of it.
type EnabledThroughout struct{}

func (EnabledThroughout) answer(s *scope, atts []Attestation) Reason {
	for _, a := range atts {
		if a.Yes && !a.At.After(s.from) && (a.Until.IsZero() || !a.Until.Before(s.to)) {
			return Reason{Code: Met, Ref: a.ID, At: a.At, Note: "enabled since " + s.day(a.At) + ", for the whole period"}
		}
	}
	return Reason{Code: Missing, Note: "not enabled for the whole period"}
}
