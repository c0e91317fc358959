package projectiontest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"pgregory.net/rapid"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/measure/timeline"
)

// History is what the owners published about a few patients: for each topic and
// patient, the events in the order they were published — the order a consumer is
// guaranteed to see them in. Across queues, any order is possible.
type History struct {
	Queues [][]event.Event
}

// Providers the drawn inputs are attributed to.
var (
	NPIs = []string{"1111111111", "2222222222"}
	TINs = []string{"111111111", "222222222"}
	CCNs = []string{"123456"}
)

// history draws one History: its shape (how many inputs of which kinds, which are
// corrected or deleted) with rapid, so that a failure shrinks to a small history, and
// the values (instants, providers, flags) from a generator seeded by rapid, which is
// much cheaper than a rapid draw each.
type history struct {
	t      *rapid.T
	rng    *rand.Rand
	year   int
	n      int
	queues map[string][]event.Event // by topic and patient
	queued []string
	// IDs drawn so far, by patient, for inputs that refer to others.
	encounters, transitions, orders map[string][]string
}

// Draw draws the history of the given patients: each has a few inputs of any kind,
// recorded, often corrected, sometimes deleted; a patient may be deleted too.
func Draw(t *rapid.T, patients ...string) History {
	h := &history{t: t, rng: rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 0)),
		year: rapid.IntRange(2019, 2025).Draw(t, "year"), queues: map[string][]event.Event{},
		encounters: map[string][]string{}, transitions: map[string][]string{}, orders: map[string][]string{}}
	for _, p := range patients {
		h.patient(p)
		for range rapid.IntRange(1, 3).Draw(t, "inputs") {
			h.input(p)
		}
		if rapid.IntRange(0, 9).Draw(t, "patient-deleted") == 1 {
			h.publish(contract.TopicPatient, p, contract.PatientDeleted, contract.PatientRef{PatientID: p})
		}
	}
	out := History{}
	for _, k := range h.queued {
		out.Queues = append(out.Queues, h.queues[k])
	}
	return out
}

// flip is true with probability 1/n.
func (h *history) flip(n int) bool { return h.rng.IntN(n) == 0 }

// one picks one of xs.
func one[T any](h *history, xs ...T) T { return xs[h.rng.IntN(len(xs))] }

func (h *history) id(prefix string) string {
	h.n++
	return fmt.Sprintf("%s-%d", prefix, h.n)
}

func (h *history) publish(topic, patient, typ string, payload any) {
	e, err := event.New(typ, "test", patient, time.Date(h.year, 1, 1, 0, 0, 0, 0, time.UTC), time.Now(), payload)
	if err != nil {
		h.t.Fatalf("new event: %v", err)
	}
	e.Topic = topic
	k := topic + "|" + patient
	if _, ok := h.queues[k]; !ok {
		h.queued = append(h.queued, k)
	}
	h.queues[k] = append(h.queues[k], e)
}

// at is an instant in the year, often at midnight.
func (h *history) at(label string) time.Time {
	t := time.Date(h.year, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, h.rng.IntN(365))
	if h.flip(3) {
		return t
	}
	return t.Add(time.Duration(h.rng.IntN(24*60)) * time.Minute)
}

// later is an instant a few hours to days after t.
func (h *history) later(t time.Time, label string) time.Time {
	return t.Add(time.Duration(one(h, 1, 30, 47, 100, 200)) * time.Hour)
}

func (h *history) opt(t time.Time, label string) *time.Time {
	if h.flip(2) {
		return nil
	}
	return &t
}

func (h *history) npi() string { return one(h, NPIs...) }
func (h *history) tin() string { return one(h, TINs...) }
func (h *history) ccn() string {
	if h.flip(4) {
		return one(h, CCNs...)
	}
	return ""
}

func (h *history) pick(ids []string) string {
	if len(ids) == 0 || h.flip(5) {
		return ""
	}
	return one(h, ids...)
}

// versions publishes an input's life: recorded, corrected zero to two times (each
// version drawn again by next), then deleted or not.
func (h *history) versions(topic, patient string, types [3]string, next func() any, ref any) {
	h.publish(topic, patient, types[0], next())
	for range rapid.IntRange(0, 2).Draw(h.t, "corrections") {
		h.publish(topic, patient, types[1], next())
	}
	if types[2] != "" && rapid.IntRange(0, 4).Draw(h.t, "deleted") == 1 {
		h.publish(topic, patient, types[2], ref)
	}
}

func (h *history) patient(p string) {
	h.versions(contract.TopicPatient, p, [3]string{contract.PatientRegistered, contract.PatientUpdated, ""}, func() any {
		pt := contract.Patient{PatientID: p, OrganizationID: "org-1"}
		if h.flip(2) {
			pt.OptOuts = []contract.OptOut{{Kind: one(h, contract.OptOutPortal, contract.OptOutAPI),
				Since: h.at("opt-since")}}
		}
		return pt
	}, nil)
}

