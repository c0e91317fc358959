package rulebook

import (
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
)

// MeasureInput is what was measured or attested for one measure. A proportion
// measure takes Numerator and Denominator; a yes/no measure takes Answer. Claiming
// an exclusion replaces the measure: send the exclusion alone (as QPP requires).
type MeasureInput struct {
	Numerator   int64  `json:"numerator,omitempty"`
	Denominator int64  `json:"denominator,omitempty"`
	Answer      *bool  `json:"answer,omitempty"`
	Exclusion   string `json:"exclusion,omitempty"` // the exclusion claimed, by its ID
	// Volume is the count a volume-based exclusion is judged on ("fewer than 100
	// permissible prescriptions") when the measure is not reported. Without it a
	// volume exclusion is taken as attested and the result says it was not verified.
	Volume *int64 `json:"volume,omitempty"`
}

// Period is a reporting period, both days included.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Input is what Evaluate scores: the numbers per measure ID, and optionally the
// period they cover (checked against the book's period rule).
type Input struct {
	Period    *Period                 `json:"period,omitempty"`
	FirstYear bool                    `json:"first_year,omitempty"` // first year demonstrating MU (period rule)
	Measures  map[string]MeasureInput `json:"measures"`
}

// Status is a measure's or objective's outcome.
type Status string

// The statuses.
const (
	Met         Status = "met"
	NotMet      Status = "not_met"
	Excluded    Status = "excluded"
	NotReported Status = "not_reported" // optional, bonus or alternative measure left out
	Substituted Status = "substituted"  // replaced by a reported alternative
)

// MeasureResult is one measure's outcome, with everything needed to explain it.
type MeasureResult struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Objective   string `json:"objective"`
	Role        string `json:"role"`
	Status      Status `json:"status"`
	Reason      string `json:"reason"`
	Numerator   int64  `json:"numerator,omitempty"`
	Denominator int64  `json:"denominator,omitempty"`
	Percent     string `json:"percent,omitempty"` // the portal percentage, "40.01"
	Threshold   string `json:"threshold"`
	Exclusion   string `json:"exclusion,omitempty"`
	// MaxPoints is the measure's points after redistribution ("15", "7.5").
	MaxPoints string   `json:"max_points,omitempty"`
	Points    int64    `json:"points"`
	Formula   string   `json:"formula,omitempty"` // how Points was computed
	Received  []string `json:"received,omitempty"`
}

// ObjectiveResult is one objective's outcome.
type ObjectiveResult struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Status Status `json:"status"`
	Reason string `json:"reason"`
	Points int64  `json:"points,omitempty"`
}

// Score is a points book's total.
type Score struct {
	Sum     int64 `json:"sum"`     // measure and objective points, before the cap
	Total   int64 `json:"total"`   // after the cap, and 0 when a prerequisite failed (MIPS)
	Minimum int   `json:"minimum"` // the minimum to pass; 0 when none
	Max     int   `json:"max"`
	// Weighted is MIPS' contribution to the final score: Total × weight ("16.00").
	Weighted string `json:"weighted,omitempty"`
}

// Result is a book applied to an input.
type Result struct {
	Program    Program           `json:"program"`
	Year       int               `json:"year"`
	Entity     EntityType        `json:"entity_type"`
	Measures   []MeasureResult   `json:"measures"`
	Objectives []ObjectiveResult `json:"objectives"`
	Score      *Score            `json:"score,omitempty"`
	Pass       bool              `json:"pass"`
	Failures   []string          `json:"failures,omitempty"` // every reason it does not pass
	Steps      []string          `json:"steps"`              // the outcome's arithmetic, in order
	Notes      []string          `json:"notes,omitempty"`
}

// Measure returns the result of one measure.
func (r *Result) Measure(id string) (MeasureResult, bool) {
	i := slices.IndexFunc(r.Measures, func(m MeasureResult) bool { return m.ID == id })
	if i < 0 {
		return MeasureResult{}, false
	}
	return r.Measures[i], true
}

