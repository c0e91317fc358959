// Package contract is the event contract of Attest, in one place: topic names
// (<owner>.<entity>.v<major>), event types (<owner>.<entity>.<past-tense verb>), and the
// payload struct of every type. Producers and consumers import it; nothing else
// defines an event's shape.
//
// Rules: payloads carry opaque IDs, never PHI (names, birth dates, free text). Within a
// major version, changes are additive only; golden samples in testdata/ (one per type)
// are decoded into today's structs by the tests, so an old producer stays readable.
// A breaking change is a new topic with the next major version. docs/events.md is
// generated from Catalog (go run ./contract/cmd/eventsdoc) and a test fails when it is
// stale.
package contract

import (
	"slices"
	"time"
)

// Topics. Each topic carries one entity stream of one owner, so the created, updated
// and deleted events of one key stay ordered.
const (
	TopicPatient   = "records.patient.v1"
	TopicEncounter = "records.encounter.v1"
	TopicProblem   = "records.problem.v1"
	TopicMed       = "records.medication.v1"
	TopicResult    = "records.result.v1"
	TopicFact      = "metrics.fact.v1"
)

// Event types.
const (
	PatientRegistered = "records.patient.registered"
	PatientUpdated    = "records.patient.updated"
	PatientDeleted    = "records.patient.deleted"

	EncounterRecorded  = "records.encounter.recorded"
	EncounterCorrected = "records.encounter.corrected"
	EncounterDeleted   = "records.encounter.deleted"

	ProblemRecorded  = "records.problem.recorded"
	ProblemCorrected = "records.problem.corrected"
	ProblemDeleted   = "records.problem.deleted"

	MedicationRecorded  = "records.medication.recorded"
	MedicationCorrected = "records.medication.corrected"
	MedicationDeleted   = "records.medication.deleted"

	ResultRecorded  = "records.result.recorded"
	ResultCorrected = "records.result.corrected"
	ResultDeleted   = "records.result.deleted"

	FactAsserted  = "metrics.fact.asserted"
	FactRetracted = "metrics.fact.retracted"
)

// Spec describes one event type: where it is published, who owns it, what its
// payload is. Catalog lists every Spec.
type Spec struct {
	Type    string // the ce_type
	Topic   string // the topic it is published on
	Owner   string // the only service that publishes it
	Key     string // what the Kafka key (ce_subject) is
	Payload any    // a zero value of the payload struct
	Doc     string // when it is published and what it means
}

// Catalog is every event type of the platform: each owner's list, in one place.
var Catalog = slices.Concat(recordsCatalog, clinicalCatalog, messagingCatalog, educationCatalog, metricsCatalog)

// Lookup returns the Spec of an event type.
func Lookup(typ string) (Spec, bool) {
	for _, s := range Catalog {
		if s.Type == typ {
			return s, true
		}
	}
	return Spec{}, false
}

// Date is a calendar day, "YYYY-MM-DD", as used for fact days and reporting periods.
const Date = time.DateOnly

// Topics lists every topic of the catalogue once, in catalogue order.
func Topics() []string {
	var ts []string
	for _, s := range Catalog {
		if !slices.Contains(ts, s.Topic) {
			ts = append(ts, s.Topic)
		}
	}
	return ts
}
