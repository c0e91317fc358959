package contract

import (
	"slices"
	"time"
)

// Code systems, as FHIR R4 canonical URIs.
const (
	SystemICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
	SystemSNOMED  = "http://snomed.info/sct"
	SystemLOINC   = "http://loinc.org"
	SystemRxNorm  = "http://www.nlm.nih.gov/research/umls/rxnorm"
	SystemCPT     = "http://www.ama-assn.org/go/cpt"
	SystemCVX     = "http://hl7.org/fhir/sid/cvx"                  // vaccines administered
	SystemDICOM   = "http://dicom.nema.org/resources/ontology/DCM" // imaging modalities
)

// Topics of the clinical facts records adds to the problem, medication and result
// streams. Every one is keyed by the patient ID.
const (
	TopicAllergy       = "records.allergy.v1"
	TopicVitalSign     = "records.vital-sign.v1"
	TopicSmokingStatus = "records.smoking-status.v1"
)

// Event types of allergies, vital signs and smoking status.
const (
	AllergyRecorded  = "records.allergy.recorded"
	AllergyCorrected = "records.allergy.corrected"
	AllergyDeleted   = "records.allergy.deleted"

	VitalSignRecorded  = "records.vital-sign.recorded"
	VitalSignCorrected = "records.vital-sign.corrected"
	VitalSignDeleted   = "records.vital-sign.deleted"

	SmokingStatusRecorded  = "records.smoking-status.recorded"
	SmokingStatusCorrected = "records.smoking-status.corrected"
	SmokingStatusDeleted   = "records.smoking-status.deleted"
)

// Code is a clinical code in a code system. Display text is left out on purpose:
// consumers have their own terminology, and events carry no free text.
type Code struct {
	System string `json:"system"` // one of the System* URIs
	Code   string `json:"code"`
}

// Problem is an entry of a patient's problem list (FHIR Condition).
type Problem struct {
	ProblemID string     `json:"problem_id"`
	PatientID string     `json:"patient_id"`
	Code      Code       `json:"code"`                // ICD-10-CM or SNOMED CT
	Status    string     `json:"status"`              // active, recurrence, relapse, inactive, remission, resolved
	Onset     *time.Time `json:"onset,omitempty"`     // when it began, if known
	Abatement *time.Time `json:"abatement,omitempty"` // when it resolved, if it has
	NPI       string     `json:"npi,omitempty"`       // the clinician who recorded it
	Recorded  time.Time  `json:"recorded"`            // when it was entered in the record
	// EncounterID is the encounter it was recorded in, if any.
	EncounterID string `json:"encounter_id,omitempty"`
}

// Medication is an entry of a patient's medication list (FHIR MedicationStatement
// or an active MedicationRequest).
type Medication struct {
	MedicationID string     `json:"medication_id"`
	PatientID    string     `json:"patient_id"`
	Code         Code       `json:"code"`            // RxNorm
	Status       string     `json:"status"`          // active, completed, stopped, on-hold, entered-in-error
	Start        *time.Time `json:"start,omitempty"` // when the patient started taking it
	End          *time.Time `json:"end,omitempty"`   // when they stopped
	NPI          string     `json:"npi,omitempty"`   // the prescriber or recorder
	// Recorded is when the entry was made in the record (its clinical time).
	Recorded    *time.Time `json:"recorded,omitempty"`
	EncounterID string     `json:"encounter_id,omitempty"` // the encounter it was recorded in, if any
}