// input draws one input of any kind and its versions.
func (h *history) input(p string) {
	switch rapid.IntRange(0, 14).Draw(h.t, "input") {
	case 0, 1, 2:
		h.encounter(p)
	case 3:
		h.availability(p)
	case 4, 5:
		h.grant(p)
	case 6:
		id := h.id("vdt")
		h.versions(contract.TopicVDT, p, [3]string{contract.VDTRecorded, contract.VDTCorrected, contract.VDTDeleted}, func() any {
			return contract.VDT{VDTID: id, PatientID: p, Action: one(h, contract.VDTView, contract.VDTAPI),
				Actor: contract.ActorPatient, Occurred: h.at("vdt")}
		}, contract.VDTRef{VDTID: id, PatientID: p})
	case 7:
		h.prescription(p)
	case 8:
		h.order(p)
	case 9, 10:
		h.transition(p)
	case 11:
		h.reconciliation(p)
	case 12:
		h.message(p)
	case 13:
		h.lists(p)
	default:
		id := h.id("pghd")
		h.versions(contract.TopicPGHD, p, [3]string{contract.PGHDRecorded, contract.PGHDCorrected, contract.PGHDDeleted}, func() any {
			return contract.PGHD{PGHDID: id, PatientID: p, Source: contract.PGHDPatient, Incorporated: h.at("pghd"), NPI: h.npi(), TIN: h.tin()}
		}, contract.PGHDRef{PGHDID: id, PatientID: p})
	}
}

func (h *history) encounter(p string) {
	id := h.id("enc")
	h.encounters[p] = append(h.encounters[p], id)
	h.versions(contract.TopicEncounter, p, [3]string{contract.EncounterRecorded, contract.EncounterCorrected, contract.EncounterDeleted}, func() any {
		start := h.at("enc")
		e := contract.Encounter{EncounterID: id, PatientID: p, Start: start, RenderingNPI: h.npi(), BillingTIN: h.tin(), CCN: h.ccn(),
			Class:      one(h, contract.ClassOffice, contract.ClassTelehealth, contract.ClassInpatient, contract.ClassEmergency),
			NewPatient: h.flip(2)}
		e.End = h.opt(h.later(start, "end"), "no-end")
		if h.flip(6) {
			no := false
			e.CEHRT = &no
		}
		return e
	}, contract.EncounterRef{EncounterID: id, PatientID: p})
}

func (h *history) availability(p string) {
	id, enc := h.id("avail"), h.pick(h.encounters[p])
	h.versions(contract.TopicAvailability, p, [3]string{contract.AvailabilityRecorded, contract.AvailabilityCorrected, contract.AvailabilityDeleted}, func() any {
		return contract.Availability{AvailabilityID: id, PatientID: p, Kind: contract.AvailableEncounter, Available: h.at("avail"), EncounterID: enc}
	}, contract.AvailabilityRef{AvailabilityID: id, PatientID: p})
}

func (h *history) grant(p string) {
	id, enc := h.id("grant"), h.pick(h.encounters[p])
	h.versions(contract.TopicAccessGrant, p, [3]string{contract.AccessGrantRecorded, contract.AccessGrantCorrected, contract.AccessGrantDeleted}, func() any {
		return contract.AccessGrant{AccessGrantID: id, PatientID: p, EncounterID: enc, Granted: h.at("granted"),
			Kind: one(h, contract.AccessVDT, contract.AccessAPI), OptedOut: h.flip(2)}
	}, contract.AccessGrantRef{AccessGrantID: id, PatientID: p})
}

func (h *history) prescription(p string) {
	id := h.id("rx")
	topic := contract.TopicPrescription
	rx := contract.Prescription{PrescriptionID: id, PatientID: p, Code: contract.Code{System: contract.SystemRxNorm, Code: "197361"},
		Kind:        one(h, contract.PrescriptionNew, contract.PrescriptionRefill),
		Permissible: !h.flip(4), Written: h.at("rx"), NPI: h.npi(), TIN: h.tin(), CCN: h.ccn(),
		Discharge: h.flip(2)}
	if h.flip(2) {
		rx.Schedule = contract.ScheduleII
	}
	h.publish(topic, p, contract.PrescriptionRecorded, rx)
	if h.flip(2) {
		rx.Formulary = &contract.FormularyQuery{Queried: rx.Written, Result: contract.FormularyCovered}
		h.publish(topic, p, contract.PrescriptionQueried, rx)
	}
	if h.flip(2) {
		rx.Transmission = &contract.Transmission{Transmitted: h.later(rx.Written, "tx"), Method: contract.TransmitElectronic,
			Outcome: one(h, contract.TransmitSucceeded, contract.TransmitFailed)}
		h.publish(topic, p, contract.PrescriptionTransmitted, rx)
	}
	if rapid.IntRange(0, 4).Draw(h.t, "rx-deleted") == 1 {
		h.publish(topic, p, contract.PrescriptionDeleted, contract.PrescriptionRef{PrescriptionID: id, PatientID: p})
	}
}

