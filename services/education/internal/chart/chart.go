// Package chart keeps the education service's projection of each patient's record
// from records' events: active problems, active medications and recent results, as
// codes only. Matching reads it; a Hook is told, inside the projection's transaction,
// when a code becomes relevant for a patient, so suggestions commit with the fact
// that caused them.
package chart

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
	"github.com/attest-ehr/attest/services/education/internal/match"
)

// Group is the consumer group that keeps the projection.
const Group = "education.chart"

// Topics are the topics Group consumes: the record's entries, and patients for
// deletions.
var Topics = []string{contract.TopicProblem, contract.TopicMed, contract.TopicResult, contract.TopicPatient}

// DefaultRecent is how long a result stays relevant by default.
const DefaultRecent = 90 * 24 * time.Hour

// Statuses that make an entry relevant.
var (
	activeProblem    = map[string]bool{"active": true, "recurrence": true, "relapse": true}
	activeMedication = map[string]bool{"active": true}
	// A result counts unless it was cancelled or entered in error.
	voidResult = map[string]bool{"cancelled": true, "entered-in-error": true}
	// Interpretations that are not abnormal (HL7 v3 ObservationInterpretation).
	normalInterpretation = map[string]bool{"": true, "N": true}
)

// Hook is told when a code becomes relevant for a patient: a problem or medication
// that became active, or a result that arrived within the recent window. It runs in
// the projection's transaction; an error rolls the event back, to be retried. A hook
// must not read the projection's tables: within a batch it is told after the
// batch's entries are written (see HandleBatch).
type Hook interface {
	Fact(ctx context.Context, tx *store.Tx, patientID string, f match.Fact) error
	// Forget removes what the hook holds about a patient records deleted.
	Forget(ctx context.Context, tx *store.Tx, patientID string) error
}

// PatientFact is a fact that became relevant for a patient.
type PatientFact struct {
	PatientID string
	Fact      match.Fact
}

// A BatchHook is a Hook that can be told a batch's facts at once, so that what it
// writes costs a few statements per batch rather than per fact. BatchFacts must have
// the effect of Fact on each of fs in turn.
type BatchHook interface {
	Hook
	BatchFacts(ctx context.Context, tx *store.Tx, fs []PatientFact) error
}

// Querier is what reads the projection: the database or a transaction.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Projection is the projection and its event handler.
type Projection struct {
	db     *store.DB
	recent time.Duration
	hook   Hook   // nil: nobody is told
	notify func() // wakes the outbox relay after a commit: the hook may have added events
	log    *slog.Logger
	now    func() time.Time
}

// New returns the projection in db. Results effective within recent (default
// DefaultRecent) count; hook, if not nil, is told of new relevant codes, and notify
// is called after each commit.
func New(db *store.DB, recent time.Duration, hook Hook, notify func(), log *slog.Logger) *Projection {
	if recent <= 0 {
		recent = DefaultRecent
	}
	if notify == nil {
		notify = func() {}
	}
	return &Projection{db: db, recent: recent, hook: hook, notify: notify, log: log, now: time.Now}
}

// Handle applies one records event exactly once: the processed-event mark, the
// projection change and whatever the hook writes commit together.
func (p *Projection) Handle(ctx context.Context, e event.Event) error {
	return p.HandleBatch(ctx, []event.Event{e})
}

// HandleBatch applies events in one transaction, each exactly once, in order: the
// same effect as Handle on each, at the cost of one commit and a few statements for
// the whole batch — one multi-row INSERT for the processed-event marks, one read of
// the entries the batch touches, one multi-row upsert (and one DELETE) per table —
// instead of three statements per event. The hook is told the facts in event order,
// all at once if it is a BatchHook, once the entries are written (and before a
// patient deletion is applied). An error rolls back the whole batch. It makes
// Projection an event.BatchHandler: event.Consume hands it up to MaxBatch events at
// once.
func (p *Projection) HandleBatch(ctx context.Context, es []event.Event) error {
	err := p.db.InTx(ctx, func(tx *store.Tx) error {
		if err := customPlans(ctx, tx); err != nil {
			return err
		}
		fresh, err := markProcessed(ctx, tx, es)
		if err != nil {
			return err
		}
		var ops []op
		for _, e := range es {
			if !fresh[e.ID] {
				continue
			}
			delete(fresh, e.ID) // an event repeated within the batch is applied once
			o, err := p.decodeOp(ctx, e)
			if err != nil {
				return err // as it is: it may be Permanent, and the consumer logs which event
			}
			ops = append(ops, o)
		}
		b := &batch{p: p, rows: map[*table]map[string]*row{}, dirty: map[*table]map[string]bool{}}
		if err := b.load(ctx, tx, ops); err != nil {
			return err
		}
		for _, o := range ops {
			if err := b.apply(ctx, tx, o); err != nil {
				return err
			}
		}
		if err := b.flush(ctx, tx); err != nil {
			return err
		}
		return b.tellAll(ctx, tx)
	})
	if err == nil {
		p.notify()
	}
	return err
}

