package report

import (
	"fmt"
	"slices"
	"strings"
)

// Diff explains how a later report (typically recomputed today) differs from an
// earlier one (typically frozen in an attestation) for the same entity and period.
type Diff struct {
	Same bool `json:"same"` // nothing that counts changed
	// Context says what changed around the numbers: the measure-logic version, the
	// period, how far the log had been read.
	Context  []string      `json:"context,omitempty"`
	Outcome  []string      `json:"outcome,omitempty"` // pass and score changes
	Measures []MeasureDiff `json:"measures,omitempty"`
}

// MeasureDiff is what changed in one measure.
type MeasureDiff struct {
	ID      string   `json:"id"`
	Changes []string `json:"changes"`           // numbers, status, points
	Members []Change `json:"members,omitempty"` // patients (or objects) whose place changed
}

// Change is one member whose place in a measure changed, and why we think it did.
type Change struct {
	PatientID string `json:"patient_id"`
	Object    string `json:"object,omitempty"`
	Before    string `json:"before"` // "numerator", "denominator only", "out", "absent"
	After     string `json:"after"`
	// Cause: "late event" (the member appears only in the later report, from inputs
	// recorded after the earlier positions), "correction" (the deciding input
	// changed), "retraction" (the inputs that counted it are gone), "logic" (same
	// inputs, different measure logic).
	Cause  string `json:"cause"`
	Detail string `json:"detail"`
}

// Compare explains how later differs from earlier, measure by measure and member by
// member. It never fails: reports for different entities or periods compare too, and
// the context says so first.
func Compare(earlier, later Report) Diff {
	var d Diff
	logicChanged := earlier.LogicVersion != later.LogicVersion
	if logicChanged {
		d.Context = append(d.Context, fmt.Sprintf("measure logic changed from %s to %s", earlier.LogicVersion, later.LogicVersion))
	}
	if earlier.Entity != later.Entity || earlier.Period != later.Period || earlier.Program != later.Program || earlier.Year != later.Year {
		d.Context = append(d.Context, fmt.Sprintf("different report: %s %s %d %s..%s vs %s %s %d %s..%s",
			earlier.Entity, earlier.Program, earlier.Year, earlier.Period.From, earlier.Period.To,
			later.Entity, later.Program, later.Year, later.Period.From, later.Period.To))
	}
	d.Context = append(d.Context, positionChanges(earlier.Positions, later.Positions)...)
	if !earlier.DataAsOf.Equal(later.DataAsOf) {
		d.Context = append(d.Context, fmt.Sprintf("data current as of %s, then %s",
			earlier.DataAsOf.Format("2006-01-02T15:04:05Z"), later.DataAsOf.Format("2006-01-02T15:04:05Z")))
	}
	if earlier.Pass != later.Pass {
		d.Outcome = append(d.Outcome, fmt.Sprintf("outcome changed: pass %t → %t", earlier.Pass, later.Pass))
	}
	if es, ls := scoreText(earlier), scoreText(later); es != ls {
		d.Outcome = append(d.Outcome, fmt.Sprintf("score changed: %s → %s", es, ls))
	}
	for _, lm := range later.Measures {
		em, _ := earlier.Measure(lm.ID)
		if md := compareMeasure(em, lm, logicChanged); len(md.Changes) > 0 || len(md.Members) > 0 {
			d.Measures = append(d.Measures, md)
		}
	}
	for _, em := range earlier.Measures {
		if _, ok := later.Measure(em.ID); !ok {
			d.Measures = append(d.Measures, MeasureDiff{ID: em.ID, Changes: []string{"measure no longer in the report"}})
		}
	}
	d.Same = len(d.Outcome) == 0 && len(d.Measures) == 0
	return d
}

func scoreText(r Report) string {
	if r.Score == nil {
		return "none"
	}
	return fmt.Sprintf("%d of %d", r.Score.Total, r.Score.Max)
}

func positionChanges(before, after []Position) []string {
	var out []string
	for _, a := range after {
		i := slices.IndexFunc(before, func(b Position) bool { return b.Topic == a.Topic && b.Partition == a.Partition })
		switch {
		case i < 0:
			out = append(out, fmt.Sprintf("%s/%d read to offset %d (not read before)", a.Topic, a.Partition, a.Offset))
		case before[i].Offset != a.Offset:
			out = append(out, fmt.Sprintf("%s/%d read to offset %d, was %d (%+d events)",
				a.Topic, a.Partition, a.Offset, before[i].Offset, a.Offset-before[i].Offset))
		}
	}
	return out
}

