package membership

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/timeline"
)

// Deriver derives membership facts from timelines. It is safe for concurrent use.
type Deriver struct {
	cal   *calendar.Calendar
	rows  map[rowKey][]measure.Measure // the ratio measures with a rule, by entity kind and year
	years map[rowKey][2]time.Time      // the reporting years of rows' keys
}

type rowKey struct {
	kind measure.EntityKind
	year int
}

// NewDeriver returns a Deriver for catalog c. Deadlines, performance years and days
// are computed with cal, which must be the calendar evaluations use.
func NewDeriver(c *measure.Catalog, cal *calendar.Calendar) *Deriver {
	d := &Deriver{cal: cal, rows: map[rowKey][]measure.Measure{}, years: map[rowKey][2]time.Time{}}
	for _, m := range c.All() {
		if m.Kind != measure.Ratio || m.Rule == nil {
			continue
		}
		for y := m.Years.From; y <= m.Years.To; y++ {
			for _, k := range m.Entities {
				if k != measure.TIN { // groups are their clinicians' facts
					d.rows[rowKey{k, y}] = append(d.rows[rowKey{k, y}], m)
					from, to := measure.ReportingYear(k, y, cal.Location())
					d.years[rowKey{k, y}] = [2]time.Time{from, to}
				}
			}
		}
	}
	return d
}

// Derive returns every membership fact of one patient, in a fixed order. A deleted
// patient has none.
func (d *Deriver) Derive(t timeline.Timeline) []Fact {
	if t.Deleted {
		return nil
	}
	var out []Fact
	for _, ent := range d.entities(t) {
		p := t.For(ent.kind)
		for _, y := range ent.years {
			for _, m := range d.rows[rowKey{ent.kind, y}] {
				s := d.scope(m, ent, y, &p, t.Events)
				out = append(out, s.derive()...)
			}
		}
	}
	return out
}

// entity is an entity the timeline attributes an input to, with the performance years
// of those inputs.
type entity struct {
	contract.Entity
	kind          measure.EntityKind
	npi, tin, ccn string
	years         []int
}

// entities lists the entities the patient's denominator inputs are attributed to: the
// NPI, the TIN/NPI and the CCN of every encounter, prescription, order, transition and
// request, each with the performance years its inputs fall in (and, for the Stage 2
// reminders' look-back, the two years after an office visit).
func (d *Deriver) entities(t timeline.Timeline) []entity {
	byID := map[contract.Entity]*entity{}
	add := func(p measure.Provider, at time.Time, office bool) {
		if at.IsZero() {
			return
		}
		var es []entity
		if p.NPI != "" {
			es = append(es, entity{Entity: contract.Entity{Kind: measure.NPI, ID: p.NPI}, kind: measure.NPI, npi: p.NPI})
			if p.TIN != "" {
				es = append(es, entity{Entity: contract.Entity{Kind: measure.TINNPI, ID: p.TIN + "/" + p.NPI},
					kind: measure.TINNPI, npi: p.NPI, tin: p.TIN})
			}
		}
		if p.CCN != "" {
			es = append(es, entity{Entity: contract.Entity{Kind: measure.CCN, ID: p.CCN}, kind: measure.CCN, ccn: p.CCN})
		}
		for _, e := range es {
			have, ok := byID[e.Entity]
			if !ok {
				have = &e
				byID[e.Entity] = have
			}
			y := measure.PerformanceYear(e.kind, at, d.cal.Location())
			have.years = append(have.years, y)
			if office && e.kind == measure.NPI {
				have.years = append(have.years, y+1, y+2)
			}
		}
	}
	p := t.Patient
	for _, e := range p.Encounters {
		add(e.Provider, e.Start, e.Setting == measure.Office)
		add(e.Provider, e.End, false)
	}
	for _, x := range p.Prescriptions {
		add(x.Provider, x.Written, false)
	}
	for _, x := range p.Orders {
		add(x.Provider, x.Created, false)
	}
	for _, x := range p.TransitionsOut {
		add(x.Provider, x.At, false)
	}
	for _, x := range p.TransitionsIn {
		add(x.Provider, x.At, false)
		for _, r := range x.Records {
			add(x.Provider, r.Received, false)
		}
	}
	for _, x := range p.Requests {
		add(x.Provider, x.At, false)
	}
	out := make([]entity, 0, len(byID))
	for _, e := range byID {
		slices.Sort(e.years)
		e.years = slices.Compact(e.years)
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b entity) int { return cmp.Compare(a.Entity.String(), b.Entity.String()) })
	return out
}

