package membership_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/measuretest"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/measure/timeline"
	"github.com/attest-ehr/attest/libs/phi"
)

var (
	npis = []string{"1111111111", "2222222222"}
	tins = []string{"111111111", "222222222"}
	ccns = []string{"123456", "654321"}
)

func catalog(t testing.TB) *measure.Catalog {
	t.Helper()
	c, err := measure.New()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// gen draws the random timelines of the property tests: a few patients around one
// performance year, with every kind of input, attributed to two clinicians in two
// groups and two hospitals, at instants that often sit on day boundaries.
type gen struct {
	t    *rapid.T
	year int
	loc  *time.Location
	n    int // for unique IDs
}

func (g *gen) id(prefix string) string {
	g.n++
	return fmt.Sprintf("%s%03d", prefix, g.n)
}

// at is an instant from October of the year before to February of the year after.
func (g *gen) at(label string) time.Time {
	jan1 := time.Date(g.year, time.January, 1, 0, 0, 0, 0, g.loc)
	var day int
	switch rapid.IntRange(0, 9).Draw(g.t, label+"-when") {
	case 1:
		day = rapid.IntRange(-92, -1).Draw(g.t, label+"-before") // the year before (hospitals' fiscal year)
	case 2:
		day = rapid.IntRange(365, 400).Draw(g.t, label+"-after")
	default:
		day = rapid.IntRange(0, 364).Draw(g.t, label+"-day")
	}
	t := jan1.AddDate(0, 0, day)
	switch rapid.IntRange(0, 3).Draw(g.t, label+"-clock") {
	case 0: // midnight, a window boundary
	case 1:
		t = t.Add(-time.Nanosecond) // the last instant of the day before
	default:
		t = t.Add(time.Duration(rapid.IntRange(0, 24*60-1).Draw(g.t, label+"-minute")) * time.Minute)
	}
	return t
}

// after is an instant up to a few days after t, or zero.
func (g *gen) after(t time.Time, label string) time.Time {
	if t.IsZero() || rapid.IntRange(0, 4).Draw(g.t, label+"-none") == 1 {
		return time.Time{}
	}
	return t.Add(time.Duration(rapid.IntRange(0, 8*24).Draw(g.t, label+"-hours")) * time.Hour)
}

func (g *gen) provider(label string) measure.Provider {
	switch rapid.IntRange(0, 4).Draw(g.t, label) {
	case 3:
		return measure.Provider{CCN: rapid.SampledFrom(ccns).Draw(g.t, label+"-ccn")}
	case 4:
		return measure.Provider{NPI: rapid.SampledFrom(npis).Draw(g.t, label+"-npi"), TIN: rapid.SampledFrom(tins).Draw(g.t, label+"-tin"),
			CCN: rapid.SampledFrom(ccns).Draw(g.t, label+"-ccn")}
	}
	return measure.Provider{NPI: rapid.SampledFrom(npis).Draw(g.t, label+"-npi"), TIN: rapid.SampledFrom(tins).Draw(g.t, label+"-tin")}
}

func (g *gen) reconciliation(label string) measure.Reconciliation {
	base := g.at(label)
	return measure.Reconciliation{Medications: g.after(base, label+"-med"), Allergies: g.after(base, label+"-all"),
		Problems: g.after(base, label+"-pro")}
}

func (g *gen) patient() measure.Patient {
	p := measure.Patient{ID: g.id("p")}
	if rapid.Bool().Draw(g.t, "born") {
		p.Born = phi.Date(time.Date(g.year-rapid.IntRange(0, 80).Draw(g.t, "age"), 6, 15, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
	}
	main := g.provider("main")
	settings := []measure.Setting{measure.Office, measure.Telehealth, measure.Inpatient, measure.Emergency, measure.Observation, measure.OtherVisit}
	for range rapid.IntRange(1, 5).Draw(g.t, "encounters") {
		prov := main
		if rapid.Bool().Draw(g.t, "other-provider") {
			prov = g.provider("enc-prov")
		}
		e := measure.Encounter{ID: g.id("e"), Provider: prov, Setting: rapid.SampledFrom(settings).Draw(g.t, "setting"),
			Start: g.at("enc")}
		e.End = g.after(e.Start, "end")
		e.InfoAvailable = g.after(e.Start, "info")
		p.Encounters = append(p.Encounters, e)
		for _, ch := range []measure.Channel{measure.VDT, measure.API} {
			// Timely, late, missing, or twice; around the 36 and 48 hour and 4 business
			// day deadlines.
			for _, h := range rapid.SampledFrom([][]int{{1}, {-2}, {30}, {40}, {47}, {100}, {200}, {}, {150, 2}}).Draw(g.t, "shares") {
				p.Shares = append(p.Shares, measure.Share{ID: g.id("s"), EncounterID: e.ID, Channel: ch,
					At: e.InfoAt().Add(time.Duration(h) * time.Hour)})
			}
		}
		if e.Setting == measure.Office && rapid.Bool().Draw(g.t, "summary") {
			p.Actions = append(p.Actions, measure.Action{ID: g.id("cs"), Kind: measure.ClinicalSummaryProvided, Provider: e.Provider,
				At: g.after(e.Start, "cs").Add(time.Minute), EncounterID: e.ID})
		}
	}
	kinds := []measure.ActionKind{measure.ViewedDownloadedTransmitted, measure.AccessedAPI, measure.MessageFromPatient,
		measure.MessageToPatient, measure.MessageCopyingPatient, measure.EducationElectronic, measure.EducationOther,
		measure.PatientDataIncorporated, measure.ReminderSent, measure.ProblemListRecorded, measure.MedicationListRecorded,
		measure.AllergyListRecorded, measure.DemographicsRecorded, measure.VitalsRecorded, measure.SmokingStatusRecorded,
		measure.FamilyHistoryRecorded, measure.AdvanceDirectiveRecorded, measure.ElectronicNoteRecorded}
	for range rapid.IntRange(1, 6).Draw(g.t, "actions") {
		prov := measure.Provider{}
		if rapid.Bool().Draw(g.t, "attributed") {
			prov = g.provider("act-prov")
		}
		p.Actions = append(p.Actions, measure.Action{ID: g.id("a"), Kind: rapid.SampledFrom(kinds).Draw(g.t, "kind"),
			Provider: prov, At: g.at("act")})
	}
	changes := []measure.Change{measure.NewRx, measure.ChangedRx, measure.RefillRx}
	for range rapid.IntRange(1, 3).Draw(g.t, "prescriptions") {
		rx := measure.Prescription{ID: g.id("rx"), Provider: g.provider("rx-prov"), Written: g.at("rx"),
			Change: rapid.SampledFrom(changes).Draw(g.t, "change"), Permissible: rapid.IntRange(0, 3).Draw(g.t, "perm") != 1,
			Controlled: rapid.Bool().Draw(g.t, "ctrl"), Discharge: rapid.Bool().Draw(g.t, "disch"),
			FormularyQueried: rapid.Bool().Draw(g.t, "form")}
		rx.Transmitted = g.after(rx.Written, "tx")
		p.Prescriptions = append(p.Prescriptions, rx)
	}
	orderKinds := []measure.OrderKind{measure.MedicationOrder, measure.LabOrder, measure.ImagingOrder}
	for range rapid.IntRange(1, 3).Draw(g.t, "orders") {
		o := measure.Order{ID: g.id("o"), Provider: g.provider("o-prov"), Kind: rapid.SampledFrom(orderKinds).Draw(g.t, "okind"),
			Created: g.at("o"), CPOE: rapid.Bool().Draw(g.t, "cpoe"), EMAR: rapid.Bool().Draw(g.t, "emar")}
		if rapid.Bool().Draw(g.t, "result") {
			o.Result = &measure.OrderResult{At: g.after(o.Created, "res"), Structured: rapid.Bool().Draw(g.t, "struct"),
				Image: rapid.Bool().Draw(g.t, "image"), Accessible: rapid.Bool().Draw(g.t, "access"), SentToAmbulatory: rapid.Bool().Draw(g.t, "amb")}
		}
		p.Orders = append(p.Orders, o)
	}
	for range rapid.IntRange(1, 2).Draw(g.t, "outs") {
		x := measure.TransitionOut{ID: g.id("to"), Provider: g.provider("to-prov"), At: g.at("to"), Receiver: g.provider("to-recv")}
		x.Provided = g.after(x.At, "prov")
		x.Sent = g.after(x.At, "sent")
		x.Confirmed = g.after(x.Sent, "conf")
		p.TransitionsOut = append(p.TransitionsOut, x)
	}
	inKinds := []measure.InKind{measure.TransitionedIn, measure.ReferredIn, measure.NewPatient}
	for range rapid.IntRange(1, 2).Draw(g.t, "ins") {
		x := measure.TransitionIn{ID: g.id("ti"), Provider: g.provider("ti-prov"), At: g.at("ti"),
			Kind: rapid.SampledFrom(inKinds).Draw(g.t, "inkind"), Unavailable: rapid.IntRange(0, 3).Draw(g.t, "unav") == 1,
			Reconciled: g.reconciliation("rc")}
		x.Received = g.after(x.At, "recv")
		x.Incorporated = g.after(x.Received, "inc")
		if !x.Received.IsZero() {
			x.Records = []measure.Record{{ID: g.id("r"), Received: x.Received, Reconciled: g.reconciliation("rrc")}}
		}
		p.TransitionsIn = append(p.TransitionsIn, x)
	}
	reqKinds := []measure.RequestKind{measure.CopyOfRecord, measure.DischargeInstructions}
	for range rapid.IntRange(0, 1).Draw(g.t, "requests") {
		q := measure.Request{ID: g.id("q"), Kind: rapid.SampledFrom(reqKinds).Draw(g.t, "qkind"), Provider: g.provider("q-prov"), At: g.at("q")}
		q.Fulfilled = g.after(q.At, "ful")
		p.Requests = append(p.Requests, q)
	}
	timeline.Sort(&p)
	return p
}

// TestCountEqualsEvaluate is the property the membership facts exist for: for random
// patients, any ratio measure, entity, period, evaluation moment and variant, Count
// over the patients' derived facts gives Evaluate's numbers and denominator members,
// with the same inputs behind them.
func TestCountEqualsEvaluate(t *testing.T) {
	c := catalog(t)
	var all, timely []measure.Measure
	for _, m := range c.All() {
		if m.Kind == measure.Ratio && m.Rule != nil {
			all = append(all, m)
			if _, ok := m.Rule.(measure.TimelyAccess); ok {
				timely = append(timely, m)
			}
		}
	}
	measuretest.Checks(t, 1000)
	// Every measure, then timely access again: its decrements need several encounters
	// of one clinician, some shared late, which random data makes only now and then.
	t.Run("all", func(t *testing.T) { countEqualsEvaluate(t, c, all) })
	t.Run("timely-access", func(t *testing.T) { countEqualsEvaluate(t, c, timely) })
}

// drawn is one random case of the property tests: a ratio measure, a year, an entity
// that reports it, a period, options, and random patients with their derived facts.
type drawn struct {
	m        measure.Measure
	year     int
	e        contract.Entity
	p        measure.Period
	o        measure.Options
	patients []measure.Patient
	facts    []membership.Fact
}

func drawCase(rt *rapid.T, c *measure.Catalog, ratios []measure.Measure, maxPatients int) drawn {
	x := drawn{m: rapid.SampledFrom(ratios).Draw(rt, "measure")}
	x.year = rapid.IntRange(x.m.Years.From, x.m.Years.To).Draw(rt, "year")
	loc := rapid.SampledFrom([]*time.Location{time.UTC, time.FixedZone("UTC-5", -5*3600)}).Draw(rt, "zone")
	cal := calendar.New(loc)
	g := &gen{t: rt, year: x.year, loc: loc}
	x.patients = make([]measure.Patient, rapid.IntRange(1, maxPatients).Draw(rt, "patients"))
	d := membership.NewDeriver(c, cal)
	for i := range x.patients {
		x.patients[i] = g.patient()
		x.facts = append(x.facts, d.Derive(timeline.Timeline{Patient: x.patients[i]})...)
	}
	x.e = entityFor(rt, x.m, x.patients)
	x.p = periodIn(rt, x.m, x.e.Kind, x.year, loc)
	x.o = measure.Options{Calendar: cal}
	if rapid.Bool().Draw(rt, "as-of") {
		x.o.AsOf = g.at("as-of")
	}
	if len(x.m.Variants) > 0 {
		x.o.Variant = rapid.SampledFrom(x.m.Variants).Draw(rt, "variant")
	}
	return x
}

func countEqualsEvaluate(t *testing.T, c *measure.Catalog, ratios []measure.Measure) {
	var runs, withDen, withNum int
	rapid.Check(t, func(rt *rapid.T) {
		x := drawCase(rt, c, ratios, 6)
		m, year, e, p, o, patients, facts := x.m, x.year, x.e, x.p, x.o, x.patients, x.facts
		want, err := measure.Evaluate(m, e, p, patients, o)
		if err != nil {
			rt.Fatalf("evaluate %s: %v", m.ID, err)
		}
		got, err := membership.Count(m, e, p, o, facts)
		if err != nil {
			rt.Fatalf("count %s: %v", m.ID, err)
		}
		if diff := compare(m, want, got); diff != "" {
			rt.Fatalf("%s %s %d %s–%s as of %v: %s", m.ID, e, year, p.First.Format(time.DateOnly), p.Last.Format(time.DateOnly), o.AsOf, diff)
		}
		runs++
		if want.Denominator > 0 {
			withDen++
		}
		if want.Numerator > 0 {
			withNum++
		}
	})
	// The generator must exercise the rules, not only agree on empty results.
	if withDen*100 < runs*15 || withNum*100 < runs*5 {
		t.Errorf("of %d runs, %d had a denominator and %d a numerator: the generator is too sparse", runs, withDen, withNum)
	}
	t.Logf("%d runs, %d with a denominator, %d with a numerator", runs, withDen, withNum)
}

// entityFor picks an entity that reports m: most often one the patients' inputs are
// attributed to, so that denominators are seldom empty.
func entityFor(t *rapid.T, m measure.Measure, patients []measure.Patient) contract.Entity {
	k := rapid.SampledFrom(m.Entities).Draw(t, "kind")
	var seen []contract.Entity
	for _, p := range patients {
		var provs []measure.Provider
		for _, e := range p.Encounters {
			provs = append(provs, e.Provider)
		}
		for _, x := range p.Prescriptions {
			provs = append(provs, x.Provider)
		}
		for _, x := range p.Orders {
			provs = append(provs, x.Provider)
		}
		for _, x := range p.TransitionsOut {
			provs = append(provs, x.Provider)
		}
		for _, x := range p.TransitionsIn {
			provs = append(provs, x.Provider)
		}
		for _, pr := range provs {
			id := map[string]string{measure.NPI: pr.NPI, measure.TIN: pr.TIN, measure.CCN: pr.CCN}[k]
			if k == measure.TINNPI && pr.NPI != "" && pr.TIN != "" {
				id = pr.TIN + "/" + pr.NPI
			}
			if id != "" {
				seen = append(seen, contract.Entity{Kind: k, ID: id})
			}
		}
	}
	if len(seen) > 0 && rapid.IntRange(0, 4).Draw(t, "attributed-entity") > 0 {
		return rapid.SampledFrom(seen).Draw(t, "entity")
	}
	switch k {
	case measure.NPI:
		return contract.Entity{Kind: k, ID: rapid.SampledFrom(npis).Draw(t, "npi")}
	case measure.TIN:
		return contract.Entity{Kind: k, ID: rapid.SampledFrom(tins).Draw(t, "tin")}
	case measure.CCN:
		return contract.Entity{Kind: k, ID: rapid.SampledFrom(ccns).Draw(t, "ccn")}
	default:
		return contract.Entity{Kind: k, ID: rapid.SampledFrom(tins).Draw(t, "tin") + "/" + rapid.SampledFrom(npis).Draw(t, "npi")}
	}
}

// periodIn is a random period within the reporting year: the whole year, 90 or 180
// days, or any range.
func periodIn(t *rapid.T, m measure.Measure, k measure.EntityKind, year int, loc *time.Location) measure.Period {
	from, to := measure.ReportingYear(k, year, loc)
	days := int(to.Sub(from).Hours()/24 + 0.5)
	length := rapid.SampledFrom([]int{90, 180, rapid.IntRange(1, days).Draw(t, "length"), days}).Draw(t, "span")
	start := rapid.IntRange(0, days-length).Draw(t, "start")
	first := from.AddDate(0, 0, start)
	p := measure.Period{Year: year, First: first, Last: first.AddDate(0, 0, length-1)}
	if m.Window == measure.YearToAttestation && rapid.Bool().Draw(t, "attested") {
		p.Attested = to.Add(time.Duration(rapid.IntRange(-24*30, 24*90).Draw(t, "attested-hours")) * time.Hour)
	}
	return p
}

// compare reports how got differs from want: the numbers, and every denominator
// member with the inputs that decided it.
func compare(m measure.Measure, want, got measure.Result) string {
	if want.Numerator != got.Numerator || want.Denominator != got.Denominator || want.Met != got.Met ||
		want.Borderline != got.Borderline || want.Variant != got.Variant {
		return fmt.Sprintf("numbers %d/%d met=%v, want %d/%d met=%v\nwant %s\n got %s", got.Numerator, got.Denominator, got.Met,
			want.Numerator, want.Denominator, want.Met, members(m, want), members(m, got))
	}
	w, g := members(m, want), members(m, got)
	if !slices.Equal(w, g) {
		return fmt.Sprintf("members differ\nwant %q\n got %q", w, g)
	}
	return ""
}

// members describes the denominator members: who, by which input, and for the
// numerator by which action (or, for timely access, why not).
func members(m measure.Measure, r measure.Result) []string {
	_, timely := m.Rule.(measure.TimelyAccess)
	var out []string
	for _, mb := range r.Members {
		if !mb.InDenominator {
			continue
		}
		s := fmt.Sprintf("%s/%s via %s: den %s %s %s", mb.PatientID, mb.Object, mb.Via, mb.Denominator.Code, mb.Denominator.Ref,
			mb.Denominator.At.UTC().Format(time.RFC3339Nano))
		if mb.InNumerator || timely {
			s += fmt.Sprintf(" num %s %s %s", mb.Numerator.Code, mb.Numerator.Ref, mb.Numerator.At.UTC().Format(time.RFC3339Nano))
		}
		out = append(out, s)
	}
	return out
}
