package timeline

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
)

// Timeline is one patient's measure timeline, built from their items, with the event
// behind every input so an explanation can name it.
type Timeline struct {
	Patient measure.Patient
	// Deleted: the patient was removed (entered in error); nothing about them counts.
	Deleted bool
	// Events maps the ID of every input in Patient to the ID of the event that recorded
	// the item it comes from.
	Events map[string]string
	// nonCEHRT are the encounters at locations without certified EHR technology.
	nonCEHRT map[string]bool
}

// For is the timeline as entity kind k counts it. Eligible professionals (NPI, the
// Meaningful Use programs) count only encounters at locations equipped with CEHRT
// (spec §2.1); the others count every encounter.
func (t Timeline) For(k measure.EntityKind) measure.Patient {
	if k != measure.NPI || len(t.nonCEHRT) == 0 {
		return t.Patient
	}
	p := t.Patient
	p.Encounters = slices.DeleteFunc(slices.Clone(p.Encounters), func(e measure.Encounter) bool { return t.nonCEHRT[e.ID] })
	p.TransitionsIn = slices.DeleteFunc(slices.Clone(p.TransitionsIn), func(x measure.TransitionIn) bool {
		return x.Kind == measure.NewPatient && t.nonCEHRT[x.ID]
	})
	return p
}

// Licensed professionals and credentialed medical assistants: the users whose order
// entry counts as CPOE (CMS CPOE specification sheets).
var cpoeCredentials = []string{
	contract.CredentialMD, contract.CredentialDO, contract.CredentialDDS, contract.CredentialDMD, contract.CredentialDPM,
	contract.CredentialOD, contract.CredentialDC, contract.CredentialNP, contract.CredentialPA, contract.CredentialCNM,
	contract.CredentialCRNA, contract.CredentialCNS, contract.CredentialRN, contract.CredentialLPN, contract.CredentialPharm,
	contract.CredentialCMA, contract.CredentialRMA,
}

// Electronic transports of a summary of care.
var electronic = []string{contract.TransportDirect, contract.TransportHIE, contract.TransportEHealthExchange,
	contract.TransportTEFCA, contract.TransportFHIR, contract.TransportOtherElectronic}

// Vital-sign LOINC codes that make the "height, weight and blood pressure" set.
const (
	loincBPPanel   = "85354-9"
	loincSystolic  = "8480-6"
	loincDiastolic = "8462-4"
	loincHeight    = "8302-2"
	loincWeight    = "29463-7"
)

// inputs are a patient's items decoded, by kind.
type inputs struct {
	patient        *contract.Patient
	encounters     []contract.Encounter
	availabilities []contract.Availability
	grants         []contract.AccessGrant
	vdts           []contract.VDT
	pghd           []contract.PGHD
	problems       []contract.Problem
	medications    []contract.Medication
	allergies      []contract.Allergy
	results        []contract.Result
	vitals         []contract.VitalSign
	smoking        []contract.SmokingStatus
	prescriptions  []contract.Prescription
	orders         []contract.Order
	transitions    []contract.Transition
	reconciliation []contract.Reconciliation
	summaries      []contract.ClinicalSummary
	messages       []contract.SecureMessage
	education      []contract.MaterialProvision
}

// Build turns one patient's items into their timeline. Items of other patients are
// an error; items may come in any order, and the result is the same for the same set.
func Build(patientID string, items []Item) (Timeline, error) {
	t := Timeline{Patient: measure.Patient{ID: patientID}, Events: map[string]string{}, nonCEHRT: map[string]bool{}}
	var in inputs
	for _, it := range items {
		if it.Patient != patientID {
			return Timeline{}, fmt.Errorf("build timeline of patient %s: item %s %s belongs to another patient", patientID, it.Kind, it.ID)
		}
		if err := in.add(it); err != nil {
			return Timeline{}, fmt.Errorf("build timeline of patient %s: %w", patientID, err)
		}
		t.Events[it.ID] = it.Event
		if it.Kind == PatientDeleted {
			t.Deleted = true
		}
	}
	b := builder{in: &in, t: &t}
	b.encounters()
	b.shares()
	b.actions()
	b.prescriptions()
	b.orders()
	b.transitions()
	Sort(&t.Patient)
	return t, nil
}

