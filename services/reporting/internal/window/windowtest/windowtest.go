// Package windowtest builds the test data of reporting's window, forecast and
// worklist packages honestly: synthetic patients with a year of every kind of input,
// their membership facts derived by membership.Deriver exactly as metrics derives
// them, and an in-memory fact source with the Series method those packages read.
// It is for tests and benchmarks only.
package windowtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/measure/timeline"
	"github.com/attest-ehr/attest/libs/phi"
)

// Gen draws patients around one performance year.
type Gen struct {
	R    *rand.Rand
	Year int
	Loc  *time.Location
	// Providers are who inputs are attributed to; each patient has one main
	// provider (drawn from them) and now and then another.
	Providers []measure.Provider
	// Spread is the share of inputs dated outside the year and at day boundaries,
	// in percent (the property tests want edges; benchmarks want a plain year).
	Spread int
	// Ramp, when set, makes activity grow through the year (more numerator actions
	// later), so that recent weeks differ from the year so far.
	Ramp bool
	n    int
}

func (g *Gen) id(prefix string) string {
	g.n++
	return fmt.Sprintf("%s%05d", prefix, g.n)
}

func (g *Gen) pct(p int) bool { return g.R.IntN(100) < p }

// At is an instant of the year (sometimes around it, and sometimes on a day
// boundary, as Spread says).
func (g *Gen) At() time.Time {
	jan1 := time.Date(g.Year, time.January, 1, 0, 0, 0, 0, g.Loc)
	day := g.R.IntN(365)
	if g.pct(g.Spread) {
		day = g.R.IntN(365+120) - 60
	}
	t := jan1.AddDate(0, 0, day)
	switch {
	case g.pct(g.Spread / 2):
		return t // midnight: a window boundary
	case g.pct(g.Spread / 2):
		return t.Add(-time.Nanosecond)
	}
	return t.Add(time.Duration(g.R.IntN(24*60)) * time.Minute)
}

// after is an instant up to a few days after t, or zero (one time in five).
func (g *Gen) after(t time.Time) time.Time {
	if t.IsZero() || g.R.IntN(5) == 0 {
		return time.Time{}
	}
	return t.Add(time.Duration(g.R.IntN(8*24)) * time.Hour)
}

func (g *Gen) provider(main measure.Provider) measure.Provider {
	if g.pct(80) {
		return main
	}
	return g.Providers[g.R.IntN(len(g.Providers))]
}

func (g *Gen) reconciliation() measure.Reconciliation {
	base := g.At()
	return measure.Reconciliation{Medications: g.after(base), Allergies: g.after(base), Problems: g.after(base)}
}

