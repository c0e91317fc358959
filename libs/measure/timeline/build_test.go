package timeline_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/timeline"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

// item decodes an event the way the projection does, as stored.
func item(t *testing.T, typ string, payload any) timeline.Item {
	t.Helper()
	e, err := event.New(typ, "records", "p", time.Now(), time.Now(), payload)
	if err != nil {
		t.Fatal(err)
	}
	c, ok, err := timeline.Decode(e)
	if err != nil || !ok {
		t.Fatalf("decode %s: %v %v", typ, ok, err)
	}
	c.Item.Value = nil // as read back from storage
	return c.Item
}

const (
	npi1, npi2 = "1234567893", "1245319599"
	tin        = "123456789"
)

// TestBuild checks the mapping of records', messaging's and education's inputs to the
// measures' timeline, rule by rule.
func TestBuild(t *testing.T) {
	enc := func(id, start string, mod func(*contract.Encounter)) timeline.Item {
		e := contract.Encounter{EncounterID: id, PatientID: "p", Class: contract.ClassOffice, Start: at(start),
			RenderingNPI: npi1, BillingTIN: tin}
		if mod != nil {
			mod(&e)
		}
		return item(t, contract.EncounterRecorded, e)
	}
	items := []timeline.Item{
		item(t, contract.PatientRegistered, contract.Patient{PatientID: "p",
			OptOuts: []contract.OptOut{{Kind: contract.OptOutAPI, Since: at("2025-06-01T00:00:00Z")}}}),
		enc("e1", "2025-03-03T09:00:00Z", nil),
		enc("e2", "2025-07-01T09:00:00Z", func(e *contract.Encounter) { e.CEHRT = ptr(false); e.NewPatient = true }),
		enc("e3", "2025-08-01T09:00:00Z", func(e *contract.Encounter) { e.Class = contract.ClassOther; e.POS = "21"; e.CCN = "123456" }),
		// e1's information: the visit note at 12:00; a result of it at 10:00, earlier.
		item(t, contract.AvailabilityRecorded, contract.Availability{AvailabilityID: "a1", PatientID: "p",
			Kind: contract.AvailableEncounter, Available: at("2025-03-03T12:00:00Z"), EncounterID: "e1"}),
		item(t, contract.ResultRecorded, contract.Result{ResultID: "r1", PatientID: "p", Status: "final",
			Effective: at("2025-03-03T09:30:00Z"), Issued: at("2025-03-03T10:00:00Z"), EncounterID: "e1", OrderID: "o1",
			Category: contract.ResultCategoryLaboratory}),
		item(t, contract.AvailabilityRecorded, contract.Availability{AvailabilityID: "a2", PatientID: "p",
			Kind: contract.AvailableResult, Available: at("2025-03-03T10:00:00Z"), ResultID: "r1"}),
		// A grant naming no encounter shares those whose information was available by then.
		item(t, contract.AccessGrantRecorded, contract.AccessGrant{AccessGrantID: "g1", PatientID: "p", Kind: contract.AccessVDT,
			Granted: at("2025-07-01T10:00:00Z")}),
		item(t, contract.AccessGrantRecorded, contract.AccessGrant{AccessGrantID: "g2", PatientID: "p", Kind: contract.AccessAPI,
			Granted: at("2025-03-03T13:00:00Z"), EncounterID: "e1", OptedOut: true}),
		item(t, contract.VDTRecorded, contract.VDT{VDTID: "v1", PatientID: "p", Action: contract.VDTAPI, Actor: contract.ActorProxy,
			RepresentativeID: "rep", Occurred: at("2025-03-05T09:00:00Z")}),
		item(t, contract.OrderRecorded, contract.Order{OrderID: "o1", PatientID: "p", Category: contract.OrderLaboratory,
			Ordered: at("2025-03-03T09:10:00Z"), NPI: npi1, TIN: tin, EntryMethod: contract.EntryCPOE, EnteredBy: "u",
			EnteredByCredential: contract.CredentialCMA}),
		item(t, contract.OrderRecorded, contract.Order{OrderID: "o2", PatientID: "p", Category: contract.OrderMedication,
			Ordered: at("2025-03-03T09:20:00Z"), NPI: npi1, TIN: tin, EntryMethod: contract.EntryCPOE, EnteredBy: "u",
			EnteredByCredential: contract.CredentialMA}),
		item(t, contract.PrescriptionTransmitted, contract.Prescription{PrescriptionID: "rx1", PatientID: "p",
			Kind: contract.PrescriptionNew, Schedule: contract.ScheduleII, Permissible: true, Written: at("2025-03-03T09:30:00Z"),
			NPI: npi1, Formulary: &contract.FormularyQuery{Queried: at("2025-03-03T09:31:00Z"), Result: contract.FormularyUnavailable},
			Transmission: &contract.Transmission{Transmitted: at("2025-03-03T09:32:00Z"), Method: contract.TransmitElectronic,
				Outcome: contract.TransmitFailed}}),
		item(t, contract.TransitionConfirmed, contract.Transition{TransitionID: "t1", PatientID: "p", Direction: contract.TransitionOut,
			Kind: contract.TransitionReferral, Occurred: at("2025-03-04T09:00:00Z"), Sender: contract.Party{NPI: npi1, TIN: tin},
			Receiver: contract.Party{NPI: npi2}, SummaryCreated: ptr(at("2025-03-04T09:05:00Z")),
			Contents: &contract.SummaryContents{Problems: contract.ContentPresent, Medications: contract.ContentNone,
				Allergies: contract.ContentMissing},
			Sent: ptr(at("2025-03-04T09:06:00Z")), Transport: contract.TransportDirect, ReceiptConfirmed: ptr(at("2025-03-04T09:07:00Z"))}),
		item(t, contract.TransitionReceived, contract.Transition{TransitionID: "t2", PatientID: "p", Direction: contract.TransitionIn,
			Kind: contract.TransitionOfCare, Occurred: at("2025-04-01T09:00:00Z"), Receiver: contract.Party{NPI: npi1, TIN: tin},
			Received: ptr(at("2025-04-01T10:00:00Z"))}),
		item(t, contract.ReconciliationRecorded, contract.Reconciliation{ReconciliationID: "rc1", PatientID: "p", TransitionID: "t2",
			Medications: ptr(at("2025-04-02T09:00:00Z")), Problems: ptr(at("2025-04-03T09:00:00Z"))}),
		item(t, contract.ReconciliationRecorded, contract.Reconciliation{ReconciliationID: "rc2", PatientID: "p", TransitionID: "t2",
			Medications: ptr(at("2025-04-01T11:00:00Z")), Allergies: ptr(at("2025-04-02T10:00:00Z"))}),
		item(t, contract.ReconciliationRecorded, contract.Reconciliation{ReconciliationID: "rc3", PatientID: "p", EncounterID: "e2",
			Medications: ptr(at("2025-07-01T10:00:00Z"))}),
		item(t, contract.MessageSent, contract.SecureMessage{MessageID: "m1", ThreadID: "th", PatientID: "p", ClinicID: "c",
			Kind: contract.KindGeneral, Direction: contract.DirectionPatientToProvider, SenderRole: contract.RolePatient, SenderID: "p",
			TIN: tin, RecipientNPIs: []string{npi1, npi2}, Sent: at("2025-03-06T09:00:00Z")}),
		item(t, contract.MessageSent, contract.SecureMessage{MessageID: "m2", ThreadID: "th", PatientID: "p", ClinicID: "c",
			Kind: contract.KindGeneral, Direction: contract.DirectionReply, SenderRole: contract.RoleStaff, SenderID: "s",
			TIN: tin, RecipientNPIs: []string{npi2}, InReplyTo: "m1", Sent: at("2025-03-06T10:00:00Z")}),
		item(t, contract.MaterialProvided, contract.MaterialProvision{ProvisionID: "ed1", PatientID: "p", MaterialID: "x", Version: 1,
			Language: "en", Channel: contract.ChannelPrint, IdentifiedBySystem: true, ProvidedBy: contract.ProvidedByClinician,
			NPI: npi1, Provided: at("2025-03-03T09:40:00Z")}),
		item(t, contract.MaterialProvided, contract.MaterialProvision{ProvisionID: "ed2", PatientID: "p", MaterialID: "y", Version: 1,
			Language: "en", Channel: contract.ChannelPortal, ProvidedBy: contract.ProvidedByStaff, Provided: at("2025-03-03T09:41:00Z")}),
	}
	for i, v := range []struct{ id, code, when string }{{"vs1", "8302-2", "2025-03-03T09:00:00Z"},
		{"vs2", "29463-7", "2025-03-03T09:01:00Z"}, {"vs3", "85354-9", "2025-03-04T09:00:00Z"}, {"vs4", "8302-2", "2025-03-05T09:00:00Z"}} {
		vs := contract.VitalSign{VitalSignID: v.id, PatientID: "p", Code: contract.Code{System: contract.SystemLOINC, Code: v.code},
			Effective: at(v.when), Performer: contract.PerformerPractitioner}
		if i == 2 {
			vs.Components = []contract.Code{{System: contract.SystemLOINC, Code: "8480-6"}, {System: contract.SystemLOINC, Code: "8462-4"}}
		}
		items = append(items, item(t, contract.VitalSignRecorded, vs))
	}
	slices.Reverse(items) // order does not matter
	tl, err := timeline.Build("p", items)
	if err != nil {
		t.Fatal(err)
	}
	p := tl.Patient

	if e := p.Encounters[0]; e.ID != "e1" || !e.InfoAvailable.Equal(at("2025-03-03T10:00:00Z")) {
		t.Errorf("e1's information is available at its result's availability, the earliest: %+v", e)
	}
	if e := p.Encounters[2]; e.Setting != measure.Inpatient || e.Provider.CCN != "123456" {
		t.Errorf("an 'other' encounter at POS 21 is inpatient: %+v", e)
	}
	shares := map[string]bool{}
	for _, s := range p.Shares {
		shares[s.ID+" "+s.EncounterID+" "+string(s.Channel)+" "+s.At.Format(time.RFC3339)] = true
	}
	for _, want := range []string{
		"g1 e1 vdt 2025-07-01T10:00:00Z", // e1's information was available before the grant
		"g1 e2 vdt 2025-07-01T10:00:00Z", // e2's too (its start, no availability)
		"g2 e1 api 2025-03-03T13:00:00Z", // an offer declined counts
		"p/opt-out/api e2 api 2025-07-01T09:00:00Z",
		"p/opt-out/api e3 api 2025-08-01T09:00:00Z",
	} {
		if !shares[want] {
			t.Errorf("missing share %q in %v", want, shares)
		}
	}
	if len(shares) != 5 {
		t.Errorf("shares %v: want exactly 5 (g1 does not share e3, later)", shares)
	}
	if len(tl.For(measure.NPI).Encounters) != 2 || len(tl.For(measure.TINNPI).Encounters) != 3 {
		t.Error("an encounter at a location without CEHRT counts for TIN/NPIs but not for eligible professionals")
	}
	if o := p.Orders; len(o) != 2 || !o[0].CPOE || o[0].Result == nil || !o[0].Result.Structured || o[1].CPOE {
		t.Errorf("orders: CPOE by a CMA counts, by an uncredentialed MA not; the lab order has its result: %+v", o)
	}
	if rx := p.Prescriptions[0]; !rx.Controlled || !rx.FormularyQueried || !rx.Transmitted.IsZero() {
		t.Errorf("prescription: scheduled is controlled, an unavailable formulary was still queried, a failed transmission is none: %+v", rx)
	}
	if x := p.TransitionsOut[0]; x.Provided.IsZero() || !x.Sent.IsZero() || x.Confirmed.IsZero() {
		t.Errorf("a summary missing a section is provided, not sent electronically: %+v", x)
	}
	var in, newPatient measure.TransitionIn
	for _, x := range p.TransitionsIn {
		switch x.ID {
		case "t2":
			in = x
		case "e2":
			newPatient = x
		}
	}
	if !in.Reconciled.Medications.Equal(at("2025-04-01T11:00:00Z")) || !in.Reconciled.Allergies.Equal(at("2025-04-02T10:00:00Z")) ||
		len(in.Records) != 1 || in.Records[0].Reconciled != in.Reconciled {
		t.Errorf("transition in: the earliest reconciliation of each set, and its record: %+v", in)
	}
	if newPatient.Kind != measure.NewPatient || newPatient.Reconciled.Medications.IsZero() {
		t.Errorf("a new patient's first encounter is a transition in, reconciled by encounter: %+v", newPatient)
	}
	acts := map[string][]string{}
	for _, a := range p.Actions {
		acts[string(a.Kind)] = append(acts[string(a.Kind)], a.ID+"@"+a.Provider.NPI)
	}
	wantActs := map[measure.ActionKind][]string{
		measure.AccessedAPI:             {"v1@"},
		measure.MessageFromPatient:      {"m1@" + npi1, "m1@" + npi2},
		measure.MessageToPatient:        {"m2@" + npi2},
		measure.EducationOther:          {"ed1@" + npi1},
		measure.VitalsRecorded:          {"vs3@"},
		measure.EducationElectronic:     nil, // not identified by the system
		measure.ClinicalSummaryProvided: nil,
	}
	for k, want := range wantActs {
		if got := acts[string(k)]; !slices.Equal(got, want) {
			t.Errorf("%s actions %q, want %q", k, got, want)
		}
	}
	if tl.Events["g1"] == "" || tl.Events["p/opt-out/api"] != tl.Events["p"] {
		t.Error("every input names the event behind it")
	}

	deleted := append(slices.Clone(items), item(t, contract.PatientDeleted, contract.PatientRef{PatientID: "p"}))
	if tl, err := timeline.Build("p", deleted); err != nil || !tl.Deleted {
		t.Errorf("a deleted patient: %v %v", tl.Deleted, err)
	}
	if _, err := timeline.Build("q", items); err == nil {
		t.Error("another patient's items were accepted")
	}
}

