// Package fact derives per-patient facts about reporting entities from the domain
// events: for now, "patient P was seen by entity X on day D" from encounters. Facts are
// held with the number of events supporting them, so that a correction or deletion
// retracts a fact exactly when nothing supports it any more, and every change of a
// fact is published on metrics.fact.v1 through the outbox.
package fact

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
)

//go:embed migrations
var migrations embed.FS

// Migrations are the package's schema migrations, one folder per dialect.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the folder is embedded
	return sub
}

// Group is the consumer group that derives facts from records' events.
const Group = "metrics.records"

// Topics are the topics Group consumes.
var Topics = []string{contract.TopicEncounter}

const source = "metrics"

// Tables names one set of the package's tables.
type Tables struct {
	Encounters string // the facts each encounter supports
	Seen       string // the facts held, with their support
}

// The live tables, and those a replay rebuilds before swapping them in.
var (
	Live    = Tables{Encounters: "encounter_facts", Seen: "seen_facts"}
	Rebuild = Tables{Encounters: "rebuild_encounter_facts", Seen: "rebuild_seen_facts"}
)

// Deriver is the event handler that derives facts.
type Deriver struct {
	db      *store.DB
	t       Tables
	group   string
	publish bool
	loc     *time.Location // the time zone whose calendar days facts are dated in
	notify  func()
	log     *slog.Logger
	now     func() time.Time
}

// NewDeriver returns a Deriver writing to db's live tables. Days are calendar days in
// loc. notify is called after each commit that published facts.
func NewDeriver(db *store.DB, loc *time.Location, notify func(), log *slog.Logger) *Deriver {
	return &Deriver{db: db, t: Live, group: Group, publish: true, loc: loc, notify: notify, log: log, now: time.Now}
}

// Rebuilding returns a Deriver like d that writes the rebuild tables under group and
// publishes nothing: a replay fills them before swapping them in (see Swap).
func (d *Deriver) Rebuilding(group string) *Deriver {
	r := *d
	r.t, r.group, r.publish, r.notify = Rebuild, group, false, func() {}
	return &r
}

// key identifies one fact.
type key struct {
	entity    contract.Entity
	patientID string
	day       string
}

// Handle applies one records event exactly once: the processed-event mark, the fact
// changes and the published facts commit together.
func (d *Deriver) Handle(ctx context.Context, e event.Event) error {
	return d.HandleBatch(ctx, []event.Event{e})
}

// HandleBatch applies events in one transaction: one commit for the whole batch.
func (d *Deriver) HandleBatch(ctx context.Context, es []event.Event) error {
	published := 0
	err := d.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		published, err = d.applyAll(ctx, tx, es)
		return err
	})
	if err == nil && published > 0 {
		d.notify()
	}
	return err
}

// Alongside applies, within tx, the events of es on Topics, exactly once under the
// Deriver's own processed marks, and ignores the rest. It lets another consumer that
// reads those topics (the measure projection) keep the seen facts in its own
// transaction, so the service runs one consumer group and one commit fewer. The marks
// stay under the Deriver's group, so whichever consumer applied an event before, it is
// applied once. after, if not nil, is to be called once tx has committed.
func (d *Deriver) Alongside(ctx context.Context, tx *store.Tx, es []event.Event) (after func(), err error) {
	mine := make([]event.Event, 0, len(es))
	for _, e := range es {
		if slices.Contains(Topics, e.Topic) {
			mine = append(mine, e)
		}
	}
	if len(mine) == 0 {
		return nil, nil
	}
	published, err := d.applyAll(ctx, tx, mine)
	if err != nil || published == 0 {
		return nil, err
	}
	return d.notify, nil
}

// applyAll applies, within tx, each of es not applied before, marking it applied, and
// returns how many fact events it published.
func (d *Deriver) applyAll(ctx context.Context, tx *store.Tx, es []event.Event) (int, error) {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	first, err := outbox.ProcessedAll(ctx, tx, d.group, ids)
	if err != nil {
		return 0, err
	}
	published := 0
	for i, e := range es {
		if !first[i] {
			continue
		}
		n, err := d.apply(ctx, tx, e)
		if err != nil {
			return 0, err
		}
		published += n
	}
	return published, nil
}