// add decodes one item into in.
func (in *inputs) add(it Item) error {
	var err error
	switch it.Kind {
	case Patient:
		in.patient, err = decoded[contract.Patient](it)
	case PatientDeleted:
	case Encounter:
		in.encounters, err = appendDecoded(in.encounters, it)
	case Availability:
		in.availabilities, err = appendDecoded(in.availabilities, it)
	case AccessGrant:
		in.grants, err = appendDecoded(in.grants, it)
	case VDT:
		in.vdts, err = appendDecoded(in.vdts, it)
	case PGHD:
		in.pghd, err = appendDecoded(in.pghd, it)
	case Problem:
		in.problems, err = appendDecoded(in.problems, it)
	case Medication:
		in.medications, err = appendDecoded(in.medications, it)
	case Allergy:
		in.allergies, err = appendDecoded(in.allergies, it)
	case Result:
		in.results, err = appendDecoded(in.results, it)
	case VitalSign:
		in.vitals, err = appendDecoded(in.vitals, it)
	case SmokingStatus:
		in.smoking, err = appendDecoded(in.smoking, it)
	case Prescription:
		in.prescriptions, err = appendDecoded(in.prescriptions, it)
	case Order:
		in.orders, err = appendDecoded(in.orders, it)
	case Transition:
		in.transitions, err = appendDecoded(in.transitions, it)
	case Reconciliation:
		in.reconciliation, err = appendDecoded(in.reconciliation, it)
	case ClinicalSummary:
		in.summaries, err = appendDecoded(in.summaries, it)
	case Message:
		in.messages, err = appendDecoded(in.messages, it)
	case Education:
		in.education, err = appendDecoded(in.education, it)
	default:
		return fmt.Errorf("item %s: unknown kind %q", it.ID, it.Kind)
	}
	if err != nil {
		return fmt.Errorf("decode %s %s: %w", it.Kind, it.ID, err)
	}
	return nil
}

// decoded is an item's payload as a *T: its Value when it has one, else its Data
// decoded.
func decoded[T any](it Item) (*T, error) {
	if v, ok := it.Value.(*T); ok {
		return v, nil
	}
	v := new(T)
	if err := json.Unmarshal(it.Data, v); err != nil {
		return nil, err
	}
	return v, nil
}

func appendDecoded[T any](list []T, it Item) ([]T, error) {
	v, err := decoded[T](it)
	if err != nil {
		return list, err
	}
	return append(list, *v), nil
}

// builder fills a Timeline from decoded inputs.
type builder struct {
	in *inputs
	t  *Timeline
}

// from records that the input id of the timeline comes from the item source.
func (b builder) from(id, source string) {
	if ev, ok := b.t.Events[source]; ok {
		b.t.Events[id] = ev
	}
}

func provider(npi, tin, ccn string) measure.Provider {
	return measure.Provider{NPI: npi, TIN: tin, CCN: ccn}
}

func party(p contract.Party) measure.Provider { return provider(p.NPI, p.TIN, p.CCN) }

// setting is where an encounter took place: its class, or for "other" its place of
// service (21 inpatient, 23 emergency department).
func setting(class, pos string) measure.Setting {
	switch class {
	case contract.ClassOffice:
		return measure.Office
	case contract.ClassTelehealth:
		return measure.Telehealth
	case contract.ClassInpatient:
		return measure.Inpatient
	case contract.ClassEmergency:
		return measure.Emergency
	case contract.ClassObservation:
		return measure.Observation
	}
	switch pos {
	case "21":
		return measure.Inpatient
	case "23":
		return measure.Emergency
	}
	return measure.OtherVisit
}