// TestDecode: what the projection reads, skips and refuses.
func TestDecode(t *testing.T) {
	mk := func(typ string, data string) event.Event {
		return event.Event{ID: "id-" + typ, Type: typ, Source: "records", Subject: "p", Data: json.RawMessage(data)}
	}
	tests := []struct {
		name      string
		e         event.Event
		ok, del   bool
		permanent bool
	}{
		{"recorded", mk(contract.EncounterRecorded, `{"encounter_id":"e","patient_id":"p","class":"office","start":"2025-01-01T00:00:00Z"}`), true, false, false},
		{"deleted", mk(contract.EncounterDeleted, `{"encounter_id":"e","patient_id":"p"}`), true, true, false},
		{"a step of a transition", mk(contract.TransitionIncorporated, `{"transition_id":"t","patient_id":"p","direction":"in","kind":"transition","occurred":"2025-01-01T00:00:00Z","sender":{},"receiver":{}}`), true, false, false},
		{"a read receipt is not read", mk(contract.MessageRead, `{"message_id":"m","patient_id":"p"}`), false, false, false},
		{"a type added later is not read", mk("records.encounter.archived", `{}`), false, false, false},
		{"no ID", mk(contract.EncounterRecorded, `{"patient_id":"p","class":"office","start":"2025-01-01T00:00:00Z"}`), false, false, true},
		{"bad JSON", mk(contract.VDTRecorded, `{"vdt_id":7}`), false, false, true},
		{"patient deleted without ID", mk(contract.PatientDeleted, `{}`), false, false, true},
	}
	for _, tt := range tests {
		c, ok, err := timeline.Decode(tt.e)
		if ok != tt.ok || c.Delete != tt.del || event.IsPermanent(err) != tt.permanent || (err != nil) != tt.permanent {
			t.Errorf("%s: ok=%v delete=%v err=%v", tt.name, ok, c.Delete, err)
		}
		if err != nil && strings.Contains(err.Error(), `"p"`) {
			t.Errorf("%s: the error quotes the payload: %v", tt.name, err)
		}
	}
	if !slices.Contains(timeline.Topics(), contract.TopicMessage) || !slices.Contains(timeline.Topics(), contract.TopicEncounter) {
		t.Errorf("topics %v", timeline.Topics())
	}
}