func (r Role) String() string {
	switch r {
	case Required:
		return "required"
	case Optional:
		return "optional"
	case Bonus:
		return "bonus"
	case Alternative:
		return "alternative"
	case Prerequisite:
		return "prerequisite"
	}
	return "unknown"
}

// Evaluate applies the book to the input. Malformed input (an unknown measure or
// exclusion, numerator above denominator, an answer on a proportion, a measure sent
// with its exclusion or with its alternative, a period that breaks the rule) is an
// errs error naming the field; nothing else fails.
func Evaluate(b *Book, in Input) (Result, error) {
	if err := validate(b, in); err != nil {
		return Result{}, err
	}
	e := evaluation{book: b, in: in, res: Result{Program: b.Program, Year: b.Year, Entity: b.Entity, Notes: b.Notes}}
	e.measures()
	switch b.Scoring {
	case MeetAll:
		e.meetAll()
	case Performance:
		e.performance()
	case BasePerformanceBonus:
		e.basePerformanceBonus()
	}
	return e.res, nil
}

func validate(b *Book, in Input) error {
	if in.Period != nil {
		if err := b.Period.Check(in.Period.From, in.Period.To); err != nil {
			return err
		}
	}
	ids := make([]string, 0, len(in.Measures))
	for id := range in.Measures {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		mi := in.Measures[id]
		field := "measures." + id
		m, ok := b.Measure(id)
		if !ok {
			return errs.Field(errs.Invalid, field, "not a measure of %s %d for %s", b.Program, b.Year, b.Entity)
		}
		if mi.Exclusion != "" {
			if !slices.ContainsFunc(m.Exclusions, func(x Exclusion) bool { return x.ID == mi.Exclusion }) {
				return errs.Field(errs.Invalid, field+".exclusion", "%q is not an exclusion of this measure", mi.Exclusion)
			}
			if mi.Numerator != 0 || mi.Denominator != 0 || mi.Answer != nil {
				return errs.Field(errs.Invalid, field, "send either the measure or its exclusion, not both")
			}
			if mi.Volume != nil && *mi.Volume < 0 {
				return errs.Field(errs.Invalid, field+".volume", "must not be negative")
			}
			continue
		}
		switch m.Kind {
		case Proportion:
			if mi.Answer != nil {
				return errs.Field(errs.Invalid, field+".answer", "a proportion measure takes numerator and denominator, not an answer")
			}
			if mi.Numerator < 0 || mi.Denominator < 0 {
				return errs.Field(errs.Invalid, field, "numerator and denominator must not be negative")
			}
			if mi.Numerator > mi.Denominator {
				return errs.Field(errs.Invalid, field+".numerator", "must not exceed the denominator")
			}
		case YesNo:
			if mi.Numerator != 0 || mi.Denominator != 0 {
				return errs.Field(errs.Invalid, field, "a yes/no measure takes an answer, not numerator and denominator")
			}
			if mi.Answer == nil {
				return errs.Field(errs.Invalid, field+".answer", "is required for a yes/no measure")
			}
		}
	}
	for _, m := range b.Measures {
		if _, chosen := in.Measures[m.ID]; !chosen || m.Role != Alternative {
			continue
		}
		for _, s := range m.Substitutes {
			if _, both := in.Measures[s]; both {
				return errs.Field(errs.Invalid, "measures."+s, "cannot be reported with its alternative %s", m.ID)
			}
		}
	}
	return nil
}

// evaluation holds the state of one Evaluate call.
type evaluation struct {
	book *Book
	in   Input
	res  Result
	idx  map[string]int // measure ID → index in res.Measures
}

func (e *evaluation) step(format string, args ...any) {
	e.res.Steps = append(e.res.Steps, fmt.Sprintf(format, args...))
}

func (e *evaluation) fail(format string, args ...any) {
	e.res.Failures = append(e.res.Failures, fmt.Sprintf(format, args...))
}

// result is the result of a measure of the book; nil when the book has no such
// measure this year (a redistribution target that came later, say).
func (e *evaluation) result(id string) *MeasureResult {
	i, ok := e.idx[id]
	if !ok {
		return nil
	}
	return &e.res.Measures[i]
}

