// Package record owns the clinical record: patients and their encounters. Every
// accepted change is written together with its event, in one transaction, through
// the outbox; corrections and deletions are events too, so downstream measures can
// retract what they counted.
package record

import (
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/libs/phi"
)

// Patient is a patient as records holds it, demographics included. Only its ID and
// organization ever leave this service in events.
type Patient struct {
	ID             string    `json:"id"`
	OrganizationID string    `json:"organization_id,omitempty"`
	MRN            MRN       `json:"mrn"`
	Name           HumanName `json:"name"`
	BirthDate      phi.Date  `json:"birth_date"`
	Sex            string    `json:"sex"`
	Version        int       `json:"version"`
	Created        time.Time `json:"created"`
	Updated        time.Time `json:"updated"`
}

// MRN is a medical record number within the system that assigned it.
type MRN struct {
	System string         `json:"system"`
	Value  phi.Identifier `json:"value"`
}

// HumanName is a patient's name.
type HumanName struct {
	Given  []phi.Name `json:"given"`
	Family phi.Name   `json:"family"`
}

// Sexes accepted for Patient.Sex (FHIR administrative gender).
var sexes = map[string]bool{"female": true, "male": true, "other": true, "unknown": true}

// Encounter is a patient encounter.
type Encounter struct {
	ID           string     `json:"id"`
	PatientID    string     `json:"patient_id"`
	Class        string     `json:"class"`
	Start        time.Time  `json:"start"`
	End          *time.Time `json:"end,omitempty"`
	RenderingNPI string     `json:"rendering_npi,omitempty"`
	BillingTIN   string     `json:"billing_tin,omitempty"`
	CCN          string     `json:"ccn,omitempty"`
	LocationID   string     `json:"location_id,omitempty"`
	POS          string     `json:"pos,omitempty"`
	Version      int        `json:"version"`
	Created      time.Time  `json:"created"`
	Updated      time.Time  `json:"updated"`
}

var classes = map[string]bool{
	contract.ClassOffice: true, contract.ClassTelehealth: true, contract.ClassInpatient: true,
	contract.ClassEmergency: true, contract.ClassObservation: true, contract.ClassOther: true,
}

// hospitalClasses are encounters a hospital (CCN) is responsible for; the others are a
// clinician's (NPI).
var hospitalClasses = map[string]bool{
	contract.ClassInpatient: true, contract.ClassEmergency: true, contract.ClassObservation: true,
}

// maxID bounds client-chosen IDs: they become Kafka keys and URL segments.
const maxID = 64

func checkID(field, id string) error {
	if id == "" {
		return nil
	}
	if len(id) > maxID {
		return errs.Field(errs.Invalid, field, "longer than %d characters", maxID)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return errs.Field(errs.Invalid, field, "may hold only letters, digits, '-' and '.'")
		}
	}
	return nil
}

// Validate checks a patient as submitted, naming the first field at fault.
func (p Patient) Validate() error {
	if err := checkID("id", p.ID); err != nil {
		return err
	}
	if err := checkID("organization_id", p.OrganizationID); err != nil {
		return err
	}
	if strings.TrimSpace(p.MRN.System) == "" {
		return errs.Field(errs.Invalid, "mrn.system", "required")
	}
	if strings.TrimSpace(p.MRN.Value.Reveal()) == "" {
		return errs.Field(errs.Invalid, "mrn.value", "required")
	}
	if strings.TrimSpace(p.Name.Family.Reveal()) == "" {
		return errs.Field(errs.Invalid, "name.family", "required")
	}
	if p.BirthDate.Reveal() == "" {
		return errs.Field(errs.Invalid, "birth_date", "required")
	}
	bd, err := time.Parse(time.DateOnly, p.BirthDate.Reveal())
	if err != nil {
		return errs.Field(errs.Invalid, "birth_date", "not a date in YYYY-MM-DD form")
	}
	if bd.After(time.Now()) || bd.Year() < 1850 {
		return errs.Field(errs.Invalid, "birth_date", "out of range")
	}
	if !sexes[p.Sex] {
		return errs.Field(errs.Invalid, "sex", "must be female, male, other or unknown")
	}
	return nil
}