// DecodeValue gives an item read back from storage the Value Decode gave it, and the
// same timeline.
func TestDecodeValue(t *testing.T) {
	events := []struct {
		typ  string
		data string
	}{
		{contract.PatientRegistered, `{"patient_id":"p"}`},
		{contract.EncounterRecorded, `{"encounter_id":"e","patient_id":"p","class":"office","start":"2025-01-01T00:00:00Z","rendering_npi":"1234567893"}`},
		{contract.PrescriptionTransmitted, `{"prescription_id":"rx","patient_id":"p","prescriber":{"npi":"1234567893"},"written":"2025-01-01T00:00:00Z"}`},
		{contract.VDTRecorded, `{"vdt_id":"v","patient_id":"p","action":"view","occurred":"2025-01-02T00:00:00Z"}`},
		{contract.PatientDeleted, `{"patient_id":"p"}`},
	}
	var fresh, stored []timeline.Item
	for _, ev := range events {
		c, ok, err := timeline.Decode(event.Event{ID: "id-" + ev.typ, Type: ev.typ, Source: "records", Subject: "p", Data: json.RawMessage(ev.data)})
		if err != nil || !ok {
			t.Fatalf("decode %s: %v %v", ev.typ, ok, err)
		}
		fresh = append(fresh, c.Item)
		it := c.Item
		it.Value = nil
		if err := it.DecodeValue(); err != nil {
			t.Fatalf("DecodeValue %s: %v", ev.typ, err)
		}
		if (it.Value == nil) != (c.Item.Value == nil) || (it.Value != nil && !reflect.DeepEqual(it.Value, c.Item.Value)) {
			t.Errorf("%s: DecodeValue = %#v, Decode gave %#v", ev.typ, it.Value, c.Item.Value)
		}
		stored = append(stored, it)
	}
	a, errA := timeline.Build("p", fresh)
	b, errB := timeline.Build("p", stored)
	if errA != nil || errB != nil || !reflect.DeepEqual(a, b) {
		t.Errorf("timelines differ: %v %v", errA, errB)
	}
	for _, bad := range []timeline.Item{
		{Kind: "no-such-kind", ID: "x", Patient: "p", Data: json.RawMessage(`{}`)},
		{Kind: timeline.VDT, ID: "x", Patient: "p", Data: json.RawMessage(`{"vdt_id":7}`)},
	} {
		if err := bad.DecodeValue(); err == nil {
			t.Errorf("DecodeValue of %s %s succeeded", bad.Kind, bad.Data)
		}
	}
}

