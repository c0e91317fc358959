package measure

import (
	"fmt"
	"slices"
	"time"
)

// object builds the member for one counted object: in the denominator with reason
// den when out is "", else out of it for that reason.
func object(p *Patient, id string, at time.Time, den string, out Code, note string) Member {
	m := Member{PatientID: p.ID, Object: id}
	if out != "" {
		m.Denominator = Reason{Code: out, Ref: id, At: at, Note: note}
		return m
	}
	m.InDenominator = true
	m.Denominator = Reason{Code: Counted, Ref: id, At: at, Note: den}
	return m
}

// outOfPeriod is the usual reason an object is not counted.
func (s *scope) outOfPeriod(what string, at time.Time) string {
	return fmt.Sprintf("%s on %s, outside the period", what, s.day(at))
}

// numerator sets m's numerator from an action time: Met when done is in the window,
// else why it is not.
func (s *scope) numerator(m *Member, ref string, done time.Time, met, missing string) {
	switch {
	case done.IsZero():
		m.Numerator = Reason{Code: Missing, Ref: ref, Note: missing}
	case !s.inWindow(done):
		m.Numerator = Reason{Code: OutOfWindow, Ref: ref, At: done,
			Note: fmt.Sprintf("%s at %s, outside %s", met, s.stamp(done), s.windowNote())}
	default:
		m.InNumerator = true
		m.Numerator = Reason{Code: Met, Ref: ref, At: done, Note: met}
	}
}

// Prescribed is the e-prescribing rule: permissible prescriptions written by the
// entity in the period (hospitals: discharge prescriptions of the listed changes);
// numerator: generated and transmitted electronically with CEHRT, and queried
// against a drug formulary when Formulary is set. Controlled substances are counted
// or not according to the variant.
type Prescribed struct {
	Discharge bool     // hospital discharge prescriptions only
	Changes   []Change // the changes counted; nil counts new, changed and refill
	Formulary bool     // the numerator also needs a formulary query
}

func (r Prescribed) count(s *scope, p *Patient) []Member {
	var out []Member
	for _, rx := range p.Prescriptions {
		if !s.owns(rx.Provider) {
			continue
		}
		m := r.denominator(s, p, rx)
		if m.InDenominator {
			switch {
			case r.Formulary && !rx.FormularyQueried:
				m.Numerator = Reason{Code: Missing, Ref: rx.ID, Note: "no drug formulary query"}
			default:
				s.numerator(&m, rx.ID, rx.Transmitted, "transmitted electronically with CEHRT", "not transmitted electronically")
			}
		}
		out = append(out, m)
	}
	return out
}

func (r Prescribed) denominator(s *scope, p *Patient, rx Prescription) Member {
	var out Code
	note := ""
	switch {
	case !s.inPeriod(rx.Written):
		out, note = OutOfPeriod, s.outOfPeriod("written", rx.Written)
	case !rx.Permissible:
		out, note = NotEligible, "not a permissible prescription (no prescription needed, or may not be sent electronically)"
	case r.Discharge && !rx.Discharge:
		out, note = NotEligible, "not a discharge prescription"
	case r.Changes != nil && !slices.Contains(r.Changes, rx.Change):
		out, note = NotEligible, fmt.Sprintf("a %s prescription; the measure counts %v", rx.Change, r.Changes)
	case rx.Controlled && s.variant == ControlledExcluded:
		out, note = NotEligible, "a controlled substance, excluded in this variant"
	}
	return object(p, rx.ID, rx.Written, "permissible prescription written in the period", out, note)
}

// OrderTest is what an order must show to be in an order rule's numerator.
type OrderTest string

// The order tests.
const (
	ByCPOE           OrderTest = "entered with CPOE"
	ByEMAR           OrderTest = "every dose tracked with eMAR"
	StructuredResult OrderTest = "result incorporated as structured data"
	AccessibleImage  OrderTest = "image accessible through CEHRT"
	ResultSent       OrderTest = "structured result sent electronically to the ambulatory provider"
)