// apply applies one event, not applied before, within tx and returns how many fact
// events it published.
func (d *Deriver) apply(ctx context.Context, tx *store.Tx, e event.Event) (int, error) {
	var (
		encounterID, patientID string
		want                   []key
	)
	switch e.Type {
	case contract.EncounterRecorded, contract.EncounterCorrected:
		var enc contract.Encounter
		if err := e.Decode(&enc); err != nil {
			return 0, err
		}
		if enc.EncounterID == "" || enc.PatientID == "" {
			return 0, event.Permanent(fmt.Errorf("%s %s: encounter_id and patient_id are required", e.Type, e.ID))
		}
		encounterID, patientID, want = enc.EncounterID, enc.PatientID, d.seenBy(enc)
	case contract.EncounterDeleted:
		var ref contract.EncounterRef
		if err := e.Decode(&ref); err != nil {
			return 0, err
		}
		encounterID, patientID = ref.EncounterID, ref.PatientID
	default:
		// A type added to the topic after this consumer was written: nothing to derive.
		d.log.DebugContext(ctx, "ignoring event type", "type", e.Type, "id", e.ID)
		return 0, nil
	}
	return d.reconcile(ctx, tx, e, encounterID, patientID, want)
}

// seenBy lists the entities that saw the patient in enc: the rendering clinician, the
// clinician within the billing group, the group, and the hospital.
func (d *Deriver) seenBy(enc contract.Encounter) []key {
	day := enc.Start.In(d.loc).Format(time.DateOnly)
	var ents []contract.Entity
	if enc.RenderingNPI != "" {
		ents = append(ents, contract.Entity{Kind: contract.EntityNPI, ID: enc.RenderingNPI})
		if enc.BillingTIN != "" {
			ents = append(ents,
				contract.Entity{Kind: contract.EntityTINNPI, ID: enc.BillingTIN + "/" + enc.RenderingNPI},
				contract.Entity{Kind: contract.EntityTIN, ID: enc.BillingTIN})
		}
	}
	if enc.CCN != "" {
		ents = append(ents, contract.Entity{Kind: contract.EntityCCN, ID: enc.CCN})
	}
	out := make([]key, len(ents))
	for i, ent := range ents {
		out[i] = key{ent, enc.PatientID, day}
	}
	return out
}

// reconcile makes the facts an encounter supports equal want, adjusting support
// counts and publishing each fact that becomes true or stops being true. It returns
// how many fact events it published.
func (d *Deriver) reconcile(ctx context.Context, tx *store.Tx, cause event.Event, encounterID, patientID string, want []key) (int, error) {
	have, err := d.supported(ctx, tx, encounterID, patientID)
	if err != nil {
		return 0, err
	}
	wantSet := make(map[key]bool, len(want))
	for _, k := range want {
		wantSet[k] = true
	}
	var gone []key
	for k := range have {
		if !wantSet[k] {
			gone = append(gone, k)
		}
	}
	// Retract in a fixed order, so that replaying the same events publishes the same facts.
	slices.SortFunc(gone, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.entity.String(), b.entity.String()), cmp.Compare(a.day, b.day))
	})
	var events []event.Event
	for _, k := range gone {
		if err := d.exec(ctx, tx, `DELETE FROM %s WHERE encounter_id = ? AND entity_kind = ?
			AND entity_id = ? AND day = ?`, encounterID, k.entity.Kind, k.entity.ID, k.day); err != nil {
			return 0, fmt.Errorf("drop encounter fact: %w", err)
		}
		gone, err := d.adjust(ctx, tx, k, -1)
		if err != nil {
			return 0, err
		}
		if gone {
			ev, err := d.factEvent(contract.FactRetracted, k, cause)
			if err != nil {
				return 0, err
			}
			events = append(events, ev)
		}
	}
	for _, k := range want {
		if have[k] {
			continue
		}
		have[k] = true // a key listed twice in want counts once
		if err := d.exec(ctx, tx, `INSERT INTO %s (encounter_id, patient_id, entity_kind,
			entity_id, day) VALUES (?, ?, ?, ?, ?)`, encounterID, k.patientID, k.entity.Kind, k.entity.ID, k.day); err != nil {
			return 0, fmt.Errorf("add encounter fact: %w", err)
		}
		born, err := d.adjust(ctx, tx, k, +1)
		if err != nil {
			return 0, err
		}
		if born {
			ev, err := d.factEvent(contract.FactAsserted, k, cause)
			if err != nil {
				return 0, err
			}
			events = append(events, ev)
		}
	}
	if len(events) == 0 || !d.publish {
		return 0, nil
	}
	ms := make([]outbox.Message, len(events))
	for i, e := range events {
		ms[i] = outbox.Message{Topic: contract.TopicFact, Event: e}
	}
	return len(events), outbox.AddAll(ctx, tx, ms)
}

