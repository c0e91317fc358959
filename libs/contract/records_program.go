package contract

import "time"

// Topics of the program facts: public health registry engagement (keyed by the
// reporting entity, "kind:id"), submissions to registries (keyed by the patient ID),
// and the yes/no attestation facts (keyed by the reporting entity).
const (
	TopicRegistryEngagement = "records.registry-engagement.v1"
	TopicRegistrySubmission = "records.registry-submission.v1"
	TopicAttestation        = "records.attestation.v1"
)

// Event types of program facts.
const (
	RegistryEngagementRecorded  = "records.registry-engagement.recorded"
	RegistryEngagementCorrected = "records.registry-engagement.corrected"
	RegistryEngagementDeleted   = "records.registry-engagement.deleted"

	RegistrySubmissionRecorded  = "records.registry-submission.recorded"
	RegistrySubmissionCorrected = "records.registry-submission.corrected"
	RegistrySubmissionDeleted   = "records.registry-submission.deleted"

	AttestationRecorded  = "records.attestation.recorded"
	AttestationCorrected = "records.attestation.corrected"
	AttestationDeleted   = "records.attestation.deleted"
)

// Public health and clinical data exchange measures (registries).
const (
	RegistryImmunization            = "immunization"             // PI_PHCDRR_1
	RegistrySyndromic               = "syndromic-surveillance"   // PI_PHCDRR_2
	RegistryCaseReporting           = "case-reporting"           // electronic case reporting, PI_PHCDRR_3
	RegistryPublicHealth            = "public-health-registry"   // PI_PHCDRR_4
	RegistryClinicalData            = "clinical-data-registry"   // PI_PHCDRR_5
	RegistryLabReporting            = "lab-reporting"            // electronic reportable laboratory results (hospitals)
	RegistryAntimicrobialUse        = "antimicrobial-use"        // AU (hospitals, 2024+)
	RegistryAntimicrobialResistance = "antimicrobial-resistance" // AR (hospitals, 2024+)
)

// Active engagement levels with a registry. EngagementRegistered and
// EngagementTesting are the "pre-production" level, EngagementProduction the
// "production" level (QPP _PRE and _PROD, 2023+).
const (
	EngagementRegistered = "registered" // option 1: registration to submit data completed
	EngagementTesting    = "testing"    // option 2: testing and validation
	EngagementProduction = "production" // option 3: submitting production data
)

// RegistryEngagement is a reporting entity's active engagement with a public health
// agency or clinical data registry (E23), with the dates the measures check:
// registration (within 60 days of the period start) and the current level since.
type RegistryEngagement struct {
	RegistryEngagementID string    `json:"registry_engagement_id"`
	Entity               Entity    `json:"entity"`      // the clinician, group or hospital engaged
	Measure              string    `json:"measure"`     // one of the Registry* constants
	RegistryID           string    `json:"registry_id"` // the agency or registry, an organization ID
	Status               string    `json:"status"`      // one of the Engagement* constants
	Registered           time.Time `json:"registered"`  // when registration to submit data was completed
	Since                time.Time `json:"since"`       // when the current status began (clinical time)
}

// Outcomes of a registry submission.
const (
	SubmissionAccepted = "accepted"
	SubmissionRejected = "rejected"
	SubmissionPending  = "pending"
)

// RegistrySubmission is one patient's data submitted to a registry: an immunization,
// a case report, a syndromic surveillance message, a reportable lab result.
type RegistrySubmission struct {
	RegistrySubmissionID string    `json:"registry_submission_id"`
	PatientID            string    `json:"patient_id"`
	Measure              string    `json:"measure"`        // one of the Registry* constants
	RegistryID           string    `json:"registry_id"`    // the agency or registry, an organization ID
	Submitted            time.Time `json:"submitted"`      // clinical time
	Outcome              string    `json:"outcome"`        // one of the Submission* constants
	Code                 *Code     `json:"code,omitempty"` // what was reported, e.g. a CVX vaccine code
	NPI                  string    `json:"npi,omitempty"`
	TIN                  string    `json:"tin,omitempty"`
	CCN                  string    `json:"ccn,omitempty"`
	EncounterID          string    `json:"encounter_id,omitempty"`
}