func compareMeasure(em, lm Measure, logicChanged bool) MeasureDiff {
	md := MeasureDiff{ID: lm.ID}
	if em.ID == "" {
		md.Changes = append(md.Changes, "measure not in the earlier report")
		return md
	}
	if em.Numerator != lm.Numerator || em.Denominator != lm.Denominator {
		md.Changes = append(md.Changes, fmt.Sprintf("numbers %d/%d → %d/%d", em.Numerator, em.Denominator, lm.Numerator, lm.Denominator))
	}
	if !equalAnswer(em.Answer, lm.Answer) || em.Exclusion != lm.Exclusion {
		md.Changes = append(md.Changes, fmt.Sprintf("answer %s → %s", answerText(em), answerText(lm)))
	}
	if em.Status != lm.Status {
		md.Changes = append(md.Changes, fmt.Sprintf("status %s → %s (%s)", em.Status, lm.Status, lm.Reason))
	}
	if em.Points != lm.Points {
		md.Changes = append(md.Changes, fmt.Sprintf("points %d → %d", em.Points, lm.Points))
	}
	md.Members = compareMembers(em.Members, lm.Members, logicChanged)
	return md
}

func equalAnswer(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func answerText(m Measure) string {
	switch {
	case m.Exclusion != "":
		return "exclusion " + m.Exclusion
	case m.Answer == nil:
		return "none"
	case *m.Answer:
		return "yes"
	}
	return "no"
}

type memberKey struct{ patient, object string }

func place(m *Member) string {
	switch {
	case m == nil:
		return "absent"
	case m.InNumerator:
		return "numerator"
	case m.InDenominator:
		return "denominator only"
	}
	return "out"
}

// compareMembers lists the members whose place changed, in the later list's order
// and then the earlier list's.
func compareMembers(before, after []Member, logicChanged bool) []Change {
	if len(before) == 0 && len(after) == 0 {
		return nil
	}
	old := make(map[memberKey]*Member, len(before))
	for i := range before {
		old[memberKey{before[i].PatientID, before[i].Object}] = &before[i]
	}
	seen := make(map[memberKey]bool, len(after))
	var out []Change
	for i := range after {
		a := &after[i]
		k := memberKey{a.PatientID, a.Object}
		seen[k] = true
		b := old[k]
		if b != nil && place(b) == place(a) {
			continue
		}
		out = append(out, explain(b, a, logicChanged))
	}
	for i := range before {
		b := &before[i]
		if !seen[memberKey{b.PatientID, b.Object}] {
			out = append(out, explain(b, nil, logicChanged))
		}
	}
	return out
}

// explain names the likely cause of one member's move from its earlier to its later
// place, from the reasons both reports recorded.
func explain(b, a *Member, logicChanged bool) Change {
	c := Change{Before: place(b), After: place(a)}
	ref := a
	if ref == nil {
		ref = b
	}
	c.PatientID, c.Object = ref.PatientID, ref.Object
	switch {
	case b == nil:
		c.Cause = "late event"
		c.Detail = "first counted from " + reasonText(a)
	case a == nil:
		c.Cause = "retraction"
		c.Detail = "the inputs that counted it are gone (was " + reasonText(b) + ")"
	case deciding(b) != deciding(a):
		c.Cause = "correction"
		c.Detail = fmt.Sprintf("deciding input %s → %s", reasonText(b), reasonText(a))
	case logicChanged:
		c.Cause = "logic"
		c.Detail = "same inputs, different measure logic: " + reasonText(a)
	default:
		c.Cause = "correction"
		c.Detail = reasonText(a)
	}
	return c
}

// deciding is the input that decided a member's last step: the numerator's when it
// got that far, else the denominator's.
func deciding(m *Member) string {
	if m.Numerator.Code != "" {
		return m.Numerator.Code + ":" + m.Numerator.Ref
	}
	return m.Denominator.Code + ":" + m.Denominator.Ref
}

func reasonText(m *Member) string {
	r := m.Denominator
	if m.Numerator.Code != "" {
		r = m.Numerator
	}
	parts := []string{r.Code}
	if r.Ref != "" {
		parts = append(parts, r.Ref)
	}
	if !r.At.IsZero() {
		parts = append(parts, r.At.UTC().Format("2006-01-02"))
	}
	if r.Note != "" {
		parts = append(parts, r.Note)
	}
	return strings.Join(parts, " ")
}
