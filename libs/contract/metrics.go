package contract

import "time"

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

// TopicMeasureFact carries metrics' membership facts: the dated facts that decide, for
// any reporting period, which patients (or counted objects) are in a ratio measure's
// denominator and numerator for an entity. Keyed by patient ID.
const TopicMeasureFact = "metrics.measure-fact.v1"

// Measure-fact event types.
const (
	MeasureFactAsserted  = "metrics.measure-fact.asserted"
	MeasureFactRetracted = "metrics.measure-fact.retracted"
)

// Roles of a measure fact (docs/metrics.md says how a period is computed from them).
const (
	// RoleDenominator: an input (an encounter of the population, or the counted object
	// itself) that puts the member in the denominator of any period holding At, unless
	// Out says why it cannot.
	RoleDenominator = "denominator"
	// RoleNumerator: an action that puts a denominator member in the numerator of any
	// period whose numerator window holds At (and Until), or of any period if Anytime.
	RoleNumerator = "numerator"
	// RoleAccess: the first share, through Channel, of the information of the
	// denominator encounter For (timely access).
	RoleAccess = "access"
	// RoleGate: a denominator condition holding from At on (a medication on the list).
	RoleGate = "gate"
)

// MeasureFact is one dated fact about a member of a ratio measure for an entity in a
// performance year: a patient (Object absent) or one counted object of the patient.
// Facts do not depend on a period; a consumer that keeps the set of facts held (an
// asserted fact added, a retracted one removed, by every field but Because) can compute
// any period's numerator and denominator from it exactly as metrics does.
type MeasureFact struct {
	Entity    Entity    `json:"entity"`            // npi, tin_npi or ccn; a group (tin) is its clinicians' tin_npi facts
	Program   string    `json:"program"`           // the measure's program, e.g. "mips-pi"
	Measure   string    `json:"measure"`           // the measure ID, e.g. "PI_PEA_1"
	Year      int       `json:"year"`              // the performance year
	PatientID string    `json:"patient_id"`        // opaque patient ID
	Object    string    `json:"object,omitempty"`  // the counted object (prescription, order, transition…); absent for unique patients
	Role      string    `json:"role"`              // one of the Role* constants
	Ref       string    `json:"ref"`               // the ID of the input the fact comes from
	For       string    `json:"for,omitempty"`     // access: the encounter whose information was shared
	Channel   string    `json:"channel,omitempty"` // access: "vdt" or "api"
	At        time.Time `json:"at"`
	// Until is a second instant that must also fall in the numerator window (a summary
	// of care's receipt confirmed; the last of three reconciliations).
	Until *time.Time `json:"until,omitempty"`
	// Start is when a denominator encounter began, where At is its discharge.
	Start *time.Time `json:"start,omitempty"`
	// Deadline is when the numerator action of a denominator input was due.
	Deadline   *time.Time `json:"deadline,omitempty"`
	Controlled bool       `json:"controlled,omitempty"` // a controlled-substance prescription (variants)
	Anytime    bool       `json:"anytime,omitempty"`    // a numerator fact that counts whatever the window
	Out        string     `json:"out,omitempty"`        // the rule that keeps a denominator input out, whatever the period
	Because    string     `json:"because"`              // the ID of the event that recorded the input's version
}

// metricsCatalog lists the events metrics publishes.
var metricsCatalog = []Spec{
	{FactAsserted, TopicFact, "metrics", "patient ID", Fact{},
		"A derived per-patient fact became true for an entity (e.g. the patient was seen by an NPI on a day)."},
	{FactRetracted, TopicFact, "metrics", "patient ID", Fact{},
		"A previously asserted fact stopped being true (the event that supported it was corrected or deleted)."},
	{MeasureFactAsserted, TopicMeasureFact, "metrics", "patient ID", MeasureFact{},
		"A membership fact of a ratio measure became true for an entity: an input that can put the patient (or an " +
			"object) in a denominator, an action that can put it in a numerator, a share of an encounter's information."},
	{MeasureFactRetracted, TopicMeasureFact, "metrics", "patient ID", MeasureFact{},
		"A membership fact stopped being true: the input behind it was corrected or deleted, or a later event changed " +
			"what it counts for."},
}
