package contract

import "time"

// Code systems, as FHIR R4 canonical URIs.
const (
	SystemICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
	SystemSNOMED  = "http://snomed.info/sct"
	SystemLOINC   = "http://loinc.org"
	SystemRxNorm  = "http://www.nlm.nih.gov/research/umls/rxnorm"
	SystemCPT     = "http://www.ama-assn.org/go/cpt"
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

// clinicalCatalog lists records' problem-list, medication-list and result events.
var clinicalCatalog = []Spec{
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
}
