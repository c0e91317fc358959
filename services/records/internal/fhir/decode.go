package fhir

// This file is the entry point for FHIR input outside the HTTP API, notably bulk
// import (internal/bulk, NDJSON): one call per resource.
//
//	w, issues := codec.Decode(line)          // parse, R4 schema, mapping, the record's rules
//	if fhir.HasErrors(issues) { ...write fhir.OperationOutcome(issues) for the line... }
//	issues = w.Resolve(ids, types)           // only for urn:uuid references (Bundles)
//	stored, issues := codec.Put(ctx, tx, w)  // in the caller's transaction: store + one event
//	// or, for many at once: store.Batch(ctx, []resource.Write{w.Resource(), ...}, after)
//
// Decode needs no database. Put (or Create) writes through the record's kinds in the
// given transaction (resource.Store.Write gives one), so the resource and its event
// commit together; an error leaves the transaction to be rolled back by the caller.
// Every Issue carries a FHIRPath Expression rooted at the resource type
// ("Observation.code.coding[0].system"), or at root when decoded with DecodeAt.

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// Write is one decoded resource, ready to store.
type Write struct {
	Type  string // the FHIR resourceType
	ID    string // its id; "" when the client gave none (the server assigns one)
	Kind  string // the record kind it maps to: "patients", "vital-signs", ...
	Value any    // the kind's value: *record.Patient, *record.VitalSign, ...

	m mapping
	d *decoding
}

// Resource is the decoded value as the kind mechanism's resource.Write, for
// resource.Store.Batch (bulk import): stored as Create stores it. An imaging
// ServiceRequest stored that way skips the duplicate-study check that Create and Put
// make (record.Service.PlaceOrderIn).
func (w Write) Resource() resource.Write { return w.m.write(w.Value) }

// Refs are the urn:uuid references the resource holds, to resolve with Resolve.
func (w Write) Refs() []string {
	if w.d == nil {
		return nil
	}
	out := make([]string, 0, len(w.d.refs))
	for _, r := range w.d.refs {
		out = append(out, r.URN)
	}
	return out
}

// Resolve sets every urn:uuid reference to the ID ids gives it (the IDs of the other
// resources of a Bundle, by their fullUrl). An unknown one is a not-found issue; the
// caller must give the resolved resource's type in types (fullUrl → type) when it
// knows it, so that a reference to the wrong type is refused.
func (w Write) Resolve(ids, types map[string]string) []Issue {
	if w.d == nil {
		return nil
	}
	var issues []Issue
	for _, r := range w.d.refs {
		id, ok := ids[r.URN]
		switch {
		case !ok:
			issues = append(issues, Issue{Severity: SeverityError, Code: CodeNotFound, Expression: r.Path,
				Diagnostics: "no entry of the Bundle has this fullUrl"})
		case r.Type != "" && types[r.URN] != "" && types[r.URN] != r.Type:
			issues = append(issues, Issue{Severity: SeverityError, Code: CodeValue, Expression: r.Path,
				Diagnostics: "must refer to a " + r.Type})
		default:
			r.set(id)
		}
	}
	w.d.refs = nil
	return issues
}

// Decode reads one FHIR resource (JSON) into the record kind it maps to: strictly
// parsed (UTF-8, no duplicate keys, bounded depth), validated against the R4 schema,
// mapped, and checked by the kind's own rules (code systems and codes, NPI Luhn, TIN,
// dates in order). References to stored resources are checked when it is stored. It
// returns every problem found, each with its FHIRPath; a Write is usable only when no
// issue is an error.
func (c *Codec) Decode(raw []byte) (Write, []Issue) {
	v, is := parseJSON(raw, "")
	if is != nil {
		is.Expression = "" // the whole input
		return Write{}, []Issue{*is}
	}
	return c.DecodeAt(v, "")
}