// Patient draws one patient with every kind of input.
func (g *Gen) Patient() measure.Patient {
	p := measure.Patient{ID: g.id("p")}
	if g.pct(80) {
		p.Born = phi.Date(time.Date(g.Year-g.R.IntN(80), 6, 15, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
	}
	main := g.Providers[g.R.IntN(len(g.Providers))]
	settings := []measure.Setting{measure.Office, measure.Office, measure.Telehealth, measure.Inpatient, measure.Emergency, measure.Observation}
	for range 1 + g.R.IntN(4) {
		e := measure.Encounter{ID: g.id("e"), Provider: g.provider(main), Setting: settings[g.R.IntN(len(settings))], Start: g.At()}
		e.End = g.after(e.Start)
		e.InfoAvailable = g.after(e.Start)
		p.Encounters = append(p.Encounters, e)
		for _, ch := range []measure.Channel{measure.VDT, measure.API} {
			hours := [][]int{{1}, {-2}, {30}, {40}, {47}, {100}, {200}, {}, {150, 2}}[g.R.IntN(9)]
			if g.Ramp && e.Start.YearDay() > 200 && g.pct(50) {
				hours = []int{1}
			}
			for _, h := range hours {
				p.Shares = append(p.Shares, measure.Share{ID: g.id("s"), EncounterID: e.ID, Channel: ch,
					At: e.InfoAt().Add(time.Duration(h) * time.Hour)})
			}
		}
		if e.Setting == measure.Office && g.pct(50) {
			p.Actions = append(p.Actions, measure.Action{ID: g.id("cs"), Kind: measure.ClinicalSummaryProvided, Provider: e.Provider,
				At: g.after(e.Start).Add(time.Minute), EncounterID: e.ID})
		}
	}
	kinds := []measure.ActionKind{measure.ViewedDownloadedTransmitted, measure.AccessedAPI, measure.MessageFromPatient,
		measure.MessageToPatient, measure.MessageCopyingPatient, measure.EducationElectronic, measure.EducationOther,
		measure.PatientDataIncorporated, measure.ReminderSent, measure.ProblemListRecorded, measure.MedicationListRecorded,
		measure.AllergyListRecorded, measure.DemographicsRecorded, measure.VitalsRecorded, measure.SmokingStatusRecorded}
	for range 1 + g.R.IntN(4) {
		prov := measure.Provider{}
		if g.pct(50) {
			prov = g.provider(main)
		}
		p.Actions = append(p.Actions, measure.Action{ID: g.id("a"), Kind: kinds[g.R.IntN(len(kinds))], Provider: prov, At: g.At()})
	}
	changes := []measure.Change{measure.NewRx, measure.ChangedRx, measure.RefillRx}
	for range g.R.IntN(3) {
		rx := measure.Prescription{ID: g.id("rx"), Provider: g.provider(main), Written: g.At(), Change: changes[g.R.IntN(3)],
			Permissible: g.pct(75), Controlled: g.pct(30), Discharge: g.pct(30), FormularyQueried: g.pct(60)}
		rx.Transmitted = g.after(rx.Written)
		p.Prescriptions = append(p.Prescriptions, rx)
	}
	orderKinds := []measure.OrderKind{measure.MedicationOrder, measure.LabOrder, measure.ImagingOrder}
	for range g.R.IntN(3) {
		o := measure.Order{ID: g.id("o"), Provider: g.provider(main), Kind: orderKinds[g.R.IntN(3)], Created: g.At(),
			CPOE: g.pct(70), EMAR: g.pct(50)}
		if g.pct(50) {
			o.Result = &measure.OrderResult{At: g.after(o.Created), Structured: g.pct(50), Image: g.pct(50), Accessible: g.pct(50), SentToAmbulatory: g.pct(50)}
		}
		p.Orders = append(p.Orders, o)
	}
	for range g.R.IntN(2) {
		x := measure.TransitionOut{ID: g.id("to"), Provider: g.provider(main), At: g.At(), Receiver: g.Providers[g.R.IntN(len(g.Providers))]}
		x.Provided = g.after(x.At)
		x.Sent = g.after(x.At)
		x.Confirmed = g.after(x.Sent)
		p.TransitionsOut = append(p.TransitionsOut, x)
	}
	inKinds := []measure.InKind{measure.TransitionedIn, measure.ReferredIn, measure.NewPatient}
	for range g.R.IntN(2) {
		x := measure.TransitionIn{ID: g.id("ti"), Provider: g.provider(main), At: g.At(), Kind: inKinds[g.R.IntN(3)],
			Unavailable: g.pct(20), Reconciled: g.reconciliation()}
		x.Received = g.after(x.At)
		x.Incorporated = g.after(x.Received)
		if !x.Received.IsZero() {
			x.Records = []measure.Record{{ID: g.id("r"), Received: x.Received, Reconciled: g.reconciliation()}}
		}
		p.TransitionsIn = append(p.TransitionsIn, x)
	}
	timeline.Sort(&p)
	return p
}

// Patients draws n patients.
func (g *Gen) Patients(n int) []measure.Patient {
	out := make([]measure.Patient, n)
	for i := range out {
		out[i] = g.Patient()
	}
	return out
}

// Derive is every membership fact of the patients, as metrics derives and publishes them.
func Derive(c *measure.Catalog, cal *calendar.Calendar, patients []measure.Patient) []membership.Fact {
	d := membership.NewDeriver(c, cal)
	var out []membership.Fact
	for _, p := range patients {
		out = append(out, d.Derive(timeline.Timeline{Patient: p})...)
	}
	return out
}

// Clinicians are n clinicians (TIN/NPI pairs) spread over tins groups, with
// syntactically plain IDs.
func Clinicians(n, tins int) []measure.Provider {
	out := make([]measure.Provider, n)
	for i := range out {
		out[i] = measure.Provider{NPI: npi(fmt.Sprintf("1%08d", i)), TIN: fmt.Sprintf("%09d", 100000000+i%tins), CCN: fmt.Sprintf("%06d", 100000+i%tins)}
	}
	return out
}

// npi appends the Luhn check digit (over the prefix 80840 and the nine digits) to
// nine digits, so the NPIs pass ident.ValidNPI.
func npi(nine string) string {
	sum := 24
	for i := 8; i >= 0; i-- {
		d := int(nine[i] - '0')
		if (8-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return nine + fmt.Sprint((10-sum%10)%10)
}

// Memory is an in-memory fact source: Series as reporting's fact store answers it.
type Memory struct {
	series map[membership.Series][]membership.Fact
	byTIN  map[string][]contract.Entity // a group's clinicians
}

// NewMemory holds facts.
func NewMemory(facts []membership.Fact) *Memory {
	m := &Memory{series: map[membership.Series][]membership.Fact{}, byTIN: map[string][]contract.Entity{}}
	for _, f := range facts {
		s := f.Series()
		if _, seen := m.series[s]; !seen && f.Entity.Kind == contract.EntityTINNPI {
			tin, _, _ := strings.Cut(f.Entity.ID, "/")
			if !containsEntity(m.byTIN[tin], f.Entity) {
				m.byTIN[tin] = append(m.byTIN[tin], f.Entity)
			}
		}
		m.series[s] = append(m.series[s], f)
	}
	return m
}

func containsEntity(es []contract.Entity, e contract.Entity) bool {
	for _, x := range es {
		if x == e {
			return true
		}
	}
	return false
}

// Series is the facts of one entity, program, measure and year; a group's are its
// clinicians' TIN/NPI facts.
func (m *Memory) Series(_ context.Context, e contract.Entity, program, measureID string, year int) ([]membership.Fact, error) {
	if e.Kind != contract.EntityTIN {
		return m.series[membership.Series{Entity: e, Program: measure.Program(program), Measure: measureID, Year: year}], nil
	}
	var out []membership.Fact
	for _, c := range m.byTIN[e.ID] {
		out = append(out, m.series[membership.Series{Entity: c, Program: measure.Program(program), Measure: measureID, Year: year}]...)
	}
	return out, nil
}

// ColumnMemory is Memory whose series are also held as columns, built once, as the
// fact store's cache holds them: Finder sweeps its columns.
type ColumnMemory struct {
	*Memory
	cols map[membership.Series]*membership.Columns
}

// NewColumnMemory holds facts, and each series as columns.
func NewColumnMemory(facts []membership.Fact) (*ColumnMemory, error) {
	m := &ColumnMemory{Memory: NewMemory(facts), cols: map[membership.Series]*membership.Columns{}}
	for x, fs := range m.series {
		c, err := membership.NewColumns(fs)
		if err != nil {
			return nil, err
		}
		m.cols[x] = c
	}
	return m, nil
}

// Columns is the series of an entity as columns (a group's: its clinicians'), without
// a version token.
func (m *ColumnMemory) Columns(_ context.Context, e contract.Entity, p measure.Program, measureID string, year int) ([]*membership.Columns, string, error) {
	es := []contract.Entity{e}
	if e.Kind == contract.EntityTIN {
		es = m.byTIN[e.ID]
	}
	var out []*membership.Columns
	for _, x := range es {
		if c, ok := m.cols[membership.Series{Entity: x, Program: p, Measure: measureID, Year: year}]; ok {
			out = append(out, c)
		}
	}
	return out, "", nil
}
