// Package reports computes reports from reporting's own copy of the facts (package
// facts): for a program, performance year, entity and period, the rule book's measures
// for that program × year × entity type, each ratio counted with membership.Count
// (the same counting metrics uses), each yes/no measure answered with measure.Answer
// from the attestations and registry engagements records published, volume-based
// exclusions claimed when the volume is below the bound and the measure is not met
// otherwise, money from package money, all through report.Build — so a report's
// verdicts always follow from its numbers. It also serves the reports, their exports
// and the drill-down into the members behind every number (http.go).
package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/services/reporting/internal/facts"
	"github.com/attest-ehr/attest/services/reporting/internal/money"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// LogicVersion names the measure logic reports are computed with: the catalog and
// counting of libs/measure and this service's rule book. It changes whenever either
// changes what a report says; a diff against a frozen report says when it differs.
const LogicVersion = "attest-measure-logic/2026.11.2"

// Query is one report asked for.
type Query struct {
	Program    rulebook.Program
	Year       int
	Entity     contract.Entity
	EntityType rulebook.EntityType
	From, To   time.Time // the period's first and last day (dates)
	// AsOf is the moment deadlines are judged at (one still ahead is pending); zero
	// counts the record as final. AsOfNow judges them at the computation's clock.
	AsOf    time.Time
	AsOfNow bool
	// Variant is how measures with variants are counted (controlled substances);
	// empty: included.
	Variant   measure.Variant
	FirstYear bool
	// Exclude claims exclusions that are not volume-based (their conditions are
	// attested, not counted), by exclusion ID.
	Exclude []string
	CEHRTID string
	// WithoutLists leaves the member lists out of the report (Results keep them): the
	// JSON report shows numbers only, and building a group's lists costs more than
	// counting it.
	WithoutLists bool
	// NumbersOnly counts the numbers without any member list (Results hold none; a
	// group's clinicians' members are merged as counts): the JSON report. A drill-down
	// asks WithoutLists instead, for the lists.
	NumbersOnly bool
	// Money are the inputs the money depends on beyond the report (see Money).
	Money MoneyInputs
}

// MoneyInputs are what the money needs besides the report, from the request.
type MoneyInputs struct {
	// MIPS: the other categories' scores in percent ("85.5"); without quality the
	// final score is not computed.
	Quality, Cost, Improvement string
	// ReweightCost: cost is reweighted (not scored) for this clinician.
	ReweightCost bool
}

// Computer computes reports.
type Computer struct {
	catalog *measure.Catalog
	cal     *calendar.Calendar
	now     func() time.Time
	results *results
}

// NewComputer returns a Computer over the measure catalog, dating facts in cal's
// zone (the calendar metrics derived them with), reading the clock now. It keeps the
// inputs of the reports it computed, up to DefaultResultMembers members in all.
func NewComputer(c *measure.Catalog, cal *calendar.Calendar, now func() time.Time) *Computer {
	return &Computer{catalog: c, cal: cal, now: now, results: newResults(DefaultResultMembers)}
}

// KeepResults sets how many members (list entries) the kept report inputs may hold
// in all; 0 keeps none.
func (c *Computer) KeepResults(maxMembers int) { c.results = newResults(maxMembers) }

// Computed is a report with every ratio's full count (members kept out included), for
// drill-down.
type Computed struct {
	Query   Query // as computed: AsOf set when it was "now"
	Report  report.Report
	Results map[string]measure.Result // by rule-book measure ID
}

// CatalogProgram is the catalog's name of a rule-book program.
func CatalogProgram(p rulebook.Program) measure.Program {
	switch p {
	case rulebook.ModifiedStage2:
		return measure.ModifiedStage2
	case rulebook.Stage3:
		return measure.Stage3
	case rulebook.HospitalPI:
		return measure.HospitalPI
	case rulebook.MIPS:
		return measure.MIPS
	}
	return measure.Program(p)
}