// DecodeAt is Decode of an already parsed JSON value (numbers as json.Number), its
// issues rooted at root ("Bundle.entry[3].resource"); root "" roots them at the
// resource type.
func (c *Codec) DecodeAt(v any, root string) (Write, []Issue) {
	m, ok := v.(obj)
	if !ok {
		return Write{}, []Issue{{Severity: SeverityError, Code: CodeStructure, Expression: root,
			Diagnostics: "a resource must be a JSON object"}}
	}
	typ, _ := m["resourceType"].(string)
	if root == "" {
		root = typ
	}
	rt := root
	if rt == "" {
		rt = "Resource"
	}
	if typ == "" {
		return Write{}, []Issue{{Severity: SeverityError, Code: CodeRequired, Expression: rt + ".resourceType",
			Diagnostics: "required"}}
	}
	mappings, ok := c.byType[typ]
	if !ok {
		diag := "this server does not store " + safeType(typ) + " resources"
		if !c.schema.Known(typ) {
			diag = "not an R4 resource type"
		}
		return Write{}, []Issue{{Severity: SeverityError, Code: CodeNotSupported, Expression: rt + ".resourceType",
			Diagnostics: diag}}
	}
	if issues := append(c.schema.Validate(typ, rt, m), requiredIssues(typ, rt, m)...); len(issues) > 0 {
		return Write{}, issues
	}
	d := &decoding{paths: map[string]string{}, root: rt}
	r := &reader{d: d, path: rt, m: m}
	var mp mapping
	for _, cand := range mappings {
		if cand.matches(r) {
			mp = cand
			break
		}
	}
	if mp == nil {
		return Write{}, []Issue{{Severity: SeverityError, Code: CodeNotSupported, Expression: rt,
			Diagnostics: "this " + typ + " is none of the kinds this server stores (see docs/fhir.md)"}}
	}
	id, _ := m["id"].(string)
	value := mp.decode(r)
	w := Write{Type: typ, ID: id, Kind: mp.kindPath(), Value: value, m: mp, d: d}
	mp.setID(value, id)
	d.note("id", rt+".id")
	if len(d.issues) > 0 {
		return w, d.issues
	}
	if len(d.refs) == 0 {
		if err := mp.validate(value); err != nil {
			return w, []Issue{issueOf(err, d.locate)}
		}
	}
	return w, nil
}

// safeType keeps an unknown resourceType out of messages unless it looks like a type
// name (it is client input).
func safeType(t string) string {
	if len(t) > 40 {
		return "such"
	}
	for _, c := range t {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return "such"
		}
	}
	return t
}

// Stored is the outcome of storing a resource.
type Stored struct {
	Type     string
	ID       string
	Version  int
	Created  bool   // false: an update, or an idempotent repeat that changed nothing
	Resource []byte // the resource as stored, FHIR JSON with id and meta
	// Outcome, when set, is an answer instead of a resource (an imaging order a shared
	// study duplicates: nothing was placed).
	Outcome []Issue
}

// Create stores w as a new resource in tx (its id, if it has one, must be free, or
// hold the same content: an idempotent repeat, which publishes nothing).
func (c *Codec) Create(ctx context.Context, tx *resource.Tx, w Write) (Stored, []Issue) {
	return c.store(ctx, tx, w, false, 0)
}

// CreateUnanswered is Create for a caller that does not send the stored resource back
// (a bulk import): the same checks and the same write, without encoding the answer;
// Stored.Resource is nil. In a resource.Store.Batch, the check that no other kind of
// the type holds the ID is answered from the batch's look-ups ahead when the write
// asked for them (resource.AheadAlso, with SharedTables).
func (c *Codec) CreateUnanswered(ctx context.Context, tx *resource.Tx, w Write) (Stored, []Issue) {
	return c.storeAnswered(ctx, tx, w, false, 0, false)
}

// SharedTables are the tables of the other kinds that map to w's FHIR type, in which
// w's ID must not be stored (see Create): for a batch to look the ID up in ahead.
func (c *Codec) SharedTables(w Write) []string {
	var out []string
	for _, other := range c.byType[w.Type] {
		if other != w.m {
			out = append(out, other.table())
		}
	}
	return out
}

// Put stores w in tx under its id: an update of the stored resource (a correction, one
// event; nothing when the content is the same), or a create with that id.
func (c *Codec) Put(ctx context.Context, tx *resource.Tx, w Write) (Stored, []Issue) {
	return c.store(ctx, tx, w, true, 0)
}

