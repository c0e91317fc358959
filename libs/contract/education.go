package contract

import "time"

// TopicMaterial carries education's events about materials and patients: matched,
// provided, viewed. Keyed by patient ID, so one patient's events stay ordered.
const TopicMaterial = "education.material.v1"

// Education event types.
const (
	MaterialMatched  = "education.material.matched"
	MaterialProvided = "education.material.provided"
	MaterialViewed   = "education.material.viewed"
)

// Delivery channels of a provided material. Portal and email link are electronic
// (what Stage 3 S3-05.2 counts); print is not.
const (
	ChannelPortal    = "portal"     // published to the patient's portal
	ChannelPrint     = "print"      // printed and handed over
	ChannelEmailLink = "email_link" // a link sent by email; the material itself stays in the portal
)

// Match kinds: how a patient's code matched a material's code.
const (
	MatchExact  = "exact"  // the same code in the same system
	MatchPrefix = "prefix" // the material's code is an ancestor in the ICD-10-CM hierarchy (E11 covers E11.65)
)

// Who provided a material.
const (
	ProvidedByClinician = "clinician" // a clinician, named by NPI
	ProvidedByStaff     = "staff"     // clinic staff or a service account acting for the care team
	ProvidedBySystem    = "system"    // an automatic rule of the education service
)

// MaterialMatch is a material the education service identified for a patient from
// their record: a suggestion for the care team.
type MaterialMatch struct {
	SuggestionID string `json:"suggestion_id"`
	PatientID    string `json:"patient_id"`
	MaterialID   string `json:"material_id"`
	Version      int    `json:"version"`       // the material's version when it matched
	Language     string `json:"language"`      // the material's language, BCP 47 ("en", "es")
	Code         Code   `json:"code"`          // the patient's code that matched (problem, medication or result)
	MaterialCode Code   `json:"material_code"` // the material's code it matched
	Match        string `json:"match"`         // one of the Match* constants
}

// MaterialProvision is a material provided to a patient: the E13 event of the
// patient-specific education measures.
type MaterialProvision struct {
	ProvisionID string `json:"provision_id"`
	PatientID   string `json:"patient_id"`
	MaterialID  string `json:"material_id"`
	Version     int    `json:"version"`  // the material's version provided
	Language    string `json:"language"` // the material's language
	Channel     string `json:"channel"`  // one of the Channel* constants
	// IdentifiedBySystem is true when the material was among those the system matched
	// to the patient's record when it was provided ("identified by CEHRT").
	IdentifiedBySystem bool      `json:"identified_by_system"`
	Reason             *Code     `json:"reason,omitempty"` // the patient's code that triggered it, if any
	ProvidedBy         string    `json:"provided_by"`      // one of the ProvidedBy* constants
	NPI                string    `json:"npi,omitempty"`    // the clinician who provided it
	TIN                string    `json:"tin,omitempty"`    // the group credited, when a service account recording it named one
	CCN                string    `json:"ccn,omitempty"`    // the hospital credited, when a service account recording it named one
	Provided           time.Time `json:"provided"`
}

// MaterialView is the first time a patient (or their authorized representative)
// opened a provided material.
type MaterialView struct {
	ProvisionID string    `json:"provision_id"`
	PatientID   string    `json:"patient_id"`
	MaterialID  string    `json:"material_id"`
	Version     int       `json:"version"`
	ByProxy     bool      `json:"by_proxy"` // opened by an authorized representative rather than the patient
	Viewed      time.Time `json:"viewed"`
}

// educationCatalog lists the events education publishes.
var educationCatalog = []Spec{
	{MaterialMatched, TopicMaterial, "education", "patient ID", MaterialMatch{},
		"A catalog material matched a code that arrived in the patient's record: a suggestion for the care team."},
	{MaterialProvided, TopicMaterial, "education", "patient ID", MaterialProvision{},
		"A material was provided to a patient by a clinician, staff or an automatic rule (E13), with the channel and whether the system identified it."},
	{MaterialViewed, TopicMaterial, "education", "patient ID", MaterialView{},
		"The patient, or their representative, opened a provided material for the first time."},
}
