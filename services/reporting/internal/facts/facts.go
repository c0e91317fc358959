// Package facts keeps reporting's own copy of what its reports are computed from: the
// membership facts metrics publishes on metrics.measure-fact.v1 (the set held, identity
// = every field but because), the yes/no inputs records publishes on
// records.attestation.v1 and records.registry-engagement.v1, the payment inputs on
// records.payment-inputs.v1, and the log positions
// (topic, partition → next offset) applied, all updated in one transaction per batch.
//
// The read side (Store) answers a series — an entity's facts for one program, measure
// and year; a group's are its clinicians' — from an in-memory cache validated by a
// version row bumped in the same transaction as the facts, as metrics' numbers does.
// Memory holds the same state in memory only: a recompute rebuilds it from the log up
// to recorded positions. Both implement Source, which the reports are counted from.
package facts

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
)

//go:embed migrations
var migrations embed.FS

// Migrations are the package's schema migrations, one folder per dialect.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the folder is embedded
	return sub
}

// Group is the consumer group that copies the facts and yes/no inputs.
const Group = "reporting.measure-facts"

// Topics are the topics Group consumes, and the topics a recompute reads.
var Topics = []string{contract.TopicMeasureFact, contract.TopicAttestation, contract.TopicRegistryEngagement,
	contract.TopicPaymentInputs}

// Position is how far one topic partition has been applied: every event below Offset is.
type Position struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"` // the next offset to apply
}

// Source is what a report is counted from: the reporting database (Store) or a state
// rebuilt from the log (Memory).
type Source interface {
	// Facts returns the facts of entity e (a group's: each clinician's, one slice each)
	// for a program, measure and performance year, as membership.Count takes them.
	Facts(ctx context.Context, e contract.Entity, p measure.Program, measureID string, year int) ([][]membership.Fact, error)
	// Columns returns the same series as columns, as membership.CountColumns takes
	// them (shared: not to be modified), with a token that changes whenever any of them
	// does — "" when the source cannot tell, and what is computed from them is not kept.
	Columns(ctx context.Context, e contract.Entity, p measure.Program, measureID string, year int) ([]*membership.Columns, string, error)
	// YesNoVersion is a token that changes whenever any attestation or registry
	// engagement does ("" when the source cannot tell).
	YesNoVersion(ctx context.Context) (string, error)
	// Attestations returns the yes/no facts recorded about entity e.
	Attestations(ctx context.Context, e contract.Entity) ([]contract.Attestation, error)
	// Engagements returns the registry engagements recorded for entity e.
	Engagements(ctx context.Context, e contract.Entity) ([]contract.RegistryEngagement, error)
	// PaymentInputs returns entity e's payment inputs for a payment year, or nil.
	PaymentInputs(ctx context.Context, e contract.Entity, year int) (*contract.PaymentInputs, error)
}

// Op is what a change does.
type Op int

// The changes an event makes.
const (
	Skip Op = iota // nothing: an event type this package does not use
	AssertFact
	RetractFact
	PutAttestation
	DeleteAttestation
	PutEngagement
	DeleteEngagement
	PutPaymentInputs
	DeletePaymentInputs
)

// Change is one event decoded into what it does to the state.
type Change struct {
	Op          Op
	Fact        membership.Fact
	Attestation contract.Attestation
	Engagement  contract.RegistryEngagement
	Payment     contract.PaymentInputs
	// ID and Entity name the attestation, engagement or payment inputs put or deleted.
	ID     string
	Entity contract.Entity
	Data   []byte // the payload as published (put)
	Event  string // the event's ID
}

