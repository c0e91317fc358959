// Package fhir is records' FHIR R4 API: the mapping between records' kinds
// (internal/record) and R4 / US Core resources, both ways; structural validation
// against the R4 JSON Schema and semantic validation by the record's own rules, each
// problem an OperationOutcome issue located by FHIRPath; and the HTTP API at /fhir
// (transaction and batch Bundles, create, read, update, delete, search by patient and
// date, the CapabilityStatement). docs/fhir.md has the mapping table.
//
// Every write goes through the record's kinds (internal/resource), so it is stored
// and published exactly as the JSON API's: one event per accepted fact, in the
// transaction that stores it.
package fhir

import (
	"context"
	"encoding/json"
	"time"

	"github.com/attest-ehr/attest/services/records/internal/record"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// ExtensionBase is the URL every extension of ours starts with; docs/fhir.md lists
// them. StructureDefinitions are not published: the names are stable identifiers.
const ExtensionBase = "https://attest.example/fhir/StructureDefinition/"

// CodeSystemBase is the URL of our own code systems (for concepts R4 has no code for).
const CodeSystemBase = "https://attest.example/fhir/CodeSystem/"

// Identifier systems.
const (
	SystemNPI = "http://hl7.org/fhir/sid/us-npi"
	SystemTIN = "urn:oid:2.16.840.1.113883.4.2"   // Tax ID number (as reporting's exports)
	SystemCCN = "urn:oid:2.16.840.1.113883.4.336" // CMS certification number
	SystemPOS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
	// SystemUser identifies a person by the user ID the gateway signs them in with
	// (a patient's representative, the user who entered an order).
	SystemUser = "https://attest.example/fhir/sid/user"
)

// Codec maps between FHIR resources and the record's kinds and stores them.
type Codec struct {
	svc    *record.Service
	schema *Schema
	// byType lists, per FHIR resource type, the mappings that produce it, in the
	// order a resource is matched against them; byKind indexes them by kind path.
	byType map[string][]mapping
	byKind map[string]mapping
	types  []string // the FHIR types mapped, in registration order
}

// New returns the codec over the record's kinds, with the embedded R4 schema.
func New(svc *record.Service) (*Codec, error) {
	s, err := SharedSchema()
	if err != nil {
		return nil, err
	}
	c := &Codec{svc: svc, schema: s, byType: map[string][]mapping{}, byKind: map[string]mapping{}}
	c.register()
	return c, nil
}

// Warm compiles the R4 schema's definitions ahead of the first request (see
// Schema.Warm); the service runs it when it starts.
func (c *Codec) Warm(ctx context.Context) { c.schema.Warm(ctx) }

// Types are the FHIR resource types the codec maps, in a stable order.
func (c *Codec) Types() []string { return append([]string(nil), c.types...) }

func (c *Codec) add(m mapping) {
	t := m.fhirType()
	if _, ok := c.byType[t]; !ok {
		c.types = append(c.types, t)
	}
	c.byType[t] = append(c.byType[t], m)
	c.byKind[m.kindPath()] = m
}

// mapping is one kind's FHIR mapping, its type erased so that the codec can hold all
// of them; binding implements it for each kind.
type mapping interface {
	fhirType() string
	kindPath() string
	// matches reports whether a resource of the FHIR type is this kind's (several
	// kinds share Observation, Organization, Task, ...).
	matches(r *reader) bool
	// decode reads the resource into a new value of the kind (a pointer).
	decode(r *reader) any
	// encode writes a stored value as a FHIR resource.
	encode(v any) obj
	// validate runs the kind's own rules (the first problem, naming our field).
	validate(v any) error
	// insert, update, remove and load go through the kind, in tx.
	insert(ctx context.Context, tx *resource.Tx, v any) (any, bool, error)
	update(ctx context.Context, tx *resource.Tx, id string, v any) (any, error)
	remove(ctx context.Context, tx *resource.Tx, id string) error
	load(ctx context.Context, q resource.Querier, id string) (any, error)
	get(ctx context.Context, id string) (any, error)
	search(ctx context.Context, q resource.Query) ([]any, string, error)
	meta(v any) resource.Meta
	setID(v any, id string)
	// table is the kind's table.
	table() string
	write(v any) resource.Write
	// owns reports whether a stored value of the kind is this mapping's (a shared
	// record is a DocumentReference or an ImagingStudy by its kind).
	owns(v any) bool
	subjectField() string
	timed() bool
}

// binding is a kind's mapping: the FHIR type and how to tell its resources apart,
// and the two directions. T is the kind's resource type.
type binding[T any, P resource.Ptr[T]] struct {
	typ   string
	kind  *resource.Kind[T, P]
	match func(r *reader) bool
	from  func(r *reader, v *T)
	to    func(v *T) obj
	// own, when set, tells the kind's values this mapping encodes.
	own func(v *T) bool
	// place, when set, inserts instead of the kind (orders: the duplicate check).
	place func(ctx context.Context, tx *resource.Tx, v *T) (T, bool, error)
}

func (b *binding[T, P]) fhirType() string { return b.typ }
func (b *binding[T, P]) kindPath() string { return b.kind.Path }
func (b *binding[T, P]) matches(r *reader) bool {
	return b.match == nil || b.match(r)
}
func (b *binding[T, P]) decode(r *reader) any {
	v := P(new(T))
	b.from(r, (*T)(v))
	return (*T)(v)
}
func (b *binding[T, P]) encode(v any) obj { return b.to(v.(*T)) }
func (b *binding[T, P]) validate(v any) error {
	if err := resource.CheckID("id", resource.MetaOf[T, P](v.(*T)).ID); err != nil {
		return err
	}
	return b.kind.Validate(v.(*T))
}
func (b *binding[T, P]) insert(ctx context.Context, tx *resource.Tx, v any) (any, bool, error) {
	if b.place != nil {
		out, created, err := b.place(ctx, tx, v.(*T))
		return &out, created, err
	}
	out, created, err := b.kind.Insert(ctx, tx, *v.(*T))
	return &out, created, err
}
func (b *binding[T, P]) update(ctx context.Context, tx *resource.Tx, id string, v any) (any, error) {
	next := *v.(*T)
	out, err := b.kind.Update(ctx, tx, id, func(_ context.Context, _ *resource.Tx, stored *T) (string, time.Time, error) {
		*stored = next
		return b.kind.Corrected, time.Time{}, nil
	})
	return &out, err
}
func (b *binding[T, P]) remove(ctx context.Context, tx *resource.Tx, id string) error {
	return b.kind.Remove(ctx, tx, id)
}
func (b *binding[T, P]) load(ctx context.Context, q resource.Querier, id string) (any, error) {
	v, err := b.kind.Load(ctx, q, id)
	return &v, err
}
func (b *binding[T, P]) get(ctx context.Context, id string) (any, error) {
	v, err := b.kind.Get(ctx, id)
	return &v, err
}
func (b *binding[T, P]) search(ctx context.Context, q resource.Query) ([]any, string, error) {
	p, err := b.kind.Search(ctx, q)
	if err != nil {
		return nil, "", err
	}
	out := make([]any, len(p.Items))
	for i := range p.Items {
		out[i] = &p.Items[i]
	}
	return out, p.Next, nil
}
func (b *binding[T, P]) meta(v any) resource.Meta   { return *resource.MetaOf[T, P](v.(*T)) }
func (b *binding[T, P]) setID(v any, id string)     { resource.MetaOf[T, P](v.(*T)).ID = id }
func (b *binding[T, P]) table() string              { return b.kind.Table }
func (b *binding[T, P]) write(v any) resource.Write { return b.kind.Write(*v.(*T)) }
func (b *binding[T, P]) owns(v any) bool            { return b.own == nil || b.own(v.(*T)) }
func (b *binding[T, P]) subjectField() string       { return b.kind.SubjectField }
func (b *binding[T, P]) timed() bool                { return b.kind.At != nil }

// bind registers a kind's mapping.
func bind[T any, P resource.Ptr[T]](c *Codec, typ string, k *resource.Kind[T, P], match func(*reader) bool,
	from func(*reader, *T), to func(*T) obj) *binding[T, P] {
	b := &binding[T, P]{typ: typ, kind: k, match: match, from: from, to: to}
	c.add(b)
	return b
}

// encodeResource is the FHIR JSON of a stored value: the mapping's elements plus id
// and meta (versionId, lastUpdated).
func encodeResource(m mapping, v any) obj {
	o := m.encode(v)
	meta := m.meta(v)
	o["resourceType"] = m.fhirType()
	o["id"] = meta.ID
	o["meta"] = obj{"versionId": itoa(meta.Version), "lastUpdated": meta.Updated.UTC().Format(time.RFC3339Nano)}
	return o
}

// marshal encodes a FHIR object.
func marshal(o any) []byte {
	b, err := json.Marshal(o)
	if err != nil { // cannot happen: maps of strings, numbers, booleans
		panic(err)
	}
	return b
}