// measures decides each measure's status on its own: substituted, excluded,
// reported or not, met or not. Points come later, per scoring method.
func (e *evaluation) measures() {
	b := e.book
	substitutedBy := map[string]string{}
	for _, m := range b.Measures {
		if _, chosen := e.in.Measures[m.ID]; chosen && m.Role == Alternative {
			for _, s := range m.Substitutes {
				substitutedBy[s] = m.ID
			}
		}
	}
	e.idx = make(map[string]int, len(b.Measures))
	for i, m := range b.Measures {
		e.idx[m.ID] = i
		mi, reported := e.in.Measures[m.ID]
		r := MeasureResult{ID: m.ID, Title: m.Title, Objective: m.Objective, Role: m.Role.String(), Threshold: m.Threshold.String()}
		switch {
		case substitutedBy[m.ID] != "":
			r.Status, r.Reason = Substituted, "replaced by the reported alternative "+substitutedBy[m.ID]
		case !reported && m.Role == Alternative:
			r.Status, r.Reason = NotReported, "alternative not chosen"
		case !reported && (m.Role == Optional || m.Role == Bonus):
			r.Status, r.Reason = NotReported, "not reported ("+m.Role.String()+")"
		case !reported:
			r.Status, r.Reason = NotMet, "not reported"
		case mi.Exclusion != "":
			r.Exclusion = mi.Exclusion
			r.Status, r.Reason = exclusion(m, mi)
		case m.Kind == YesNo:
			r.Status, r.Reason = answer(m, *mi.Answer)
		default:
			r.Numerator, r.Denominator = mi.Numerator, mi.Denominator
			if mi.Denominator > 0 {
				r.Percent = FormatHundredths(PortalPercent(mi.Numerator, mi.Denominator))
			}
			r.Status, r.Reason = proportion(b.Scoring, m, mi.Numerator, mi.Denominator)
		}
		e.res.Measures = append(e.res.Measures, r)
	}
}

func exclusion(m Measure, mi MeasureInput) (Status, string) {
	i := slices.IndexFunc(m.Exclusions, func(x Exclusion) bool { return x.ID == mi.Exclusion })
	x := m.Exclusions[i]
	switch {
	case x.FewerThan == 0:
		return Excluded, fmt.Sprintf("exclusion %s claimed: %s", x.ID, x.Condition)
	case mi.Volume == nil:
		return Excluded, fmt.Sprintf("exclusion %s claimed: %s (volume not given, so not verified)", x.ID, x.Condition)
	case *mi.Volume < x.FewerThan:
		return Excluded, fmt.Sprintf("exclusion %s holds: volume %d is fewer than %d", x.ID, *mi.Volume, x.FewerThan)
	}
	return NotMet, fmt.Sprintf("exclusion %s does not hold: it needs fewer than %d, volume is %d", x.ID, x.FewerThan, *mi.Volume)
}