// customPlans makes PostgreSQL plan the batch's statements for their actual
// arguments. pgx prepares each statement once per connection, and after five runs
// PostgreSQL may switch to a generic plan made from the table statistics of that
// moment: for a projection that starts empty, a sequential scan, which then reads
// the whole table for every batch until autovacuum next analyzes it (measured: the
// batch's read of its entries grew from ~2 ms to ~28 ms as the tables grew to 60,000
// rows). One SET LOCAL per batch avoids that; it holds for the hook's statements too.
func customPlans(ctx context.Context, tx *store.Tx) error {
	if tx.Dialect() != store.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
		return fmt.Errorf("plan the batch's statements: %w", err)
	}
	return nil
}

// markRows bounds the rows of one multi-row statement: two to seven parameters a
// row stays far below both engines' limits on bound parameters.
const markRows = 500

// markProcessed records, as outbox.Processed does one by one, that Group applied
// each event, and returns the IDs recorded now: the events not applied before.
func markProcessed(ctx context.Context, tx *store.Tx, es []event.Event) (map[string]bool, error) {
	fresh := make(map[string]bool, len(es))
	for start := 0; start < len(es); start += markRows {
		chunk := es[start:min(start+markRows, len(es))]
		ids := make([]string, len(chunk))
		for i, e := range chunk {
			if e.ID == "" {
				return nil, errs.E(errs.Invalid, "chart: event %d of the batch (%s) has no ID", start+i, e.Type)
			}
			ids[i] = e.ID
		}
		var (
			q    string
			args []any
		)
		if tx.Dialect() == store.Postgres {
			q, args = `INSERT INTO processed_events (consumer, event_id) SELECT ?, unnest(?::text[])`, []any{Group, ids}
		} else {
			q = `INSERT INTO processed_events (consumer, event_id) VALUES ` + tuples(len(ids), 2)
			for _, id := range ids {
				args = append(args, Group, id)
			}
		}
		rows, err := tx.QueryContext(ctx, q+` ON CONFLICT DO NOTHING RETURNING event_id`, args...)
		if err != nil {
			return nil, fmt.Errorf("record %d events as processed: %w", len(chunk), err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("record events as processed: %w", err)
			}
			fresh[id] = true
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("record events as processed: %w", err)
		}
	}
	return fresh, nil
}

