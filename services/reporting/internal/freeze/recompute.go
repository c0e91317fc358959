package freeze

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/services/reporting/internal/facts"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
	"github.com/attest-ehr/attest/services/reporting/internal/reports"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// Difference is one value that differs between two reports.
type Difference struct {
	Measure string `json:"measure,omitempty"` // "" for the report as a whole
	Field   string `json:"field"`
	Frozen  string `json:"frozen"`
	Other   string `json:"other"` // recomputed, or today's
}

// Recomputed is the answer to a recompute.
type Recomputed struct {
	ID        string            `json:"id"`
	Equal     bool              `json:"equal"`
	Positions []report.Position `json:"positions"` // the positions recomputed at (the attestation's)
	// EventsRead is how many events were read from the log; Facts how many facts the
	// rebuilt state holds.
	EventsRead   int          `json:"events_read"`
	Facts        int          `json:"facts"`
	LogicVersion string       `json:"logic_version"` // the logic recomputed with
	FrozenLogic  string       `json:"frozen_logic_version"`
	Differences  []Difference `json:"differences"`
}

// Recompute rebuilds the facts from the log up to the attestation's positions,
// recounts its report, and compares every number, verdict and patient list.
func (f *Freezer) Recompute(ctx context.Context, id string) (Recomputed, error) {
	p, err := f.open(ctx, id)
	if err != nil {
		return Recomputed{}, err
	}
	q, err := query(p)
	if err != nil {
		return Recomputed{}, err
	}
	mem := facts.NewMemory()
	read, err := f.replay(ctx, p.Report.Positions, nil, func(_ event.Event, c facts.Change, before bool) {
		if before {
			mem.Apply(c)
		}
	})
	if err != nil {
		return Recomputed{}, err
	}
	positions := make([]facts.Position, 0, len(p.Report.Positions))
	for _, x := range p.Report.Positions {
		positions = append(positions, facts.Position{Topic: x.Topic, Partition: x.Partition, Offset: x.Offset})
	}
	c, err := f.reports.Computer().Compute(ctx, mem, q, positions, p.Report.DataAsOf)
	if err != nil {
		return Recomputed{}, err
	}
	diffs := compare(p.Report, c.Report)
	return Recomputed{ID: p.ID, Equal: len(diffs) == 0, Positions: p.Report.Positions, EventsRead: read, Facts: mem.Len(),
		LogicVersion: reports.LogicVersion, FrozenLogic: p.Report.LogicVersion, Differences: diffs}, nil
}

// compare lists what differs between a frozen report and another computation of it:
// per measure whether and how it was reported, the numbers, the verdict and points,
// and the members; overall the score and pass.
func compare(frozen, other report.Report) []Difference {
	diffs := []Difference{}
	add := func(m, field string, a, b any) {
		if sa, sb := fmt.Sprint(a), fmt.Sprint(b); sa != sb {
			diffs = append(diffs, Difference{Measure: m, Field: field, Frozen: sa, Other: sb})
		}
	}
	for _, fm := range frozen.Measures {
		om, ok := other.Measure(fm.ID)
		if !ok {
			add(fm.ID, "measure", "present", "absent")
			continue
		}
		add(fm.ID, "reported", fm.Reported, om.Reported)
		add(fm.ID, "numerator", fm.Numerator, om.Numerator)
		add(fm.ID, "denominator", fm.Denominator, om.Denominator)
		add(fm.ID, "answer", answer(fm.Answer), answer(om.Answer))
		add(fm.ID, "exclusion", fm.Exclusion, om.Exclusion)
		add(fm.ID, "status", fm.Status, om.Status)
		add(fm.ID, "points", fm.Points, om.Points)
		if in, out := memberChanges(fm.Members, om.Members); in+out > 0 {
			diffs = append(diffs, Difference{Measure: fm.ID, Field: "members",
				Frozen: fmt.Sprintf("%d members", len(fm.Members)),
				Other:  fmt.Sprintf("%d members: %d not in the frozen list, %d of it missing or decided otherwise", len(om.Members), in, out)})
		}
	}
	for _, om := range other.Measures {
		if _, ok := frozen.Measure(om.ID); !ok {
			add(om.ID, "measure", "absent", "present")
		}
	}
	add("", "pass", frozen.Pass, other.Pass)
	add("", "score", score(frozen.Score), score(other.Score))
	return diffs
}