// EntityType is the rule-book entity type an entity reports as: npi and tin_npi as a
// professional, tin as a group, ccn as a hospital (or a CAH when asked).
func EntityType(e contract.Entity, cah bool) rulebook.EntityType {
	switch e.Kind {
	case contract.EntityTIN:
		return rulebook.Group
	case contract.EntityCCN:
		if cah {
			return rulebook.CAH
		}
		return rulebook.EH
	}
	return rulebook.EP
}

// Compute computes the report for q from src, recording positions as the log
// positions its data stands at and dataAsOf as how current it is.
func (c *Computer) Compute(ctx context.Context, src facts.Source, q Query, positions []facts.Position, dataAsOf time.Time) (Computed, error) {
	book, err := rulebook.Lookup(q.Program, q.Year, q.EntityType)
	if err != nil {
		return Computed{}, err
	}
	if q.To.Before(q.From) {
		return Computed{}, errs.Field(errs.Invalid, "to", "before from")
	}
	if EntityType(q.Entity, false) != q.EntityType && EntityType(q.Entity, true) != q.EntityType {
		return Computed{}, errs.Field(errs.Invalid, "entity_type", "a %s entity does not report as %s", q.Entity.Kind, q.EntityType)
	}
	for i, x := range q.Exclude {
		if !slices.ContainsFunc(book.Measures, func(m rulebook.Measure) bool {
			return slices.ContainsFunc(m.Exclusions, func(e rulebook.Exclusion) bool { return e.ID == x })
		}) {
			return Computed{}, errs.Field(errs.Invalid, "exclude", "%q (item %d) is not an exclusion of %s %d for %s", x, i+1, q.Program, q.Year, q.EntityType)
		}
	}
	period := measure.Period{Year: q.Year, First: q.From, Last: q.To}
	now := c.now().UTC()
	if q.AsOfNow {
		q.AsOf, q.AsOfNow = now, false
	}
	opts := measure.Options{Calendar: c.cal, AsOf: q.AsOf}
	// The ratios' series first: their tokens (with the yes/no inputs' version) name
	// everything the measures' inputs depend on, so a report whose inputs did not move
	// is rebuilt from the inputs kept rather than counted again.
	yesNo, err := src.YesNoVersion(ctx)
	if err != nil {
		return Computed{}, err
	}
	var ratios []ratio
	key, keep := []string{yesNo}, yesNo != ""
	for _, bm := range book.Measures {
		cm, ok := c.catalog.Measure(CatalogProgram(q.Program), rulebook.CatalogID(q.Program, q.EntityType, bm.ID), q.Year, q.Entity.Kind)
		if !ok || claimedExclusion(bm, q.Exclude) != "" ||
			bm.Kind != rulebook.Proportion || cm.Kind != measure.Ratio || cm.Rule == nil {
			continue
		}
		cols, token, err := src.Columns(ctx, q.Entity, cm.Program, cm.ID, q.Year)
		if err != nil {
			return Computed{}, err
		}
		ratios = append(ratios, ratio{bm: bm, cm: cm, cols: cols})
		key, keep = append(key, cm.ID+"="+token), keep && token != ""
	}
	var k string
	if keep {
		qk, err := json.Marshal(q) // after AsOfNow became AsOf: a report "as of now" is never found again
		if err != nil {
			return Computed{}, fmt.Errorf("report key: %w", err)
		}
		k = string(qk) + "\x00" + strings.Join(key, "\x00")
	}
	in, found := c.results.get(k)
	if !found {
		if in, err = c.inputs(ctx, src, q, book, period, opts, ratios); err != nil {
			return Computed{}, err
		}
		if keep {
			c.results.put(k, in)
		}
	}
	out := Computed{Query: q, Results: maps.Clone(in.results)}
	inputs := in.inputs
	r, err := report.Build(report.Input{Program: q.Program, Year: q.Year, Entity: q.Entity, EntityType: q.EntityType,
		Period: report.Period{From: q.From.Format(time.DateOnly), To: q.To.Format(time.DateOnly)}, FirstYear: q.FirstYear,
		CEHRTID: q.CEHRTID, GeneratedAt: now, DataAsOf: minTime(dataAsOf, now), LogicVersion: LogicVersion,
		Positions: reportPositions(positions), Measures: inputs})
	if err != nil {
		return Computed{}, err
	}
	m, note, err := moneyOf(r, q)
	if err != nil {
		return Computed{}, err
	}
	r.Notes = append(r.Notes, in.notes...)
	r.Money = m
	if note != "" {
		r.Notes = append(r.Notes, note)
	}
	inc, note, err := incentiveOf(ctx, src, r)
	if err != nil {
		return Computed{}, err
	}
	r.Incentive = inc
	if note != "" {
		r.Notes = append(r.Notes, note)
	}
	out.Report = r
	return out, nil
}

