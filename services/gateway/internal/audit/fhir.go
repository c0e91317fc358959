package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Query selects records for the audit report. Zero fields do not filter.
type Query struct {
	From, To  time.Time // At in [From, To)
	Actor     string
	PatientID string
	Action    string
	AfterSeq  int64 // for paging: records after this seq
	Limit     int   // default and maximum 1000
}

// MaxList is the most records List returns at once.
const MaxList = 1000

// List returns the records matching q, in seq order.
func List(ctx context.Context, db Querier, q Query) ([]Record, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	if !q.From.IsZero() {
		add("at >= ?", formatTime(q.From))
	}
	if !q.To.IsZero() {
		add("at < ?", formatTime(q.To))
	}
	if q.Actor != "" {
		add("actor = ?", q.Actor)
	}
	if q.PatientID != "" {
		add("patient_id = ?", q.PatientID)
	}
	if q.Action != "" {
		add("action = ?", q.Action)
	}
	add("seq > ?", q.AfterSeq)
	if q.Limit <= 0 || q.Limit > MaxList {
		q.Limit = MaxList
	}
	rows, err := db.QueryContext(ctx, `SELECT `+recordColumns+` FROM audit_log WHERE `+strings.Join(where, " AND ")+
		` ORDER BY seq LIMIT `+strconv.Itoa(q.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// recordColumns are the audit_log columns scanRecord reads, in its order.
const recordColumns = `seq, at, actor, action, patient_id, remote, outcome, detail, prev_hash, hash`

func scanRecord(rows *sql.Rows) (Record, error) {
	var r Record
	var outcome string
	if err := rows.Scan(&r.Seq, &r.At, &r.Actor, &r.Action, &r.PatientID, &r.Remote, &outcome, &r.Detail,
		&r.PrevHash, &r.Hash); err != nil {
		return Record{}, fmt.Errorf("audit: read record: %w", err)
	}
	r.Outcome = Outcome(outcome)
	return r, nil
}

// AuditEvent is the FHIR R4 AuditEvent resource, with the elements Attest fills.
type AuditEvent struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id"`
	Type         Coding        `json:"type"`
	Subtype      []Coding      `json:"subtype"`
	Action       string        `json:"action"`
	Recorded     string        `json:"recorded"`
	Outcome      string        `json:"outcome"`
	OutcomeDesc  string        `json:"outcomeDesc,omitempty"`
	Agent        []Agent       `json:"agent"`
	Source       Source        `json:"source"`
	Entity       []EventEntity `json:"entity,omitempty"`
}

// Coding is a FHIR Coding.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// Agent is AuditEvent.agent: who acted.
type Agent struct {
	Who       Reference `json:"who"`
	Requestor bool      `json:"requestor"`
	Network   *Network  `json:"network,omitempty"`
}

// Reference is a FHIR Reference by identifier or literal reference.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
}

// Identifier is a FHIR Identifier.
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// Network is AuditEvent.agent.network.
type Network struct {
	Address string `json:"address"`
	Type    string `json:"type"` // "2": IP address
}

// Source is AuditEvent.source: the system that recorded the event.
type Source struct {
	Observer Reference `json:"observer"`
}

// EventEntity is AuditEvent.entity: the patient the event touched, and the chain
// position as a detail so a reader can verify it.
type EventEntity struct {
	What   Reference     `json:"what"`
	Detail []EventDetail `json:"detail,omitempty"`
}

// EventDetail is AuditEvent.entity.detail.
type EventDetail struct {
	Type        string `json:"type"`
	ValueString string `json:"valueString"`
}

const (
	dicomSystem   = "http://dicom.nema.org/resources/ontology/DCM"
	actorSystem   = "urn:attest:principal"
	actionSubtype = "urn:attest:audit-action"
)

// FHIR renders r as an AuditEvent. The event type is DICOM's: user authentication
// for sign-in and sign-out, export for exports, patient record access otherwise.
func FHIR(r Record) AuditEvent {
	ev := AuditEvent{
		ResourceType: "AuditEvent",
		ID:           strconv.FormatInt(r.Seq, 10),
		Type:         Coding{System: dicomSystem, Code: "110110", Display: "Patient Record"},
		Subtype:      []Coding{{System: actionSubtype, Code: r.Action}},
		Action:       "R",
		Recorded:     r.At,
		Agent:        []Agent{{Who: Reference{Identifier: &Identifier{System: actorSystem, Value: r.Actor}}, Requestor: true}},
		Source:       Source{Observer: Reference{Identifier: &Identifier{System: "urn:attest:system", Value: "attest-gateway"}}},
	}
	switch {
	case strings.HasPrefix(r.Action, "signin"), strings.HasPrefix(r.Action, "signout"):
		ev.Type = Coding{System: dicomSystem, Code: "110114", Display: "User Authentication"}
		ev.Action = "E"
	case strings.Contains(r.Action, "export"):
		ev.Type = Coding{System: dicomSystem, Code: "110106", Display: "Export"}
	case strings.HasPrefix(r.Action, "gateway."):
		ev.Type = Coding{System: dicomSystem, Code: "110136", Display: "Security Roles Changed"}
		ev.Action = "C"
	}
	switch r.Outcome {
	case Success:
		ev.Outcome = "0"
	case Denied:
		ev.Outcome, ev.OutcomeDesc = "4", "denied"
	default:
		ev.Outcome, ev.OutcomeDesc = "8", "failed"
	}
	if r.Remote != "" {
		ev.Agent[0].Network = &Network{Address: r.Remote, Type: "2"}
	}
	chain := EventEntity{
		What:   Reference{Identifier: &Identifier{System: "urn:attest:audit-seq", Value: ev.ID}},
		Detail: []EventDetail{{Type: "hash", ValueString: r.Hash}, {Type: "prev_hash", ValueString: r.PrevHash}},
	}
	if r.Detail != "" {
		chain.Detail = append(chain.Detail, EventDetail{Type: "detail", ValueString: r.Detail})
	}
	if r.PatientID != "" {
		ev.Entity = append(ev.Entity, EventEntity{What: Reference{Reference: "Patient/" + r.PatientID}})
	}
	ev.Entity = append(ev.Entity, chain)
	return ev
}

// Bundle is a FHIR searchset Bundle of AuditEvents.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	Type         string        `json:"type"`
	Total        int           `json:"total"`
	Entry        []BundleEntry `json:"entry"`
}

// BundleEntry is one entry of a Bundle.
type BundleEntry struct {
	Resource AuditEvent `json:"resource"`
}

// NewBundle wraps records as a searchset Bundle.
func NewBundle(rs []Record) Bundle {
	b := Bundle{ResourceType: "Bundle", Type: "searchset", Total: len(rs), Entry: []BundleEntry{}}
	for _, r := range rs {
		b.Entry = append(b.Entry, BundleEntry{Resource: FHIR(r)})
	}
	return b
}
