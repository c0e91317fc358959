package contract

import "time"

// Topics of prescriptions, PDMP queries, orders and avoided duplicate studies, each
// keyed by the patient ID.
const (
	TopicPrescription   = "records.prescription.v1"
	TopicPDMPQuery      = "records.pdmp-query.v1"
	TopicOrder          = "records.order.v1"
	TopicDuplicateStudy = "records.duplicate-study.v1"
)

// Event types of prescriptions, PDMP queries, orders and duplicate studies.
const (
	PrescriptionRecorded  = "records.prescription.recorded"
	PrescriptionCorrected = "records.prescription.corrected"
	PrescriptionDeleted   = "records.prescription.deleted"
	// PrescriptionQueried: the formulary was queried for the prescription (E05).
	PrescriptionQueried = "records.prescription.queried"
	// PrescriptionTransmitted: the prescription was sent to a pharmacy, with the outcome (E06).
	PrescriptionTransmitted = "records.prescription.transmitted"

	PDMPQueryRecorded  = "records.pdmp-query.recorded"
	PDMPQueryCorrected = "records.pdmp-query.corrected"
	PDMPQueryDeleted   = "records.pdmp-query.deleted"

	OrderRecorded  = "records.order.recorded"
	OrderCorrected = "records.order.corrected"
	OrderDeleted   = "records.order.deleted"

	DuplicateStudyAvoided = "records.duplicate-study.avoided"
)

// Prescription kinds: e-Prescribing counts new, changed and refill prescriptions; the
// hospital measure counts new and changed discharge prescriptions.
const (
	PrescriptionNew     = "new"
	PrescriptionChanged = "changed"
	PrescriptionRefill  = "refill"
)

// DEA controlled-substance schedules. A prescription of a drug that is not
// controlled has no schedule.
const (
	ScheduleII  = "II"
	ScheduleIII = "III"
	ScheduleIV  = "IV"
	ScheduleV   = "V"
)

// Formulary query results.
const (
	FormularyCovered     = "covered"     // the drug is on the patient's formulary
	FormularyNotCovered  = "not-covered" // it is not; the prescriber was told
	FormularyUnavailable = "unavailable" // the query was made but no formulary answered
)

// Transmission methods and outcomes of a prescription.
const (
	TransmitElectronic = "electronic" // NCPDP SCRIPT through certified EHR technology
	TransmitFax        = "fax"
	TransmitPrint      = "print"
	TransmitPhone      = "phone"

	TransmitSucceeded = "succeeded" // the pharmacy (or network) acknowledged it
	TransmitFailed    = "failed"    // it could not be delivered
	TransmitPending   = "pending"   // sent, not yet acknowledged
)

// FormularyQuery is a query of a prescription's drug formulary.
type FormularyQuery struct {
	Queried time.Time `json:"queried"`
	Result  string    `json:"result"` // one of the Formulary* constants
}

// Transmission is how a prescription reached a pharmacy.
type Transmission struct {
	Transmitted time.Time `json:"transmitted"`
	Method      string    `json:"method"`  // one of the Transmit* method constants
	Outcome     string    `json:"outcome"` // one of the Transmit* outcome constants
	PharmacyID  string    `json:"pharmacy_id,omitempty"`
}

// Prescription is a prescription written for a patient (E04): what the e-Prescribing
// measures count, with what they need to decide: kind, discharge, controlled
// schedule, permissible, formulary query and electronic transmission.
type Prescription struct {
	PrescriptionID string `json:"prescription_id"`
	PatientID      string `json:"patient_id"`
	Code           Code   `json:"code"` // RxNorm
	Kind           string `json:"kind"` // one of PrescriptionNew, PrescriptionChanged, PrescriptionRefill
	// Discharge marks a prescription written at a hospital discharge (the hospital measure).
	Discharge bool `json:"discharge,omitempty"`
	// Schedule is the controlled-substance schedule, "" when the drug is not controlled.
	Schedule string `json:"schedule,omitempty"`
	// Permissible: a drug that may be prescribed electronically and needs a prescription
	// (the measure's denominator). Over-the-counter drugs and samples are not.
	Permissible  bool            `json:"permissible"`
	Written      time.Time       `json:"written"` // when it was written (clinical time)
	NPI          string          `json:"npi"`     // the prescriber
	TIN          string          `json:"tin,omitempty"`
	CCN          string          `json:"ccn,omitempty"` // the hospital, for discharge prescriptions
	EncounterID  string          `json:"encounter_id,omitempty"`
	ReplacesID   string          `json:"replaces_id,omitempty"` // the prescription a changed or refill one follows
	Formulary    *FormularyQuery `json:"formulary,omitempty"`
	Transmission *Transmission   `json:"transmission,omitempty"`
}

// Outcomes of a PDMP query.
const (
	PDMPQuerySucceeded   = "succeeded"
	PDMPQueryFailed      = "failed"
	PDMPQueryUnavailable = "unavailable" // the PDMP could not be reached
)

// PDMPQuery is a query of the state prescription drug monitoring program before a
// controlled substance was prescribed (E07).
type PDMPQuery struct {
	PDMPQueryID    string    `json:"pdmp_query_id"`
	PatientID      string    `json:"patient_id"`
	PrescriptionID string    `json:"prescription_id,omitempty"` // the prescription it was made for
	Schedule       string    `json:"schedule"`                  // the schedule of the drug, II to V
	Queried        time.Time `json:"queried"`
	Outcome        string    `json:"outcome"` // one of the PDMPQuery* outcome constants
	NPI            string    `json:"npi"`
	TIN            string    `json:"tin,omitempty"`
	CCN            string    `json:"ccn,omitempty"`
}