func answer(m Measure, yes bool) (Status, string) {
	switch {
	case m.Threshold.Rule == AnyAnswer:
		return Met, fmt.Sprintf("attested %s; any answer satisfies it this year", yesNo(yes))
	case yes:
		return Met, "attested yes"
	}
	return NotMet, "attested no"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func proportion(s Scoring, m Measure, num, den int64) (Status, string) {
	frac := fmt.Sprintf("%d/%d", num, den)
	rule := m.Threshold.Rule
	if s != MeetAll && m.Role == Required {
		rule = AtLeastOne // PI and ACI: a required measure needs one in its numerator
	}
	if s != MeetAll && m.Base {
		rule = AtLeastOne
	}
	switch rule {
	case MoreThan:
		if den == 0 {
			return NotMet, "denominator is 0, so the rate cannot be more than " + fmt.Sprint(m.Threshold.Percent) + "%"
		}
		pct := FormatHundredths(PortalPercent(num, den))
		if MoreThanPercent(num, den, m.Threshold.Percent) {
			return Met, fmt.Sprintf("%s = %s%% > %d%%", frac, pct, m.Threshold.Percent)
		}
		return NotMet, fmt.Sprintf("%s = %s%%, not more than %d%%", frac, pct, m.Threshold.Percent)
	case AtLeastOne:
		if num >= 1 {
			return Met, fmt.Sprintf("numerator %d ≥ 1", num)
		}
		return NotMet, "numerator is 0; at least one is required"
	}
	if den == 0 {
		return Met, "reported with denominator 0; scores 0"
	}
	return Met, fmt.Sprintf("reported %s", frac)
}

// meetAll scores a Meaningful Use book: every objective met or excluded.
func (e *evaluation) meetAll() {
	for _, o := range e.book.Objectives {
		members := e.members(o.ID)
		var or ObjectiveResult
		switch o.Rule {
		case MeetN:
			or = e.meetN(o, members)
		default:
			or = e.allMeasures(o, members)
		}
		e.res.Objectives = append(e.res.Objectives, or)
		e.step("objective %s: %s — %s", o.ID, or.Status, or.Reason)
		if or.Status == NotMet {
			e.fail("objective %s (%s) not met: %s", o.ID, o.Title, or.Reason)
		}
	}
	e.res.Pass = len(e.res.Failures) == 0
	if e.res.Pass {
		e.step("every objective met or excluded: meaningful use demonstrated")
	} else {
		e.step("%d objective(s) not met: meaningful use not demonstrated", len(e.res.Failures))
	}
}

func (e *evaluation) members(objective string) []*MeasureResult {
	var ms []*MeasureResult
	for i := range e.res.Measures {
		if e.res.Measures[i].Objective == objective {
			ms = append(ms, &e.res.Measures[i])
		}
	}
	return ms
}

func ids(ms []*MeasureResult) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.ID
	}
	return strings.Join(s, ", ")
}

func (e *evaluation) allMeasures(o Objective, members []*MeasureResult) ObjectiveResult {
	var failing, excluded []*MeasureResult
	for _, m := range members {
		switch m.Status {
		case Excluded:
			excluded = append(excluded, m)
		case Met:
		default:
			failing = append(failing, m)
		}
	}
	or := ObjectiveResult{ID: o.ID, Title: o.Title}
	switch {
	case len(failing) > 0:
		or.Status, or.Reason = NotMet, "not met: "+ids(failing)
	case len(excluded) == len(members):
		or.Status, or.Reason = Excluded, "every measure excluded"
	default:
		or.Status, or.Reason = Met, "every measure met or excluded"
	}
	return or
}

func (e *evaluation) meetN(o Objective, members []*MeasureResult) ObjectiveResult {
	var met, excluded, unreported []*MeasureResult
	for _, m := range members {
		switch {
		case m.Status == Met:
			met = append(met, m)
		case m.Status == Excluded:
			excluded = append(excluded, m)
		}
		if _, ok := e.in.Measures[m.ID]; !ok {
			unreported = append(unreported, m)
		}
	}
	or := ObjectiveResult{ID: o.ID, Title: o.Title}
	open := len(members) - len(excluded)
	need := min(o.N, open)
	switch {
	case open == 0:
		or.Status, or.Reason = Excluded, "every measure excluded"
	case o.ReportAll && len(unreported) > 0:
		or.Status, or.Reason = NotMet, "every measure must be reported; missing: "+ids(unreported)
	case len(met) >= need:
		or.Status, or.Reason = Met, fmt.Sprintf("%d met of the %d needed (N = %d, %d excluded)", len(met), need, o.N, len(excluded))
	default:
		or.Status, or.Reason = NotMet, fmt.Sprintf("%d met; %d needed (N = %d, %d excluded)", len(met), need, o.N, len(excluded))
	}
	return or
}

// active reports whether a measure takes part in scoring: not replaced by an
// alternative and not an alternative left unchosen.
func active(r *MeasureResult) bool {
	return r.Status != Substituted && !(r.Status == NotReported && r.Role == Alternative.String())
}