func answer(a *bool) string {
	if a == nil {
		return "-"
	}
	return fmt.Sprint(*a)
}

func score(s *rulebook.Score) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%d of %d (sum %d)", s.Total, s.Max, s.Sum)
}

// memberKey is a member and how it was decided: a change of any of these is a change.
func memberKey(m report.Member) string {
	return strings.Join([]string{m.PatientID, m.Object, fmt.Sprint(m.InDenominator, m.InNumerator), m.Denominator.Code,
		m.Denominator.Ref, m.Denominator.At.UTC().String(), m.Numerator.Code, m.Numerator.Ref, m.Numerator.At.UTC().String(), m.Via}, "\x00")
}

// memberChanges counts the members of b not in a (added) and of a not in b (removed).
func memberChanges(a, b []report.Member) (added, removed int) {
	ka := make(map[string]bool, len(a))
	for _, m := range a {
		ka[memberKey(m)] = true
	}
	kb := make(map[string]bool, len(b))
	for _, m := range b {
		kb[memberKey(m)] = true
		if !ka[memberKey(m)] {
			added++
		}
	}
	for k := range ka {
		if !kb[k] {
			removed++
		}
	}
	return added, removed
}

// MeasureChange is one measure of a diff: its frozen and current numbers and why they
// differ.
type MeasureChange struct {
	Measure string  `json:"measure"`
	Changed bool    `json:"changed"`
	Frozen  Numbers `json:"frozen"`
	Today   Numbers `json:"today"`
	// LateFacts are facts asserted by events after the freeze positions (late events or
	// new activity); Retracted are facts retracted after them (corrections, deletions).
	LateFacts      int `json:"late_facts"`
	RetractedFacts int `json:"retracted_facts"`
	// YesNoChanges are attestation or registry-engagement events after the freeze.
	YesNoChanges int      `json:"yes_no_changes,omitempty"`
	MembersAdded int      `json:"members_added"`
	MembersGone  int      `json:"members_removed"`
	Explanation  []string `json:"explanation"`
}

// Numbers are one measure's numbers and verdict.
type Numbers struct {
	Reported    bool   `json:"reported"`
	Numerator   int64  `json:"numerator"`
	Denominator int64  `json:"denominator"`
	Answer      *bool  `json:"answer,omitempty"`
	Exclusion   string `json:"exclusion,omitempty"`
	Status      string `json:"status"`
	Points      int64  `json:"points"`
}

func numbers(m report.Measure) Numbers {
	return Numbers{Reported: m.Reported, Numerator: m.Numerator, Denominator: m.Denominator, Answer: m.Answer,
		Exclusion: m.Exclusion, Status: string(m.Status), Points: m.Points}
}

// Diffed is a frozen report against today's numbers.
type Diffed struct {
	ID                  string            `json:"id"`
	Changed             bool              `json:"changed"`
	FrozenPositions     []report.Position `json:"frozen_positions"`
	TodayPositions      []report.Position `json:"today_positions"`
	FrozenLogicVersion  string            `json:"frozen_logic_version"`
	CurrentLogicVersion string            `json:"current_logic_version"`
	Measures            []MeasureChange   `json:"measures"`
	Overall             []Difference      `json:"overall"` // pass and score
	Explanation         []string          `json:"explanation"`
	// Comparison is report.Compare of the two reports without its per-member
	// changes: their patient IDs are drill-down, served by the PHI-guarded routes.
	Comparison report.Diff `json:"comparison"`
}

