package report

import (
	"fmt"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// Input is what a report is built from: who, which program, year and period, the
// numbers and lists per measure, the money already computed, and the provenance.
type Input struct {
	Program      rulebook.Program
	Year         int
	Entity       contract.Entity
	EntityType   rulebook.EntityType
	Period       Period
	FirstYear    bool
	CEHRTID      string
	GeneratedAt  time.Time
	DataAsOf     time.Time
	LogicVersion string
	Positions    []Position
	Measures     map[string]MeasureInput // by measure ID
	Money        *Money
	Incentive    *Money
}

// MeasureInput is one measure's reported numbers (or answer, or exclusion) and the
// members behind them.
type MeasureInput struct {
	rulebook.MeasureInput
	// Engagement is a public health measure's active-engagement level, which QPP
	// submissions carry from 2023 as a separate measure (PI_PHCDRR_1_PROD).
	Engagement Engagement
	Members    []Member
}

// Build evaluates the input with the rule book and returns the report. Bad input is
// an errs error naming the field: an unknown program, year or entity type, an
// entity of the wrong kind for its type, a malformed period or one the program's
// period rule does not allow, the rule book's refusals (see rulebook.Evaluate), and
// member lists whose counts differ from the numbers they explain.
func Build(in Input) (Report, error) {
	if err := checkInput(in); err != nil {
		return Report{}, err
	}
	book, err := rulebook.Lookup(in.Program, in.Year, in.EntityType)
	if err != nil {
		return Report{}, err
	}
	from, to, err := parsePeriod(in.Period)
	if err != nil {
		return Report{}, err
	}
	rin := rulebook.Input{Period: &rulebook.Period{From: from, To: to}, FirstYear: in.FirstYear,
		Measures: make(map[string]rulebook.MeasureInput, len(in.Measures))}
	for id, mi := range in.Measures {
		rin.Measures[id] = mi.MeasureInput
	}
	res, err := rulebook.Evaluate(book, rin)
	if err != nil {
		return Report{}, err
	}
	r := Report{
		Program: in.Program, Year: in.Year, Entity: in.Entity, EntityType: in.EntityType, Period: in.Period,
		FirstYear: in.FirstYear, CEHRTID: in.CEHRTID, GeneratedAt: in.GeneratedAt.UTC(), DataAsOf: in.DataAsOf.UTC(),
		LogicVersion: in.LogicVersion, Positions: slices.Clone(in.Positions),
		Objectives: res.Objectives, Score: res.Score, Pass: res.Pass, Failures: res.Failures, Steps: res.Steps,
		Notes: res.Notes, Money: in.Money, Incentive: in.Incentive,
	}
	for _, mr := range res.Measures {
		bm, _ := book.Measure(mr.ID) // every result is a book measure
		mi, sent := in.Measures[mr.ID]
		m := Measure{Reported: sent,
			ID: mr.ID, Title: mr.Title, Objective: mr.Objective, Kind: kindOf(bm.Kind), Role: mr.Role,
			Numerator: mi.Numerator, Denominator: mi.Denominator, Answer: mi.Answer, Exclusion: mi.Exclusion,
			Volume: mi.Volume, Engagement: mi.Engagement, Status: mr.Status, Reason: mr.Reason, Percent: mr.Percent, Threshold: mr.Threshold,
			MaxPoints: mr.MaxPoints, Points: mr.Points, Formula: mr.Formula, Members: mi.Members,
		}
		if err := checkEngagement(m); err != nil {
			return Report{}, err
		}
		if err := checkMembers(m); err != nil {
			return Report{}, err
		}
		r.Measures = append(r.Measures, m)
	}
	return r, nil
}

func kindOf(k rulebook.Kind) Kind {
	if k == rulebook.YesNo {
		return YesNo
	}
	return Proportion
}

// Input returns what the report was built from, so that Build(r.Input()) recomputes it.
func (r Report) Input() Input {
	in := Input{
		Program: r.Program, Year: r.Year, Entity: r.Entity, EntityType: r.EntityType, Period: r.Period,
		FirstYear: r.FirstYear, CEHRTID: r.CEHRTID, GeneratedAt: r.GeneratedAt, DataAsOf: r.DataAsOf,
		LogicVersion: r.LogicVersion, Positions: r.Positions, Money: r.Money, Incentive: r.Incentive,
		Measures: make(map[string]MeasureInput, len(r.Measures)),
	}
	for _, m := range r.Measures {
		if !m.Reported {
			continue
		}
		in.Measures[m.ID] = MeasureInput{MeasureInput: rulebook.MeasureInput{
			Numerator: m.Numerator, Denominator: m.Denominator, Answer: m.Answer, Exclusion: m.Exclusion, Volume: m.Volume,
		}, Engagement: m.Engagement, Members: m.Members}
	}
	return in
}

// Check verifies a report that arrived from outside: its inputs must be valid (as
// for Build) and its verdicts must be the rule book's. A verdict that differs is an
// errs.Unprocessable error naming the field ("measures[2].status").
func Check(r Report) error {
	for i, m := range r.Measures {
		if m.ID == "" {
			return errs.Field(errs.Invalid, fmt.Sprintf("measures[%d].id", i), "required")
		}
	}
	for i, m := range r.Measures {
		if slices.IndexFunc(r.Measures[:i], func(o Measure) bool { return o.ID == m.ID }) >= 0 {
			return errs.Field(errs.Invalid, fmt.Sprintf("measures[%d].id", i), "measure %s appears twice", m.ID)
		}
	}
	want, err := Build(r.Input())
	if err != nil {
		return err
	}
	for _, w := range want.Measures {
		i := slices.IndexFunc(r.Measures, func(m Measure) bool { return m.ID == w.ID })
		switch {
		case i < 0 && w.Reported:
			return errs.Field(errs.Unprocessable, "measures", "measure %s is missing", w.ID)
		case i < 0:
			continue
		}
		got, field := r.Measures[i], fmt.Sprintf("measures[%d]", i)
		switch {
		case got.Status != w.Status:
			return mismatch(field+".status", string(w.Status), string(got.Status))
		case got.Points != w.Points:
			return mismatch(field+".points", fmt.Sprint(w.Points), fmt.Sprint(got.Points))
		case got.Percent != w.Percent:
			return mismatch(field+".percent", w.Percent, got.Percent)
		}
	}
	if r.Pass != want.Pass {
		return mismatch("pass", fmt.Sprint(want.Pass), fmt.Sprint(r.Pass))
	}
	if (r.Score == nil) != (want.Score == nil) || r.Score != nil && *r.Score != *want.Score {
		// The message shows the totals; a difference elsewhere (sum, weighted) shows as equal totals.
		return mismatch("score", scoreText(want), scoreText(r))
	}
	for i, m := range r.Measures {
		if _, ok := want.Measure(m.ID); !ok {
			return errs.Field(errs.Invalid, fmt.Sprintf("measures[%d].id", i), "not a measure of %s %d for %s", r.Program, r.Year, r.EntityType)
		}
	}
	return nil
}

func mismatch(field, want, got string) error {
	return errs.Field(errs.Unprocessable, field, "the rule book gives %s, the report says %s", want, got)
}

func checkInput(in Input) error {
	if err := ident.CheckEntity(in.Entity); err != nil {
		return err
	}
	want := map[string][]rulebook.EntityType{
		contract.EntityNPI:    {rulebook.EP},
		contract.EntityTINNPI: {rulebook.EP},
		contract.EntityTIN:    {rulebook.Group},
		contract.EntityCCN:    {rulebook.EH, rulebook.CAH},
	}[in.Entity.Kind]
	if !slices.Contains(want, in.EntityType) {
		return errs.Field(errs.Invalid, "entity_type", "a %s entity reports as %v", in.Entity.Kind, want)
	}
	if in.GeneratedAt.IsZero() {
		return errs.Field(errs.Invalid, "generated_at", "required")
	}
	if in.DataAsOf.After(in.GeneratedAt) {
		return errs.Field(errs.Invalid, "data_as_of", "is after generated_at")
	}
	if in.LogicVersion == "" {
		return errs.Field(errs.Invalid, "logic_version", "required")
	}
	for i, p := range in.Positions {
		if p.Topic == "" || p.Partition < 0 || p.Offset < 0 {
			return errs.Field(errs.Invalid, fmt.Sprintf("positions[%d]", i), "needs a topic, a partition ≥ 0 and an offset ≥ 0")
		}
	}
	return nil
}

func parsePeriod(p Period) (time.Time, time.Time, error) {
	from, err := time.Parse(time.DateOnly, p.From)
	if err != nil {
		return time.Time{}, time.Time{}, errs.Field(errs.Invalid, "period.from", "not a date in YYYY-MM-DD form")
	}
	to, err := time.Parse(time.DateOnly, p.To)
	if err != nil {
		return time.Time{}, time.Time{}, errs.Field(errs.Invalid, "period.to", "not a date in YYYY-MM-DD form")
	}
	return from, to, nil
}

func checkEngagement(m Measure) error {
	switch {
	case m.Engagement == "":
		return nil
	case m.Engagement != PreProduction && m.Engagement != Production:
		return errs.Field(errs.Invalid, "measures."+m.ID+".engagement", "must be %s or %s", PreProduction, Production)
	case m.Kind != YesNo || m.Answer == nil || !*m.Answer:
		return errs.Field(errs.Invalid, "measures."+m.ID+".engagement", "only a yes/no measure answered yes has an engagement level")
	}
	return nil
}

// checkMembers checks that a measure's list explains its numbers: as many members
// in the denominator as the denominator, as many in the numerator as the numerator,
// and none in the numerator that is not in the denominator.
func checkMembers(m Measure) error {
	if len(m.Members) == 0 {
		return nil
	}
	field := "measures." + m.ID + ".members"
	if m.Kind != Proportion || m.Exclusion != "" {
		return errs.Field(errs.Invalid, field, "only a reported proportion measure has members")
	}
	var num, den int64
	for i, mb := range m.Members {
		if mb.PatientID == "" {
			return errs.Field(errs.Invalid, fmt.Sprintf("%s[%d].patient_id", field, i), "required")
		}
		if mb.InNumerator && !mb.InDenominator {
			return errs.Field(errs.Invalid, fmt.Sprintf("%s[%d].in_numerator", field, i), "a member outside the denominator cannot be in the numerator")
		}
		if mb.InDenominator {
			den++
		}
		if mb.InNumerator {
			num++
		}
	}
	if den != m.Denominator || num != m.Numerator {
		return errs.Field(errs.Invalid, field, "the list has %d in the numerator and %d in the denominator; the measure says %d/%d",
			num, den, m.Numerator, m.Denominator)
	}
	return nil
}
