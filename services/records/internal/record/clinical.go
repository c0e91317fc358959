package record

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// Problem is an entry of the problem list (FHIR Condition). "No current problems" is
// an entry too, coded SNOMED CT 160245001.
type Problem struct {
	resource.Meta
	PatientID   string        `json:"patient_id"`
	Code        contract.Code `json:"code"`
	Status      string        `json:"status"`
	Onset       *time.Time    `json:"onset,omitempty"`
	Abatement   *time.Time    `json:"abatement,omitempty"`
	NPI         string        `json:"npi,omitempty"`
	Recorded    time.Time     `json:"recorded"`
	EncounterID string        `json:"encounter_id,omitempty"`
	Note        phi.Text      `json:"note,omitempty"`
}

var problemStatuses = []string{"active", "recurrence", "relapse", "inactive", "remission", "resolved"}

func (p *Problem) validate() error {
	return first(
		requiredID("patient_id", p.PatientID),
		code("code", p.Code, contract.SystemICD10CM, contract.SystemSNOMED),
		oneOf("status", p.Status, problemStatuses...),
		notBefore("abatement", p.Abatement, "onset", deref(p.Onset)),
		npi("npi", p.NPI, false),
		requiredTime("recorded", p.Recorded),
		optionalID("encounter_id", p.EncounterID),
	)
}

// Allergy is an entry of the allergy list (FHIR AllergyIntolerance); "no known
// allergy" (SNOMED CT 716186003) and "no known drug allergy" (409137002) are entries.
type Allergy struct {
	resource.Meta
	PatientID   string        `json:"patient_id"`
	Code        contract.Code `json:"code"`
	Category    string        `json:"category"`
	Status      string        `json:"status"`
	NPI         string        `json:"npi,omitempty"`
	Recorded    time.Time     `json:"recorded"`
	EncounterID string        `json:"encounter_id,omitempty"`
	Reaction    phi.Text      `json:"reaction,omitempty"`
}

var allergyCategories = []string{contract.AllergyMedication, contract.AllergyFood, contract.AllergyEnvironment,
	contract.AllergyBiologic}

func (a *Allergy) validate() error {
	return first(
		requiredID("patient_id", a.PatientID),
		code("code", a.Code, contract.SystemRxNorm, contract.SystemSNOMED),
		oneOf("category", a.Category, allergyCategories...),
		oneOf("status", a.Status, "active", "inactive", "resolved"),
		npi("npi", a.NPI, false),
		requiredTime("recorded", a.Recorded),
		optionalID("encounter_id", a.EncounterID),
	)
}

// Medication is an entry of the medication list.
type Medication struct {
	resource.Meta
	PatientID   string        `json:"patient_id"`
	Code        contract.Code `json:"code"`
	Status      string        `json:"status"`
	Start       *time.Time    `json:"start,omitempty"`
	End         *time.Time    `json:"end,omitempty"`
	NPI         string        `json:"npi,omitempty"`
	Recorded    time.Time     `json:"recorded"`
	EncounterID string        `json:"encounter_id,omitempty"`
}

var medicationStatuses = []string{"active", "completed", "stopped", "on-hold", "entered-in-error"}

func (m *Medication) validate() error {
	return first(
		requiredID("patient_id", m.PatientID),
		code("code", m.Code, contract.SystemRxNorm),
		oneOf("status", m.Status, medicationStatuses...),
		notBefore("end", m.End, "start", deref(m.Start)),
		npi("npi", m.NPI, false),
		requiredTime("recorded", m.Recorded),
		optionalID("encounter_id", m.EncounterID),
	)
}