// Validate checks an encounter as submitted, apart from whether its patient exists.
func (e Encounter) Validate() error {
	if err := checkID("id", e.ID); err != nil {
		return err
	}
	if e.PatientID == "" {
		return errs.Field(errs.Invalid, "patient_id", "required")
	}
	if err := checkID("patient_id", e.PatientID); err != nil {
		return err
	}
	if !classes[e.Class] {
		return errs.Field(errs.Invalid, "class", "must be office, telehealth, inpatient, emergency, observation or other")
	}
	if e.Start.IsZero() {
		return errs.Field(errs.Invalid, "start", "required")
	}
	if e.End != nil && e.End.Before(e.Start) {
		return errs.Field(errs.Invalid, "end", "before start")
	}
	if e.RenderingNPI != "" && !ident.ValidNPI(e.RenderingNPI) {
		return errs.Field(errs.Invalid, "rendering_npi", "not a valid NPI (10 digits with a Luhn check digit)")
	}
	if e.BillingTIN != "" && !ident.ValidTIN(e.BillingTIN) {
		return errs.Field(errs.Invalid, "billing_tin", "not a valid TIN (9 digits)")
	}
	if e.CCN != "" && !ident.ValidCCN(e.CCN) {
		return errs.Field(errs.Invalid, "ccn", "not a valid CCN (6 characters)")
	}
	if hospitalClasses[e.Class] && e.CCN == "" {
		return errs.Field(errs.Invalid, "ccn", "required for %s encounters", e.Class)
	}
	if !hospitalClasses[e.Class] && e.RenderingNPI == "" {
		return errs.Field(errs.Invalid, "rendering_npi", "required for %s encounters", e.Class)
	}
	if e.BillingTIN != "" && e.RenderingNPI == "" {
		return errs.Field(errs.Invalid, "rendering_npi", "required when billing_tin is given")
	}
	if e.POS != "" && (len(e.POS) != 2 || e.POS[0] < '0' || e.POS[0] > '9' || e.POS[1] < '0' || e.POS[1] > '9') {
		return errs.Field(errs.Invalid, "pos", "a place-of-service code is two digits")
	}
	if err := checkID("location_id", e.LocationID); err != nil {
		return err
	}
	return nil
}

// sameAs reports whether two encounters say the same thing, server fields aside.
func (e Encounter) sameAs(o Encounter) bool {
	endEq := (e.End == nil) == (o.End == nil) && (e.End == nil || e.End.Equal(*o.End))
	return e.PatientID == o.PatientID && e.Class == o.Class && e.Start.Equal(o.Start) && endEq &&
		e.RenderingNPI == o.RenderingNPI && e.BillingTIN == o.BillingTIN && e.CCN == o.CCN &&
		e.LocationID == o.LocationID && e.POS == o.POS
}

// sameAs reports whether two patients say the same thing, server fields aside.
func (p Patient) sameAs(o Patient) bool {
	if len(p.Name.Given) != len(o.Name.Given) {
		return false
	}
	for i := range p.Name.Given {
		if p.Name.Given[i] != o.Name.Given[i] {
			return false
		}
	}
	return p.OrganizationID == o.OrganizationID && p.MRN == o.MRN && p.Name.Family == o.Name.Family &&
		p.BirthDate == o.BirthDate && p.Sex == o.Sex
}

func (e Encounter) contract() contract.Encounter {
	c := contract.Encounter{
		EncounterID: e.ID, PatientID: e.PatientID, Class: e.Class, Start: e.Start.UTC(),
		RenderingNPI: e.RenderingNPI, BillingTIN: e.BillingTIN, CCN: e.CCN, LocationID: e.LocationID, POS: e.POS,
	}
	if e.End != nil {
		end := e.End.UTC()
		c.End = &end
	}
	return c
}
