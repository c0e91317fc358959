package contract

// Entity kinds: who can report a measure.
const (
	EntityNPI    = "npi"     // an individual clinician
	EntityTINNPI = "tin_npi" // a clinician within one group (MIPS individual)
	EntityTIN    = "tin"     // a group, patients de-duplicated across its clinicians
	EntityCCN    = "ccn"     // a hospital
)

// Fact kinds.
const (
	// FactSeen: the patient was seen by the entity on Day (an encounter with them).
	FactSeen = "seen"
)

// Fact is one derived per-patient fact about an entity on a day. Asserting the same
// fact twice, or retracting one that is not held, changes nothing: consumers keep
// sets, so facts are idempotent by (Kind, Entity, PatientID, Day).
type Fact struct {
	Kind      string `json:"kind"`              // one of the Fact* constants
	Entity    Entity `json:"entity"`            // who the fact counts for
	PatientID string `json:"patient_id"`        // opaque patient ID
	Day       string `json:"day"`               // the calendar day it is true on, YYYY-MM-DD
	Because   string `json:"because"`           // the ID of the domain event that made it true or false
	Measure   string `json:"measure,omitempty"` // the measure it belongs to, when it is measure-specific
}

// Entity identifies a reporting entity: an NPI, a TIN/NPI pair, a TIN or a CCN.
type Entity struct {
	Kind string `json:"kind"` // one of the Entity* constants
	ID   string `json:"id"`   // "1234567893", "123456789/1234567893", "123456789", "123456"
}

// String is "kind:id", the form used in URLs and on the command line.
func (e Entity) String() string { return e.Kind + ":" + e.ID }

// metricsCatalog lists the events metrics publishes.
var metricsCatalog = []Spec{
	{FactAsserted, TopicFact, "metrics", "patient ID", Fact{},
		"A derived per-patient fact became true for an entity (e.g. the patient was seen by an NPI on a day)."},
	{FactRetracted, TopicFact, "metrics", "patient ID", Fact{},
		"A previously asserted fact stopped being true (the event that supported it was corrected or deleted)."},
}