// supported returns the facts an encounter supports now.
func (d *Deriver) supported(ctx context.Context, tx *store.Tx, encounterID, patientID string) (map[key]bool, error) {
	st, err := tx.Prepare(ctx, fmt.Sprintf(`SELECT entity_kind, entity_id, day FROM %s WHERE encounter_id = ?`, d.t.Encounters))
	if err != nil {
		return nil, fmt.Errorf("load encounter facts: %w", err)
	}
	rows, err := st.QueryContext(ctx, encounterID)
	if err != nil {
		return nil, fmt.Errorf("load encounter facts: %w", err)
	}
	defer rows.Close()
	have := map[key]bool{}
	for rows.Next() {
		k := key{patientID: patientID}
		if err := rows.Scan(&k.entity.Kind, &k.entity.ID, &k.day); err != nil {
			return nil, fmt.Errorf("scan encounter fact: %w", err)
		}
		have[k] = true
	}
	return have, rows.Err()
}

// adjust changes a fact's support by delta (+1 or -1) and reports whether the fact
// changed between held and not held. One statement adds support (an upsert that
// returns the new count), one or two take it away (an update that returns it, and the
// delete when it reaches zero), where reading the count first took one more.
func (d *Deriver) adjust(ctx context.Context, tx *store.Tx, k key, delta int) (changed bool, err error) {
	var query string
	switch delta {
	case +1:
		query = `INSERT INTO %[1]s (entity_kind, entity_id, patient_id, day, support) VALUES (?, ?, ?, ?, 1)
			ON CONFLICT (entity_kind, entity_id, patient_id, day) DO UPDATE SET support = %[1]s.support + 1
			RETURNING support`
	case -1:
		query = `UPDATE %[1]s SET support = support - 1 WHERE entity_kind = ? AND entity_id = ? AND patient_id = ?
			AND day = ? RETURNING support`
	default:
		return false, fmt.Errorf("fact support changes by one, not %d", delta)
	}
	st, err := tx.Prepare(ctx, fmt.Sprintf(query, d.t.Seen))
	if err != nil {
		return false, fmt.Errorf("write fact support: %w", err)
	}
	var next int
	err = st.QueryRowContext(ctx, k.entity.Kind, k.entity.ID, k.patientID, k.day).Scan(&next)
	switch {
	case errors.Is(err, sql.ErrNoRows): // only an update finds no row
		return false, fmt.Errorf("fact support below zero for entity %s", k.entity)
	case err != nil:
		return false, fmt.Errorf("write fact support: %w", err)
	case next < 0:
		return false, fmt.Errorf("fact support below zero for entity %s", k.entity)
	case next == 0:
		if err := d.seen(ctx, tx, `DELETE FROM %s WHERE entity_kind = ? AND entity_id = ?
			AND patient_id = ? AND day = ?`, k.entity.Kind, k.entity.ID, k.patientID, k.day); err != nil {
			return false, fmt.Errorf("write fact support: %w", err)
		}
	}
	// Held before and after unless the count went 0 -> 1 or 1 -> 0.
	return delta == +1 && next == 1 || next == 0, nil
}

// exec runs a statement on the encounters table (its %s), prepared once per connection.
func (d *Deriver) exec(ctx context.Context, tx *store.Tx, query string, args ...any) error {
	return execPrepared(ctx, tx, fmt.Sprintf(query, d.t.Encounters), args...)
}

// seen runs a statement on the seen facts table (its %s), prepared once per connection.
func (d *Deriver) seen(ctx context.Context, tx *store.Tx, query string, args ...any) error {
	return execPrepared(ctx, tx, fmt.Sprintf(query, d.t.Seen), args...)
}

func execPrepared(ctx context.Context, tx *store.Tx, query string, args ...any) error {
	st, err := tx.Prepare(ctx, query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

func (d *Deriver) factEvent(typ string, k key, cause event.Event) (event.Event, error) {
	day, err := time.ParseInLocation(time.DateOnly, k.day, d.loc)
	if err != nil {
		return event.Event{}, fmt.Errorf("fact day: %w", err)
	}
	return event.New(typ, source, k.patientID, day, d.now(), contract.Fact{
		Kind: contract.FactSeen, Entity: k.entity, PatientID: k.patientID, Day: k.day, Because: cause.ID,
	})
}