// Quantity is a measured value with its UCUM unit.
type Quantity struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Result is a laboratory, imaging or other diagnostic result (FHIR Observation or
// DiagnosticReport). Its value stays in records.
type Result struct {
	resource.Meta
	PatientID      string        `json:"patient_id"`
	Code           contract.Code `json:"code"`
	Category       string        `json:"category,omitempty"`
	Status         string        `json:"status"`
	Effective      time.Time     `json:"effective"`
	Issued         time.Time     `json:"issued"`
	Value          *Quantity     `json:"value,omitempty"`
	ValueText      phi.Text      `json:"value_text,omitempty"`
	Interpretation string        `json:"interpretation,omitempty"`
	OrderID        string        `json:"order_id,omitempty"`
	NPI            string        `json:"npi,omitempty"`
	EncounterID    string        `json:"encounter_id,omitempty"`
}

var (
	resultStatuses   = []string{"preliminary", "final", "amended", "corrected"}
	resultCategories = []string{contract.ResultCategoryLaboratory, contract.ResultCategoryImaging, contract.ResultCategoryOther}
	// interpretations are the common HL7 v3 ObservationInterpretation codes.
	interpretations = []string{"N", "A", "AA", "H", "HH", "HU", "L", "LL", "LU", "POS", "NEG", "IND", "R", "S", "I"}
)

func (r *Result) validate() error {
	err := first(
		requiredID("patient_id", r.PatientID),
		code("code", r.Code, contract.SystemLOINC),
		optionalOneOf("category", r.Category, resultCategories...),
		oneOf("status", r.Status, resultStatuses...),
		requiredTime("effective", r.Effective),
		requiredTime("issued", r.Issued),
		notBefore("issued", &r.Issued, "effective", r.Effective),
		optionalOneOf("interpretation", r.Interpretation, interpretations...),
		optionalID("order_id", r.OrderID),
		npi("npi", r.NPI, false),
		optionalID("encounter_id", r.EncounterID),
	)
	switch {
	case err != nil:
	case r.Value != nil && r.ValueText != "":
		err = invalid("value_text", "give value or value_text, not both")
	case r.Value != nil:
		err = quantity("value", *r.Value, nil, math.MaxFloat64)
	}
	return err
}

// quantity checks a value: finite, not negative, at most max, in one of units (any
// non-empty unit when units is nil).
func quantity(field string, q Quantity, units []string, max float64) error {
	switch {
	case math.IsNaN(q.Value) || math.IsInf(q.Value, 0) || q.Value < 0 || q.Value > max:
		return invalid(field+".value", "out of range")
	case q.Unit == "":
		return invalid(field+".unit", "required")
	case units != nil && !slices.Contains(units, q.Unit):
		return invalid(field+".unit", "must be one of %v (UCUM)", units)
	}
	return nil
}

// Component is one measured part of a panel, e.g. the systolic pressure of a blood
// pressure panel.
type Component struct {
	Code  contract.Code `json:"code"`
	Value Quantity      `json:"value"`
}

// VitalSign is a vital-sign observation, measured by a clinician or reported by the
// patient. Uploads from a shared tablet set the performer to the patient and name the
// device and session.
type VitalSign struct {
	resource.Meta
	PatientID   string        `json:"patient_id"`
	Code        contract.Code `json:"code"`
	Value       *Quantity     `json:"value,omitempty"`
	Components  []Component   `json:"components,omitempty"`
	Effective   time.Time     `json:"effective"`
	Performer   string        `json:"performer"`
	NPI         string        `json:"npi,omitempty"`
	DeviceID    string        `json:"device_id,omitempty"`  // set by a tablet upload
	SessionID   string        `json:"session_id,omitempty"` // set by a tablet upload
	EncounterID string        `json:"encounter_id,omitempty"`
}

// vitalSpec is what a vital-sign LOINC code takes: a value in one of units, or, for a
// panel, exactly the component codes, each with a value.
type vitalSpec struct {
	units      []string
	components []string
	max        float64 // the largest plausible value
}

// vitalSpecs are the vital signs of the US Core vital-signs profiles records accepts.
var vitalSpecs = map[string]vitalSpec{
	"85354-9": {components: []string{"8480-6", "8462-4"}},           // blood pressure panel
	"8480-6":  {units: []string{"mm[Hg]"}, max: 400},                // systolic blood pressure
	"8462-4":  {units: []string{"mm[Hg]"}, max: 300},                // diastolic blood pressure
	"29463-7": {units: []string{"kg", "g", "[lb_av]"}, max: 700000}, // body weight
	"8302-2":  {units: []string{"cm", "m", "[in_i]"}, max: 300},     // body height
	"39156-5": {units: []string{"kg/m2"}, max: 200},                 // BMI
	"8867-4":  {units: []string{"/min"}, max: 400},                  // heart rate
	"9279-1":  {units: []string{"/min"}, max: 200},                  // respiratory rate
	"8310-5":  {units: []string{"Cel", "[degF]"}, max: 120},         // body temperature
	"59408-5": {units: []string{"%"}, max: 100},                     // oxygen saturation by pulse oximetry
	"2708-6":  {units: []string{"%"}, max: 100},                     // oxygen saturation
	"8287-5":  {units: []string{"cm", "[in_i]"}, max: 100},          // head circumference
}

var performers = []string{contract.PerformerPractitioner, contract.PerformerPatient}

func (v *VitalSign) validate() error {
	err := first(
		requiredID("patient_id", v.PatientID),
		code("code", v.Code, contract.SystemLOINC),
		requiredTime("effective", v.Effective),
		oneOf("performer", v.Performer, performers...),
		npi("npi", v.NPI, false),
		optionalID("device_id", v.DeviceID),
		optionalID("session_id", v.SessionID),
		optionalID("encounter_id", v.EncounterID),
	)
	if err != nil {
		return err
	}
	spec, ok := vitalSpecs[v.Code.Code]
	switch {
	case !ok:
		return invalid("code.code", "not a vital sign records takes (blood pressure, weight, height, BMI, heart or respiratory rate, temperature, oxygen saturation, head circumference)")
	case spec.components == nil && v.Value == nil:
		return invalid("value", "required")
	case spec.components == nil && len(v.Components) > 0:
		return invalid("components", "only for a panel")
	case spec.components == nil:
		return quantity("value", *v.Value, spec.units, spec.max)
	case v.Value != nil:
		return invalid("value", "a panel has its values in components")
	case len(v.Components) != len(spec.components):
		return invalid("components", "a %s panel has the components %v", v.Code.Code, spec.components)
	}
	for i, c := range v.Components {
		f := fmt.Sprintf("components[%d]", i)
		if err := code(f+".code", c.Code, contract.SystemLOINC); err != nil {
			return err
		}
		cs, ok := vitalSpecs[c.Code.Code]
		if !ok || !slices.Contains(spec.components, c.Code.Code) ||
			slices.IndexFunc(v.Components, func(o Component) bool { return o.Code == c.Code }) != i {
			return invalid(f+".code", "a %s panel has the components %v, once each", v.Code.Code, spec.components)
		}
		if err := quantity(f+".value", c.Value, cs.units, cs.max); err != nil {
			return err
		}
	}
	return nil
}

func (v *VitalSign) contract() contract.VitalSign {
	c := contract.VitalSign{
		VitalSignID: v.ID, PatientID: v.PatientID, Code: v.Code, Effective: v.Effective.UTC(), Performer: v.Performer,
		NPI: v.NPI, DeviceID: v.DeviceID, SessionID: v.SessionID, EncounterID: v.EncounterID,
	}
	for _, comp := range v.Components {
		c.Components = append(c.Components, comp.Code)
	}
	return c
}

// SmokingStatus is an assessment of the patient's smoking status.
type SmokingStatus struct {
	resource.Meta
	PatientID   string        `json:"patient_id"`
	Code        contract.Code `json:"code"`
	Effective   time.Time     `json:"effective"`
	NPI         string        `json:"npi,omitempty"`
	EncounterID string        `json:"encounter_id,omitempty"`
}

// smokingStatuses are the SNOMED CT codes of the ONC smoking status value set.
var smokingStatuses = []string{
	"449868002",       // current every day smoker
	"428041000124106", // current some day smoker
	"8517006",         // former smoker
	"266919005",       // never smoker
	"77176002",        // smoker, current status unknown
	"266927001",       // unknown if ever smoked
	"428071000124103", // current heavy tobacco smoker
	"428061000124105", // current light tobacco smoker
}

func (m *SmokingStatus) validate() error {
	err := first(
		requiredID("patient_id", m.PatientID),
		code("code", m.Code, contract.SystemSNOMED),
		requiredTime("effective", m.Effective),
		npi("npi", m.NPI, false),
		optionalID("encounter_id", m.EncounterID),
	)
	if err == nil && !slices.Contains(smokingStatuses, m.Code.Code) {
		err = invalid("code.code", "not a smoking status (ONC smoking status value set)")
	}
	return err
}

// defineClinical defines the lists, results, vital signs and smoking status: a
// patient's facts, keyed by the patient.
func (s *Service) defineClinical() {
	s.Problems = resource.New(s.store, resource.Def[Problem]{
		Name: "problem", Path: "problems", Table: "problems", Topic: contract.TopicProblem,
		Recorded: contract.ProblemRecorded, Corrected: contract.ProblemCorrected, Deleted: contract.ProblemDeleted,
		Subject: func(p *Problem) string { return p.PatientID }, SubjectField: "patient_id",
		At:       func(p *Problem) time.Time { return p.Recorded },
		Validate: (*Problem).validate,
		Refs:     func(p *Problem, ref func(string, string)) { s.factRefs(p.PatientID, p.EncounterID, ref) },
		Check: func(ctx context.Context, tx *resource.Tx, p *Problem) error {
			return s.patientRefs(ctx, tx, p.PatientID, p.EncounterID)
		},
		Payload: func(p *Problem) any {
			return contract.Problem{ProblemID: p.ID, PatientID: p.PatientID, Code: p.Code, Status: p.Status,
				Onset: utc(p.Onset), Abatement: utc(p.Abatement), NPI: p.NPI, Recorded: p.Recorded.UTC(), EncounterID: p.EncounterID}
		},
		Ref: func(p *Problem) any { return contract.ProblemRef{ProblemID: p.ID, PatientID: p.PatientID} },
	})
	s.Allergies = resource.New(s.store, resource.Def[Allergy]{
		Name: "allergy", Path: "allergies", Table: "allergies", Topic: contract.TopicAllergy,
		Recorded: contract.AllergyRecorded, Corrected: contract.AllergyCorrected, Deleted: contract.AllergyDeleted,
		Subject: func(a *Allergy) string { return a.PatientID }, SubjectField: "patient_id",
		At:       func(a *Allergy) time.Time { return a.Recorded },
		Validate: (*Allergy).validate,
		Refs:     func(a *Allergy, ref func(string, string)) { s.factRefs(a.PatientID, a.EncounterID, ref) },
		Check: func(ctx context.Context, tx *resource.Tx, a *Allergy) error {
			return s.patientRefs(ctx, tx, a.PatientID, a.EncounterID)
		},
		Payload: func(a *Allergy) any {
			return contract.Allergy{AllergyID: a.ID, PatientID: a.PatientID, Code: a.Code, Category: a.Category,
				Status: a.Status, NPI: a.NPI, Recorded: a.Recorded.UTC(), EncounterID: a.EncounterID}
		},
		Ref: func(a *Allergy) any { return contract.AllergyRef{AllergyID: a.ID, PatientID: a.PatientID} },
	})
	s.Medications = resource.New(s.store, resource.Def[Medication]{
		Name: "medication", Path: "medications", Table: "medications", Topic: contract.TopicMed,
		Recorded: contract.MedicationRecorded, Corrected: contract.MedicationCorrected, Deleted: contract.MedicationDeleted,
		Subject: func(m *Medication) string { return m.PatientID }, SubjectField: "patient_id",
		At:       func(m *Medication) time.Time { return m.Recorded },
		Validate: (*Medication).validate,
		Refs:     func(m *Medication, ref func(string, string)) { s.factRefs(m.PatientID, m.EncounterID, ref) },
		Check: func(ctx context.Context, tx *resource.Tx, m *Medication) error {
			return s.patientRefs(ctx, tx, m.PatientID, m.EncounterID)
		},
		Payload: func(m *Medication) any {
			return contract.Medication{MedicationID: m.ID, PatientID: m.PatientID, Code: m.Code, Status: m.Status,
				Start: utc(m.Start), End: utc(m.End), NPI: m.NPI, Recorded: utc(&m.Recorded), EncounterID: m.EncounterID}
		},
		Ref: func(m *Medication) any { return contract.MedicationRef{MedicationID: m.ID, PatientID: m.PatientID} },
	})
	s.Results = resource.New(s.store, resource.Def[Result]{
		Name: "result", Path: "results", Table: "results", Topic: contract.TopicResult,
		Recorded: contract.ResultRecorded, Corrected: contract.ResultCorrected, Deleted: contract.ResultDeleted,
		Subject: func(r *Result) string { return r.PatientID }, SubjectField: "patient_id",
		At:       func(r *Result) time.Time { return r.Issued },
		Validate: (*Result).validate,
		Refs: func(r *Result, ref func(string, string)) {
			s.factRefs(r.PatientID, r.EncounterID, ref)
			ref(s.Orders.Table, r.OrderID)
		},
		Check: func(ctx context.Context, tx *resource.Tx, r *Result) error {
			return first(
				s.patientRefs(ctx, tx, r.PatientID, r.EncounterID),
				s.Orders.Require(ctx, tx, "order_id", r.OrderID, r.PatientID),
			)
		},
		Payload: func(r *Result) any {
			return contract.Result{ResultID: r.ID, PatientID: r.PatientID, Code: r.Code, Status: r.Status,
				Effective: r.Effective.UTC(), Issued: r.Issued.UTC(), Interpretation: r.Interpretation, OrderID: r.OrderID,
				NPI: r.NPI, Category: r.Category, EncounterID: r.EncounterID}
		},
		Ref: func(r *Result) any { return contract.ResultRef{ResultID: r.ID, PatientID: r.PatientID} },
	})
	s.VitalSigns = resource.New(s.store, resource.Def[VitalSign]{
		Name: "vital sign", Path: "vital-signs", Table: "vital_signs", Topic: contract.TopicVitalSign,
		Recorded: contract.VitalSignRecorded, Corrected: contract.VitalSignCorrected, Deleted: contract.VitalSignDeleted,
		Subject: func(v *VitalSign) string { return v.PatientID }, SubjectField: "patient_id",
		At:       func(v *VitalSign) time.Time { return v.Effective },
		Validate: (*VitalSign).validate,
		Refs:     func(v *VitalSign, ref func(string, string)) { s.factRefs(v.PatientID, v.EncounterID, ref) },
		Check:    s.checkVitalSign,
		Payload:  func(v *VitalSign) any { return v.contract() },
		Ref:      func(v *VitalSign) any { return contract.VitalSignRef{VitalSignID: v.ID, PatientID: v.PatientID} },
	})
	s.SmokingStatuses = resource.New(s.store, resource.Def[SmokingStatus]{
		Name: "smoking status", Path: "smoking-statuses", Table: "smoking_statuses", Topic: contract.TopicSmokingStatus,
		Recorded: contract.SmokingStatusRecorded, Corrected: contract.SmokingStatusCorrected, Deleted: contract.SmokingStatusDeleted,
		Subject: func(m *SmokingStatus) string { return m.PatientID }, SubjectField: "patient_id",
		At:       func(m *SmokingStatus) time.Time { return m.Effective },
		Validate: (*SmokingStatus).validate,
		Refs:     func(m *SmokingStatus, ref func(string, string)) { s.factRefs(m.PatientID, m.EncounterID, ref) },
		Check: func(ctx context.Context, tx *resource.Tx, m *SmokingStatus) error {
			return s.patientRefs(ctx, tx, m.PatientID, m.EncounterID)
		},
		Payload: func(m *SmokingStatus) any {
			return contract.SmokingStatus{SmokingStatusID: m.ID, PatientID: m.PatientID, Code: m.Code,
				Effective: m.Effective.UTC(), NPI: m.NPI, EncounterID: m.EncounterID}
		},
		Ref: func(m *SmokingStatus) any {
			return contract.SmokingStatusRef{SmokingStatusID: m.ID, PatientID: m.PatientID}
		},
	})
}

// checkVitalSign resolves a vital sign's references. A device and session are set only
// by a tablet upload (the flow that checks the session is open and audits it): a
// vital sign written otherwise may keep the ones it has, never name new ones.
func (s *Service) checkVitalSign(ctx context.Context, tx *resource.Tx, v *VitalSign) error {
	if err := s.patientRefs(ctx, tx, v.PatientID, v.EncounterID); err != nil {
		return err
	}
	if v.SessionID == "" && v.DeviceID == "" {
		return nil
	}
	if v.SessionID == "" || v.DeviceID == "" {
		return invalid("session_id", "device_id and session_id come together, from a tablet upload")
	}
	if uploading(ctx) {
		return nil
	}
	stored, err := s.VitalSigns.Load(ctx, tx, v.ID)
	if err != nil || stored.SessionID != v.SessionID || stored.DeviceID != v.DeviceID {
		return unprocessable("session_id", "set only by a tablet upload (POST /v1/tablet-sessions/{id}/uploads)")
	}
	return nil
}
