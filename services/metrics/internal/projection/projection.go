// Package projection keeps the metrics service's per-patient state from the event
// stream: every input the measures read (package timeline) and the membership facts
// derived from it (package membership). A Projector is the consumer: it applies a
// batch of events in one transaction — the processed-event marks, the items, the
// patients' refreshed facts and the published fact changes commit together — so the
// state is exact under redelivery, and the facts of a patient always equal what a
// from-scratch derivation of their current items gives.
package projection

import (
	"cmp"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/measure/timeline"
)

//go:embed migrations
var migrations embed.FS

// Migrations are the package's schema migrations, one folder per dialect.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the folder is embedded
	return sub
}

// Group is the consumer group that keeps the projection.
const Group = "metrics.measures"

// Topics are the topics Group consumes: records' patient-keyed inputs, messaging's
// messages and education's provisions.
func Topics() []string { return timeline.Topics() }

// source is the ce_source of the events the projection publishes.
const source = "metrics"

// State is the projection's storage as one transaction sees it.
type State interface {
	// Processed records that the events were applied; first[i] is false when
	// eventIDs[i] already was (or appeared earlier in eventIDs).
	Processed(ctx context.Context, eventIDs []string) (first []bool, err error)
	// Put stores an item, replacing the one of the same kind and ID.
	Put(ctx context.Context, it timeline.Item) error
	// Delete removes the item of it's kind and ID, if held.
	Delete(ctx context.Context, it timeline.Item) error
	// Items lists a patient's items.
	Items(ctx context.Context, patientID string) ([]timeline.Item, error)
	// Facts lists a patient's membership facts.
	Facts(ctx context.Context, patientID string) ([]membership.Fact, error)
	// Assert adds facts not held; Retract removes facts held.
	Assert(ctx context.Context, fs []membership.Fact) error
	Retract(ctx context.Context, fs []membership.Fact) error
	// Publish queues events for publication when the transaction commits.
	Publish(ctx context.Context, es []event.Event) error
	// Bump marks the series whose facts changed, so that readers holding them know.
	Bump(ctx context.Context, series []membership.Series) error
	// Alongside hands the whole batch to the state kept beside the projection in the
	// same transaction (the seen facts; see SQL.WithAlongside), which applies what it
	// reads exactly once under its own marks.
	Alongside(ctx context.Context, es []event.Event) error
}

// Store runs transactions on the projection's state.
type Store interface {
	// InTx runs fn in one transaction: everything fn did commits if it returns nil,
	// nothing otherwise.
	InTx(ctx context.Context, fn func(State) error) error
}

// Projector is the event handler that keeps the projection.
type Projector struct {
	store  Store
	derive *membership.Deriver
	notify func(patients []string)
	log    *slog.Logger
	now    func() time.Time
}

// NewProjector returns a Projector on store. notify, if not nil, is called after each
// commit with the patients whose facts changed.
func NewProjector(store Store, d *membership.Deriver, notify func(patients []string), log *slog.Logger) *Projector {
	if notify == nil {
		notify = func([]string) {}
	}
	return &Projector{store: store, derive: d, notify: notify, log: log, now: time.Now}
}

// Handle applies one event exactly once.
func (p *Projector) Handle(ctx context.Context, e event.Event) error {
	return p.HandleBatch(ctx, []event.Event{e})
}

// HandleBatch applies events in one transaction, in order, then refreshes the facts of
// every patient they touched.
func (p *Projector) HandleBatch(ctx context.Context, es []event.Event) error {
	var changed []string
	err := p.store.InTx(ctx, func(st State) error {
		changed = changed[:0]
		touched, err := p.apply(ctx, st, es)
		if err != nil {
			return err
		}
		if err := st.Alongside(ctx, es); err != nil {
			return err
		}
		series := map[membership.Series]bool{}
		for _, id := range touched {
			n, err := p.refresh(ctx, st, id, series)
			if err != nil {
				return err
			}
			if n > 0 {
				changed = append(changed, id)
			}
		}
		if len(series) == 0 {
			return nil
		}
		keys := slices.SortedFunc(maps.Keys(series), func(a, b membership.Series) int {
			return cmp.Or(cmp.Compare(a.Entity.String(), b.Entity.String()), cmp.Compare(a.Program, b.Program),
				cmp.Compare(a.Measure, b.Measure), cmp.Compare(a.Year, b.Year))
		})
		return st.Bump(ctx, keys)
	})
	if err == nil && len(changed) > 0 {
		p.notify(changed)
	}
	return err
}

