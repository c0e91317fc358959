package measure

import (
	"time"

	"github.com/attest-ehr/attest/libs/phi"
)

// Patient is one patient's timeline: every input the measures read, with opaque IDs
// and no PHI except the birth date some Stage 1 and 2 denominators need (a phi.Date,
// which never prints). Items may come in any order; evaluation sorts what it needs.
// Every item carries an ID, so a member of a numerator or denominator can name the
// input that put it there.
type Patient struct {
	ID   string   // opaque patient ID
	Born phi.Date // only for age-limited denominators (smoking status 13+, reminders, advance directives)

	Encounters     []Encounter
	Shares         []Share         // an encounter's information made available to the patient (VDT, API)
	Actions        []Action        // things done for or by the patient: messages, education, VDT use, data recorded…
	Prescriptions  []Prescription  // e-prescribing
	Orders         []Order         // CPOE, eMAR, structured results
	TransitionsOut []TransitionOut // summary of care sent
	TransitionsIn  []TransitionIn  // summary of care received, reconciliation
	Requests       []Request       // Stage 1: electronic copies on request
}

// Provider is who an item is attributed to: the rendering clinician, the group billed
// under, the hospital. An item counts for an entity when the fields the entity kind
// names match: NPI for an individual EP, TIN and NPI for a MIPS clinician, CCN for a
// hospital.
type Provider struct {
	NPI string
	TIN string
	CCN string
}

// Setting is where an encounter took place; it decides which denominators it enters.
type Setting string

// The settings.
const (
	Office      Setting = "office"      // ambulatory office visit
	Telehealth  Setting = "telehealth"  // virtual visit
	Inpatient   Setting = "inpatient"   // inpatient admission (POS 21)
	Emergency   Setting = "emergency"   // emergency department visit (POS 23)
	Observation Setting = "observation" // observation stay: not POS 21/23, so not in hospital denominators
	OtherVisit  Setting = "other"       // any other encounter (home, nursing facility…)
)

// hospital reports whether the setting is a hospital inpatient or emergency
// department one (POS 21 or 23), the only ones hospital denominators count.
func (s Setting) hospital() bool { return s == Inpatient || s == Emergency }

// Encounter is a patient seen by a provider, or admitted to a hospital.
type Encounter struct {
	ID       string
	Provider Provider
	Setting  Setting
	Start    time.Time // the visit, or the admission
	End      time.Time // the discharge; zero while not discharged
	// InfoAvailable is when the encounter's information became available to the
	// provider (visit note signed, result finalised): the start of the "timely access"
	// clock for clinicians. Zero means End, or Start when there is no End.
	InfoAvailable time.Time
}

// infoAt is when the timely-access clock starts for a clinician.
func (e Encounter) infoAt() time.Time {
	switch {
	case !e.InfoAvailable.IsZero():
		return e.InfoAvailable
	case !e.End.IsZero():
		return e.End
	}
	return e.Start
}

// Channel is how information is made available to a patient.
type Channel string

// The channels.
const (
	VDT Channel = "vdt" // view online, download and transmit (patient portal; ONC (e)(1))
	API Channel = "api" // an API the patient's app of choice can use (ONC (g)(8)–(g)(10))
)

// Share records that the information from one encounter was made available to the
// patient through one channel. A patient who opted out of the portal but was offered
// access counts as provided for (CMS allows it; OpenEMR's RT2c does the same): record
// the offer as a Share.
type Share struct {
	ID          string
	EncounterID string
	Channel     Channel
	At          time.Time
}

// ActionKind is what an Action records.
type ActionKind string

// The action kinds. Patient-initiated kinds include the patient's authorized
// representative.
const (
	ViewedDownloadedTransmitted ActionKind = "vdt-used" // the patient viewed, downloaded or transmitted their information
	AccessedAPI                 ActionKind = "api-used" // the patient's app accessed their information through the API
	MessageFromPatient          ActionKind = "message-from-patient"
	MessageToPatient            ActionKind = "message-to-patient"      // a secure message to the patient, including a reply
	MessageCopyingPatient       ActionKind = "message-copying-patient" // provider to provider, patient included
	EducationElectronic         ActionKind = "education-electronic"    // CEHRT-identified education, provided electronically
	EducationOther              ActionKind = "education-other"         // CEHRT-identified education, provided otherwise (paper)
	PatientDataIncorporated     ActionKind = "pghd-incorporated"       // patient-generated or non-clinical-setting data incorporated
	ReminderSent                ActionKind = "reminder-sent"           // preventive or follow-up reminder
	ClinicalSummaryProvided     ActionKind = "clinical-summary"        // after-visit summary for an office visit (EncounterID)
	ProblemListRecorded         ActionKind = "problem-list"            // at least one entry, or "no known problems", as structured data
	MedicationListRecorded      ActionKind = "medication-list"         // at least one entry, or "no medications"
	AllergyListRecorded         ActionKind = "allergy-list"            // at least one entry, or "no known allergies"
	DemographicsRecorded        ActionKind = "demographics"            // language, sex, race, ethnicity, birth date (and preliminary cause of death for hospitals)
	VitalsRecorded              ActionKind = "vitals"                  // height, weight, blood pressure as the year's rule requires for the patient's age
	SmokingStatusRecorded       ActionKind = "smoking-status"
	FamilyHistoryRecorded       ActionKind = "family-history" // first-degree relatives, as structured data
	AdvanceDirectiveRecorded    ActionKind = "advance-directive"
	ElectronicNoteRecorded      ActionKind = "electronic-note" // a searchable electronic progress note
)