// Decode turns an event into the change it makes. A malformed event of a known type is
// an event.Permanent error (dead-lettered by the consumer, skipped by a recompute, so
// both agree); an unknown type is Skip.
func Decode(e event.Event) (Change, error) {
	c := Change{Event: e.ID}
	bad := func(err error) (Change, error) {
		return Change{}, event.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
	}
	switch e.Type {
	case contract.MeasureFactAsserted, contract.MeasureFactRetracted:
		var mf contract.MeasureFact
		if err := e.Decode(&mf); err != nil {
			return bad(err)
		}
		if err := checkFact(mf); err != nil {
			return bad(err)
		}
		c.Op, c.Fact = AssertFact, membership.FromContract(mf)
		if e.Type == contract.MeasureFactRetracted {
			c.Op = RetractFact
		}
	case contract.AttestationRecorded, contract.AttestationCorrected:
		if err := e.Decode(&c.Attestation); err != nil {
			return bad(err)
		}
		a := c.Attestation
		if a.AttestationID == "" {
			return bad(errs.Field(errs.Invalid, "attestation_id", "required"))
		}
		if err := ident.CheckEntity(a.Entity); err != nil {
			return bad(err)
		}
		c.Op, c.ID, c.Entity, c.Data = PutAttestation, a.AttestationID, a.Entity, e.Data
	case contract.AttestationDeleted:
		var ref contract.AttestationRef
		if err := e.Decode(&ref); err != nil {
			return bad(err)
		}
		if ref.AttestationID == "" {
			return bad(errs.Field(errs.Invalid, "attestation_id", "required"))
		}
		c.Op, c.ID, c.Entity = DeleteAttestation, ref.AttestationID, ref.Entity
	case contract.RegistryEngagementRecorded, contract.RegistryEngagementCorrected:
		if err := e.Decode(&c.Engagement); err != nil {
			return bad(err)
		}
		g := c.Engagement
		if g.RegistryEngagementID == "" {
			return bad(errs.Field(errs.Invalid, "registry_engagement_id", "required"))
		}
		if err := ident.CheckEntity(g.Entity); err != nil {
			return bad(err)
		}
		c.Op, c.ID, c.Entity, c.Data = PutEngagement, g.RegistryEngagementID, g.Entity, e.Data
	case contract.RegistryEngagementDeleted:
		var ref contract.RegistryEngagementRef
		if err := e.Decode(&ref); err != nil {
			return bad(err)
		}
		if ref.RegistryEngagementID == "" {
			return bad(errs.Field(errs.Invalid, "registry_engagement_id", "required"))
		}
		c.Op, c.ID, c.Entity = DeleteEngagement, ref.RegistryEngagementID, ref.Entity
	case contract.PaymentInputsRecorded, contract.PaymentInputsCorrected:
		if err := e.Decode(&c.Payment); err != nil {
			return bad(err)
		}
		p := c.Payment
		if p.PaymentInputsID == "" {
			return bad(errs.Field(errs.Invalid, "payment_inputs_id", "required"))
		}
		if err := ident.CheckEntity(p.Entity); err != nil {
			return bad(err)
		}
		if p.Year < 2000 || p.Year > 2100 {
			return bad(errs.Field(errs.Invalid, "year", "out of range"))
		}
		c.Op, c.ID, c.Entity, c.Data = PutPaymentInputs, p.PaymentInputsID, p.Entity, e.Data
	case contract.PaymentInputsDeleted:
		var ref contract.PaymentInputsRef
		if err := e.Decode(&ref); err != nil {
			return bad(err)
		}
		if ref.PaymentInputsID == "" {
			return bad(errs.Field(errs.Invalid, "payment_inputs_id", "required"))
		}
		c.Op, c.ID, c.Entity = DeletePaymentInputs, ref.PaymentInputsID, ref.Entity
	default:
		c.Op = Skip
	}
	return c, nil
}

func checkFact(mf contract.MeasureFact) error {
	if err := ident.CheckEntity(mf.Entity); err != nil {
		return err
	}
	switch {
	case mf.Entity.Kind == contract.EntityTIN:
		return errs.Field(errs.Invalid, "entity", "a group has no facts of its own")
	case mf.Program == "" || mf.Measure == "":
		return errs.Field(errs.Invalid, "measure", "program and measure are required")
	case mf.Year < 2000 || mf.Year > 2100:
		return errs.Field(errs.Invalid, "year", "out of range")
	case mf.PatientID == "":
		return errs.Field(errs.Invalid, "patient_id", "required")
	case mf.At.IsZero():
		return errs.Field(errs.Invalid, "at", "required")
	}
	switch membership.Role(mf.Role) {
	case membership.Denominator, membership.Numerator, membership.Access, membership.Gate:
	default:
		return errs.Field(errs.Invalid, "role", "unknown role %q", mf.Role)
	}
	return nil
}

// Handler applies the consumed events to a State.
type Handler struct {
	store *Store
	log   *slog.Logger
}

// NewHandler returns the consumer of Group writing to s.
func NewHandler(s *Store, log *slog.Logger) *Handler { return &Handler{store: s, log: log} }

// Handle applies one event exactly once.
func (h *Handler) Handle(ctx context.Context, e event.Event) error {
	return h.HandleBatch(ctx, []event.Event{e})
}

// HandleBatch applies events in one transaction: processed marks, facts, yes/no
// inputs, version bumps and positions.
func (h *Handler) HandleBatch(ctx context.Context, es []event.Event) error {
	return h.store.apply(ctx, es, func(e event.Event) {
		h.log.DebugContext(ctx, "ignoring event type", "type", e.Type, "id", e.ID)
	})
}

// Memory is the state held in memory: what a recompute rebuilds from the log.
type Memory struct {
	facts        map[membership.Series]map[string]membership.Fact
	attestations map[string]contract.Attestation
	engagements  map[string]contract.RegistryEngagement
	payments     map[string]contract.PaymentInputs
}

// NewMemory returns an empty state.
func NewMemory() *Memory {
	return &Memory{facts: map[membership.Series]map[string]membership.Fact{},
		attestations: map[string]contract.Attestation{}, engagements: map[string]contract.RegistryEngagement{},
		payments: map[string]contract.PaymentInputs{}}
}

