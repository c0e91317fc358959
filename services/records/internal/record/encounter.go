package record

import (
	"context"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// Encounter is a patient encounter: an office or telehealth visit (rendering NPI,
// billing TIN), or an inpatient stay, ED visit or observation stay (CCN).
type Encounter struct {
	resource.Meta
	PatientID    string     `json:"patient_id"`
	Class        string     `json:"class"`
	Start        time.Time  `json:"start"`
	End          *time.Time `json:"end,omitempty"`
	RenderingNPI string     `json:"rendering_npi,omitempty"`
	BillingTIN   string     `json:"billing_tin,omitempty"`
	CCN          string     `json:"ccn,omitempty"`
	LocationID   string     `json:"location_id,omitempty"`
	// POS is the place-of-service code; when left out, the location's.
	POS string `json:"pos,omitempty"`
	// CEHRT is derived from the location when the encounter is written: whether it was
	// equipped with certified EHR technology. Read-only; absent without a location.
	CEHRT *bool `json:"cehrt,omitempty"`
	// NewPatient marks an encounter with a patient the clinician or hospital never
	// encountered before.
	NewPatient bool `json:"new_patient,omitempty"`
}

var classes = []string{contract.ClassOffice, contract.ClassTelehealth, contract.ClassInpatient,
	contract.ClassEmergency, contract.ClassObservation, contract.ClassOther}

// hospitalClasses are encounters a hospital (CCN) is responsible for; the others are a
// clinician's (NPI).
var hospitalClasses = []string{contract.ClassInpatient, contract.ClassEmergency, contract.ClassObservation}

func isHospital(class string) bool { return slices.Contains(hospitalClasses, class) }

func (e *Encounter) validate() error {
	err := first(
		requiredID("patient_id", e.PatientID),
		oneOf("class", e.Class, classes...),
		requiredTime("start", e.Start),
		notBefore("end", e.End, "start", e.Start),
		npi("rendering_npi", e.RenderingNPI, false),
		tin("billing_tin", e.BillingTIN, false),
		ccn("ccn", e.CCN, false),
	)
	switch {
	case err != nil:
	case isHospital(e.Class) && e.CCN == "":
		err = invalid("ccn", "required for %s encounters", e.Class)
	case !isHospital(e.Class) && e.RenderingNPI == "":
		err = invalid("rendering_npi", "required for %s encounters", e.Class)
	case e.BillingTIN != "" && e.RenderingNPI == "":
		err = invalid("rendering_npi", "required when billing_tin is given")
	}
	return first(err, pos("pos", e.POS, false), optionalID("location_id", e.LocationID))
}

func (e *Encounter) contract() contract.Encounter {
	return contract.Encounter{
		EncounterID: e.ID, PatientID: e.PatientID, Class: e.Class, Start: e.Start.UTC(), End: utc(e.End),
		RenderingNPI: e.RenderingNPI, BillingTIN: e.BillingTIN, CCN: e.CCN, LocationID: e.LocationID, POS: e.POS,
		CEHRT: e.CEHRT, NewPatient: e.NewPatient,
	}
}

func (s *Service) defineEncounters() {
	s.Encounters = resource.New(s.store, resource.Def[Encounter]{
		Name: "encounter", Path: "encounters", Table: "encounters", Topic: contract.TopicEncounter,
		Recorded: contract.EncounterRecorded, Corrected: contract.EncounterCorrected, Deleted: contract.EncounterDeleted,
		Subject: func(e *Encounter) string { return e.PatientID }, SubjectField: "patient_id",
		At:       func(e *Encounter) time.Time { return e.Start },
		Validate: (*Encounter).validate,
		Refs: func(e *Encounter, ref func(string, string)) {
			ref(s.Patients.Table, e.PatientID)
			ref(s.Locations.Table, e.LocationID)
		},
		Check:   s.checkEncounter,
		Payload: func(e *Encounter) any { return e.contract() },
		Ref: func(e *Encounter) any {
			return contract.EncounterRef{EncounterID: e.ID, PatientID: e.PatientID}
		},
	})
}

// checkEncounter resolves the patient and the location, and takes the location's
// place of service (when none was given) and CEHRT flag as they are now.
func (s *Service) checkEncounter(ctx context.Context, tx *resource.Tx, e *Encounter) error {
	if err := s.requirePatient(ctx, tx, e.PatientID); err != nil {
		return err
	}
	e.CEHRT = nil
	if e.LocationID == "" {
		return nil
	}
	if err := s.Locations.Require(ctx, tx, "location_id", e.LocationID, ""); err != nil {
		return err
	}
	l, err := s.Locations.Load(ctx, tx, e.LocationID)
	if err != nil {
		return err
	}
	if e.POS == "" {
		e.POS = l.POS
	}
	cehrt := l.CEHRT
	e.CEHRT = &cehrt
	return nil
}