func (c *Codec) store(ctx context.Context, tx *resource.Tx, w Write, put bool, ifMatch int) (Stored, []Issue) {
	return c.storeAnswered(ctx, tx, w, put, ifMatch, true)
}

// storeAnswered stores w; answer encodes the stored resource into Stored.Resource.
func (c *Codec) storeAnswered(ctx context.Context, tx *resource.Tx, w Write, put bool, ifMatch int, answer bool) (Stored, []Issue) {
	if w.m == nil {
		return Stored{}, []Issue{{Severity: SeverityError, Code: CodeProcessing, Diagnostics: "nothing decoded to store"}}
	}
	if len(w.d.refs) > 0 {
		return Stored{}, []Issue{{Severity: SeverityError, Code: CodeNotFound, Expression: w.d.refs[0].Path,
			Diagnostics: "a urn:uuid reference outside a Bundle"}}
	}
	if err := w.m.validate(w.Value); err != nil {
		return Stored{}, []Issue{issueOf(err, w.d.locate)}
	}
	if w.ID != "" {
		// IDs are unique within a kind; a FHIR type several kinds share must not hold
		// one ID twice, or a read could not tell which is meant.
		for _, other := range c.byType[w.Type] {
			if other == w.m {
				continue
			}
			if _, err := other.load(ctx, tx, w.ID); err == nil {
				return Stored{}, []Issue{{Severity: SeverityError, Code: CodeConflict, Expression: w.d.root + ".id",
					Diagnostics: "another " + w.Type + " has this id"}}
			} else if !errs.Is(errs.NotFound, err) {
				return Stored{}, []Issue{c.located(err, w)}
			}
		}
	}
	if w.d.allowDuplicate {
		ctx = withAllowDuplicate(ctx, true)
	}
	var (
		out     any
		created bool
		err     error
	)
	if put && w.ID != "" {
		var old any
		old, err = w.m.load(ctx, tx, w.ID)
		switch {
		case err == nil:
			if ifMatch != 0 && w.m.meta(old).Version != ifMatch {
				return Stored{}, []Issue{{Severity: SeverityError, Code: CodeConflict, Expression: w.d.root,
					Diagnostics: fmt.Sprintf("%sthe %s is at version %d", preconditionPrefix, w.Type, w.m.meta(old).Version)}}
			}
			out, err = w.m.update(ctx, tx, w.ID, w.Value)
		case errs.Is(errs.NotFound, err):
			if ifMatch != 0 {
				return Stored{}, []Issue{{Severity: SeverityError, Code: CodeConflict, Expression: w.d.root,
					Diagnostics: preconditionPrefix + "no such " + w.Type}}
			}
			out, created, err = w.m.insert(ctx, tx, w.Value)
		}
	} else {
		out, created, err = w.m.insert(ctx, tx, w.Value)
	}
	var avoided *avoidedErr
	if errors.As(err, &avoided) {
		return Stored{Type: w.Type, Outcome: []Issue{avoided.issue(w.d.root)}}, nil
	}
	if err != nil {
		return Stored{}, []Issue{c.located(err, w)}
	}
	meta := w.m.meta(out)
	st := Stored{Type: w.Type, ID: meta.ID, Version: meta.Version, Created: created}
	if answer {
		st.Resource = marshal(encodeResource(w.m, out))
	}
	return st, nil
}

// located is a store error as an issue at the FHIR element it concerns; an error that
// is not the record's (a database failure) is returned as a processing issue.
func (c *Codec) located(err error, w Write) Issue {
	if errs.KindOf(err) == errs.Other {
		return Issue{Severity: SeverityFatal, Code: CodeProcessing, Expression: w.d.root,
			Diagnostics: "the resource could not be stored", cause: err}
	}
	return issueOf(err, w.d.locate)
}

// statusOf is the HTTP status for an errs error outside decoding (a read).
func statusOf(err error) int {
	switch errs.KindOf(err) {
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.Conflict:
		return http.StatusConflict
	case errs.Unprocessable:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}