// Order categories: the three CPOE measures.
const (
	OrderMedication = "medication"
	OrderLaboratory = "laboratory"
	OrderImaging    = "imaging"
)

// Order entry methods. Only EntryCPOE is computerized provider order entry.
const (
	EntryCPOE   = "cpoe"   // entered into certified EHR technology by the user named
	EntryPaper  = "paper"  // written on paper and transcribed
	EntryVerbal = "verbal" // spoken and transcribed
	EntryPhone  = "phone"  // telephoned and transcribed
	EntryOther  = "other"
)

// Order is a medication, laboratory or diagnostic imaging order (E08), with how it was
// entered and the entering user's credential.
type Order struct {
	OrderID     string    `json:"order_id"`
	PatientID   string    `json:"patient_id"`
	Category    string    `json:"category"` // one of the Order* category constants
	Code        Code      `json:"code"`     // RxNorm, LOINC, CPT or SNOMED CT
	Ordered     time.Time `json:"ordered"`  // when it was placed (clinical time)
	NPI         string    `json:"npi"`      // the ordering clinician
	TIN         string    `json:"tin,omitempty"`
	CCN         string    `json:"ccn,omitempty"`
	EncounterID string    `json:"encounter_id,omitempty"`
	EntryMethod string    `json:"entry_method"` // one of the Entry* constants
	// EnteredBy is the user who entered it (an opaque user ID or an NPI) and
	// EnteredByCredential their credential, one of the Credential* constants.
	EnteredBy           string `json:"entered_by"`
	EnteredByCredential string `json:"entered_by_credential"`
	// Modality and BodySite describe an imaging order: DICOM modality code (CT, MR, ...)
	// and SNOMED CT body site.
	Modality string `json:"modality,omitempty"`
	BodySite string `json:"body_site,omitempty"`
	// DuplicateOf is the shared record of a recent equivalent study, when the order was
	// placed although one existed.
	DuplicateOf string `json:"duplicate_of,omitempty"`
}

// DuplicateStudy is an imaging order that was not placed because a recent study of
// the same modality and body site, shared by another institution under the patient's
// consent, already exists.
type DuplicateStudy struct {
	DuplicateID    string    `json:"duplicate_id"`
	PatientID      string    `json:"patient_id"`
	SharedRecordID string    `json:"shared_record_id"` // the study that made the order unnecessary
	Modality       string    `json:"modality"`
	BodySite       string    `json:"body_site"`
	Code           Code      `json:"code"`    // the order's code
	Ordered        time.Time `json:"ordered"` // when the order would have been placed
	NPI            string    `json:"npi"`
}

// PrescriptionRef, PDMPQueryRef and OrderRef name a deleted entry.
type (
	PrescriptionRef struct {
		PrescriptionID string `json:"prescription_id"`
		PatientID      string `json:"patient_id"`
	}
	PDMPQueryRef struct {
		PDMPQueryID string `json:"pdmp_query_id"`
		PatientID   string `json:"patient_id"`
	}
	OrderRef struct {
		OrderID   string `json:"order_id"`
		PatientID string `json:"patient_id"`
	}
)

// ordersCatalog lists the prescription, PDMP and order events.
var ordersCatalog = []Spec{
	{PrescriptionRecorded, TopicPrescription, "records", "patient ID", Prescription{},
		"A prescription was written (E04): new, changed or refill, discharge or not, controlled schedule, permissible."},
	{PrescriptionCorrected, TopicPrescription, "records", "patient ID", Prescription{},
		"A prescription was corrected; the payload replaces the previous one."},
	{PrescriptionDeleted, TopicPrescription, "records", "patient ID", PrescriptionRef{},
		"A prescription was deleted (entered in error)."},
	{PrescriptionQueried, TopicPrescription, "records", "patient ID", Prescription{},
		"The formulary was queried for a prescription (E05); the payload is the whole prescription, formulary set."},
	{PrescriptionTransmitted, TopicPrescription, "records", "patient ID", Prescription{},
		"A prescription was transmitted to a pharmacy (E06), electronically or not, with the outcome; the payload is the whole prescription."},
	{PDMPQueryRecorded, TopicPDMPQuery, "records", "patient ID", PDMPQuery{},
		"The prescription drug monitoring program was queried (E07)."},
	{PDMPQueryCorrected, TopicPDMPQuery, "records", "patient ID", PDMPQuery{},
		"A PDMP query was corrected; the payload replaces the previous one."},
	{PDMPQueryDeleted, TopicPDMPQuery, "records", "patient ID", PDMPQueryRef{}, "A PDMP query was deleted (entered in error)."},
	{OrderRecorded, TopicOrder, "records", "patient ID", Order{},
		"A medication, laboratory or imaging order was placed (E08), with its entry method and the entering user's credential."},
	{OrderCorrected, TopicOrder, "records", "patient ID", Order{},
		"An order was corrected; the payload replaces the previous one."},
	{OrderDeleted, TopicOrder, "records", "patient ID", OrderRef{}, "An order was deleted (entered in error)."},
	{DuplicateStudyAvoided, TopicDuplicateStudy, "records", "patient ID", DuplicateStudy{},
		"An imaging order was not placed because a consented study shared by another institution already covers it."},
}
