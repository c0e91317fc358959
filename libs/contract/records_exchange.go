package contract

import "time"

// Topics of clinical summaries, transitions of care and reconciliations, each keyed by
// the patient ID.
const (
	TopicClinicalSummary = "records.clinical-summary.v1"
	TopicTransition      = "records.transition.v1"
	TopicReconciliation  = "records.reconciliation.v1"
)

// Event types of clinical summaries, transitions and reconciliations.
const (
	ClinicalSummaryRecorded  = "records.clinical-summary.recorded"
	ClinicalSummaryCorrected = "records.clinical-summary.corrected"
	ClinicalSummaryDeleted   = "records.clinical-summary.deleted"

	TransitionRecorded  = "records.transition.recorded"
	TransitionCorrected = "records.transition.corrected"
	TransitionDeleted   = "records.transition.deleted"
	// Steps of a transition out (E15): summary of care created, sent, receipt confirmed.
	TransitionSummarized  = "records.transition.summarized"
	TransitionTransmitted = "records.transition.transmitted"
	TransitionConfirmed   = "records.transition.confirmed"
	// Steps of a transition in (E17, E18): summary received, requested (or found
	// unavailable), incorporated.
	TransitionReceived     = "records.transition.received"
	TransitionRequested    = "records.transition.requested"
	TransitionIncorporated = "records.transition.incorporated"

	ReconciliationRecorded  = "records.reconciliation.recorded"
	ReconciliationCorrected = "records.reconciliation.corrected"
	ReconciliationDeleted   = "records.reconciliation.deleted"
)

// How a clinical summary reached the patient.
const (
	SummaryPortal     = "portal"     // made available online
	SummaryElectronic = "electronic" // sent electronically otherwise (secure message, USB, ...)
	SummaryPaper      = "paper"      // printed and handed over
	SummaryDeclined   = "declined"   // offered; the patient declined it
)

// ClinicalSummary is a clinical summary of an office visit provided to the patient
// (E26): the Stage 1/2 measure counts those provided within 1 or 3 business days.
type ClinicalSummary struct {
	ClinicalSummaryID string    `json:"clinical_summary_id"`
	PatientID         string    `json:"patient_id"`
	EncounterID       string    `json:"encounter_id"` // the visit it summarizes
	Provided          time.Time `json:"provided"`     // when it was provided (clinical time)
	Method            string    `json:"method"`       // one of the Summary* constants
	NPI               string    `json:"npi,omitempty"`
}

// Directions and kinds of a transition of care.
const (
	TransitionOut = "out" // the provider is the sender: the sending measures (E14, E15)
	TransitionIn  = "in"  // the provider receives the patient: the receiving measures (E16–E18)

	TransitionOfCare   = "transition" // the patient moves from one setting of care to another
	TransitionReferral = "referral"   // the patient is referred to another provider
)

// Transports of a summary of care. All but TransportPaper and TransportFax are
// electronic exchange.
const (
	TransportDirect          = "direct"           // Direct secure messaging
	TransportHIE             = "hie"              // a health information exchange
	TransportEHealthExchange = "ehealth-exchange" // the eHealth Exchange network
	TransportTEFCA           = "tefca"            // a TEFCA QHIN
	TransportFHIR            = "fhir"             // a FHIR API
	TransportOtherElectronic = "other-electronic"
	TransportPaper           = "paper"
	TransportFax             = "fax"
)

// What a summary of care says about each required section.
const (
	ContentPresent = "present" // the section lists entries
	ContentNone    = "none"    // the section says explicitly that there are none
	ContentMissing = "missing" // the section is absent: the summary does not meet the measure
)

// Party is one side of a transition: the clinician (NPI), hospital (CCN), group (TIN)
// or organization sending or receiving. A transition counts only when the two sides
// have different billing identities.
type Party struct {
	NPI            string `json:"npi,omitempty"`
	CCN            string `json:"ccn,omitempty"`
	TIN            string `json:"tin,omitempty"`
	OrganizationID string `json:"organization_id,omitempty"`
}

// SummaryContents says whether a summary of care holds the problem list, medication
// list and medication allergy list, each present, an explicit none, or missing.
type SummaryContents struct {
	Problems    string `json:"problems"`    // one of the Content* constants
	Medications string `json:"medications"` // one of the Content* constants
	Allergies   string `json:"allergies"`   // one of the Content* constants
}