// Ordered is the rule for orders created by the entity in the period: CPOE and eMAR
// count every order of the kind; the results tests count the orders with a result
// (an image, for AccessibleImage).
type Ordered struct {
	Kind OrderKind
	Test OrderTest
}

func (r Ordered) count(s *scope, p *Patient) []Member {
	var out []Member
	for _, o := range p.Orders {
		if o.Kind != r.Kind || !s.owns(o.Provider) {
			continue
		}
		var code Code
		note := ""
		switch {
		case !s.inPeriod(o.Created):
			code, note = OutOfPeriod, s.outOfPeriod("created", o.Created)
		case r.resultNeeded() && o.Result == nil:
			code, note = NotEligible, "no result yet"
		case r.Test == AccessibleImage && !o.Result.Image:
			code, note = NotEligible, "the result is not an image"
		}
		m := object(p, o.ID, o.Created, fmt.Sprintf("%s order created in the period", r.Kind), code, note)
		if m.InDenominator {
			if r.passes(o) {
				m.InNumerator = true
				m.Numerator = Reason{Code: Met, Ref: o.ID, At: o.Created, Note: string(r.Test)}
			} else {
				m.Numerator = Reason{Code: Missing, Ref: o.ID, Note: "not " + string(r.Test)}
			}
		}
		out = append(out, m)
	}
	return out
}

func (r Ordered) resultNeeded() bool { return r.Test != ByCPOE && r.Test != ByEMAR }

func (r Ordered) passes(o Order) bool {
	switch r.Test {
	case ByCPOE:
		return o.CPOE
	case ByEMAR:
		return o.EMAR
	case StructuredResult:
		return o.Result.Structured
	case AccessibleImage:
		return o.Result.Accessible
	case ResultSent:
		return o.Result.SentToAmbulatory
	}
	return false
}

// SentSummary is the "send a summary of care" rule: transitions and referrals in
// which the entity is the sender, in the period, to a different billing identity;
// numerator: a summary provided by any means (Electronic false, Stage 1 and 2), or
// created with CEHRT and exchanged electronically — with receipt confirmed when
// Confirmed is set (the ONC test for the PI measure).
type SentSummary struct {
	Electronic bool
	Confirmed  bool
}

func (r SentSummary) count(s *scope, p *Patient) []Member {
	var out []Member
	for _, t := range p.TransitionsOut {
		if !s.owns(t.Provider) {
			continue
		}
		var code Code
		note := ""
		switch {
		case !s.inPeriod(t.At):
			code, note = OutOfPeriod, s.outOfPeriod("transition", t.At)
		case sameBilling(s.kind, t.Provider, t.Receiver):
			code, note = NotEligible, "the receiver has the same billing identity (§2.1: not a transition)"
		}
		m := object(p, t.ID, t.At, "transition or referral sent in the period", code, note)
		if m.InDenominator {
			r.numerator(s, &m, t)
		}
		out = append(out, m)
	}
	return out
}

func (r SentSummary) numerator(s *scope, m *Member, t TransitionOut) {
	switch {
	case !r.Electronic:
		done := t.Provided
		if done.IsZero() || !t.Sent.IsZero() && t.Sent.Before(done) {
			done = t.Sent
		}
		s.numerator(m, t.ID, done, "summary of care provided", "no summary of care provided")
	case r.Confirmed && !t.Sent.IsZero() && t.Confirmed.IsZero():
		m.Numerator = Reason{Code: Missing, Ref: t.ID, At: t.Sent, Note: "summary sent electronically but receipt not confirmed"}
	case r.Confirmed && !t.Sent.IsZero() && !s.inWindow(t.Confirmed):
		m.Numerator = Reason{Code: OutOfWindow, Ref: t.ID, At: t.Confirmed,
			Note: fmt.Sprintf("receipt confirmed at %s, outside %s", s.stamp(t.Confirmed), s.windowNote())}
	default:
		s.numerator(m, t.ID, t.Sent, "summary of care exchanged electronically", "no summary of care exchanged electronically")
	}
}