// Apply applies one change, as the consumer does: asserting a held fact or retracting
// one not held changes nothing.
func (m *Memory) Apply(c Change) {
	switch c.Op {
	case AssertFact:
		s := c.Fact.Series()
		if m.facts[s] == nil {
			m.facts[s] = map[string]membership.Fact{}
		}
		if _, held := m.facts[s][c.Fact.Key()]; !held {
			m.facts[s][c.Fact.Key()] = c.Fact
		}
	case RetractFact:
		delete(m.facts[c.Fact.Series()], c.Fact.Key())
	case PutAttestation:
		m.attestations[c.ID] = c.Attestation
	case DeleteAttestation:
		delete(m.attestations, c.ID)
	case PutEngagement:
		m.engagements[c.ID] = c.Engagement
	case DeleteEngagement:
		delete(m.engagements, c.ID)
	case PutPaymentInputs:
		m.payments[c.ID] = c.Payment
	case DeletePaymentInputs:
		delete(m.payments, c.ID)
	}
}

// Facts implements Source.
func (m *Memory) Facts(_ context.Context, e contract.Entity, p measure.Program, measureID string, year int) ([][]membership.Fact, error) {
	var out [][]membership.Fact
	for s, held := range m.facts {
		if s.Program != p || s.Measure != measureID || s.Year != year || !Belongs(s.Entity, e) {
			continue
		}
		list := make([]membership.Fact, 0, len(held))
		for _, f := range held {
			list = append(list, f)
		}
		out = append(out, list)
	}
	return out, nil
}

// Columns implements Source: built on each call, without a token (a recompute does
// not keep what it computes).
func (m *Memory) Columns(ctx context.Context, e contract.Entity, p measure.Program, measureID string, year int) ([]*membership.Columns, string, error) {
	lists, err := m.Facts(ctx, e, p, measureID, year)
	if err != nil {
		return nil, "", err
	}
	out := make([]*membership.Columns, 0, len(lists))
	for _, l := range lists {
		c, err := membership.NewColumns(l)
		if err != nil {
			return nil, "", err
		}
		out = append(out, c)
	}
	return out, "", nil
}

// YesNoVersion implements Source: the state in memory has none.
func (m *Memory) YesNoVersion(context.Context) (string, error) { return "", nil }

// Attestations implements Source.
func (m *Memory) Attestations(_ context.Context, e contract.Entity) ([]contract.Attestation, error) {
	var out []contract.Attestation
	for _, a := range m.attestations {
		if a.Entity == e {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b contract.Attestation) int { return cmpString(a.AttestationID, b.AttestationID) })
	return out, nil
}

// Engagements implements Source.
func (m *Memory) Engagements(_ context.Context, e contract.Entity) ([]contract.RegistryEngagement, error) {
	var out []contract.RegistryEngagement
	for _, g := range m.engagements {
		if g.Entity == e {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b contract.RegistryEngagement) int {
		return cmpString(a.RegistryEngagementID, b.RegistryEngagementID)
	})
	return out, nil
}

// PaymentInputs implements Source. Records keeps one entry per entity and year; were
// there two, the lowest ID wins, as in Store.
func (m *Memory) PaymentInputs(_ context.Context, e contract.Entity, year int) (*contract.PaymentInputs, error) {
	var out *contract.PaymentInputs
	for id, p := range m.payments {
		if p.Entity == e && p.Year == year && (out == nil || id < out.PaymentInputsID) {
			out = &p
		}
	}
	return out, nil
}

// Len is how many facts the state holds.
func (m *Memory) Len() int {
	n := 0
	for _, held := range m.facts {
		n += len(held)
	}
	return n
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Belongs reports whether a series' entity fe is e, or for a group (TIN) one of its
// clinicians (tin_npi "TIN/NPI").
func Belongs(fe, e contract.Entity) bool {
	if e.Kind == contract.EntityTIN {
		return fe.Kind == contract.EntityTINNPI && len(fe.ID) > len(e.ID) && fe.ID[:len(e.ID)+1] == e.ID+"/"
	}
	return fe == e
}

// decodeAttestation reads a stored attestation payload.
func decodeAttestation(data string) (contract.Attestation, error) {
	var a contract.Attestation
	if err := json.Unmarshal([]byte(data), &a); err != nil {
		return a, fmt.Errorf("stored attestation: %w", err)
	}
	return a, nil
}

func decodeEngagement(data string) (contract.RegistryEngagement, error) {
	var g contract.RegistryEngagement
	if err := json.Unmarshal([]byte(data), &g); err != nil {
		return g, fmt.Errorf("stored registry engagement: %w", err)
	}
	return g, nil
}

func decodePaymentInputs(data string) (contract.PaymentInputs, error) {
	var p contract.PaymentInputs
	if err := json.Unmarshal([]byte(data), &p); err != nil {
		return p, fmt.Errorf("stored payment inputs: %w", err)
	}
	return p, nil
}

// nanos stores an instant as nanoseconds since the Unix epoch, nil for none.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}