// encounters maps encounters, with when their information became available (the
// earliest availability naming the encounter, directly or through a result of it),
// and first encounters with new patients as incoming transitions.
func (b builder) encounters() {
	resultEncounter := map[string]string{}
	for _, r := range b.in.results {
		resultEncounter[r.ResultID] = r.EncounterID
	}
	available := map[string]contract.Availability{}
	for _, a := range b.in.availabilities {
		enc := a.EncounterID
		if enc == "" {
			enc = resultEncounter[a.ResultID]
		}
		if prev, ok := available[enc]; enc != "" && (!ok || earlierAt(a.Available, a.AvailabilityID, prev.Available, prev.AvailabilityID)) {
			available[enc] = a
		}
	}
	for _, e := range b.in.encounters {
		enc := measure.Encounter{ID: e.EncounterID, Provider: provider(e.RenderingNPI, e.BillingTIN, e.CCN),
			Setting: setting(e.Class, e.POS), Start: e.Start}
		if e.End != nil {
			enc.End = *e.End
		}
		if a, ok := available[e.EncounterID]; ok {
			enc.InfoAvailable = a.Available
		}
		if e.CEHRT != nil && !*e.CEHRT {
			b.t.nonCEHRT[e.EncounterID] = true
		}
		b.t.Patient.Encounters = append(b.t.Patient.Encounters, enc)
		if e.NewPatient {
			in := measure.TransitionIn{ID: e.EncounterID, Provider: enc.Provider, At: e.Start, Kind: measure.NewPatient,
				Reconciled: b.reconciled(func(r contract.Reconciliation) bool {
					return r.TransitionID == "" && r.EncounterID == e.EncounterID
				})}
			b.t.Patient.TransitionsIn = append(b.t.Patient.TransitionsIn, in)
		}
	}
}

func earlierAt(a time.Time, aID string, b time.Time, bID string) bool {
	return a.Before(b) || a.Equal(b) && aID < bID
}

// shares maps access grants (and offers the patient declined) to shares of encounter
// information: a grant naming an encounter shares that encounter's; a grant naming
// none gives access to the current information, so it shares every encounter whose
// information was available by then. A patient who opted out of a channel counts as
// given access through it (CMS) for every encounter whose information became
// available once they had.
func (b builder) shares() {
	encs := b.t.Patient.Encounters
	for _, g := range b.in.grants {
		ch := channel(g.Kind)
		if ch == "" {
			continue
		}
		for _, e := range encs {
			if g.EncounterID == e.ID || g.EncounterID == "" && !e.InfoAt().After(g.Granted) {
				b.t.Patient.Shares = append(b.t.Patient.Shares, measure.Share{ID: g.AccessGrantID, EncounterID: e.ID,
					Channel: ch, At: g.Granted})
			}
		}
	}
	if b.in.patient == nil {
		return
	}
	for _, o := range b.in.patient.OptOuts {
		ch := map[string]measure.Channel{contract.OptOutPortal: measure.VDT, contract.OptOutAPI: measure.API}[o.Kind]
		if ch == "" {
			continue
		}
		id := b.t.Patient.ID + "/opt-out/" + o.Kind
		b.from(id, b.t.Patient.ID)
		for _, e := range encs {
			if at := e.InfoAt(); !at.Before(o.Since) {
				b.t.Patient.Shares = append(b.t.Patient.Shares, measure.Share{ID: id, EncounterID: e.ID, Channel: ch, At: at})
			}
		}
	}
}

func channel(kind string) measure.Channel {
	switch kind {
	case contract.AccessVDT:
		return measure.VDT
	case contract.AccessAPI:
		return measure.API
	}
	return ""
}

