package contract

import "time"

// Topics of records shared between institutions: the patient's consents and the
// records received under them. Both are keyed by the patient ID.
const (
	TopicConsent      = "records.consent.v1"
	TopicSharedRecord = "records.shared-record.v1"
)

// Event types of consents and shared records.
const (
	ConsentRecorded  = "records.consent.recorded"
	ConsentCorrected = "records.consent.corrected"
	ConsentDeleted   = "records.consent.deleted"

	SharedRecordRecorded  = "records.shared-record.recorded"
	SharedRecordCorrected = "records.shared-record.corrected"
	SharedRecordDeleted   = "records.shared-record.deleted"
)

// Consent decisions and scopes.
const (
	ConsentPermit = "permit"
	ConsentDeny   = "deny"

	// ConsentSharing: records received from other institutions may be kept and used.
	ConsentSharing = "shared-records"
)

// Consent is a patient's decision about sharing (FHIR Consent): permit or deny, over a
// period, for some institutions or all of them.
type Consent struct {
	ConsentID       string     `json:"consent_id"`
	PatientID       string     `json:"patient_id"`
	Scope           string     `json:"scope"`    // ConsentSharing
	Decision        string     `json:"decision"` // ConsentPermit or ConsentDeny
	From            time.Time  `json:"from"`     // when it takes effect (clinical time)
	To              *time.Time `json:"to,omitempty"`
	OrganizationIDs []string   `json:"organization_ids,omitempty"` // the institutions it covers; none means all
}

// Kinds of shared record.
const (
	SharedDocument     = "document"      // a document (FHIR DocumentReference): a report, a C-CDA
	SharedImagingStudy = "imaging-study" // an imaging study with its DICOMweb endpoint (FHIR ImagingStudy)
)

// SharedRecord is an exam or imaging result received from another institution and
// honoured under the patient's consent. The document or study itself, and its
// endpoint, stay in records.
type SharedRecord struct {
	SharedRecordID string    `json:"shared_record_id"`
	PatientID      string    `json:"patient_id"`
	Kind           string    `json:"kind"`                // SharedDocument or SharedImagingStudy
	SourceID       string    `json:"source_id"`           // the institution it came from, an organization ID
	Code           *Code     `json:"code,omitempty"`      // document type or procedure (LOINC, SNOMED CT, CPT)
	Modality       string    `json:"modality,omitempty"`  // imaging: DICOM modality code
	BodySite       string    `json:"body_site,omitempty"` // imaging: SNOMED CT body site
	Performed      time.Time `json:"performed"`           // when the exam or study was done (clinical time)
	Received       time.Time `json:"received"`
	ConsentID      string    `json:"consent_id"` // the consent it was accepted under
}

// ConsentRef and SharedRecordRef name a deleted entry.
type (
	ConsentRef struct {
		ConsentID string `json:"consent_id"`
		PatientID string `json:"patient_id"`
	}
	SharedRecordRef struct {
		SharedRecordID string `json:"shared_record_id"`
		PatientID      string `json:"patient_id"`
	}
)

// sharingCatalog lists the consent and shared-record events.
var sharingCatalog = []Spec{
	{ConsentRecorded, TopicConsent, "records", "patient ID", Consent{}, "A patient's consent to sharing was recorded."},
	{ConsentCorrected, TopicConsent, "records", "patient ID", Consent{},
		"A consent changed (e.g. revoked: it ends); the payload replaces the previous one."},
	{ConsentDeleted, TopicConsent, "records", "patient ID", ConsentRef{}, "A consent was deleted (entered in error)."},
	{SharedRecordRecorded, TopicSharedRecord, "records", "patient ID", SharedRecord{},
		"A document or imaging study from another institution was received under the patient's consent."},
	{SharedRecordCorrected, TopicSharedRecord, "records", "patient ID", SharedRecord{},
		"A shared record was corrected; the payload replaces the previous one."},
	{SharedRecordDeleted, TopicSharedRecord, "records", "patient ID", SharedRecordRef{},
		"A shared record was deleted (entered in error)."},
}