// Kinds of yes/no attestation facts.
const (
	AttestSecurityRiskAnalysis = "security-risk-analysis"  // E22: SRA conducted or reviewed (PI_PPHI_1)
	AttestCDS                  = "cds-interventions"       // E21: clinical decision support interventions enabled
	AttestInteractionChecks    = "drug-interaction-checks" // E21: drug-drug and drug-allergy checks enabled
	AttestSAFER                = "safer-guides"            // E24: SAFER Guides self-assessment (PI_PPHI_2)
	AttestInformationBlocking  = "information-blocking"    // E25: PI_INFBLO_1
	AttestONCDirectReview      = "onc-direct-review"       // E25: PI_ONCDIR_1
	AttestONCACB               = "onc-acb-surveillance"    // E25: PI_ONCACB_1
	AttestHIEBidirectional     = "hie-bidirectional"       // E25: HIE bi-directional exchange (PI_HIE_5)
	AttestTEFCA                = "tefca"                   // E25: enabling exchange under TEFCA (PI_HIE_6)
)

// Attestation is a yes/no fact about a reporting entity (E21, E22, E24, E25): a
// security risk analysis done on a date, CDS or interaction checks enabled over an
// interval, an attestation answered.
type Attestation struct {
	AttestationID string     `json:"attestation_id"`
	Entity        Entity     `json:"entity"`         // who it is about
	Kind          string     `json:"kind"`           // one of the Attest* constants
	Answer        bool       `json:"answer"`         // yes or no
	Performed     time.Time  `json:"performed"`      // when it was done or answered (clinical time)
	From          *time.Time `json:"from,omitempty"` // start of the interval it held over, e.g. CDS enabled
	To            *time.Time `json:"to,omitempty"`   // end of that interval; absent while it still holds
}

// RegistryEngagementRef, RegistrySubmissionRef and AttestationRef name a deleted entry.
type (
	RegistryEngagementRef struct {
		RegistryEngagementID string `json:"registry_engagement_id"`
		Entity               Entity `json:"entity"`
	}
	RegistrySubmissionRef struct {
		RegistrySubmissionID string `json:"registry_submission_id"`
		PatientID            string `json:"patient_id"`
	}
	AttestationRef struct {
		AttestationID string `json:"attestation_id"`
		Entity        Entity `json:"entity"`
	}
)

// programCatalog lists the public health and attestation events.
var programCatalog = []Spec{
	{RegistryEngagementRecorded, TopicRegistryEngagement, "records", "entity (kind:id)", RegistryEngagement{},
		"A reporting entity's engagement with a public health agency or registry was recorded (E23)."},
	{RegistryEngagementCorrected, TopicRegistryEngagement, "records", "entity (kind:id)", RegistryEngagement{},
		"An engagement changed (e.g. testing to production); the payload replaces the previous one."},
	{RegistryEngagementDeleted, TopicRegistryEngagement, "records", "entity (kind:id)", RegistryEngagementRef{},
		"An engagement was deleted (entered in error)."},
	{RegistrySubmissionRecorded, TopicRegistrySubmission, "records", "patient ID", RegistrySubmission{},
		"A patient's data was submitted to a public health agency or registry."},
	{RegistrySubmissionCorrected, TopicRegistrySubmission, "records", "patient ID", RegistrySubmission{},
		"A submission changed (e.g. its outcome); the payload replaces the previous one."},
	{RegistrySubmissionDeleted, TopicRegistrySubmission, "records", "patient ID", RegistrySubmissionRef{},
		"A submission was deleted (entered in error)."},
	{AttestationRecorded, TopicAttestation, "records", "entity (kind:id)", Attestation{},
		"A yes/no fact about a reporting entity was recorded: SRA, CDS or interaction checks enabled, SAFER Guides, an attestation (E21, E22, E24, E25)."},
	{AttestationCorrected, TopicAttestation, "records", "entity (kind:id)", Attestation{},
		"A yes/no fact changed (e.g. CDS disabled: the interval ends); the payload replaces the previous one."},
	{AttestationDeleted, TopicAttestation, "records", "entity (kind:id)", AttestationRef{},
		"A yes/no fact was deleted (entered in error)."},
}