// Diff compares a frozen report with the same report computed from today's facts (the
// same period, as_of and options), and explains per measure what changed: facts
// asserted or retracted by events after the freeze positions, yes/no inputs changed,
// members added or removed, the logic version.
func (f *Freezer) Diff(ctx context.Context, id string) (Diffed, error) {
	p, err := f.open(ctx, id)
	if err != nil {
		return Diffed{}, err
	}
	q, err := query(p)
	if err != nil {
		return Diffed{}, err
	}
	today, err := f.reports.Report(ctx, q)
	if err != nil {
		return Diffed{}, err
	}
	frozen := p.Report
	// Which catalog measure each rule-book measure of the report counts.
	byCatalog := map[string]string{}
	for _, m := range frozen.Measures {
		byCatalog[rulebook.CatalogID(q.Program, q.EntityType, m.ID)] = m.ID
	}
	late, retracted := map[string]int{}, map[string]int{}
	yesNo := 0
	scope := []contract.Entity{q.Entity}
	if q.Entity.Kind == contract.EntityTINNPI {
		tin, _, _ := strings.Cut(q.Entity.ID, "/")
		scope = append(scope, contract.Entity{Kind: contract.EntityTIN, ID: tin})
	}
	_, err = f.replay(ctx, frozen.Positions, today.Report.Positions, func(_ event.Event, c facts.Change, before bool) {
		if before {
			return
		}
		switch c.Op {
		case facts.AssertFact, facts.RetractFact:
			id, ok := byCatalog[c.Fact.Measure]
			if !ok || c.Fact.Year != q.Year || c.Fact.Program != reports.CatalogProgram(q.Program) || !facts.Belongs(c.Fact.Entity, q.Entity) {
				return
			}
			if c.Op == facts.AssertFact {
				late[id]++
			} else {
				retracted[id]++
			}
		default:
			if slices.Contains(scope, c.Entity) {
				yesNo++
			}
		}
	})
	if err != nil {
		return Diffed{}, err
	}
	out := Diffed{ID: p.ID, FrozenPositions: frozen.Positions, TodayPositions: today.Report.Positions,
		FrozenLogicVersion: frozen.LogicVersion, CurrentLogicVersion: reports.LogicVersion, Measures: []MeasureChange{},
		Explanation: []string{}}
	if frozen.LogicVersion != reports.LogicVersion {
		out.Explanation = append(out.Explanation, fmt.Sprintf("the measure logic changed: frozen with %s, today %s",
			frozen.LogicVersion, reports.LogicVersion))
	}
	for _, fm := range frozen.Measures {
		tm, _ := today.Report.Measure(fm.ID)
		mc := MeasureChange{Measure: fm.ID, Frozen: numbers(fm), Today: numbers(tm), LateFacts: late[fm.ID],
			RetractedFacts: retracted[fm.ID], Explanation: []string{}}
		mc.Changed = !sameAnswer(mc.Frozen, mc.Today)
		if fm.Kind == report.YesNo {
			mc.YesNoChanges = yesNo
		}
		mc.MembersAdded, mc.MembersGone = memberChanges(fm.Members, tm.Members)
		mc.Changed = mc.Changed || mc.MembersAdded+mc.MembersGone > 0
		if mc.LateFacts > 0 {
			mc.Explanation = append(mc.Explanation, fmt.Sprintf("%d facts asserted by events after the freeze (late events or new activity)", mc.LateFacts))
		}
		if mc.RetractedFacts > 0 {
			mc.Explanation = append(mc.Explanation, fmt.Sprintf("%d facts retracted after the freeze (corrections or deletions of inputs)", mc.RetractedFacts))
		}
		if mc.YesNoChanges > 0 {
			mc.Explanation = append(mc.Explanation, fmt.Sprintf("%d attestation or registry-engagement events about the entity after the freeze", mc.YesNoChanges))
		}
		if mc.Changed && len(mc.Explanation) == 0 {
			mc.Explanation = append(mc.Explanation, "no event after the freeze touches this measure: the change comes from the measure logic")
		}
		if mc.MembersAdded+mc.MembersGone > 0 {
			mc.Explanation = append(mc.Explanation, fmt.Sprintf("%d members added or decided otherwise, %d removed or decided otherwise",
				mc.MembersAdded, mc.MembersGone))
		}
		out.Changed = out.Changed || mc.Changed
		out.Measures = append(out.Measures, mc)
	}
	out.Overall = []Difference{}
	for _, d := range compare(frozen, today.Report) {
		if d.Measure == "" {
			out.Overall = append(out.Overall, d)
			out.Changed = true
		}
	}
	if !out.Changed {
		out.Explanation = append(out.Explanation, "today's numbers are the frozen ones")
	}
	out.Comparison = report.Compare(frozen, today.Report)
	for i := range out.Comparison.Measures {
		out.Comparison.Measures[i].Members = nil
	}
	return out, nil
}

// sameAnswer compares two Numbers including the answer's value, not its pointer.
func sameAnswer(a, b Numbers) bool {
	aa, ba := answer(a.Answer), answer(b.Answer)
	a.Answer, b.Answer = nil, nil
	return a == b && aa == ba
}