// actions maps what was done for or by the patient. The patient's own actions and
// the structured data of the whole record (lists, vital signs, smoking status) are
// attributed to no provider: they count for every entity that saw the patient.
func (b builder) actions() {
	add := func(id string, kind measure.ActionKind, prov measure.Provider, at time.Time, enc string) {
		b.t.Patient.Actions = append(b.t.Patient.Actions, measure.Action{ID: id, Kind: kind, Provider: prov, At: at, EncounterID: enc})
	}
	for _, v := range b.in.vdts {
		kind := measure.ViewedDownloadedTransmitted
		if v.Action == contract.VDTAPI {
			kind = measure.AccessedAPI
		}
		add(v.VDTID, kind, measure.Provider{}, v.Occurred, "")
	}
	for _, p := range b.in.pghd {
		add(p.PGHDID, measure.PatientDataIncorporated, provider(p.NPI, p.TIN, p.CCN), p.Incorporated, "")
	}
	for _, p := range b.in.problems {
		add(p.ProblemID, measure.ProblemListRecorded, measure.Provider{}, p.Recorded, p.EncounterID)
	}
	for _, m := range b.in.medications {
		at := m.Recorded
		if at == nil {
			at = m.Start
		}
		if m.Status != "entered-in-error" && at != nil {
			add(m.MedicationID, measure.MedicationListRecorded, measure.Provider{}, *at, m.EncounterID)
		}
	}
	for _, a := range b.in.allergies {
		add(a.AllergyID, measure.AllergyListRecorded, measure.Provider{}, a.Recorded, a.EncounterID)
	}
	for _, s := range b.in.smoking {
		add(s.SmokingStatusID, measure.SmokingStatusRecorded, measure.Provider{}, s.Effective, s.EncounterID)
	}
	if id, at, ok := vitalsComplete(b.in.vitals); ok {
		add(id, measure.VitalsRecorded, measure.Provider{}, at, "")
	}
	for _, s := range b.in.summaries {
		if s.Method != contract.SummaryDeclined {
			add(s.ClinicalSummaryID, measure.ClinicalSummaryProvided, provider(s.NPI, "", ""), s.Provided, s.EncounterID)
		}
	}
	for _, m := range b.in.messages {
		for _, a := range messageActions(m) {
			add(a.ID, a.Kind, a.Provider, a.At, "")
		}
	}
	for _, p := range b.in.education {
		if !p.IdentifiedBySystem {
			continue
		}
		kind := measure.EducationElectronic
		if p.Channel == contract.ChannelPrint {
			kind = measure.EducationOther
		}
		add(p.ProvisionID, kind, provider(p.NPI, p.TIN, p.CCN), p.Provided, "")
	}
}

// vitalsComplete finds when the patient first had height, weight and blood pressure
// all recorded: the moment (and the vital sign) that completed the set.
func vitalsComplete(vs []contract.VitalSign) (string, time.Time, bool) {
	first := map[string]contract.VitalSign{}
	keep := func(part string, v contract.VitalSign) {
		if prev, ok := first[part]; !ok || earlierAt(v.Effective, v.VitalSignID, prev.Effective, prev.VitalSignID) {
			first[part] = v
		}
	}
	for _, v := range vs {
		switch v.Code.Code {
		case loincHeight:
			keep("height", v)
		case loincWeight:
			keep("weight", v)
		case loincBPPanel, loincSystolic:
			if v.Code.Code == loincSystolic || hasComponents(v, loincSystolic, loincDiastolic) {
				keep("bp", v)
			}
		}
	}
	if len(first) < 3 {
		return "", time.Time{}, false
	}
	last := first["height"]
	for _, v := range []contract.VitalSign{first["weight"], first["bp"]} {
		if earlierAt(last.Effective, last.VitalSignID, v.Effective, v.VitalSignID) {
			last = v
		}
	}
	return last.VitalSignID, last.Effective, true
}

func hasComponents(v contract.VitalSign, codes ...string) bool {
	for _, c := range codes {
		if !slices.ContainsFunc(v.Components, func(x contract.Code) bool { return x.Code == c }) {
			return false
		}
	}
	return true
}