// scope is the derivation of one measure for one entity and performance year.
type scope struct {
	m            measure.Measure
	ent          entity
	year         int
	yFrom, yTo   time.Time // the reporting year
	relFrom      time.Time // numerator actions that can fall in a window of the year: [relFrom, relTo); zero: unbounded
	relTo        time.Time
	cal          *calendar.Calendar
	p            *measure.Patient
	events       map[string]string
	transitiveTN bool // credits the NPI's actions under any TIN
}

func (d *Deriver) scope(m measure.Measure, ent entity, y int, p *measure.Patient, events map[string]string) *scope {
	loc := d.cal.Location()
	s := &scope{m: m, ent: ent, year: y, cal: d.cal, p: p, events: events,
		transitiveTN: m.Transitive && ent.kind == measure.TINNPI}
	span := d.years[rowKey{ent.kind, y}]
	s.yFrom, s.yTo = span[0], span[1]
	switch m.Window {
	case measure.InCalendarYear:
		jan1 := time.Date(y, time.January, 1, 0, 0, 0, 0, loc)
		s.relFrom, s.relTo = minTime(jan1, s.yFrom), maxTime(jan1.AddDate(1, 0, 0), s.yTo)
	case measure.YearToAttestation:
		s.relFrom = s.yFrom
	case measure.BeforePeriodEnd:
		s.relTo = s.yTo
	default:
		s.relFrom, s.relTo = s.yFrom, s.yTo
	}
	return s
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// fact builds a fact of the scope.
func (s *scope) fact(role Role, object, ref string, at time.Time) Fact {
	return Fact{Entity: s.ent.Entity, Program: s.m.Program, Measure: s.m.ID, Year: s.year, Patient: s.p.ID,
		Object: object, Role: role, Ref: ref, At: at.UTC(), Because: s.events[ref]}
}

// owns reports whether an input attributed to p belongs to the entity.
func (s *scope) owns(p measure.Provider) bool {
	switch s.ent.kind {
	case measure.NPI:
		return p.NPI == s.ent.npi
	case measure.TINNPI:
		return p.NPI == s.ent.npi && p.TIN == s.ent.tin
	case measure.CCN:
		return p.CCN == s.ent.ccn
	}
	return false
}

// credits reports whether an action attributed to p counts for the entity's numerator.
func (s *scope) credits(p measure.Provider) bool {
	if p == (measure.Provider{}) {
		return true
	}
	if s.transitiveTN {
		return p.NPI == s.ent.npi
	}
	return s.owns(p)
}

// inYear reports whether t lies in the reporting year.
func (s *scope) inYear(t time.Time) bool { return !t.IsZero() && !t.Before(s.yFrom) && t.Before(s.yTo) }

// relevant reports whether a numerator action at t can fall in the window of a period
// of the year.
func (s *scope) relevant(t time.Time) bool {
	return (s.relFrom.IsZero() || !t.Before(s.relFrom)) && (s.relTo.IsZero() || t.Before(s.relTo))
}

func (s *scope) derive() []Fact {
	switch r := s.m.Rule.(type) {
	case measure.TimelyAccess:
		return s.timelyAccess(r)
	case measure.PatientActed:
		return s.patientActed(r)
	case measure.PatientOrdered:
		return s.patientOrdered(r)
	case measure.Prescribed:
		return s.prescribed(r)
	case measure.Ordered:
		return s.ordered(r)
	case measure.SentSummary:
		return s.sentSummary(r)
	case measure.ReceivedSummary:
		return s.receivedSummary(r)
	case measure.ReceivedRecords:
		return s.receivedRecords()
	case measure.VisitSummary:
		return s.visitSummary(r)
	case measure.Fulfilled:
		return s.fulfilled(r)
	}
	return nil
}

// population is the denominator facts of a unique-patient measure: one per encounter
// of the entity in the population, dated by when it places the patient in a period
// (the discharge for Discharged, else the start), with the age rule decided on the
// encounter's start. For the Stage 2 reminders (PriorVisits) they are the office
// visits that can fall in the 24-month look-back of a period of the year.
func (s *scope) population(pop measure.Population, ages measure.Ages) []Fact {
	var out []Fact
	for _, e := range s.p.Encounters {
		if !s.owns(e.Provider) {
			continue
		}
		at, ok := e.Start, false
		switch pop {
		case measure.Seen:
			ok = s.inYear(at)
		case measure.WithOfficeVisit:
			ok = e.Setting == measure.Office && s.inYear(at)
		case measure.Discharged:
			at = e.End
			ok = e.Setting.Hospital() && s.inYear(at)
		case measure.Admitted:
			ok = e.Setting.Hospital() && s.inYear(at)
		case measure.PriorVisits:
			ok = e.Setting == measure.Office && !at.Before(s.yFrom.AddDate(-2, 0, 0)) && at.Before(s.yTo)
		}
		if !ok {
			continue
		}
		f := s.fact(Denominator, "", e.ID, at)
		if !at.Equal(e.Start) {
			f.Start = e.Start.UTC()
		}
		if fit, note := ages.Admits(s.p.Born, e.Start.In(s.cal.Location())); !fit {
			f.Out = note
		}
		out = append(out, f)
	}
	return out
}

// dailyFirsts keeps, of the actions that match, the first of each calendar day within
// the relevant span: enough to decide whether one falls in any day-aligned window or
// before an attestation, and which one is the earliest there.
func (s *scope) dailyFirsts(acts []measure.Action, match func(a measure.Action) bool) []Fact {
	firsts := map[string]*measure.Action{}
	var days []string
	for i := range acts {
		a := &acts[i]
		if !match(*a) || !s.relevant(a.At) {
			continue
		}
		day := a.At.In(s.cal.Location()).Format(time.DateOnly)
		prev, ok := firsts[day]
		if !ok {
			days = append(days, day)
		}
		if !ok || a.At.Before(prev.At) || a.At.Equal(prev.At) && a.ID < prev.ID {
			firsts[day] = a
		}
	}
	out := make([]Fact, 0, len(days))
	for _, day := range days {
		a := firsts[day]
		out = append(out, s.fact(Numerator, "", a.ID, a.At))
	}
	return out
}

func (s *scope) timelyAccess(r measure.TimelyAccess) []Fact {
	den := s.population(r.Population, nil)
	if len(den) == 0 {
		return nil
	}
	out := slices.Clone(den)
	for i, f := range den {
		e := s.encounter(f.Ref)
		start := e.InfoAt()
		if r.Timely.From == measure.FromDischarge {
			start = e.End
		}
		out[i].Deadline = r.Timely.Deadline(s.cal, start).UTC()
		for _, ch := range r.Channels {
			if sh, ok := firstShare(s.p, e.ID, ch); ok {
				a := s.fact(Access, "", sh.ID, sh.At)
				a.For, a.Channel = e.ID, ch
				out = append(out, a)
			}
		}
	}
	return out
}

// encounter finds one of the patient's encounters.
func (s *scope) encounter(id string) measure.Encounter {
	for _, e := range s.p.Encounters {
		if e.ID == id {
			return e
		}
	}
	return measure.Encounter{}
}

// firstShare is the earliest share of an encounter's information through ch, the
// first listed when several are as early (as measure's timely access rule picks it).
func firstShare(p *measure.Patient, encounterID string, ch measure.Channel) (measure.Share, bool) {
	var best measure.Share
	found := false
	for _, sh := range p.Shares {
		if sh.EncounterID == encounterID && sh.Channel == ch && (!found || sh.At.Before(best.At)) {
			best, found = sh, true
		}
	}
	return best, found
}

func (s *scope) patientActed(r measure.PatientActed) []Fact {
	den := s.population(r.Population, r.Ages)
	if len(den) == 0 {
		return nil
	}
	return append(den, s.dailyFirsts(s.p.Actions, func(a measure.Action) bool {
		return slices.Contains(r.Actions, a.Kind) && s.credits(a.Provider)
	})...)
}

func (s *scope) patientOrdered(r measure.PatientOrdered) []Fact {
	den := s.population(r.Population, nil)
	if len(den) == 0 {
		return nil
	}
	var listed *measure.Action
	for i := range s.p.Actions {
		a := &s.p.Actions[i]
		if a.Kind == measure.MedicationListRecorded && (listed == nil || a.At.Before(listed.At) ||
			a.At.Equal(listed.At) && a.ID < listed.ID) {
			listed = a
		}
	}
	out := den
	if listed != nil {
		out = append(out, s.fact(Gate, "", listed.ID, listed.At))
	}
	// A CPOE medication order is an action like any other: the first of each day.
	var acts []measure.Action
	for _, o := range s.p.Orders {
		if o.Kind == measure.MedicationOrder && o.CPOE && s.credits(o.Provider) {
			acts = append(acts, measure.Action{ID: o.ID, At: o.Created})
		}
	}
	return append(out, s.dailyFirsts(acts, func(measure.Action) bool { return true })...)
}

// object is the denominator fact of a counted object dated at, or none when at is
// outside the reporting year.
func (s *scope) object(id string, at time.Time, out string) (Fact, bool) {
	if !s.inYear(at) {
		return Fact{}, false
	}
	f := s.fact(Denominator, id, id, at)
	f.Out = out
	return f, true
}

// numerator is an object's numerator fact: the action ref at at.
func (s *scope) numerator(object, ref string, at time.Time) Fact {
	return s.fact(Numerator, object, ref, at)
}

func (s *scope) prescribed(r measure.Prescribed) []Fact {
	var out []Fact
	for _, rx := range s.p.Prescriptions {
		if !s.owns(rx.Provider) {
			continue
		}
		var why string
		switch {
		case !rx.Permissible:
			why = "not a permissible prescription (no prescription needed, or may not be sent electronically)"
		case r.Discharge && !rx.Discharge:
			why = "not a discharge prescription"
		case r.Changes != nil && !slices.Contains(r.Changes, rx.Change):
			why = fmt.Sprintf("a %s prescription; the measure counts %v", rx.Change, r.Changes)
		}
		den, ok := s.object(rx.ID, rx.Written, why)
		if !ok {
			continue
		}
		den.Controlled = rx.Controlled
		out = append(out, den)
		if (!r.Formulary || rx.FormularyQueried) && !rx.Transmitted.IsZero() {
			out = append(out, s.numerator(rx.ID, rx.ID, rx.Transmitted))
		}
	}
	return out
}

func (s *scope) ordered(r measure.Ordered) []Fact {
	var out []Fact
	for _, o := range s.p.Orders {
		if o.Kind != r.Kind || !s.owns(o.Provider) {
			continue
		}
		needResult := r.Test != measure.ByCPOE && r.Test != measure.ByEMAR
		var why string
		switch {
		case needResult && o.Result == nil:
			why = "no result yet"
		case r.Test == measure.AccessibleImage && !o.Result.Image:
			why = "the result is not an image"
		}
		den, ok := s.object(o.ID, o.Created, why)
		if !ok {
			continue
		}
		out = append(out, den)
		if why == "" && passes(r.Test, o) {
			n := s.numerator(o.ID, o.ID, o.Created)
			n.Anytime = true
			out = append(out, n)
		}
	}
	return out
}

// passes reports whether an order shows what test asks (a result, when it asks one).
func passes(test measure.OrderTest, o measure.Order) bool {
	switch test {
	case measure.ByCPOE:
		return o.CPOE
	case measure.ByEMAR:
		return o.EMAR
	case measure.StructuredResult:
		return o.Result.Structured
	case measure.AccessibleImage:
		return o.Result.Accessible
	case measure.ResultSent:
		return o.Result.SentToAmbulatory
	}
	return false
}

func (s *scope) sentSummary(r measure.SentSummary) []Fact {
	var out []Fact
	for _, t := range s.p.TransitionsOut {
		if !s.owns(t.Provider) {
			continue
		}
		var why string
		if sameBilling(s.ent.kind, t.Provider, t.Receiver) {
			why = "the receiver has the same billing identity (§2.1: not a transition)"
		}
		den, ok := s.object(t.ID, t.At, why)
		if !ok {
			continue
		}
		out = append(out, den)
		switch {
		case !r.Electronic:
			done := t.Provided
			if done.IsZero() || !t.Sent.IsZero() && t.Sent.Before(done) {
				done = t.Sent
			}
			if !done.IsZero() {
				out = append(out, s.numerator(t.ID, t.ID, done))
			}
		case t.Sent.IsZero(), r.Confirmed && t.Confirmed.IsZero():
		default:
			n := s.numerator(t.ID, t.ID, t.Sent)
			if r.Confirmed {
				n.Until = t.Confirmed.UTC()
			}
			out = append(out, n)
		}
	}
	return out
}

// sameBilling reports whether sender and receiver are the same billing identity for
// the entity kind (measure's rule).
func sameBilling(k measure.EntityKind, from, to measure.Provider) bool {
	if k == measure.CCN {
		return to.CCN != "" && to.CCN == from.CCN
	}
	return to.NPI != "" && to.NPI == from.NPI
}

func (s *scope) receivedSummary(r measure.ReceivedSummary) []Fact {
	var out []Fact
	for _, t := range s.p.TransitionsIn {
		if !s.owns(t.Provider) {
			continue
		}
		var why string
		incorporate := r.Test == measure.SummaryIncorporated
		switch {
		case !slices.Contains(r.Kinds, t.Kind):
			why = fmt.Sprintf("a %s; the measure counts %v", t.Kind, r.Kinds)
		case incorporate && t.Unavailable:
			why = "summary of care requested and unavailable"
		case incorporate && !t.Received.IsZero() && t.Received.In(s.cal.Location()).Year() != s.year:
			why = "summary of care received outside the calendar year"
		}
		den, ok := s.object(t.ID, t.At, why)
		if !ok {
			continue
		}
		out = append(out, den)
		switch r.Test {
		case measure.MedicationsReconciled:
			if !t.Reconciled.Medications.IsZero() {
				out = append(out, s.numerator(t.ID, t.ID, t.Reconciled.Medications))
			}
		case measure.SummaryIncorporated:
			if !t.Incorporated.IsZero() {
				out = append(out, s.numerator(t.ID, t.ID, t.Incorporated))
			}
		case measure.AllReconciled:
			if n, ok := s.reconciled(t.ID, t.Reconciled); ok {
				out = append(out, n)
			}
		}
	}
	return out
}

// reconciled is the numerator fact of a three-part reconciliation: every part must
// fall in the window, so the first and last bound it.
func (s *scope) reconciled(object string, rc measure.Reconciliation) (Fact, bool) {
	parts := []time.Time{rc.Medications, rc.Allergies, rc.Problems}
	if slices.ContainsFunc(parts, time.Time.IsZero) {
		return Fact{}, false
	}
	first := slices.MinFunc(parts, time.Time.Compare)
	last := slices.MaxFunc(parts, time.Time.Compare)
	n := s.numerator(object, object, first)
	n.Until = last.UTC()
	return n, true
}

func (s *scope) receivedRecords() []Fact {
	var out []Fact
	for _, t := range s.p.TransitionsIn {
		if !s.owns(t.Provider) {
			continue
		}
		for _, rec := range t.Records {
			den, ok := s.object(rec.ID, rec.Received, "")
			if !ok {
				continue
			}
			out = append(out, den)
			if n, ok := s.reconciled(rec.ID, rec.Reconciled); ok {
				out = append(out, n)
			}
		}
	}
	return out
}

func (s *scope) visitSummary(r measure.VisitSummary) []Fact {
	var out []Fact
	for _, e := range s.p.Encounters {
		if e.Setting != measure.Office || !s.owns(e.Provider) {
			continue
		}
		var first *measure.Action
		for i := range s.p.Actions {
			a := &s.p.Actions[i]
			if a.Kind == measure.ClinicalSummaryProvided && a.EncounterID == e.ID &&
				(first == nil || a.At.Before(first.At) || a.At.Equal(first.At) && a.ID < first.ID) {
				first = a
			}
		}
		done := measure.Action{}
		if first != nil {
			done = *first
		}
		out = append(out, s.timed(e.ID, e.Start, r.Timely, done.ID, done.At)...)
	}
	return out
}

func (s *scope) fulfilled(r measure.Fulfilled) []Fact {
	var out []Fact
	for _, q := range s.p.Requests {
		if q.Kind == r.Kind && s.owns(q.Provider) {
			out = append(out, s.timed(q.ID, q.At, r.Timely, q.ID, q.Fulfilled)...)
		}
	}
	return out
}

// timed is the facts of an object dated at whose numerator action (ref, done) is due
// within rule t of at: the object, and the action when it was done in time.
func (s *scope) timed(id string, at time.Time, t measure.Timely, ref string, done time.Time) []Fact {
	den, ok := s.object(id, at, "")
	if !ok {
		return nil
	}
	den.Deadline = t.Deadline(s.cal, at).UTC()
	if done.IsZero() || !timely(den.Deadline, done) {
		return []Fact{den}
	}
	n := s.numerator(id, ref, done)
	n.Anytime = true
	return []Fact{den, n}
}

// timely reports whether done is no later than deadline (a zero deadline has none).
func timely(deadline, done time.Time) bool { return deadline.IsZero() || !done.After(deadline) }

// clinician is the NPI of a TIN/NPI entity ID.
func clinician(tinNPI string) string {
	_, npi, _ := strings.Cut(tinNPI, "/")
	return npi
}