// prerequisites checks the yes/no attestations every points book needs, and the
// required measures ("at least one" or excluded).
func (e *evaluation) prerequisites() {
	for _, m := range e.book.Measures {
		r := e.result(m.ID)
		if !active(r) {
			continue
		}
		switch {
		case m.Role == Prerequisite && r.Status != Met:
			e.fail("prerequisite %s (%s) %s: %s", m.ID, m.Title, r.Status, r.Reason)
		case (m.Role == Required || m.Role == Alternative || m.Base) && r.Status == NotMet:
			e.fail("required measure %s (%s) not met: %s", m.ID, m.Title, r.Reason)
		}
	}
}

// performance scores a PI book (hospital or MIPS, 2019+): points per measure from
// the rate and the measure's points after redistribution, summed and capped.
func (e *evaluation) performance() {
	b := e.book
	e.prerequisites()
	maxPts := e.redistribute()
	var sum int64
	for _, m := range b.Measures {
		r := e.result(m.ID)
		pts := maxPts[m.ID]
		if !active(r) {
			continue
		}
		if pts == nil || pts.Sign() == 0 {
			continue
		}
		r.MaxPoints = ratString(pts)
		r.Points, r.Formula = measurePoints(m, r, pts)
		sum += r.Points
		if r.Formula != "" {
			e.step("%s: %s", m.ID, r.Formula)
		}
	}
	for _, o := range b.Objectives {
		if o.Rule != PublicHealth {
			continue
		}
		or := e.publicHealth(o, maxPts[o.ID])
		e.res.Objectives = append(e.res.Objectives, or)
		sum += or.Points
		e.step("objective %s: %d points — %s", o.ID, or.Points, or.Reason)
	}
	e.total(sum)
}

// measurePoints is round(rate × max points) for a proportion, max points for a
// "yes", 0 otherwise.
func measurePoints(m Measure, r *MeasureResult, pts *big.Rat) (int64, string) {
	switch {
	case r.Status == Excluded || r.Status == NotReported:
		return 0, ""
	case m.Kind == YesNo && r.Status == Met:
		p := RoundHalfUp(pts)
		return p, fmt.Sprintf("yes = %s points → %d", ratString(pts), p)
	case m.Kind == YesNo:
		return 0, "no = 0 points"
	case r.Denominator == 0:
		return 0, "denominator 0 = 0 points"
	}
	x := new(big.Rat).Mul(big.NewRat(r.Numerator, r.Denominator), pts)
	p := RoundHalfUp(x)
	return p, fmt.Sprintf("round(%d/%d × %s) = round(%s) = %d", r.Numerator, r.Denominator, ratString(pts), decimal(x, 4), p)
}

// redistribute starts from each active measure's points and each public-health
// objective's points, then moves the points of what is excluded, in book order.
func (e *evaluation) redistribute() map[string]*big.Rat {
	b := e.book
	pts := map[string]*big.Rat{}
	for _, m := range b.Measures {
		if active(e.result(m.ID)) && m.Points > 0 {
			pts[m.ID] = big.NewRat(int64(m.Points), 1)
		}
	}
	for _, o := range b.Objectives {
		if o.Rule == PublicHealth && o.Points > 0 {
			pts[o.ID] = big.NewRat(int64(o.Points), 1)
		}
	}
	for i, rd := range b.Redistributions {
		amount := pts[rd.From]
		if amount == nil || amount.Sign() == 0 || !e.excluded(rd.From) {
			continue
		}
		var to []string
		for _, t := range rd.To {
			if e.receives(t, b.Redistributions[i+1:]) {
				to = append(to, t)
			}
		}
		pts[rd.From] = new(big.Rat)
		if len(to) == 0 {
			e.step("%s excluded: its %s points have nowhere to go (%s not reported) and are lost", rd.From, ratString(amount), strings.Join(rd.To, ", "))
			continue
		}
		share := new(big.Rat).Quo(amount, big.NewRat(int64(len(to)), 1))
		for _, t := range to {
			if pts[t] == nil {
				pts[t] = new(big.Rat)
			}
			pts[t].Add(pts[t], share)
			r := e.result(t)
			r.Received = append(r.Received, fmt.Sprintf("%s points from %s (excluded)", ratString(share), rd.From))
		}
		e.step("%s excluded: its %s points go to %s (%s each)", rd.From, ratString(amount), strings.Join(to, ", "), ratString(share))
	}
	return pts
}