// sameBilling reports whether sender and receiver are the same billing identity for
// the entity kind: the same CCN for hospitals, the same NPI for clinicians.
func sameBilling(k EntityKind, from, to Provider) bool {
	if k == CCN {
		return to.CCN != "" && to.CCN == from.CCN
	}
	return to.NPI != "" && to.NPI == from.NPI
}

// ReconcileTest is what an incoming transition must show to be in the numerator.
type ReconcileTest string

// The reconciliation tests.
const (
	MedicationsReconciled ReconcileTest = "medication reconciliation performed"
	AllReconciled         ReconcileTest = "medications, medication allergies and current problems reconciled"
	SummaryIncorporated   ReconcileTest = "electronic summary of care received and incorporated"
)

// ReceivedSummary is the rule for transitions and referrals received (and, where
// Kinds lists NewPatient, first encounters with new patients) in the period;
// numerator: the reconciliation or incorporation Test done within the window.
// Incorporation leaves out transitions whose summary was requested and unavailable,
// and those whose summary was received outside the calendar year (ONC RT8 notes 2–3).
type ReceivedSummary struct {
	Kinds []InKind
	Test  ReconcileTest
}

func (r ReceivedSummary) count(s *scope, p *Patient) []Member {
	var out []Member
	for _, t := range p.TransitionsIn {
		if !s.owns(t.Provider) {
			continue
		}
		var code Code
		note := ""
		switch {
		case !s.inPeriod(t.At):
			code, note = OutOfPeriod, s.outOfPeriod(string(t.Kind), t.At)
		case !slices.Contains(r.Kinds, t.Kind):
			code, note = NotEligible, fmt.Sprintf("a %s; the measure counts %v", t.Kind, r.Kinds)
		case r.Test == SummaryIncorporated && t.Unavailable:
			code, note = NotEligible, "summary of care requested and unavailable"
		case r.Test == SummaryIncorporated && !t.Received.IsZero() && t.Received.In(s.cal.Location()).Year() != s.year:
			code, note = NotEligible, "summary of care received outside the calendar year"
		}
		m := object(p, t.ID, t.At, fmt.Sprintf("%s received in the period", t.Kind), code, note)
		if m.InDenominator {
			switch r.Test {
			case MedicationsReconciled:
				s.numerator(&m, t.ID, t.Reconciled.Medications, string(r.Test), "no medication reconciliation")
			case AllReconciled:
				s.reconciled(&m, t.ID, t.Reconciled)
			case SummaryIncorporated:
				s.numerator(&m, t.ID, t.Incorporated, string(r.Test), "no electronic summary of care incorporated")
			}
		}
		out = append(out, m)
	}
	return out
}

// reconciled decides the three-part reconciliation: all of medications, medication
// allergies and current problems, each within the window; the last one done dates it.
func (s *scope) reconciled(m *Member, ref string, rc Reconciliation) {
	parts := []struct {
		what string
		at   time.Time
	}{{"medications", rc.Medications}, {"medication allergies", rc.Allergies}, {"current problems", rc.Problems}}
	var last time.Time
	for _, part := range parts {
		if part.at.IsZero() || !s.inWindow(part.at) {
			s.numerator(m, ref, part.at, part.what+" reconciled", part.what+" not reconciled")
			m.InNumerator = false
			return
		}
		if part.at.After(last) {
			last = part.at
		}
	}
	m.InNumerator = true
	m.Numerator = Reason{Code: Met, Ref: ref, At: last, Note: string(AllReconciled)}
}

// ReceivedRecords is PI_HIE_4 from 2019: the unit is each electronic summary of care
// record received in the period for a transition, referral or new patient of the
// entity; numerator: medications, allergies and problems all reconciled within the
// window (ONC RT15).
type ReceivedRecords struct{}