// ratio is a ratio measure of a report with the series it is counted from.
type ratio struct {
	bm   rulebook.Measure
	cm   measure.Measure
	cols []*membership.Columns
}

// computedInputs are what a report is built from: every measure's input (alternatives
// resolved) and the ratios' full counts. Kept by the results cache: never modified.
type computedInputs struct {
	inputs  map[string]report.MeasureInput
	results map[string]measure.Result
	notes   []string // why a registry engagement did not count (the 60-day rule)
	members int      // members held, lists included: the cache's measure of size
}

// inputs counts the ratios (concurrently: a group's measures are independent and each
// costs tens of milliseconds) and answers the yes/no measures.
func (c *Computer) inputs(ctx context.Context, src facts.Source, q Query, book *rulebook.Book, period measure.Period,
	opts measure.Options, ratios []ratio) (computedInputs, error) {
	atts, err := c.yesNoInputs(ctx, src, q)
	if err != nil {
		return computedInputs{}, err
	}
	counted := make([]measure.Result, len(ratios))
	failed := make([]error, len(ratios))
	var wg sync.WaitGroup
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, r := range ratios {
		o := opts
		if len(r.cm.Variants) > 0 {
			o.Variant = q.Variant
			if o.Variant == "" {
				o.Variant = measure.ControlledIncluded
			}
		}
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			count := membership.CountColumns
			if q.NumbersOnly {
				count = membership.CountColumnsNumbers
			}
			counted[i], failed[i] = count(r.cm, q.Entity, period, o, r.cols...)
		}()
	}
	wg.Wait()
	if err := errors.Join(failed...); err != nil {
		return computedInputs{}, err
	}
	out := computedInputs{inputs: map[string]report.MeasureInput{}, results: map[string]measure.Result{}}
	for i, r := range ratios {
		out.results[r.bm.ID] = counted[i]
		out.inputs[r.bm.ID] = proportion(r.bm, counted[i], !q.WithoutLists && !q.NumbersOnly)
		out.members += len(counted[i].Members) + len(out.inputs[r.bm.ID].Members)
	}
	for _, bm := range book.Measures {
		cm, ok := c.catalog.Measure(CatalogProgram(q.Program), rulebook.CatalogID(q.Program, q.EntityType, bm.ID), q.Year, q.Entity.Kind)
		if !ok {
			continue // not computed from the event stream: left unreported
		}
		if claimed := claimedExclusion(bm, q.Exclude); claimed != "" {
			out.inputs[bm.ID] = report.MeasureInput{MeasureInput: rulebook.MeasureInput{Exclusion: claimed}}
			continue
		}
		if bm.Kind == rulebook.YesNo && cm.Kind == measure.YesNo {
			a, err := measure.Answer(cm, q.Entity, period, atts[bm.ID].atts, opts)
			if err != nil {
				return computedInputs{}, err
			}
			yes := a.Yes
			mi := report.MeasureInput{MeasureInput: rulebook.MeasureInput{Answer: &yes}}
			if yes && q.Program == rulebook.MIPS && q.Year >= 2023 {
				mi.Engagement = atts[bm.ID].engagement(a.Reason.Ref)
			}
			out.inputs[bm.ID] = mi
		}
	}
	for _, bm := range book.Measures {
		if mi, reported := out.inputs[bm.ID]; reported && mi.Answer != nil && !*mi.Answer {
			out.notes = append(out.notes, atts[bm.ID].inactive...)
		}
	}
	alternatives(book, out.inputs)
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func reportPositions(ps []facts.Position) []report.Position {
	out := make([]report.Position, 0, len(ps))
	for _, p := range ps {
		out = append(out, report.Position{Topic: p.Topic, Partition: p.Partition, Offset: p.Offset})
	}
	return out
}