// Transition is a transition of care or referral, out (E14) or in (E16), with the
// steps of its summary of care: created, sent electronically and receipt confirmed for
// one going out (E15); received, requested or unavailable, and incorporated for one
// coming in (E17, E18). Every event about it carries the whole transition.
type Transition struct {
	TransitionID string    `json:"transition_id"`
	PatientID    string    `json:"patient_id"`
	Direction    string    `json:"direction"` // TransitionOut or TransitionIn
	Kind         string    `json:"kind"`      // TransitionOfCare or TransitionReferral
	Occurred     time.Time `json:"occurred"`  // when the transition or referral took place (clinical time)
	EncounterID  string    `json:"encounter_id,omitempty"`
	Sender       Party     `json:"sender"`
	Receiver     Party     `json:"receiver"`

	SummaryCreated   *time.Time       `json:"summary_created,omitempty"`   // out: summary of care created in CEHRT
	Contents         *SummaryContents `json:"contents,omitempty"`          // out: what the summary holds
	Sent             *time.Time       `json:"sent,omitempty"`              // out: when it was sent
	Transport        string           `json:"transport,omitempty"`         // out: one of the Transport* constants
	ReceiptConfirmed *time.Time       `json:"receipt_confirmed,omitempty"` // out: when the receiver confirmed receipt

	Received     *time.Time `json:"received,omitempty"`     // in: when an electronic summary of care arrived
	Requested    *time.Time `json:"requested,omitempty"`    // in: when one was requested
	Unavailable  bool       `json:"unavailable,omitempty"`  // in: none was available after the request
	Incorporated *time.Time `json:"incorporated,omitempty"` // in: when it was incorporated into the record
}

// Reconciliation is a clinical information reconciliation (E19): which of the
// medication list, medication allergy list and problem list were reconciled, and when,
// for a transition in (the summary of care received) or a new patient's encounter.
type Reconciliation struct {
	ReconciliationID string     `json:"reconciliation_id"`
	PatientID        string     `json:"patient_id"`
	TransitionID     string     `json:"transition_id,omitempty"` // the transition in whose summary was reconciled
	EncounterID      string     `json:"encounter_id,omitempty"`
	Medications      *time.Time `json:"medications,omitempty"` // when the medication list was reconciled
	Allergies        *time.Time `json:"allergies,omitempty"`   // when the medication allergy list was reconciled
	Problems         *time.Time `json:"problems,omitempty"`    // when the problem list was reconciled
	NPI              string     `json:"npi,omitempty"`
	CCN              string     `json:"ccn,omitempty"`
}

// ClinicalSummaryRef, TransitionRef and ReconciliationRef name a deleted entry.
type (
	ClinicalSummaryRef struct {
		ClinicalSummaryID string `json:"clinical_summary_id"`
		PatientID         string `json:"patient_id"`
	}
	TransitionRef struct {
		TransitionID string `json:"transition_id"`
		PatientID    string `json:"patient_id"`
	}
	ReconciliationRef struct {
		ReconciliationID string `json:"reconciliation_id"`
		PatientID        string `json:"patient_id"`
	}
)

// exchangeCatalog lists the clinical summary, transition and reconciliation events.
var exchangeCatalog = []Spec{
	{ClinicalSummaryRecorded, TopicClinicalSummary, "records", "patient ID", ClinicalSummary{},
		"A clinical summary of an office visit was provided to the patient (E26)."},
	{ClinicalSummaryCorrected, TopicClinicalSummary, "records", "patient ID", ClinicalSummary{},
		"A clinical summary was corrected; the payload replaces the previous one."},
	{ClinicalSummaryDeleted, TopicClinicalSummary, "records", "patient ID", ClinicalSummaryRef{},
		"A clinical summary was deleted (entered in error)."},
	{TransitionRecorded, TopicTransition, "records", "patient ID", Transition{},
		"A transition of care or referral was recorded, out (E14) or in (E16)."},
	{TransitionCorrected, TopicTransition, "records", "patient ID", Transition{},
		"A transition was corrected; the payload replaces the previous one."},
	{TransitionDeleted, TopicTransition, "records", "patient ID", TransitionRef{}, "A transition was deleted (entered in error)."},
	{TransitionSummarized, TopicTransition, "records", "patient ID", Transition{},
		"A summary of care was created for a transition out, with what it holds (E15)."},
	{TransitionTransmitted, TopicTransition, "records", "patient ID", Transition{},
		"The summary of care of a transition out was sent, with the transport (E15)."},
	{TransitionConfirmed, TopicTransition, "records", "patient ID", Transition{},
		"The receiver confirmed receipt of the summary of care of a transition out (E15)."},
	{TransitionReceived, TopicTransition, "records", "patient ID", Transition{},
		"An electronic summary of care arrived for a transition in (E17)."},
	{TransitionRequested, TopicTransition, "records", "patient ID", Transition{},
		"A summary of care was requested for a transition in, and whether none was available (E17)."},
	{TransitionIncorporated, TopicTransition, "records", "patient ID", Transition{},
		"The summary of care of a transition in was incorporated into the record (E18)."},
	{ReconciliationRecorded, TopicReconciliation, "records", "patient ID", Reconciliation{},
		"Medications, medication allergies and/or problems were reconciled (E19)."},
	{ReconciliationCorrected, TopicReconciliation, "records", "patient ID", Reconciliation{},
		"A reconciliation was corrected; the payload replaces the previous one."},
	{ReconciliationDeleted, TopicReconciliation, "records", "patient ID", ReconciliationRef{},
		"A reconciliation was deleted (entered in error)."},
}
