package record

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// Patient is a patient as records holds it, demographics included. Only its ID,
// organization, representatives' IDs and opt-outs ever leave records, in events.
type Patient struct {
	resource.Meta
	OrganizationID  string            `json:"organization_id,omitempty"`
	MRN             MRN               `json:"mrn"`
	Name            HumanName         `json:"name"`
	BirthDate       phi.Date          `json:"birth_date"`
	Sex             string            `json:"sex"`
	Deceased        bool              `json:"deceased,omitempty"`
	Representatives []Representative  `json:"representatives,omitempty"`
	OptOuts         []contract.OptOut `json:"opt_outs,omitempty"`
}

// MRN is a medical record number within the system that assigned it.
type MRN struct {
	System string         `json:"system"`
	Value  phi.Identifier `json:"value"`
}

// HumanName is a person's name.
type HumanName struct {
	Given  []phi.Name `json:"given"`
	Family phi.Name   `json:"family"`
}

// Representative is a person authorized to act for the patient (a proxy: parent,
// guardian, caregiver). ID is their user ID, as the gateway signs them in.
type Representative struct {
	ID           string      `json:"id"`
	Relationship string      `json:"relationship"`
	Name         HumanName   `json:"name"`
	Contact      phi.Contact `json:"contact,omitempty"`
	From         *time.Time  `json:"from,omitempty"`
	To           *time.Time  `json:"to,omitempty"`
}

// authorizedAt reports whether the representative could act at t.
func (r Representative) authorizedAt(t time.Time) bool {
	return (r.From == nil || !t.Before(*r.From)) && (r.To == nil || t.Before(*r.To))
}

// Sexes accepted for Patient.Sex (FHIR administrative gender).
var sexes = []string{"female", "male", "other", "unknown"}

var relationships = []string{contract.RelationshipParent, contract.RelationshipGuardian, contract.RelationshipSpouse,
	contract.RelationshipChild, contract.RelationshipCaregiver, contract.RelationshipAttorney, contract.RelationshipOther}

var optOutKinds = []string{contract.OptOutPortal, contract.OptOutAPI, contract.OptOutMessaging, contract.OptOutExchange}

func (p *Patient) validate() error {
	err := first(
		optionalID("organization_id", p.OrganizationID),
		requiredText("mrn.system", p.MRN.System),
		requiredText("mrn.value", p.MRN.Value.Reveal()),
		name("name", p.Name),
		birthDate("birth_date", p.BirthDate),
		oneOf("sex", p.Sex, sexes...),
	)
	for i, r := range p.Representatives {
		f := fmt.Sprintf("representatives[%d]", i)
		err = first(err,
			requiredID(f+".id", r.ID),
			oneOf(f+".relationship", r.Relationship, relationships...),
			name(f+".name", r.Name),
			notBefore(f+".to", r.To, "from", deref(r.From)),
		)
		if slices.IndexFunc(p.Representatives, func(o Representative) bool { return o.ID == r.ID }) != i {
			err = first(err, invalid(f+".id", "listed twice"))
		}
	}
	for i, o := range p.OptOuts {
		f := fmt.Sprintf("opt_outs[%d]", i)
		err = first(err, oneOf(f+".kind", o.Kind, optOutKinds...), requiredTime(f+".since", o.Since))
		if slices.IndexFunc(p.OptOuts, func(x contract.OptOut) bool { return x.Kind == o.Kind }) != i {
			err = first(err, invalid(f+".kind", "listed twice"))
		}
	}
	return err
}

func name(field string, n HumanName) error {
	err := requiredText(field+".family", n.Family.Reveal())
	for i, g := range n.Given {
		err = first(err, requiredText(fmt.Sprintf("%s.given[%d]", field, i), g.Reveal()))
	}
	return err
}