// receives reports whether measure t can take redistributed points: it is scored,
// or it is excluded itself but passes its points on by a later rule (so an
// exclusion's points follow the chain, e.g. PDMP → e-Prescribing → HIE).
func (e *evaluation) receives(t string, later []Redistribution) bool {
	r := e.result(t)
	switch {
	case r == nil || !active(r) || r.Status == NotReported:
		return false
	case r.Status != Excluded:
		return true
	}
	return slices.ContainsFunc(later, func(x Redistribution) bool { return x.From == t })
}

// excluded reports whether a measure is excluded, or an objective is excluded as a
// whole (its required measures all excluded, or its choice all excluded with no yes).
func (e *evaluation) excluded(id string) bool {
	if _, ok := e.book.Measure(id); ok {
		return e.result(id).Status == Excluded
	}
	o, ok := e.book.Objective(id)
	if !ok {
		return false
	}
	req, choice := e.phMembers(o.ID)
	switch {
	case len(req) > 0:
		return countStatus(req, Excluded) == len(req)
	case len(choice) == 0:
		return false
	}
	return countStatus(choice, Met) == 0 && countStatus(choice, Excluded) >= o.N
}

func countStatus(ms []*MeasureResult, s Status) int {
	n := 0
	for _, m := range ms {
		if m.Status == s {
			n++
		}
	}
	return n
}

// phMembers splits a public-health objective's pooled measures into the required
// ones and the optional choice; measures with their own points and bonus measures
// are left out.
func (e *evaluation) phMembers(objective string) (req, choice []*MeasureResult) {
	for _, m := range e.book.Measures {
		if m.Objective != objective || m.Points > 0 {
			continue
		}
		switch m.Role {
		case Required:
			req = append(req, e.result(m.ID))
		case Optional:
			choice = append(choice, e.result(m.ID))
		}
	}
	return req, choice
}

func (e *evaluation) publicHealth(o Objective, pool *big.Rat) ObjectiveResult {
	or := ObjectiveResult{ID: o.ID, Title: o.Title}
	if pool == nil {
		pool = new(big.Rat)
	}
	req, choice := e.phMembers(o.ID)
	var reasons []string
	switch {
	case e.excluded(o.ID) && o.Points > 0:
		or.Status = Excluded
		reasons = append(reasons, "every measure excluded; points redistributed")
	case len(req) > 0:
		if countStatus(req, Met)+countStatus(req, Excluded) == len(req) {
			or.Status, or.Points = Met, RoundHalfUp(pool)
			reasons = append(reasons, fmt.Sprintf("every required measure yes or excluded (%s) = %s points", ids(req), ratString(pool)))
		} else {
			or.Status = NotMet
			reasons = append(reasons, "a required measure is not yes or excluded ("+ids(req)+")")
		}
	case len(choice) > 0 && o.N > 0:
		yes, ex := countStatus(choice, Met), countStatus(choice, Excluded)
		share := new(big.Rat).Mul(pool, big.NewRat(int64(min(yes, o.N)), int64(o.N)))
		if yes >= 1 && yes+ex >= o.N {
			share = pool
		}
		or.Points = RoundHalfUp(share)
		or.Status = Met
		if or.Points < RoundHalfUp(pool) {
			or.Status = NotMet
		}
		reasons = append(reasons, fmt.Sprintf("%d yes and %d excluded of the %d to choose: %s of %s points", yes, ex, o.N, ratString(share), ratString(pool)))
	default:
		or.Status = Met
	}
	if o.BonusPoints > 0 {
		for _, m := range e.book.Measures {
			if m.Objective == o.ID && m.Role == Bonus && m.Points == 0 && e.result(m.ID).Status == Met {
				or.Points += int64(o.BonusPoints)
				reasons = append(reasons, fmt.Sprintf("bonus %d for %s", o.BonusPoints, m.ID))
				break
			}
		}
	}
	or.Reason = strings.Join(reasons, "; ")
	return or
}