// Result is a laboratory or other diagnostic result (FHIR Observation). Values are
// left out: consumers need the code and whether it was abnormal, not the number.
type Result struct {
	ResultID       string    `json:"result_id"`
	PatientID      string    `json:"patient_id"`
	Code           Code      `json:"code"`                     // LOINC
	Status         string    `json:"status"`                   // preliminary, final, amended, corrected
	Effective      time.Time `json:"effective"`                // when the specimen was taken or the observation made
	Issued         time.Time `json:"issued"`                   // when the result was released
	Interpretation string    `json:"interpretation,omitempty"` // HL7 v3 ObservationInterpretation: N, A, H, L, HH, LL, ...
	OrderID        string    `json:"order_id,omitempty"`       // the order it answers, if any
	NPI            string    `json:"npi,omitempty"`            // the ordering clinician
	Category       string    `json:"category,omitempty"`       // one of the ResultCategory* constants
	EncounterID    string    `json:"encounter_id,omitempty"`   // the encounter it belongs to, if any
}

// Result categories.
const (
	ResultCategoryLaboratory = "laboratory"
	ResultCategoryImaging    = "imaging"
	ResultCategoryOther      = "other"
)

// Allergy categories (FHIR AllergyIntolerance.category).
const (
	AllergyMedication  = "medication"
	AllergyFood        = "food"
	AllergyEnvironment = "environment"
	AllergyBiologic    = "biologic"
)

// Allergy is an entry of a patient's allergy list (FHIR AllergyIntolerance). "No known
// allergies" is an entry too, coded SNOMED CT 716186003 (no known allergy) or
// 409137002 (no known drug allergy).
type Allergy struct {
	AllergyID   string    `json:"allergy_id"`
	PatientID   string    `json:"patient_id"`
	Code        Code      `json:"code"`                   // RxNorm (a drug) or SNOMED CT (a substance or "no known allergy")
	Category    string    `json:"category"`               // one of the Allergy* category constants
	Status      string    `json:"status"`                 // active, inactive, resolved
	NPI         string    `json:"npi,omitempty"`          // the clinician who recorded it
	Recorded    time.Time `json:"recorded"`               // when it was entered in the record
	EncounterID string    `json:"encounter_id,omitempty"` // the encounter it was recorded in, if any
}

// Who performed an observation.
const (
	PerformerPractitioner = "practitioner" // a clinician or staff member
	PerformerPatient      = "patient"      // self-reported by the patient, e.g. on a shared tablet
)

// VitalSign is a vital-sign observation (FHIR Observation, vital-signs profile): blood
// pressure (panel 85354-9 with components 8480-6 and 8462-4), weight 29463-7, height
// 8302-2, BMI 39156-5, heart rate, ... The values stay in records.
type VitalSign struct {
	VitalSignID string    `json:"vital_sign_id"`
	PatientID   string    `json:"patient_id"`
	Code        Code      `json:"code"`                 // LOINC
	Components  []Code    `json:"components,omitempty"` // LOINC codes of the components measured, e.g. systolic and diastolic
	Effective   time.Time `json:"effective"`            // when it was measured
	Performer   string    `json:"performer"`            // one of the Performer* constants
	NPI         string    `json:"npi,omitempty"`        // the clinician who recorded it, for practitioner observations
	// DeviceID and SessionID are set for self-reported values uploaded from a shared
	// tablet: the device and the tablet session they came from.
	DeviceID    string `json:"device_id,omitempty"`
	SessionID   string `json:"session_id,omitempty"`
	EncounterID string `json:"encounter_id,omitempty"`
}

// SmokingStatus is a patient's smoking status (LOINC 72166-2), coded with SNOMED CT
// (e.g. 449868002 current every day smoker, 8517006 former smoker, 266919005 never
// smoked).
type SmokingStatus struct {
	SmokingStatusID string    `json:"smoking_status_id"`
	PatientID       string    `json:"patient_id"`
	Code            Code      `json:"code"`      // SNOMED CT smoking status
	Effective       time.Time `json:"effective"` // when it was assessed
	NPI             string    `json:"npi,omitempty"`
	EncounterID     string    `json:"encounter_id,omitempty"`
}