// claimedExclusion is the exclusion of bm the query claims, if any.
func claimedExclusion(bm rulebook.Measure, claimed []string) string {
	for _, x := range bm.Exclusions {
		if slices.Contains(claimed, x.ID) {
			return x.ID
		}
	}
	return ""
}

// proportion is a counted ratio as the rule book takes it: the numbers and members,
// or — when the measure has a volume-based exclusion, its volume (the denominator)
// is below the bound and the numbers do not meet the measure — the exclusion with
// the volume, which the rule book verifies.
func proportion(bm rulebook.Measure, res measure.Result, lists bool) report.MeasureInput {
	num, den := int64(res.Numerator), int64(res.Denominator)
	for _, x := range bm.Exclusions {
		if x.FewerThan > 0 && den < x.FewerThan && !meets(bm, num, den) {
			v := den
			return report.MeasureInput{MeasureInput: rulebook.MeasureInput{Exclusion: x.ID, Volume: &v}}
		}
	}
	mi := report.MeasureInput{MeasureInput: rulebook.MeasureInput{Numerator: num, Denominator: den}}
	if !lists {
		return mi
	}
	mi.Members = make([]report.Member, 0, len(res.Members))
	for _, m := range res.Members {
		mi.Members = append(mi.Members, report.Member{PatientID: m.PatientID, Object: m.Object,
			InDenominator: m.InDenominator, InNumerator: m.InNumerator, Denominator: reason(m.Denominator),
			Numerator: reason(m.Numerator), Via: m.Via})
	}
	return mi
}

// meets reports whether the numbers pass the measure's own bar.
func meets(bm rulebook.Measure, num, den int64) bool {
	if bm.Threshold.Rule == rulebook.MoreThan {
		return den > 0 && rulebook.MoreThanPercent(num, den, bm.Threshold.Percent)
	}
	return num >= 1
}

func reason(r measure.Reason) report.Reason {
	return report.Reason{Code: string(r.Code), Ref: r.Ref, At: r.At.UTC(), Note: r.Note}
}

// alternatives keeps an alternative measure only when answered yes (or counted), and
// then leaves out the measures it substitutes: the rule book refuses both.
func alternatives(book *rulebook.Book, in map[string]report.MeasureInput) {
	for _, m := range book.Measures {
		if m.Role != rulebook.Alternative {
			continue
		}
		mi, ok := in[m.ID]
		if !ok {
			continue
		}
		if mi.Answer != nil && !*mi.Answer || mi.Answer == nil && mi.Exclusion == "" && mi.Numerator == 0 {
			delete(in, m.ID)
		}
	}
	for _, m := range book.Measures {
		if _, chosen := in[m.ID]; !chosen || m.Role != rulebook.Alternative {
			continue
		}
		for _, s := range m.Substitutes {
			delete(in, s)
		}
	}
}