func (h *history) order(p string) {
	id := h.id("order")
	h.orders[p] = append(h.orders[p], id)
	h.versions(contract.TopicOrder, p, [3]string{contract.OrderRecorded, contract.OrderCorrected, contract.OrderDeleted}, func() any {
		return contract.Order{OrderID: id, PatientID: p, Ordered: h.at("ordered"), NPI: h.npi(), TIN: h.tin(), CCN: h.ccn(),
			Category:    one(h, contract.OrderMedication, contract.OrderLaboratory, contract.OrderImaging),
			EntryMethod: one(h, contract.EntryCPOE, contract.EntryPaper),
			EnteredBy:   "user-1", EnteredByCredential: one(h, contract.CredentialMD, contract.CredentialMA)}
	}, contract.OrderRef{OrderID: id, PatientID: p})
	if rapid.Bool().Draw(h.t, "result") {
		rid := h.id("result")
		h.versions(contract.TopicResult, p, [3]string{contract.ResultRecorded, contract.ResultCorrected, contract.ResultDeleted}, func() any {
			return contract.Result{ResultID: rid, PatientID: p, OrderID: id, Status: "final", Effective: h.at("effective"), Issued: h.at("issued"),
				Category: one(h, contract.ResultCategoryLaboratory, contract.ResultCategoryImaging)}
		}, contract.ResultRef{ResultID: rid, PatientID: p})
	}
}

// transition publishes a transition out or in, step by step, each event carrying the
// whole transition.
func (h *history) transition(p string) {
	id := h.id("toc")
	h.transitions[p] = append(h.transitions[p], id)
	topic := contract.TopicTransition
	x := contract.Transition{TransitionID: id, PatientID: p, Occurred: h.at("occurred"),
		Direction: one(h, contract.TransitionOut, contract.TransitionIn),
		Kind:      one(h, contract.TransitionOfCare, contract.TransitionReferral),
		Sender:    contract.Party{NPI: h.npi(), TIN: h.tin(), CCN: h.ccn()}, Receiver: contract.Party{NPI: h.npi(), TIN: h.tin(), CCN: h.ccn()}}
	h.publish(topic, p, contract.TransitionRecorded, x)
	step := func(typ string, set func()) {
		if h.flip(2) {
			set()
			h.publish(topic, p, typ, x)
		}
	}
	if x.Direction == contract.TransitionOut {
		step(contract.TransitionSummarized, func() {
			x.SummaryCreated = new(h.later(x.Occurred, "created"))
			x.Contents = &contract.SummaryContents{Problems: contract.ContentPresent, Medications: contract.ContentNone, Allergies: contract.ContentPresent}
		})
		step(contract.TransitionTransmitted, func() {
			x.Sent = new(h.later(x.Occurred, "sent"))
			x.Transport = one(h, contract.TransportDirect, contract.TransportFax)
		})
		step(contract.TransitionConfirmed, func() { x.ReceiptConfirmed = new(h.later(x.Occurred, "confirmed")) })
	} else {
		step(contract.TransitionReceived, func() { x.Received = new(h.later(x.Occurred, "received")) })
		step(contract.TransitionRequested, func() { x.Unavailable = h.flip(2) })
		step(contract.TransitionIncorporated, func() { x.Incorporated = new(h.later(x.Occurred, "incorporated")) })
	}
	step(contract.TransitionCorrected, func() { x.Occurred = h.at("occurred-again") })
	if rapid.IntRange(0, 4).Draw(h.t, "toc-deleted") == 1 {
		h.publish(topic, p, contract.TransitionDeleted, contract.TransitionRef{TransitionID: id, PatientID: p})
	}
}

func (h *history) reconciliation(p string) {
	id, toc, enc := h.id("rec"), h.pick(h.transitions[p]), h.pick(h.encounters[p])
	h.versions(contract.TopicReconciliation, p, [3]string{contract.ReconciliationRecorded, contract.ReconciliationCorrected, contract.ReconciliationDeleted}, func() any {
		at := h.at("reconciled")
		return contract.Reconciliation{ReconciliationID: id, PatientID: p, TransitionID: toc, EncounterID: enc,
			Medications: h.opt(at, "no-med"), Allergies: h.opt(at, "no-all"), Problems: h.opt(at, "no-pro"), NPI: h.npi()}
	}, contract.ReconciliationRef{ReconciliationID: id, PatientID: p})
}

