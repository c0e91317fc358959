package contract

import (
	"slices"
	"time"
)

// Patient is the non-PHI view of a patient that records shares: an opaque ID, the
// organization that holds the record, the patient's authorized representatives by ID
// and what they opted out of. Demographics never leave records.
type Patient struct {
	PatientID      string `json:"patient_id"`
	OrganizationID string `json:"organization_id,omitempty"`
	// Representatives are the people authorized to act for the patient (proxies); a
	// VDT action or secure message by one of them counts for the patient.
	Representatives []Representative `json:"representatives,omitempty"`
	OptOuts         []OptOut         `json:"opt_outs,omitempty"` // what the patient declined, and since when
	Deceased        bool             `json:"deceased,omitempty"`
}

// Representative is an authorized representative (proxy) of a patient, by ID. The
// name and contact details stay in records.
type Representative struct {
	RepresentativeID string     `json:"representative_id"` // the representative's user ID, as the gateway knows them
	Relationship     string     `json:"relationship"`      // one of the Relationship* constants
	From             *time.Time `json:"from,omitempty"`    // when the authorization began, if known
	To               *time.Time `json:"to,omitempty"`      // when it ended, if it has
}

// Relationships of an authorized representative to the patient.
const (
	RelationshipParent    = "parent"
	RelationshipGuardian  = "guardian"
	RelationshipSpouse    = "spouse"
	RelationshipChild     = "child"
	RelationshipCaregiver = "caregiver"
	RelationshipAttorney  = "attorney" // holds a healthcare power of attorney
	RelationshipOther     = "other"
)

// OptOut is something a patient declined.
type OptOut struct {
	Kind  string    `json:"kind"`  // one of the OptOut* constants
	Since time.Time `json:"since"` // when the patient declined it
}

// Opt-out kinds. A patient who declines online access may still count as given
// access (CMS PI specification sheets), so consumers need to know.
const (
	OptOutPortal    = "portal"    // online access to view, download and transmit (VDT)
	OptOutAPI       = "api"       // access through third-party applications (API)
	OptOutMessaging = "messaging" // secure messaging
	OptOutExchange  = "exchange"  // sharing the record with other institutions (HIE)
)

// PatientRef names a patient, for deletions.
type PatientRef struct {
	PatientID string `json:"patient_id"`
}

// Encounter classes. They decide which denominators an encounter can enter.
const (
	ClassOffice      = "office"      // ambulatory office visit
	ClassTelehealth  = "telehealth"  // virtual visit
	ClassInpatient   = "inpatient"   // inpatient admission (POS 21)
	ClassEmergency   = "emergency"   // emergency department visit (POS 23)
	ClassObservation = "observation" // observation stay
	ClassOther       = "other"       // any other patient encounter
)

// Encounter is a patient encounter as records shares it.
type Encounter struct {
	EncounterID  string     `json:"encounter_id"`
	PatientID    string     `json:"patient_id"`
	Class        string     `json:"class"`                   // one of the Class* constants
	Start        time.Time  `json:"start"`                   // when it began (clinical time)
	End          *time.Time `json:"end,omitempty"`           // when it ended (discharge), if it has
	RenderingNPI string     `json:"rendering_npi,omitempty"` // the clinician who saw the patient
	BillingTIN   string     `json:"billing_tin,omitempty"`   // the group billed under
	CCN          string     `json:"ccn,omitempty"`           // the hospital, for inpatient and ED
	LocationID   string     `json:"location_id,omitempty"`
	POS          string     `json:"pos,omitempty"` // CMS place-of-service code, e.g. "11", "21", "23"
	// CEHRT says whether the location was equipped with certified EHR technology when
	// the encounter was recorded; absent when no location was given.
	CEHRT *bool `json:"cehrt,omitempty"`
	// NewPatient marks an encounter with a patient the clinician (or hospital) never
	// encountered before: it enters the receive-and-reconcile denominators (E16).
	NewPatient bool `json:"new_patient,omitempty"`
}

// EncounterRef names an encounter, for deletions.
type EncounterRef struct {
	EncounterID string `json:"encounter_id"`
	PatientID   string `json:"patient_id"`
}

// patientCatalog lists records' patient and encounter events.
var patientCatalog = []Spec{
	{PatientRegistered, TopicPatient, "records", "patient ID", Patient{},
		"A patient was registered with an organization. Carries no demographics: those stay in records."},
	{PatientUpdated, TopicPatient, "records", "patient ID", Patient{},
		"A patient's record changed; the payload carries the non-PHI attributes (organization, representatives, " +
			"opt-outs, deceased) and replaces the previous one."},
	{PatientDeleted, TopicPatient, "records", "patient ID", PatientRef{},
		"A patient was removed (entered in error). Every fact about the patient was deleted first, each with its " +
			"own deleted event. Downstream state about the patient is retracted."},
	{EncounterRecorded, TopicEncounter, "records", "patient ID", Encounter{},
		"An encounter (office visit, telehealth, inpatient stay, ED visit, observation) was recorded (E01, E02)."},
	{EncounterCorrected, TopicEncounter, "records", "patient ID", Encounter{},
		"An encounter was corrected; the payload is the full corrected encounter and replaces the previous one."},
	{EncounterDeleted, TopicEncounter, "records", "patient ID", EncounterRef{},
		"An encounter was deleted (entered in error); whatever it counted for is retracted."},
}

// recordsCatalog lists the events records publishes about patients, encounters, the
// directory of reporting entities, devices and records shared between institutions;
// the clinical facts are in clinicalCatalog.
var recordsCatalog = slices.Concat(patientCatalog, directoryCatalog, tabletCatalog, sharingCatalog)
