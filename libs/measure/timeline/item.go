// Package timeline is the metrics service's projection of everything the measures read
// about one patient: the latest version of every input (encounter, access grant,
// prescription, message, …) as its owner last published it, and the pure mapping of
// those inputs to the measure package's per-patient timeline.
//
// Every input is an Item keyed by kind and ID. A recorded or corrected event replaces
// the item, a deleted event removes it: the owners publish the whole input each time,
// and keep one input's events in order on one topic, so the last event applied is the
// current version. Inputs that refer to each other across topics (a share of an
// encounter, a reconciliation of a transition) are joined only when the timeline is
// built, so the projection does not depend on the order topics are read in.
package timeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
)

// Kind names the sort of input an item is.
type Kind string

// The kinds of item.
const (
	Patient         Kind = "patient"
	PatientDeleted  Kind = "patient-deleted" // a tombstone: the patient was entered in error
	Encounter       Kind = "encounter"
	Availability    Kind = "availability"
	AccessGrant     Kind = "access-grant"
	VDT             Kind = "vdt"
	PGHD            Kind = "pghd"
	Problem         Kind = "problem"
	Medication      Kind = "medication"
	Allergy         Kind = "allergy"
	Result          Kind = "result"
	VitalSign       Kind = "vital-sign"
	SmokingStatus   Kind = "smoking-status"
	Prescription    Kind = "prescription"
	Order           Kind = "order"
	Transition      Kind = "transition"
	Reconciliation  Kind = "reconciliation"
	ClinicalSummary Kind = "clinical-summary"
	Message         Kind = "message"
	Education       Kind = "education"
)

// Item is the current version of one input about a patient.
type Item struct {
	Kind    Kind
	ID      string
	Patient string
	Event   string          // the ID of the event that recorded this version
	Data    json.RawMessage // the owner's payload, as published (a libs/contract struct)
	// Value is Data decoded, when the item was just decoded from its event; Build uses
	// it rather than decoding Data again. Nil for items read back from storage.
	Value any
}

// Change is what one event does to a patient's items: put Item, or delete the item of
// Item's kind and ID.
type Change struct {
	Item   Item
	Delete bool
}

// Topics are the topics the projection reads, each once.
func Topics() []string {
	var ts []string
	seen := map[string]bool{}
	for _, s := range sources {
		if !seen[s.topic] {
			seen[s.topic] = true
			ts = append(ts, s.topic)
		}
	}
	return ts
}

// Decode maps an event to the change it makes. ok is false for an event type the
// projection does not read (a read receipt, a type added after this code): the caller
// skips it. A payload that does not decode, or lacks its ID or patient ID, is a
// permanent error.
func Decode(e event.Event) (c Change, ok bool, err error) {
	if e.Type == contract.PatientDeleted {
		var ref contract.PatientRef
		if err := e.Decode(&ref); err != nil {
			return Change{}, false, err
		}
		if ref.PatientID == "" {
			return Change{}, false, event.Permanent(fmt.Errorf("%s %s: patient_id is required", e.Type, e.ID))
		}
		return Change{Item: Item{Kind: PatientDeleted, ID: ref.PatientID, Patient: ref.PatientID, Event: e.ID,
			Data: json.RawMessage(`{}`)}}, true, nil
	}
	for _, s := range sources {
		switch {
		case e.Type == s.deleted:
			it, err := identify(e, s.kind, s.ref)
			return Change{Item: it, Delete: true}, err == nil, err
		case slices.Contains(s.puts, e.Type):
			it, err := identify(e, s.kind, s.put)
			return Change{Item: it}, err == nil, err
		}
	}
	return Change{}, false, nil
}

// identify reads e's payload with r, which validates it, into an item of kind.
func identify(e event.Event, kind Kind, r reader) (Item, error) {
	v, id, patient, err := r(e.Data)
	if err != nil {
		return Item{}, event.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
	}
	if id == "" || patient == "" {
		return Item{}, event.Permanent(fmt.Errorf("%s %s: the input's ID and patient_id are required", e.Type, e.ID))
	}
	return Item{Kind: kind, ID: id, Patient: patient, Event: e.ID, Data: json.RawMessage(bytes.Clone(e.Data)), Value: v}, nil
}

// DecodeValue sets Value from Data when it is nil, so that an item kept in memory (a
// cache of recently touched timelines) is decoded once rather than on every Build.
func (it *Item) DecodeValue() error {
	if it.Value != nil || it.Kind == PatientDeleted {
		return nil
	}
	for _, s := range sources {
		if s.kind == it.Kind {
			v, _, _, err := s.put(it.Data)
			if err != nil {
				return fmt.Errorf("decode %s %s: %w", it.Kind, it.ID, err)
			}
			it.Value = v
			return nil
		}
	}
	return fmt.Errorf("item %s: unknown kind %q", it.ID, it.Kind)
}