func (ReceivedRecords) count(s *scope, p *Patient) []Member {
	var out []Member
	for _, t := range p.TransitionsIn {
		if !s.owns(t.Provider) {
			continue
		}
		for _, rec := range t.Records {
			var code Code
			note := ""
			if !s.inPeriod(rec.Received) {
				code, note = OutOfPeriod, s.outOfPeriod("received", rec.Received)
			}
			m := object(p, rec.ID, rec.Received,
				fmt.Sprintf("electronic summary of care received for %s %s", t.Kind, t.ID), code, note)
			if m.InDenominator {
				s.reconciled(&m, rec.ID, rec.Reconciled)
			}
			out = append(out, m)
		}
	}
	return out
}

// VisitSummary is the Stage 1 and 2 clinical summary rule: office visits of the
// entity in the period; numerator: a clinical summary provided within the timeliness
// rule after the visit.
type VisitSummary struct {
	Timely Timely
}

func (r VisitSummary) count(s *scope, p *Patient) []Member {
	var out []Member
	for _, e := range p.Encounters {
		if e.Setting != Office || !s.owns(e.Provider) {
			continue
		}
		var code Code
		note := ""
		if !s.inPeriod(e.Start) {
			code, note = OutOfPeriod, s.outOfPeriod("office visit", e.Start)
		}
		m := object(p, e.ID, e.Start, "office visit in the period", code, note)
		if m.InDenominator {
			r.numerator(s, &m, p, e)
		}
		out = append(out, m)
	}
	return out
}

func (r VisitSummary) numerator(s *scope, m *Member, p *Patient, e Encounter) {
	var first *Action
	for i := range p.Actions {
		a := &p.Actions[i]
		if a.Kind == ClinicalSummaryProvided && a.EncounterID == e.ID {
			first = earlier(first, a)
		}
	}
	ref, done := e.ID, time.Time{}
	if first != nil {
		ref, done = first.ID, first.At
	}
	*m = s.timed(*m, ref, e.Start, done, r.Timely, "clinical summary")
}

// timed decides a numerator action due within rule t of start: met when done is no
// later than the deadline, pending while the deadline is ahead of AsOf, else missing
// or late.
func (s *scope) timed(m Member, ref string, start, done time.Time, t Timely, what string) Member {
	deadline := t.Deadline(s.cal, start)
	switch {
	case done.IsZero() && s.pending(deadline):
		m.Numerator = Reason{Code: Pending, Ref: ref, Note: what + " due by " + s.stamp(deadline)}
	case done.IsZero():
		m.Numerator = Reason{Code: Missing, Ref: ref, Note: "no " + what}
	case !t.on(s.cal, start, done):
		m.Numerator = Reason{Code: Late, Ref: ref, At: done,
			Note: fmt.Sprintf("%s at %s, after %s (%s)", what, s.stamp(done), s.stamp(deadline), t)}
	default:
		m.InNumerator = true
		m.Numerator = Reason{Code: Met, Ref: ref, At: done, Note: what + " in time"}
	}
	return m
}

// Fulfilled is Stage 1's "electronic copy on request" rule: requests of Kind made to
// the entity in the period; numerator: fulfilled within the timeliness rule.
type Fulfilled struct {
	Kind   RequestKind
	Timely Timely
}

func (r Fulfilled) count(s *scope, p *Patient) []Member {
	var out []Member
	for _, q := range p.Requests {
		if q.Kind != r.Kind || !s.owns(q.Provider) {
			continue
		}
		var code Code
		note := ""
		if !s.inPeriod(q.At) {
			code, note = OutOfPeriod, s.outOfPeriod("requested", q.At)
		}
		m := object(p, q.ID, q.At, fmt.Sprintf("%s requested in the period", r.Kind), code, note)
		if m.InDenominator {
			m = s.timed(m, q.ID, q.At, q.Fulfilled, r.Timely, string(r.Kind)+" fulfilment")
		}
		out = append(out, m)
	}
	return out
}