// total caps the sum, applies MIPS' zero-on-failure and the hospital minimum.
func (e *evaluation) total(sum int64) {
	b := e.book
	s := &Score{Sum: sum, Total: min(sum, int64(b.MaxScore)), Minimum: b.MinScore, Max: b.MaxScore}
	e.step("sum of points = %d; capped at %d = %d", sum, b.MaxScore, s.Total)
	if b.Program == MIPS && len(e.res.Failures) > 0 {
		s.Total = 0
		e.step("a prerequisite or required measure failed: the category score is 0")
	}
	if b.CategoryWeight > 0 {
		w := new(big.Rat).Mul(big.NewRat(s.Total, 1), big.NewRat(int64(b.CategoryWeight), 100))
		s.Weighted = w.FloatString(2)
		e.step("weighted: %d × %d%% = %s final-score points", s.Total, b.CategoryWeight, s.Weighted)
	}
	if b.MinScore > 0 {
		if s.Total < int64(b.MinScore) {
			e.fail("score %d is below the minimum %d", s.Total, b.MinScore)
		}
		e.step("minimum score %d: %d %s", b.MinScore, s.Total, map[bool]string{true: "meets it", false: "falls short"}[s.Total >= int64(b.MinScore)])
	}
	e.res.Score = s
	e.res.Pass = len(e.res.Failures) == 0
}

// basePerformanceBonus scores MIPS ACI 2017–2018: base 50 if the base measures
// have at least one (or are excluded) and the prerequisites are yes; performance
// points by decile of each performance rate; bonus points; capped at 100.
func (e *evaluation) basePerformanceBonus() {
	b := e.book
	e.prerequisites()
	var base int64
	if len(e.res.Failures) == 0 {
		base = 50
		e.step("base score: every base measure has a numerator ≥ 1 or is excluded, prerequisites yes = 50")
	} else {
		e.step("base score not earned: the ACI score is 0")
	}
	var perf, bonus int64
	for _, m := range b.Measures {
		r := e.result(m.ID)
		if m.Points == 0 || !active(r) {
			continue
		}
		p, formula := aciPoints(m, r)
		r.MaxPoints, r.Points, r.Formula = fmt.Sprint(m.Points), p, formula
		if m.Role == Bonus {
			bonus += p
		} else {
			perf += p
		}
		if formula != "" {
			e.step("%s: %s", m.ID, formula)
		}
	}
	for _, o := range b.Objectives {
		if o.Rule == PublicHealth {
			or := e.publicHealth(o, nil)
			e.res.Objectives = append(e.res.Objectives, or)
			bonus += or.Points
			if or.Points > 0 {
				e.step("objective %s: %s", o.ID, or.Reason)
			}
		}
	}
	e.step("performance score = %d; bonus = %d", perf, bonus)
	sum := base + perf + bonus
	if base == 0 {
		sum = 0
	}
	e.total(sum)
}

// aciPoints is a 2017–2018 performance measure's points: the rate's decile
// (1–10% → 1, …, 91–100% → 10) × weight / 10 for a proportion; the weight for "yes".
func aciPoints(m Measure, r *MeasureResult) (int64, string) {
	switch {
	case r.Status == Excluded || r.Status == NotReported:
		return 0, ""
	case m.Kind == YesNo && r.Status == Met:
		return int64(m.Points), fmt.Sprintf("yes = %d", m.Points)
	case m.Kind == YesNo, r.Numerator == 0:
		return 0, "0 points"
	}
	// decile = ceil(10 × num / den)
	d := (10*r.Numerator + r.Denominator - 1) / r.Denominator
	p := d * int64(m.Points) / 10
	return p, fmt.Sprintf("%d/%d = %s%% → decile %d × %d/10 = %d", r.Numerator, r.Denominator, r.Percent, d, m.Points, p)
}