// TestCCNCredit checks that secure messages and education provisions naming a hospital
// (CCN) are credited to it, and provisions naming a TIN to the TIN/NPI.
func TestCCNCredit(t *testing.T) {
	const npi, tin, ccn = "1234567893", "123456789", "140001"
	for _, tc := range []struct {
		name string
		it   timeline.Item
		want []measure.Action
	}{
		{"hospital staff message to the patient: the hospital", item(t, contract.MessageSent, contract.SecureMessage{MessageID: "m1",
			ThreadID: "th", PatientID: "p", ClinicID: "c", Kind: contract.KindGeneral, Direction: contract.DirectionProviderToPatient,
			SenderRole: contract.RoleStaff, SenderID: "s", CCN: ccn, Sent: at("2020-03-06T10:00:00Z")}),
			[]measure.Action{{ID: "m1", Kind: measure.MessageToPatient, Provider: measure.Provider{CCN: ccn}, At: at("2020-03-06T10:00:00Z")}}},
		{"hospital clinician copying the patient: clinician at the hospital", item(t, contract.MessageSent, contract.SecureMessage{MessageID: "m2",
			ThreadID: "th", PatientID: "p", ClinicID: "c", Kind: contract.KindGeneral, Direction: contract.DirectionProviderToProvider,
			SenderRole: contract.RoleClinician, SenderID: npi, NPI: npi, CCN: ccn, Sent: at("2020-03-06T11:00:00Z")}),
			[]measure.Action{{ID: "m2", Kind: measure.MessageCopyingPatient, Provider: measure.Provider{NPI: npi, CCN: ccn}, At: at("2020-03-06T11:00:00Z")}}},
		{"message naming no one: no credit", item(t, contract.MessageSent, contract.SecureMessage{MessageID: "m3",
			ThreadID: "th", PatientID: "p", ClinicID: "c", Kind: contract.KindGeneral, Direction: contract.DirectionProviderToPatient,
			SenderRole: contract.RoleStaff, SenderID: "s", Sent: at("2020-03-06T12:00:00Z")}), nil},
		{"education at the hospital", item(t, contract.MaterialProvided, contract.MaterialProvision{ProvisionID: "ed1", PatientID: "p",
			MaterialID: "x", Version: 1, Language: "en", Channel: contract.ChannelPortal, IdentifiedBySystem: true,
			ProvidedBy: contract.ProvidedByStaff, CCN: ccn, Provided: at("2020-03-03T09:40:00Z")}),
			[]measure.Action{{ID: "ed1", Kind: measure.EducationElectronic, Provider: measure.Provider{CCN: ccn}, At: at("2020-03-03T09:40:00Z")}}},
		{"education by a clinician in a group", item(t, contract.MaterialProvided, contract.MaterialProvision{ProvisionID: "ed2", PatientID: "p",
			MaterialID: "x", Version: 1, Language: "en", Channel: contract.ChannelPortal, IdentifiedBySystem: true,
			ProvidedBy: contract.ProvidedByClinician, NPI: npi, TIN: tin, Provided: at("2020-03-03T09:41:00Z")}),
			[]measure.Action{{ID: "ed2", Kind: measure.EducationElectronic, Provider: measure.Provider{NPI: npi, TIN: tin}, At: at("2020-03-03T09:41:00Z")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl, err := timeline.Build("p", []timeline.Item{tc.it})
			if err != nil {
				t.Fatal(err)
			}
			var got []measure.Action
			for _, a := range tl.Patient.Actions {
				got = append(got, measure.Action{ID: a.ID, Kind: a.Kind, Provider: a.Provider, At: a.At})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("actions %+v, want %+v", got, tc.want)
			}
		})
	}
}
