package contract

import "time"

// Patient is the non-PHI view of a patient that records shares: an opaque ID and the
// organization that holds the record. Demographics never leave records.
type Patient struct {
	PatientID      string `json:"patient_id"`
	OrganizationID string `json:"organization_id,omitempty"`
}

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
}

// EncounterRef names an encounter, for deletions.
type EncounterRef struct {
	EncounterID string `json:"encounter_id"`
	PatientID   string `json:"patient_id"`
}

// recordsCatalog lists the events records publishes.
var recordsCatalog = []Spec{
	{PatientRegistered, TopicPatient, "records", "patient ID", Patient{},
		"A patient was registered with an organization. Carries no demographics: those stay in records."},
	{PatientUpdated, TopicPatient, "records", "patient ID", Patient{},
		"A patient's non-PHI attributes changed (organization, opt-outs, deceased)."},
	{PatientDeleted, TopicPatient, "records", "patient ID", PatientRef{},
		"A patient was removed (entered in error). Downstream state about the patient is retracted."},
	{EncounterRecorded, TopicEncounter, "records", "patient ID", Encounter{},
		"An encounter (office visit, telehealth, inpatient stay, ED visit, observation) was recorded."},
	{EncounterCorrected, TopicEncounter, "records", "patient ID", Encounter{},
		"An encounter was corrected; the payload is the full corrected encounter and replaces the previous one."},
	{EncounterDeleted, TopicEncounter, "records", "patient ID", EncounterRef{},
		"An encounter was deleted (entered in error); whatever it counted for is retracted."},
}