// in is the condition "col is one of ids" with its arguments. On PostgreSQL it is
// one array parameter, "col = ANY(?)": the statement's text, and so the prepared
// statement pgx caches for it, is the same whatever the number of IDs, where a list
// of parameters would be parsed and planned anew for each length.
func in(d store.Dialect, col string, ids []string) (string, []any) {
	if d == store.Postgres {
		return col + ` = ANY(?::text[])`, []any{ids}
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return col + ` IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + `)`, args
}

// tuples is n parenthesised groups of width placeholders, for a multi-row VALUES.
func tuples(n, width int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
}

// table is one of the projection's tables.
type table struct {
	name, key, source string
	relevant          func(status string) bool // whether an entry in status counts for matching
}

var (
	problems    = &table{"chart_problems", "problem_id", match.SourceProblem, func(s string) bool { return activeProblem[s] }}
	medications = &table{"chart_medications", "medication_id", match.SourceMedication, func(s string) bool { return activeMedication[s] }}
	results     = &table{"chart_results", "result_id", match.SourceResult, func(s string) bool { return !voidResult[s] }}
	tables      = []*table{problems, medications, results}
)

// opKind is what an event does to the projection.
type opKind int

const (
	opIgnore opKind = iota // not the chart's (patient registrations and updates)
	opUpsert               // a problem, medication or result recorded or corrected
	opRemove               // an entry deleted
	opForget               // a patient deleted
)

// op is one event, decoded.
type op struct {
	kind      opKind
	t         *table
	id        string
	patientID string
	r         row
}

// row is an entry as the projection holds it. Only what deciding on the hook needs
// is read back from the database (patient, code, status); upserts write every column.
type row struct {
	present        bool
	patientID      string
	code           contract.Code
	status         string
	interpretation string    // results only
	effective      time.Time // results only
}

// decodeOp reads an event into what it does to the projection.
func (p *Projection) decodeOp(ctx context.Context, e event.Event) (op, error) {
	switch e.Type {
	case contract.ProblemRecorded, contract.ProblemCorrected:
		var v contract.Problem
		if err := decode(e, &v, func() (string, string, contract.Code) { return v.ProblemID, v.PatientID, v.Code }); err != nil {
			return op{}, err
		}
		return upsertOp(problems, v.ProblemID, row{patientID: v.PatientID, code: v.Code, status: v.Status}), nil
	case contract.MedicationRecorded, contract.MedicationCorrected:
		var v contract.Medication
		if err := decode(e, &v, func() (string, string, contract.Code) { return v.MedicationID, v.PatientID, v.Code }); err != nil {
			return op{}, err
		}
		return upsertOp(medications, v.MedicationID, row{patientID: v.PatientID, code: v.Code, status: v.Status}), nil
	case contract.ResultRecorded, contract.ResultCorrected:
		var v contract.Result
		if err := decode(e, &v, func() (string, string, contract.Code) { return v.ResultID, v.PatientID, v.Code }); err != nil {
			return op{}, err
		}
		return upsertOp(results, v.ResultID, row{patientID: v.PatientID, code: v.Code, status: v.Status,
			interpretation: v.Interpretation, effective: v.Effective.UTC()}), nil
	case contract.ProblemDeleted:
		var v contract.ProblemRef
		return removeOp(e, &v, problems, func() string { return v.ProblemID })
	case contract.MedicationDeleted:
		var v contract.MedicationRef
		return removeOp(e, &v, medications, func() string { return v.MedicationID })
	case contract.ResultDeleted:
		var v contract.ResultRef
		return removeOp(e, &v, results, func() string { return v.ResultID })
	case contract.PatientDeleted:
		var v contract.PatientRef
		if err := e.Decode(&v); err != nil {
			return op{}, err
		}
		return op{kind: opForget, patientID: v.PatientID}, nil
	default:
		// Patient registrations and updates are the directory's; types added later are
		// additive. Neither changes the chart.
		p.log.DebugContext(ctx, "ignoring event type", "type", e.Type, "id", e.ID)
		return op{kind: opIgnore}, nil
	}
}

func upsertOp(t *table, id string, r row) op {
	r.present, r.code = true, canonical(r.code)
	return op{kind: opUpsert, t: t, id: id, patientID: r.patientID, r: r}
}

// decode reads e's payload into v and checks that the entry ID, patient ID and code
// that fields returns from it are present: an entry without them is unusable.
func decode(e event.Event, v any, fields func() (id, patientID string, code contract.Code)) error {
	if err := e.Decode(v); err != nil {
		return err
	}
	id, patientID, code := fields()
	if id == "" || patientID == "" || code.System == "" || code.Code == "" {
		return event.Permanent(fmt.Errorf("%s %s: the entry ID, patient_id and code are required", e.Type, e.ID))
	}
	return nil
}

// removeOp reads a deletion event.
func removeOp(e event.Event, ref any, t *table, id func() string) (op, error) {
	if err := e.Decode(ref); err != nil {
		return op{}, err
	}
	if id() == "" {
		return op{}, event.Permanent(fmt.Errorf("%s %s: the entry ID is required", e.Type, e.ID))
	}
	return op{kind: opRemove, t: t, id: id()}, nil
}

// canonical is a code in the catalog's canonical form (ICD-10-CM with its dot, systems
// as FHIR URIs), so "E1165" from one source matches "E11.65" from another. A code the
// catalog cannot read is kept as it came: it matches nothing.
func canonical(c contract.Code) contract.Code {
	if n, err := catalog.NormalizeCode("code", c); err == nil {
		return n
	}
	return c
}

// batch is the projection's entries a batch touches, in memory: loaded once, changed
// event by event (so each event sees what the earlier ones did, as if applied one by
// one), and written back at the end, or before a patient deletion, which deletes in
// the database directly.
type batch struct {
	p     *Projection
	rows  map[*table]map[string]*row // by entry ID; absent rows too (present false)
	dirty map[*table]map[string]bool // entries changed since the last flush
	facts []PatientFact              // for the hook, in event order, not yet told
}

// load reads the current state of every entry ops touch.
func (b *batch) load(ctx context.Context, tx *store.Tx, ops []op) error {
	ids := map[*table][]string{}
	for _, o := range ops {
		if o.t == nil {
			continue
		}
		if b.rows[o.t] == nil {
			b.rows[o.t], b.dirty[o.t] = map[string]*row{}, map[string]bool{}
		}
		if _, seen := b.rows[o.t][o.id]; !seen {
			b.rows[o.t][o.id] = &row{} // absent unless the database has it
			ids[o.t] = append(ids[o.t], o.id)
		}
	}
	// One query for the three tables (per markRows entries of each): a round trip is
	// what a loaded database server makes a batch wait for.
	for start := 0; ; start += markRows {
		var (
			parts []string
			args  []any
		)
		for i, t := range tables {
			if start >= len(ids[t]) {
				continue
			}
			cond, a := in(tx.Dialect(), t.key, ids[t][start:min(start+markRows, len(ids[t]))])
			parts = append(parts, fmt.Sprintf(`SELECT %d, %s, patient_id, system, code, status FROM %s WHERE %s`,
				i, t.key, t.name, cond))
			args = append(args, a...)
		}
		if len(parts) == 0 {
			return nil
		}
		if err := b.loadRows(ctx, tx, strings.Join(parts, ` UNION ALL `), args); err != nil {
			return err
		}
	}
}

func (b *batch) loadRows(ctx context.Context, tx *store.Tx, query string, args []any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("load the chart entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			i  int
			id string
		)
		r := row{present: true}
		if err := rows.Scan(&i, &id, &r.patientID, &r.code.System, &r.code.Code, &r.status); err != nil {
			return fmt.Errorf("load the chart entries: %w", err)
		}
		*b.rows[tables[i]][id] = r
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load the chart entries: %w", err)
	}
	return nil
}

// apply applies one event to the batch's entries and tells the hook what became
// relevant: a problem or medication new and active, activated, or recoded while
// active; a recent result arriving or recoded.
func (b *batch) apply(ctx context.Context, tx *store.Tx, o op) error {
	switch o.kind {
	case opUpsert:
		old := *b.rows[o.t][o.id]
		*b.rows[o.t][o.id] = o.r
		b.dirty[o.t][o.id] = true
		sameCode := old.present && old.code == o.r.code
		if o.t == results {
			recent := !o.r.effective.Before(b.p.now().Add(-b.p.recent))
			if !o.t.relevant(o.r.status) || !recent || sameCode {
				return nil
			}
			b.tell(o.patientID, match.Fact{Code: o.r.code, Source: match.SourceResult,
				Abnormal: !normalInterpretation[o.r.interpretation]})
			return nil
		}
		if !o.t.relevant(o.r.status) || sameCode && o.t.relevant(old.status) {
			return nil
		}
		b.tell(o.patientID, match.Fact{Code: o.r.code, Source: o.t.source})
		return nil
	case opRemove:
		*b.rows[o.t][o.id] = row{}
		b.dirty[o.t][o.id] = true
		return nil
	case opForget:
		return b.forget(ctx, tx, o.patientID)
	}
	return nil
}

// tell queues a fact for the hook.
func (b *batch) tell(patientID string, f match.Fact) {
	if b.p.hook != nil {
		b.facts = append(b.facts, PatientFact{PatientID: patientID, Fact: f})
	}
}

// tellAll tells the hook the queued facts.
func (b *batch) tellAll(ctx context.Context, tx *store.Tx) error {
	fs := b.facts
	b.facts = nil
	if len(fs) == 0 {
		return nil
	}
	if bh, ok := b.p.hook.(BatchHook); ok {
		return bh.BatchFacts(ctx, tx, fs)
	}
	for _, f := range fs {
		if err := b.p.hook.Fact(ctx, tx, f.PatientID, f.Fact); err != nil {
			return err
		}
	}
	return nil
}

// forget removes everything the projection holds about a deleted patient: what the
// batch changed so far is written, and told, first, so the deletion sees it.
func (b *batch) forget(ctx context.Context, tx *store.Tx, patientID string) error {
	if err := b.flush(ctx, tx); err != nil {
		return err
	}
	if err := b.tellAll(ctx, tx); err != nil {
		return err
	}
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t.name+` WHERE patient_id = ?`, patientID); err != nil {
			return fmt.Errorf("forget patient in %s: %w", t.name, err)
		}
		for _, r := range b.rows[t] {
			if r.present && r.patientID == patientID {
				*r = row{}
			}
		}
	}
	if b.p.hook == nil {
		return nil
	}
	return b.p.hook.Forget(ctx, tx, patientID)
}

// flush writes the changed entries: per table, one multi-row upsert of those present
// and one DELETE of those removed (per markRows entries), in ID order.
func (b *batch) flush(ctx context.Context, tx *store.Tx) error {
	for _, t := range tables {
		var upserts, deletes []string
		for id := range b.dirty[t] {
			if b.rows[t][id].present {
				upserts = append(upserts, id)
			} else {
				deletes = append(deletes, id)
			}
		}
		slices.Sort(upserts)
		slices.Sort(deletes)
		for start := 0; start < len(upserts); start += markRows {
			if err := b.upsert(ctx, tx, t, upserts[start:min(start+markRows, len(upserts))]); err != nil {
				return err
			}
		}
		for start := 0; start < len(deletes); start += markRows {
			cond, args := in(tx.Dialect(), t.key, deletes[start:min(start+markRows, len(deletes))])
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t.name+` WHERE `+cond, args...); err != nil {
				return fmt.Errorf("delete from %s: %w", t.name, err)
			}
		}
		clear(b.dirty[t])
	}
	return nil
}

// upsert writes entries ids of t, all present, in one statement: a multi-row VALUES
// on SQLite, one array parameter per column (unnest) on PostgreSQL, for the reason
// given at in.
func (b *batch) upsert(ctx context.Context, tx *store.Tx, t *table, ids []string) error {
	cols := `patient_id, system, code, status`
	set := `patient_id = excluded.patient_id, system = excluded.system, code = excluded.code, status = excluded.status`
	width := 5
	if t == results {
		cols += `, interpretation, effective`
		set += `, interpretation = excluded.interpretation, effective = excluded.effective`
		width = 7
	}
	var (
		values string
		args   []any
	)
	if tx.Dialect() == store.Postgres {
		var patients, systems, codes, statuses, interpretations []string
		var effective []time.Time
		for _, id := range ids {
			r := b.rows[t][id]
			patients, systems = append(patients, r.patientID), append(systems, r.code.System)
			codes, statuses = append(codes, r.code.Code), append(statuses, r.status)
			interpretations, effective = append(interpretations, r.interpretation), append(effective, r.effective)
		}
		values = `SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[]`
		args = []any{ids, patients, systems, codes, statuses}
		if t == results {
			values += `, ?::text[], ?::timestamptz[]`
			args = append(args, interpretations, effective)
		}
		values += `)`
	} else {
		values = `VALUES ` + tuples(len(ids), width)
		args = make([]any, 0, width*len(ids))
		for _, id := range ids {
			r := b.rows[t][id]
			args = append(args, id, r.patientID, r.code.System, r.code.Code, r.status)
			if t == results {
				args = append(args, r.interpretation, r.effective)
			}
		}
	}
	q := `INSERT INTO ` + t.name + ` (` + t.key + `, ` + cols + `) ` + values + ` ON CONFLICT (` + t.key + `) DO UPDATE SET ` + set
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("store %s: %w", t.source, err)
	}
	return nil
}

// Facts returns the codes that matching uses for a patient: active problems, active
// medications and results effective since since, in that order.
func Facts(ctx context.Context, q Querier, patientID string, since time.Time) ([]match.Fact, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT 'problem', system, code, status, '' FROM chart_problems WHERE patient_id = ?
		UNION ALL SELECT 'medication', system, code, status, '' FROM chart_medications WHERE patient_id = ?
		UNION ALL SELECT 'result', system, code, status, interpretation FROM chart_results
			WHERE patient_id = ? AND effective >= ?`,
		patientID, patientID, patientID, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("load chart: %w", err)
	}
	defer rows.Close()
	facts := []match.Fact{}
	for rows.Next() {
		var f match.Fact
		var status, interpretation string
		if err := rows.Scan(&f.Source, &f.Code.System, &f.Code.Code, &status, &interpretation); err != nil {
			return nil, fmt.Errorf("scan chart: %w", err)
		}
		switch f.Source {
		case match.SourceProblem:
			if !activeProblem[status] {
				continue
			}
		case match.SourceMedication:
			if !activeMedication[status] {
				continue
			}
		case match.SourceResult:
			if voidResult[status] {
				continue
			}
			f.Abnormal = !normalInterpretation[interpretation]
		}
		facts = append(facts, f)
	}
	return facts, rows.Err()
}