// apply applies each event not applied before to the items, and returns the patients
// touched, in first-touched order.
func (p *Projector) apply(ctx context.Context, st State, es []event.Event) ([]string, error) {
	seen := map[string]bool{}
	var touched []string
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	first, err := st.Processed(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i, e := range es {
		if !first[i] {
			continue
		}
		c, ok, err := timeline.Decode(e)
		if err != nil {
			return nil, err
		}
		if !ok {
			// A type the projection does not read (a read receipt, a type added later).
			p.log.DebugContext(ctx, "ignoring event type", "type", e.Type, "id", e.ID)
			continue
		}
		if c.Delete {
			err = st.Delete(ctx, c.Item)
		} else {
			err = st.Put(ctx, c.Item)
		}
		if err != nil {
			return nil, err
		}
		if !seen[c.Item.Patient] {
			seen[c.Item.Patient] = true
			touched = append(touched, c.Item.Patient)
		}
	}
	return touched, nil
}

// refresh makes a patient's facts equal to those derived from their items, publishes
// each change and adds the changed facts' series to series. It returns how many facts
// changed.
func (p *Projector) refresh(ctx context.Context, st State, patientID string, series map[membership.Series]bool) (int, error) {
	items, err := st.Items(ctx, patientID)
	if err != nil {
		return 0, err
	}
	t, err := timeline.Build(patientID, items)
	if err != nil {
		return 0, err
	}
	have, err := st.Facts(ctx, patientID)
	if err != nil {
		return 0, err
	}
	assert, retract := membership.Diff(have, p.derive.Derive(t))
	if len(assert)+len(retract) == 0 {
		return 0, nil
	}
	if err := st.Retract(ctx, retract); err != nil {
		return 0, err
	}
	if err := st.Assert(ctx, assert); err != nil {
		return 0, err
	}
	for _, fs := range [][]membership.Fact{assert, retract} {
		for _, f := range fs {
			series[f.Series()] = true
		}
	}
	es, err := Events(p.now(), retract, assert)
	if err != nil {
		return 0, err
	}
	return len(es), st.Publish(ctx, es)
}

// Events are the events that publish fact changes: the retractions, then the
// assertions, each in the order given, recorded at now.
func Events(now time.Time, retracted, asserted []membership.Fact) ([]event.Event, error) {
	es := make([]event.Event, 0, len(retracted)+len(asserted))
	for _, batch := range []struct {
		typ   string
		facts []membership.Fact
	}{{contract.MeasureFactRetracted, retracted}, {contract.MeasureFactAsserted, asserted}} {
		for _, f := range batch.facts {
			e, err := event.New(batch.typ, source, f.Patient, f.At, now, Contract(f))
			if err != nil {
				return nil, fmt.Errorf("fact event: %w", err)
			}
			es = append(es, e)
		}
	}
	return es, nil
}

// Contract is a fact as the contract publishes it.
func Contract(f membership.Fact) contract.MeasureFact {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		u := t.UTC()
		return &u
	}
	return contract.MeasureFact{Entity: f.Entity, Program: string(f.Program), Measure: f.Measure, Year: f.Year,
		PatientID: f.Patient, Object: f.Object, Role: string(f.Role), Ref: f.Ref, For: f.For, Channel: string(f.Channel),
		At: f.At.UTC(), Until: opt(f.Until), Start: opt(f.Start), Deadline: opt(f.Deadline), Controlled: f.Controlled,
		Anytime: f.Anytime, Out: f.Out, Because: f.Because}
}