// ProblemRef, MedicationRef and ResultRef name a deleted entry.
type (
	ProblemRef struct {
		ProblemID string `json:"problem_id"`
		PatientID string `json:"patient_id"`
	}
	MedicationRef struct {
		MedicationID string `json:"medication_id"`
		PatientID    string `json:"patient_id"`
	}
	ResultRef struct {
		ResultID  string `json:"result_id"`
		PatientID string `json:"patient_id"`
	}
)

// AllergyRef, VitalSignRef and SmokingStatusRef name a deleted entry.
type (
	AllergyRef struct {
		AllergyID string `json:"allergy_id"`
		PatientID string `json:"patient_id"`
	}
	VitalSignRef struct {
		VitalSignID string `json:"vital_sign_id"`
		PatientID   string `json:"patient_id"`
	}
	SmokingStatusRef struct {
		SmokingStatusID string `json:"smoking_status_id"`
		PatientID       string `json:"patient_id"`
	}
)

// clinicalCatalog lists the clinical facts records publishes: lists and results,
// then prescriptions and orders, exchange, patient access, program facts and payment
// inputs.
var clinicalCatalog = slices.Concat(listCatalog, ordersCatalog, exchangeCatalog, accessCatalog, programCatalog, paymentCatalog)

// listCatalog lists the problem, allergy, medication, result, vital-sign and smoking
// status events.
var listCatalog = []Spec{
	{ProblemRecorded, TopicProblem, "records", "patient ID", Problem{}, "A problem-list entry was recorded."},
	{ProblemCorrected, TopicProblem, "records", "patient ID", Problem{},
		"A problem-list entry changed (status, code, dates); the payload replaces the previous one."},
	{ProblemDeleted, TopicProblem, "records", "patient ID", ProblemRef{}, "A problem-list entry was deleted (entered in error)."},
	{MedicationRecorded, TopicMed, "records", "patient ID", Medication{}, "A medication-list entry was recorded."},
	{MedicationCorrected, TopicMed, "records", "patient ID", Medication{},
		"A medication-list entry changed; the payload replaces the previous one."},
	{MedicationDeleted, TopicMed, "records", "patient ID", MedicationRef{}, "A medication-list entry was deleted (entered in error)."},
	{ResultRecorded, TopicResult, "records", "patient ID", Result{}, "A result was released into the record."},
	{ResultCorrected, TopicResult, "records", "patient ID", Result{},
		"A result was amended or corrected; the payload replaces the previous one."},
	{ResultDeleted, TopicResult, "records", "patient ID", ResultRef{}, "A result was deleted (entered in error)."},
	{AllergyRecorded, TopicAllergy, "records", "patient ID", Allergy{},
		"An allergy-list entry was recorded (an explicit \"no known allergy\" too)."},
	{AllergyCorrected, TopicAllergy, "records", "patient ID", Allergy{},
		"An allergy-list entry changed; the payload replaces the previous one."},
	{AllergyDeleted, TopicAllergy, "records", "patient ID", AllergyRef{}, "An allergy-list entry was deleted (entered in error)."},
	{VitalSignRecorded, TopicVitalSign, "records", "patient ID", VitalSign{},
		"A vital sign was recorded by a clinician, or uploaded by the patient from a shared tablet (performer patient, device and session set)."},
	{VitalSignCorrected, TopicVitalSign, "records", "patient ID", VitalSign{},
		"A vital sign was corrected; the payload replaces the previous one."},
	{VitalSignDeleted, TopicVitalSign, "records", "patient ID", VitalSignRef{}, "A vital sign was deleted (entered in error)."},
	{SmokingStatusRecorded, TopicSmokingStatus, "records", "patient ID", SmokingStatus{}, "A smoking status was recorded."},
	{SmokingStatusCorrected, TopicSmokingStatus, "records", "patient ID", SmokingStatus{},
		"A smoking status was corrected; the payload replaces the previous one."},
	{SmokingStatusDeleted, TopicSmokingStatus, "records", "patient ID", SmokingStatusRef{},
		"A smoking status was deleted (entered in error)."},
}