func birthDate(field string, d phi.Date) error {
	if d.Reveal() == "" {
		return invalid(field, "required")
	}
	bd, err := time.Parse(time.DateOnly, d.Reveal())
	if err != nil {
		return invalid(field, "not a date in YYYY-MM-DD form")
	}
	if bd.After(time.Now()) || bd.Year() < 1850 {
		return invalid(field, "out of range")
	}
	return nil
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func (p *Patient) contract() contract.Patient {
	c := contract.Patient{PatientID: p.ID, OrganizationID: p.OrganizationID, OptOuts: p.OptOuts, Deceased: p.Deceased}
	for _, r := range p.Representatives {
		c.Representatives = append(c.Representatives, contract.Representative{
			RepresentativeID: r.ID, Relationship: r.Relationship, From: utc(r.From), To: utc(r.To)})
	}
	for i := range c.OptOuts {
		c.OptOuts[i].Since = c.OptOuts[i].Since.UTC()
	}
	return c
}

// utc is t in UTC, for event payloads.
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// representative returns the patient's representative with the given ID.
func (p *Patient) representative(id string) (Representative, bool) {
	i := slices.IndexFunc(p.Representatives, func(r Representative) bool { return r.ID == id })
	if i < 0 {
		return Representative{}, false
	}
	return p.Representatives[i], true
}

// definePatients defines patients and their encounters. A patient's MRN (system and
// value) belongs to one patient only. Deleting a patient deletes every fact about them
// first, each with its own deleted event, so consumers retract without cascade logic
// of their own.
func (s *Service) definePatients() {
	s.Patients = resource.New(s.store, resource.Def[Patient]{
		Name: "patient", Path: "patients", Table: "patients", Topic: contract.TopicPatient,
		Recorded: contract.PatientRegistered, Corrected: contract.PatientUpdated, Deleted: contract.PatientDeleted,
		Subject: func(p *Patient) string { return p.ID },
		Key:     func(p *Patient) string { return p.MRN.System + "|" + p.MRN.Value.Reveal() }, KeyField: "mrn",
		Validate: (*Patient).validate,
		Refs:     func(p *Patient, ref func(string, string)) { ref(s.Organizations.Table, p.OrganizationID) },
		Check: func(ctx context.Context, tx *resource.Tx, p *Patient) error {
			return s.Organizations.Require(ctx, tx, "organization_id", p.OrganizationID, "")
		},
		OnDelete: s.deletePatientFacts,
		Payload:  func(p *Patient) any { return p.contract() },
		Ref:      func(p *Patient) any { return contract.PatientRef{PatientID: p.ID} },
	})
	s.defineEncounters()
}

// deletePatientFacts deletes everything about a patient before the patient: the
// facts that refer to others first, encounters last. A tablet still checked out to
// the patient must be checked in first.
func (s *Service) deletePatientFacts(ctx context.Context, tx *resource.Tx, p *Patient) error {
	if err := s.removeTabletSessions(ctx, tx, p.ID); err != nil {
		return err
	}
	for _, remove := range []func(context.Context, *resource.Tx, string) error{
		s.Reconciliations.RemoveAllOf, s.Transitions.RemoveAllOf, s.ClinicalSummaries.RemoveAllOf,
		s.PGHD.RemoveAllOf, s.VDTs.RemoveAllOf, s.AccessGrants.RemoveAllOf, s.Availabilities.RemoveAllOf,
		s.RegistrySubmissions.RemoveAllOf, s.PDMPQueries.RemoveAllOf, s.Prescriptions.RemoveAllOf,
		s.Results.RemoveAllOf, s.Orders.RemoveAllOf, s.SharedRecords.RemoveAllOf, s.Consents.RemoveAllOf,
		s.VitalSigns.RemoveAllOf, s.SmokingStatuses.RemoveAllOf, s.Allergies.RemoveAllOf,
		s.Medications.RemoveAllOf, s.Problems.RemoveAllOf, s.Encounters.RemoveAllOf,
	} {
		if err := remove(ctx, tx, p.ID); err != nil {
			return err
		}
	}
	return nil
}

// requirePatient checks that a patient's fact names a stored patient.
func (s *Service) requirePatient(ctx context.Context, tx *resource.Tx, patientID string) error {
	return s.Patients.Require(ctx, tx, "patient_id", patientID, "")
}

// factRefs lists what patientRefs looks up, for a batch to look it up ahead
// (resource.Def.Refs).
func (s *Service) factRefs(patientID, encounterID string, ref func(table, id string)) {
	ref(s.Patients.Table, patientID)
	ref(s.Encounters.Table, encounterID)
}

// patientRefs checks a patient's fact's references: the patient, and the encounter it
// was recorded in, if any, which must be the same patient's.
func (s *Service) patientRefs(ctx context.Context, tx *resource.Tx, patientID, encounterID string) error {
	if err := s.requirePatient(ctx, tx, patientID); err != nil {
		return err
	}
	return s.Encounters.Require(ctx, tx, "encounter_id", encounterID, patientID)
}