func (h *history) message(p string) {
	m := contract.SecureMessage{MessageID: h.id("msg"), ThreadID: "thread-1", PatientID: p, ClinicID: "clinic-1", Kind: contract.KindGeneral,
		Direction:  one(h, contract.DirectionProviderToPatient, contract.DirectionPatientToProvider, contract.DirectionReply),
		SenderRole: contract.RoleClinician, SenderID: "s", NPI: h.npi(), TIN: h.tin(), RecipientNPIs: []string{h.npi()}, Sent: h.at("msg")}
	h.publish(contract.TopicMessage, p, contract.MessageSent, m)
	if h.flip(2) {
		h.publish(contract.TopicMaterial, p, contract.MaterialProvided, contract.MaterialProvision{ProvisionID: h.id("edu"), PatientID: p,
			MaterialID: "mat-1", Version: 1, Language: "en", Channel: contract.ChannelPortal, IdentifiedBySystem: true,
			ProvidedBy: contract.ProvidedByClinician, NPI: h.npi(), Provided: h.at("edu")})
	}
}

// lists publishes structured data: a medication, a problem, vital signs.
func (h *history) lists(p string) {
	mid := h.id("med")
	h.versions(contract.TopicMed, p, [3]string{contract.MedicationRecorded, contract.MedicationCorrected, contract.MedicationDeleted}, func() any {
		return contract.Medication{MedicationID: mid, PatientID: p, Code: contract.Code{System: contract.SystemRxNorm, Code: "1"},
			Status: "active", Recorded: new(h.at("med"))}
	}, contract.MedicationRef{MedicationID: mid, PatientID: p})
	pid := h.id("problem")
	h.versions(contract.TopicProblem, p, [3]string{contract.ProblemRecorded, contract.ProblemCorrected, contract.ProblemDeleted}, func() any {
		return contract.Problem{ProblemID: pid, PatientID: p, Code: contract.Code{System: contract.SystemICD10CM, Code: "E11"},
			Status: "active", Recorded: h.at("problem")}
	}, contract.ProblemRef{ProblemID: pid, PatientID: p})
	for _, code := range []string{"8302-2", "29463-7", "85354-9"} {
		vid := h.id("vital")
		h.versions(contract.TopicVitalSign, p, [3]string{contract.VitalSignRecorded, contract.VitalSignCorrected, contract.VitalSignDeleted}, func() any {
			return contract.VitalSign{VitalSignID: vid, PatientID: p, Code: contract.Code{System: contract.SystemLOINC, Code: code},
				Components: []contract.Code{{System: contract.SystemLOINC, Code: "8480-6"}, {System: contract.SystemLOINC, Code: "8462-4"}},
				Effective:  h.at("vital"), Performer: contract.PerformerPractitioner}
		}, contract.VitalSignRef{VitalSignID: vid, PatientID: p})
	}
}

// Delivery draws one way a consumer can see the history: the queues interleaved at
// random, each in its own order, with events delivered again after they were first
// (a redelivery after a crash or rebalance), cut into batches as the consumer fetches
// them.
//
// The order is drawn from a generator rapid seeds: a failure reproduces, but does not
// shrink to a simpler order.
func (h History) Delivery(t *rapid.T) [][]event.Event {
	rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "delivery"), 0))
	next := make([]int, len(h.Queues))
	var seq, delivered []event.Event
	for {
		var open []int
		for i, q := range h.Queues {
			if next[i] < len(q) {
				open = append(open, i)
			}
		}
		if len(open) == 0 {
			break
		}
		i := open[rng.IntN(len(open))]
		e := h.Queues[i][next[i]]
		next[i]++
		seq = append(seq, e)
		delivered = append(delivered, e)
		if rng.IntN(6) == 0 {
			seq = append(seq, delivered[rng.IntN(len(delivered))])
		}
	}
	var batches [][]event.Event
	for len(seq) > 0 {
		n := min(1+rng.IntN(6), len(seq))
		batches = append(batches, seq[:n])
		seq = seq[n:]
	}
	return batches
}

// Final is each patient's items once every event was applied in its queue's order,
// once: the input of a from-scratch recompute.
func (h History) Final() (map[string][]timeline.Item, error) {
	type key struct {
		kind timeline.Kind
		id   string
	}
	items := map[key]timeline.Item{}
	for _, q := range h.Queues {
		for _, e := range q {
			c, ok, err := timeline.Decode(e)
			if err != nil {
				return nil, err
			}
			switch {
			case !ok:
			case c.Delete:
				delete(items, key{c.Item.Kind, c.Item.ID})
			default:
				items[key{c.Item.Kind, c.Item.ID}] = c.Item
			}
		}
	}
	out := map[string][]timeline.Item{}
	for _, it := range items {
		out[it.Patient] = append(out[it.Patient], it)
	}
	return out, nil
}