// messageActions are what a secure message counts as: a message to the patient (or a
// reply) credited to the sending clinician, or to the thread's clinicians when staff
// sent it; a message from the patient credited to the clinicians it was addressed to;
// a clinician-to-clinician message including the patient credited to its sender.
// A message sent by hospital staff carries the hospital's CCN and is credited to the
// hospital (with the clinician, when one is named); a message no clinician or hospital
// can be named for is credited to no one.
func messageActions(m contract.SecureMessage) []measure.Action {
	var kind measure.ActionKind
	switch m.Direction {
	case contract.DirectionProviderToPatient, contract.DirectionReply:
		kind = measure.MessageToPatient
	case contract.DirectionPatientToProvider:
		kind = measure.MessageFromPatient
	case contract.DirectionProviderToProvider:
		kind = measure.MessageCopyingPatient
	default:
		return nil
	}
	npis := m.RecipientNPIs
	if kind != measure.MessageFromPatient && m.NPI != "" {
		npis = []string{m.NPI}
	}
	out := make([]measure.Action, 0, len(npis))
	for _, npi := range npis {
		if npi != "" {
			out = append(out, measure.Action{ID: m.MessageID, Kind: kind, Provider: provider(npi, m.TIN, m.CCN), At: m.Sent})
		}
	}
	if len(out) == 0 && m.CCN != "" {
		out = append(out, measure.Action{ID: m.MessageID, Kind: kind, Provider: provider("", m.TIN, m.CCN), At: m.Sent})
	}
	return out
}

// prescriptions maps prescriptions: controlled when scheduled, formulary queried when
// any query was made, transmitted when sent electronically and not failed.
func (b builder) prescriptions() {
	for _, rx := range b.in.prescriptions {
		p := measure.Prescription{ID: rx.PrescriptionID, Provider: provider(rx.NPI, rx.TIN, rx.CCN), Written: rx.Written,
			Change: measure.Change(rx.Kind), Permissible: rx.Permissible, Controlled: rx.Schedule != "",
			Discharge: rx.Discharge, FormularyQueried: rx.Formulary != nil}
		if t := rx.Transmission; t != nil && t.Method == contract.TransmitElectronic && t.Outcome != contract.TransmitFailed {
			p.Transmitted = t.Transmitted
		}
		b.t.Patient.Prescriptions = append(b.t.Patient.Prescriptions, p)
	}
}

// orders maps orders, CPOE when entered electronically by a licensed professional or a
// credentialed medical assistant, with their first released result (a laboratory
// result is structured data; an imaging result is an image in CEHRT).
func (b builder) orders() {
	results := map[string]contract.Result{}
	for _, r := range b.in.results {
		if r.OrderID == "" || r.Status == "preliminary" {
			continue
		}
		if prev, ok := results[r.OrderID]; !ok || earlierAt(r.Issued, r.ResultID, prev.Issued, prev.ResultID) {
			results[r.OrderID] = r
		}
	}
	for _, o := range b.in.orders {
		kind, ok := map[string]measure.OrderKind{contract.OrderMedication: measure.MedicationOrder,
			contract.OrderLaboratory: measure.LabOrder, contract.OrderImaging: measure.ImagingOrder}[o.Category]
		if !ok {
			continue
		}
		ord := measure.Order{ID: o.OrderID, Provider: provider(o.NPI, o.TIN, o.CCN), Kind: kind, Created: o.Ordered,
			CPOE: o.EntryMethod == contract.EntryCPOE && slices.Contains(cpoeCredentials, o.EnteredByCredential)}
		if r, ok := results[o.OrderID]; ok {
			image := r.Category == contract.ResultCategoryImaging
			ord.Result = &measure.OrderResult{At: r.Issued, Structured: r.Category == contract.ResultCategoryLaboratory,
				Image: image, Accessible: image}
		}
		b.t.Patient.Orders = append(b.t.Patient.Orders, ord)
	}
}