// moneyOf is what the outcome earns or costs, when the program and the inputs given
// decide it, or a note saying what is missing.
func moneyOf(r report.Report, q Query) (*report.Money, string, error) {
	switch {
	case r.Program == rulebook.MIPS && r.Score != nil:
		if q.Money.Quality == "" {
			return nil, "money: the MIPS payment adjustment needs the other categories' scores (quality=, cost=, improvement=)", nil
		}
		in := money.MIPSInput{PerformanceYear: r.Year, Scores: map[money.Category]string{
			money.PromotingInteroperability: fmt.Sprint(r.Score.Total), money.Quality: q.Money.Quality}}
		if q.Money.Cost != "" {
			in.Scores[money.Cost] = q.Money.Cost
		}
		if q.Money.Improvement != "" {
			in.Scores[money.ImprovementActivities] = q.Money.Improvement
		}
		if q.Money.ReweightCost {
			in.Reweighted = append(in.Reweighted, money.Cost)
		}
		res, err := money.MIPS(in)
		if err != nil {
			return nil, "", err
		}
		return &report.Money{Kind: "mips", PaymentYear: res.PaymentYear, Outcome: res.Band + " adjustment",
			Percent: res.Adjustment, Explanation: res.Explanation}, "", nil
	case r.EntityType == rulebook.EP && (r.Program == rulebook.ModifiedStage2 || r.Program == rulebook.Stage3) && r.Year+2 <= 2018:
		adj, err := money.EPAdjustment(money.EPAdjustmentInput{Year: r.Year + 2, MeaningfulUser: r.Pass})
		if err != nil {
			return nil, "", err
		}
		outcome := "payment adjustment avoided"
		if adj.Applies {
			outcome = "payment adjustment incurred"
		}
		return &report.Money{Kind: "adjustment", PaymentYear: r.Year + 2, Outcome: outcome, Percent: adj.Percent,
			Explanation: adj.Explanation}, "", nil
	}
	if r.EntityType == rulebook.EP && (r.Program == rulebook.ModifiedStage2 || r.Program == rulebook.Stage3) {
		return nil, "", nil // no EP adjustment after 2018 (MIPS replaced it); the incentive: incentiveOf
	}
	return nil, "money: the payment adjustment is not computed for this program, year and entity type (its inputs — the FY market basket and productivity, CAH costs — are not published)", nil
}

// payees are the incentive formulas by rule-book entity type; a group (TIN) has
// none: its clinicians are paid one by one.
var payees = map[rulebook.EntityType]money.Payee{rulebook.EP: money.Professional, rulebook.EH: money.Hospital,
	rulebook.CAH: money.CriticalCare}

// incentiveOf is the EHR incentive the report's period earns, from the payment
// inputs records publishes for the entity and year (a tin_npi's are its NPI's), or a
// note saying which inputs are missing. Only the Meaningful Use programs pay
// incentives; after each program's last payment year there is none.
func incentiveOf(ctx context.Context, src facts.Source, r report.Report) (*report.Money, string, error) {
	payee, ok := payees[r.EntityType]
	if !ok || r.Program != rulebook.ModifiedStage2 && r.Program != rulebook.Stage3 {
		return nil, "", nil
	}
	payTo := r.Entity
	if payTo.Kind == contract.EntityTINNPI {
		_, npi, _ := strings.Cut(payTo.ID, "/")
		payTo = contract.Entity{Kind: contract.EntityNPI, ID: npi}
	}
	in, err := src.PaymentInputs(ctx, payTo, r.Year)
	if err != nil {
		return nil, "", err
	}
	end, _ := time.Parse(time.DateOnly, r.Period.To)
	inc, err := money.IncentiveFor(money.IncentiveRequest{Payee: payee, Year: r.Year, PeriodEnd: end, Inputs: in})
	var missing *money.Missing
	switch {
	case errors.As(err, &missing):
		return nil, fmt.Sprintf("money: the %s incentive for %d is not computed: enter %s in records' payment inputs (/records/v1/payment-inputs) for %s",
			missing.Program, r.Year, strings.Join(missing.Fields, ", "), payTo), nil
	case err != nil:
		// Inputs that contradict the year (records validates each entry, not the
		// schedule): said in the report, never a failed report.
		return nil, fmt.Sprintf("money: the payment inputs %s for %s %d do not fit the incentive schedule: %v",
			in.PaymentInputsID, payTo, r.Year, err), nil
	case inc == nil:
		return nil, "", nil
	}
	m := &report.Money{Kind: "incentive", PaymentYear: inc.Payment.Year, Outcome: inc.Program + " incentive earned",
		Explanation: inc.Payment.Explanation}
	amount := inc.Payment.Amount
	if !r.Pass {
		amount = 0
		m.Outcome = inc.Program + " incentive not earned: not a meaningful user for the period"
		m.Explanation.Steps = append(m.Explanation.Steps, fmt.Sprintf("not a meaningful user for the period: %s not earned", inc.Payment.Amount))
	} else if amount == 0 {
		m.Outcome = inc.Program + " incentive: nothing payable"
	}
	m.Amount = &amount
	return m, "", nil
}