// Action is something done for or by the patient that a numerator (or a Stage 1/2
// denominator condition) counts, attributed to the provider it counts for. An action
// with a zero Provider is the patient's own, or concerns the whole record (the patient
// viewed their record, the problem list has an entry): it counts for every entity
// whose denominator the patient is in.
type Action struct {
	ID          string
	Kind        ActionKind
	Provider    Provider
	At          time.Time
	EncounterID string // the visit it belongs to, for clinical summaries
}

// Change is whether a prescription is new, a change to one, or a refill.
type Change string

// The prescription changes.
const (
	NewRx     Change = "new"
	ChangedRx Change = "changed"
	RefillRx  Change = "refill"
)

// Prescription is a prescription written by a provider (an eligible professional's,
// or a hospital's discharge medication order).
type Prescription struct {
	ID       string
	Provider Provider
	Written  time.Time
	Change   Change
	// Permissible: the drug needs a prescription and may be prescribed electronically;
	// over-the-counter drugs are not in any denominator.
	Permissible bool
	Controlled  bool // a controlled substance (Schedule II–V)
	Discharge   bool // a hospital discharge prescription
	// FormularyQueried: a drug formulary was queried for it with CEHRT.
	FormularyQueried bool
	// Transmitted is when it was generated and transmitted electronically with CEHRT
	// (NCPDP SCRIPT); zero when it was printed, faxed or phoned.
	Transmitted time.Time
}

// OrderKind is the kind of an order.
type OrderKind string

// The order kinds.
const (
	MedicationOrder OrderKind = "medication"
	LabOrder        OrderKind = "laboratory"
	ImagingOrder    OrderKind = "diagnostic-imaging" // radiology in Stage 2 and Modified Stage 2
)

// Order is a medication, laboratory or diagnostic imaging order.
type Order struct {
	ID       string
	Provider Provider
	Kind     OrderKind
	Created  time.Time
	// CPOE: entered with computerized provider order entry by a licensed healthcare
	// professional or credentialed medical assistant.
	CPOE bool
	// EMAR: every dose of the medication order was tracked with an electronic
	// medication administration record (hospital Stage 2).
	EMAR   bool
	Result *OrderResult // the result, for lab and imaging results measures
}

// OrderResult is the result of a lab or imaging order.
type OrderResult struct {
	At         time.Time
	Structured bool // a lab result (positive/negative or numeric) incorporated as structured data
	Image      bool // the result is an image
	Accessible bool // the image (or its narrative and a link) is accessible through CEHRT
	// SentToAmbulatory: hospital Stage 2 menu: the structured lab result was sent
	// electronically to the ordering ambulatory provider.
	SentToAmbulatory bool
}

// TransitionOut is a transition of care or referral in which the provider is the
// sender.
type TransitionOut struct {
	ID       string
	Provider Provider
	At       time.Time
	Receiver Provider // must be a different billing identity (§2.1: different NPI, or CCN)
	// Provided is when a summary of care was provided by any means (Stage 1 and 2).
	Provided time.Time
	// Sent is when a summary of care record created with CEHRT (with problems,
	// medications and allergies, or "none") was exchanged electronically.
	Sent time.Time
	// Confirmed is when receipt of the electronic summary was confirmed (the ONC test
	// for "Support Electronic Referral Loops by Sending" requires it).
	Confirmed time.Time
}

// InKind is why a patient came to the provider.
type InKind string

// The kinds of incoming transition.
const (
	TransitionedIn InKind = "transition" // a transition of care in which the provider receives the patient
	ReferredIn     InKind = "referral"   // a referral the provider received
	NewPatient     InKind = "new"        // an encounter with a patient the provider never encountered before
)

// TransitionIn is a transition of care or referral received, or a first encounter with
// a new patient.
type TransitionIn struct {
	ID       string
	Provider Provider
	At       time.Time
	Kind     InKind
	// Unavailable: a summary of care was requested and none was available; such a
	// transition leaves the incorporation denominator (Stage 3, ACI_HIE_2).
	Unavailable bool
	// Incorporated is when an electronic summary of care was received and
	// incorporated into the record (Stage 3 measure 7.2, ACI_HIE_2).
	Incorporated time.Time
	// Received is when an electronic summary of care was received; zero if none was.
	Received   time.Time
	Reconciled Reconciliation // for the transition as a whole (Modified Stage 2, Stage 3)
	// Records are the electronic summary of care records received for it, each counted
	// on its own by PI_HIE_4 from 2019 (ONC RT15 note 6).
	Records []Record
}

// Reconciliation records when each clinical information set was reconciled.
type Reconciliation struct {
	Medications time.Time
	Allergies   time.Time // medication allergies
	Problems    time.Time // current problem list
}

// Record is one electronic summary of care record received.
type Record struct {
	ID         string
	Received   time.Time
	Reconciled Reconciliation
}

// RequestKind is what a patient asked for.
type RequestKind string

// The request kinds.
const (
	CopyOfRecord          RequestKind = "electronic-copy"        // an electronic copy of their health information
	DischargeInstructions RequestKind = "discharge-instructions" // an electronic copy of discharge instructions
)

// Request is a patient's request for an electronic copy (Stage 1).
type Request struct {
	ID        string
	Kind      RequestKind
	Provider  Provider
	At        time.Time
	Fulfilled time.Time // zero while not fulfilled
}