// transitions maps transitions out (a summary of care sent electronically when it was
// created in CEHRT with the three sections, present or explicitly empty, and sent by an
// electronic transport; provided by any means when sent at all) and in (with their
// reconciliations and the summary received as the one record PI_HIE_4 counts).
func (b builder) transitions() {
	for _, x := range b.in.transitions {
		switch x.Direction {
		case contract.TransitionOut:
			out := measure.TransitionOut{ID: x.TransitionID, Provider: party(x.Sender), At: x.Occurred, Receiver: party(x.Receiver)}
			if x.Sent != nil {
				out.Provided = *x.Sent
				if x.SummaryCreated != nil && complete(x.Contents) && slices.Contains(electronic, x.Transport) {
					out.Sent = *x.Sent
				}
			}
			if x.ReceiptConfirmed != nil {
				out.Confirmed = *x.ReceiptConfirmed
			}
			b.t.Patient.TransitionsOut = append(b.t.Patient.TransitionsOut, out)
		case contract.TransitionIn:
			kind := measure.TransitionedIn
			if x.Kind == contract.TransitionReferral {
				kind = measure.ReferredIn
			}
			in := measure.TransitionIn{ID: x.TransitionID, Provider: party(x.Receiver), At: x.Occurred, Kind: kind,
				Unavailable: x.Unavailable,
				Reconciled:  b.reconciled(func(r contract.Reconciliation) bool { return r.TransitionID == x.TransitionID })}
			if x.Incorporated != nil {
				in.Incorporated = *x.Incorporated
			}
			if x.Received != nil {
				in.Received = *x.Received
				in.Records = []measure.Record{{ID: x.TransitionID, Received: *x.Received, Reconciled: in.Reconciled}}
			}
			b.t.Patient.TransitionsIn = append(b.t.Patient.TransitionsIn, in)
		}
	}
}

func complete(c *contract.SummaryContents) bool {
	if c == nil {
		return false
	}
	for _, s := range []string{c.Problems, c.Medications, c.Allergies} {
		if s != contract.ContentPresent && s != contract.ContentNone {
			return false
		}
	}
	return true
}

// reconciled is when each set was first reconciled, over the reconciliations that
// match.
func (b builder) reconciled(match func(contract.Reconciliation) bool) measure.Reconciliation {
	var rc measure.Reconciliation
	first := func(dst *time.Time, t *time.Time) {
		if t != nil && (dst.IsZero() || t.Before(*dst)) {
			*dst = *t
		}
	}
	for _, r := range b.in.reconciliation {
		if match(r) {
			first(&rc.Medications, r.Medications)
			first(&rc.Allergies, r.Allergies)
			first(&rc.Problems, r.Problems)
		}
	}
	return rc
}

// Sort puts every list of a timeline in its canonical order (time, then ID), so that
// the same inputs always make the same timeline and where a rule takes the first of
// equal inputs, it takes the same one.
func Sort(p *measure.Patient) {
	slices.SortFunc(p.Encounters, func(a, b measure.Encounter) int { return byTime(a.Start, a.ID, b.Start, b.ID) })
	slices.SortFunc(p.Shares, func(a, b measure.Share) int {
		return cmp.Or(byTime(a.At, a.ID, b.At, b.ID), cmp.Compare(a.EncounterID, b.EncounterID), cmp.Compare(a.Channel, b.Channel))
	})
	slices.SortFunc(p.Actions, func(a, b measure.Action) int {
		return cmp.Or(byTime(a.At, a.ID, b.At, b.ID), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Provider.NPI, b.Provider.NPI))
	})
	slices.SortFunc(p.Prescriptions, func(a, b measure.Prescription) int { return byTime(a.Written, a.ID, b.Written, b.ID) })
	slices.SortFunc(p.Orders, func(a, b measure.Order) int { return byTime(a.Created, a.ID, b.Created, b.ID) })
	slices.SortFunc(p.TransitionsOut, func(a, b measure.TransitionOut) int { return byTime(a.At, a.ID, b.At, b.ID) })
	slices.SortFunc(p.TransitionsIn, func(a, b measure.TransitionIn) int { return byTime(a.At, a.ID, b.At, b.ID) })
	slices.SortFunc(p.Requests, func(a, b measure.Request) int { return byTime(a.At, a.ID, b.At, b.ID) })
}

func byTime(a time.Time, aID string, b time.Time, bID string) int {
	return cmp.Or(a.Compare(b), cmp.Compare(aID, bID))
}
