package projectiontest

import (
	"fmt"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
)

// Year is what a patient's year of care publishes in benchmarks: three office visits
// with one of two clinicians of a group, their information shared through the portal
// and the API (late once in seven), a prescription each, a visit corrected, a VDT
// action and a message. About 20 events a patient: the 20 million events for
// a million patients.
func Year(patient string, i, year int) []event.Event {
	return YearAt(patient, i, year, Clinic{NPIs: [2]string{NPIs[0], NPIs[1]}, TIN: TINs[0]})
}

// Clinic is a group of two clinicians billing under one TIN.
type Clinic struct {
	NPIs [2]string
	TIN  string
}

// YearAt is Year with clinic c's clinicians.
func YearAt(patient string, i, year int, c Clinic) []event.Event {
	var es []event.Event
	add := func(typ string, payload any) {
		e, err := event.New(typ, "records", patient, time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC), time.Now(), payload)
		if err != nil {
			panic(fmt.Sprintf("benchmark event: %v", err)) // only a payload that cannot be marshalled
		}
		spec, _ := contract.Lookup(typ)
		e.Topic = spec.Topic
		es = append(es, e)
	}
	add(contract.PatientRegistered, contract.Patient{PatientID: patient, OrganizationID: "org-1"})
	for j := range 3 {
		start := time.Date(year, time.Month(1+(i+4*j)%12), 1+i%27, 9, 0, 0, 0, time.UTC)
		npi := c.NPIs[(i+j)%2]
		enc := contract.Encounter{EncounterID: fmt.Sprintf("%s-e%d", patient, j), PatientID: patient, Class: contract.ClassOffice,
			Start: start, RenderingNPI: npi, BillingTIN: c.TIN}
		add(contract.EncounterRecorded, enc)
		late := time.Duration(0)
		if (i+j)%7 == 0 {
			late = 200 * time.Hour
		}
		for _, kind := range []string{contract.AccessVDT, contract.AccessAPI} {
			add(contract.AccessGrantRecorded, contract.AccessGrant{AccessGrantID: enc.EncounterID + "-" + kind, PatientID: patient,
				Kind: kind, Granted: start.Add(time.Hour + late), NPI: npi, TIN: c.TIN, EncounterID: enc.EncounterID})
		}
		rx := contract.Prescription{PrescriptionID: enc.EncounterID + "-rx", PatientID: patient, Kind: contract.PrescriptionNew,
			Permissible: true, Written: start.Add(30 * time.Minute), NPI: npi, TIN: c.TIN,
			Code: contract.Code{System: contract.SystemRxNorm, Code: "197361"}}
		add(contract.PrescriptionRecorded, rx)
		rx.Transmission = &contract.Transmission{Transmitted: rx.Written.Add(time.Minute), Method: contract.TransmitElectronic,
			Outcome: contract.TransmitSucceeded}
		add(contract.PrescriptionTransmitted, rx)
		if j == 1 {
			enc.Start = enc.Start.Add(time.Hour)
			add(contract.EncounterCorrected, enc)
		}
	}
	add(contract.VDTRecorded, contract.VDT{VDTID: patient + "-vdt", PatientID: patient, Action: contract.VDTView,
		Actor: contract.ActorPatient, Occurred: time.Date(year, 6, 1, 8, 0, 0, 0, time.UTC)})
	add(contract.MessageSent, contract.SecureMessage{MessageID: patient + "-m", ThreadID: patient + "-t", PatientID: patient,
		ClinicID: "clinic-1", Kind: contract.KindGeneral, Direction: contract.DirectionProviderToPatient,
		SenderRole: contract.RoleClinician, SenderID: c.NPIs[0], NPI: c.NPIs[0], TIN: c.TIN, Sent: time.Date(year, 6, 2, 8, 0, 0, 0, time.UTC)})
	return es
}
