package projection

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/measure/timeline"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
)

// Tables names one set of projection tables.
type Tables struct {
	Items    string // timeline items
	Facts    string // membership facts
	Versions string // each patient's timeline version token
}

// The two sets of tables: the live ones, and those a replay rebuilds before swapping
// them in.
var (
	Live    = Tables{Items: "timeline_items", Facts: "measure_facts", Versions: "timeline_versions"}
	Rebuild = Tables{Items: "rebuild_timeline_items", Facts: "rebuild_measure_facts", Versions: "rebuild_timeline_versions"}
)

// SQL is the projection's state in a database: the tables t, processed marks under
// consumer group, fact changes published through the outbox (or not at all when
// publish is false, as when rebuilding).
//
// It keeps the timelines (decoded items and facts) of the patients touched most
// recently in memory, so that a patient touched again is not read and decoded again.
// Every transaction that changes a patient's items or facts stores a new random
// version token for them, and a held timeline is used only when its token is still
// the stored one (read, and on PostgreSQL locked, when the transaction first touches
// the patient): another replica's or a replay's changes are always read back.
type SQL struct {
	db      *store.DB
	t       Tables
	group   string
	publish bool
	cache   *timelineCache
	beside  Alongside
	hits    atomic.Int64
	misses  atomic.Int64
}

// NewSQL returns the state in db's tables t for consumer group group, keeping up to
// DefaultCachePatients timelines in memory.
func NewSQL(db *store.DB, t Tables, group string, publish bool) *SQL {
	return &SQL{db: db, t: t, group: group, publish: publish, cache: newTimelineCache(DefaultCachePatients)}
}

// WithCache keeps up to patients timelines in memory (0: none) and returns s.
func (s *SQL) WithCache(patients int) *SQL {
	s.cache = newTimelineCache(patients)
	return s
}

// Alongside applies a batch of events to other state within the projection's
// transaction tx and returns what to do once it has committed (nil: nothing).
type Alongside func(ctx context.Context, tx *store.Tx, es []event.Event) (after func(), err error)

// WithAlongside has every transaction of s also hand its batch to fn, and returns s.
// The service keeps its seen facts this way (fact.Deriver.Alongside): one consumer
// group, one set of reads of the encounter topic and one commit fewer than a group
// of their own.
func (s *SQL) WithAlongside(fn Alongside) *SQL {
	s.beside = fn
	return s
}

// CacheStats report how many patients' timelines transactions found in memory at their
// stored version (hits) and read from the database (misses), and how many are held.
func (s *SQL) CacheStats() (hits, misses int64, held int) {
	return s.hits.Load(), s.misses.Load(), s.cache.len()
}

// InTx runs fn in a database transaction; after it commits, the timelines it built are
// kept in memory, and if it fails, those of the patients it touched are forgotten.
func (s *SQL) InTx(ctx context.Context, fn func(State) error) error {
	var st *sqlState
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		st = &sqlState{SQL: s, tx: tx, patients: map[string]*patientTx{}}
		if err := fn(st); err != nil {
			return err
		}
		return st.finish(ctx)
	})
	if st != nil {
		if err != nil {
			s.cache.drop(slices.Collect(maps.Keys(st.patients)))
		} else {
			s.cache.put(st.staged)
		}
	}
	if err == nil && st != nil {
		for _, fn := range st.after {
			fn()
		}
	}
	return err
}

// sqlState is SQL within one transaction.
type sqlState struct {
	*SQL
	tx       *store.Tx
	patients map[string]*patientTx
	outbox   []event.Event
	staged   []*cached // the timelines to keep once the transaction commits
	after    []func()  // what Alongside asked to run once the transaction commits
}

// patientTx is what a transaction knows of one patient it touched.
type patientTx struct {
	version int64                     // the stored version token when first touched; 0: none
	items   map[itemKey]timeline.Item // the current items, nil until known
	facts   map[string]membership.Fact
	changed bool
}

type itemKey struct {
	kind timeline.Kind
	id   string
}

// stmt is a statement of the transaction, prepared once per connection.
func (s *sqlState) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	return s.tx.Prepare(ctx, query)
}

func (s *sqlState) exec(ctx context.Context, query string, args ...any) error {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

// touch returns what the transaction knows of a patient, reading (and on PostgreSQL
// locking) their version token the first time: the timeline held in memory is taken
// when its token is the stored one.
func (s *sqlState) touch(ctx context.Context, patientID string) (*patientTx, error) {
	if p, ok := s.patients[patientID]; ok {
		return p, nil
	}
	version, err := s.version(ctx, patientID)
	if err != nil {
		return nil, fmt.Errorf("read the timeline version of patient %s: %w", patientID, err)
	}
	p := &patientTx{version: version}
	if c, ok := s.cache.get(patientID, version); ok {
		s.hits.Add(1)
		p.items = make(map[itemKey]timeline.Item, len(c.items))
		for _, it := range c.items {
			p.items[itemKey{it.Kind, it.ID}] = it
		}
		p.facts = make(map[string]membership.Fact, len(c.facts))
		for _, f := range c.facts {
			p.facts[f.Key()] = f
		}
	} else {
		s.misses.Add(1)
	}
	s.patients[patientID] = p
	return p, nil
}

// version reads a patient's version token. On PostgreSQL it locks the row until the
// transaction ends, creating it first when missing, so that two transactions on one
// patient (partitions of two topics consumed by two replicas) take turns.
func (s *sqlState) version(ctx context.Context, patientID string) (int64, error) {
	sel := fmt.Sprintf(`SELECT version FROM %s WHERE patient_id = ?`, s.t.Versions)
	if s.tx.Dialect() == store.Postgres {
		sel += ` FOR UPDATE`
		if err := s.exec(ctx, fmt.Sprintf(`INSERT INTO %s (patient_id, version) VALUES (?, 0)
			ON CONFLICT (patient_id) DO NOTHING`, s.t.Versions), patientID); err != nil {
			return 0, err
		}
	}
	st, err := s.stmt(ctx, sel)
	if err != nil {
		return 0, err
	}
	var v int64
	if err := st.QueryRowContext(ctx, patientID).Scan(&v); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	return v, nil
}

// finish stores a new version token for every patient the transaction changed, stages
// their timelines for the cache and adds the published events to the outbox.
func (s *sqlState) finish(ctx context.Context) error {
	upsert := fmt.Sprintf(`INSERT INTO %s (patient_id, version) VALUES (?, ?)
		ON CONFLICT (patient_id) DO UPDATE SET version = excluded.version`, s.t.Versions)
	for _, id := range slices.Sorted(maps.Keys(s.patients)) {
		p := s.patients[id]
		version := p.version
		if p.changed {
			version = newVersion()
			if err := s.exec(ctx, upsert, id, version); err != nil {
				return fmt.Errorf("store the timeline version of patient %s: %w", id, err)
			}
		}
		if p.items != nil && p.facts != nil && version != 0 {
			s.staged = append(s.staged, &cached{patient: id, version: version, items: sortedItems(p.items),
				facts: sortedFacts(p.facts)})
		}
	}
	if !s.publish || len(s.outbox) == 0 {
		return nil
	}
	ms := make([]outbox.Message, len(s.outbox))
	for i, e := range s.outbox {
		ms[i] = outbox.Message{Topic: contract.TopicMeasureFact, Event: e}
	}
	return outbox.AddAll(ctx, s.tx, ms)
}

// newVersion is a random non-zero version token.
func newVersion() int64 {
	for {
		if v := rand.Int64(); v != 0 {
			return v
		}
	}
}

func sortedItems(m map[itemKey]timeline.Item) []timeline.Item {
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b timeline.Item) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// sortedFacts lists facts by identity, so that what a transaction retracts and
// publishes comes in the same order however the facts were read.
func sortedFacts(m map[string]membership.Fact) []membership.Fact {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]membership.Fact, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

func (s *sqlState) Processed(ctx context.Context, eventIDs []string) ([]bool, error) {
	return outbox.ProcessedAll(ctx, s.tx, s.group, eventIDs)
}

func (s *sqlState) Put(ctx context.Context, it timeline.Item) error {
	p, err := s.touch(ctx, it.Patient)
	if err != nil {
		return err
	}
	err = s.exec(ctx, fmt.Sprintf(`INSERT INTO %s (patient_id, kind, item_id, event_id, data)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (patient_id, kind, item_id)
		DO UPDATE SET event_id = excluded.event_id, data = excluded.data`, s.t.Items),
		it.Patient, string(it.Kind), it.ID, it.Event, string(it.Data))
	if err != nil {
		return fmt.Errorf("store %s %s: %w", it.Kind, it.ID, err)
	}
	p.changed = true
	if p.items != nil {
		_ = it.DecodeValue() // Build reports an item that does not decode
		p.items[itemKey{it.Kind, it.ID}] = it
	}
	return nil
}

func (s *sqlState) Delete(ctx context.Context, it timeline.Item) error {
	p, err := s.touch(ctx, it.Patient)
	if err != nil {
		return err
	}
	err = s.exec(ctx, fmt.Sprintf(`DELETE FROM %s WHERE patient_id = ? AND kind = ? AND item_id = ?`, s.t.Items),
		it.Patient, string(it.Kind), it.ID)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", it.Kind, it.ID, err)
	}
	p.changed = true
	if p.items != nil {
		delete(p.items, itemKey{it.Kind, it.ID})
	}
	return nil
}

func (s *sqlState) Items(ctx context.Context, patientID string) ([]timeline.Item, error) {
	p, err := s.touch(ctx, patientID)
	if err != nil {
		return nil, err
	}
	if p.items == nil {
		st, err := s.stmt(ctx, fmt.Sprintf(`SELECT kind, item_id, event_id, data FROM %s WHERE patient_id = ?`, s.t.Items))
		if err != nil {
			return nil, fmt.Errorf("load items of patient %s: %w", patientID, err)
		}
		rows, err := st.QueryContext(ctx, patientID)
		if err != nil {
			return nil, fmt.Errorf("load items of patient %s: %w", patientID, err)
		}
		items, err := scanItems(rows, patientID)
		if err != nil {
			return nil, err
		}
		p.items = make(map[itemKey]timeline.Item, len(items))
		for _, it := range items {
			_ = it.DecodeValue() // Build reports an item that does not decode
			p.items[itemKey{it.Kind, it.ID}] = it
		}
	}
	return sortedItems(p.items), nil
}

func (s *sqlState) Facts(ctx context.Context, patientID string) ([]membership.Fact, error) {
	p, err := s.touch(ctx, patientID)
	if err != nil {
		return nil, err
	}
	if p.facts == nil {
		st, err := s.stmt(ctx, fmt.Sprintf(`SELECT %s FROM %s WHERE patient_id = ?`, factColumns, s.t.Facts))
		if err != nil {
			return nil, fmt.Errorf("load facts: %w", err)
		}
		rows, err := st.QueryContext(ctx, patientID)
		if err != nil {
			return nil, fmt.Errorf("load facts: %w", err)
		}
		fs, err := scanFacts(rows)
		if err != nil {
			return nil, err
		}
		p.facts = make(map[string]membership.Fact, len(fs))
		for _, f := range fs {
			p.facts[f.Key()] = f
		}
	}
	return sortedFacts(p.facts), nil
}

// Facts are written and removed several rows to a statement, in chunks of these sizes
// (each a statement prepared once): fewer statements to run, and few to prepare.
var chunkSizes = []int{32, 8, 1}

// chunks calls fn with consecutive pieces of n rows, as large as chunkSizes allow.
func chunks(n int, fn func(from, to int) error) error {
	for from := 0; from < n; {
		size := 1
		for _, c := range chunkSizes {
			if n-from >= c {
				size = c
				break
			}
		}
		if err := fn(from, from+size); err != nil {
			return err
		}
		from += size
	}
	return nil
}

func (s *sqlState) Assert(ctx context.Context, fs []membership.Fact) error {
	row := "(?" + strings.Repeat(", ?", 19) + ")"
	err := chunks(len(fs), func(from, to int) error {
		chunk := fs[from:to]
		args := make([]any, 0, 20*len(chunk))
		for _, f := range chunk {
			args = append(append(args, key(f)), factArgs(f)...)
		}
		q := fmt.Sprintf(`INSERT INTO %s (fact_key, %s) VALUES %s`, s.t.Facts, factColumns,
			strings.TrimSuffix(strings.Repeat(row+", ", len(chunk)), ", "))
		if err := s.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("assert facts of patient %s: %w", chunk[0].Patient, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range fs {
		p, err := s.touch(ctx, f.Patient)
		if err != nil {
			return err
		}
		p.changed = true
		if p.facts != nil {
			p.facts[f.Key()] = f
		}
	}
	return nil
}

func (s *sqlState) Retract(ctx context.Context, fs []membership.Fact) error {
	// The tables are keyed by patient and fact key: one patient's facts a statement.
	for from := 0; from < len(fs); {
		to := from + 1
		for to < len(fs) && fs[to].Patient == fs[from].Patient {
			to++
		}
		patient := fs[from].Patient
		err := chunks(to-from, func(lo, hi int) error {
			chunk := fs[from+lo : from+hi]
			args := make([]any, 0, 1+len(chunk))
			args = append(args, patient)
			for _, f := range chunk {
				args = append(args, key(f))
			}
			q := fmt.Sprintf(`DELETE FROM %s WHERE patient_id = ? AND fact_key IN (?%s)`, s.t.Facts,
				strings.Repeat(", ?", len(chunk)-1))
			if err := s.exec(ctx, q, args...); err != nil {
				return fmt.Errorf("retract facts of patient %s: %w", patient, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		from = to
	}
	for _, f := range fs {
		p, err := s.touch(ctx, f.Patient)
		if err != nil {
			return err
		}
		p.changed = true
		if p.facts != nil {
			delete(p.facts, f.Key())
		}
	}
	return nil
}

// Publish queues the events; they are added to the outbox, all at once, when the
// transaction's work is done.
func (s *sqlState) Publish(_ context.Context, es []event.Event) error {
	if s.publish {
		s.outbox = append(s.outbox, es...)
	}
	return nil
}

// Alongside hands es to the function WithAlongside set, if any.
func (s *sqlState) Alongside(ctx context.Context, es []event.Event) error {
	if s.beside == nil {
		return nil
	}
	after, err := s.beside(ctx, s.tx, es)
	if err != nil {
		return err
	}
	if after != nil {
		s.after = append(s.after, after)
	}
	return nil
}

// Bump adds one to the version of each series, in the live tables only: a rebuild's
// swap bumps every series at once.
func (s *sqlState) Bump(ctx context.Context, series []membership.Series) error {
	if s.t != Live {
		return nil
	}
	for _, x := range series {
		if err := s.exec(ctx, `INSERT INTO fact_versions (entity_kind, entity_id, program, measure, year, version)
			VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (entity_kind, entity_id, program, measure, year)
			DO UPDATE SET version = fact_versions.version + 1`,
			x.Entity.Kind, x.Entity.ID, string(x.Program), x.Measure, x.Year); err != nil {
			return fmt.Errorf("bump the version of %s %s: %w", x.Entity, x.Measure, err)
		}
	}
	return nil
}

// Versions lists the versions of the series of entity e (for a group, TIN, its
// clinicians') for one measure and year.
func Versions(ctx context.Context, q querier, e contract.Entity, p measure.Program, measureID string, year int) (map[contract.Entity]int64, error) {
	where, args := `entity_kind = ? AND entity_id = ?`, []any{e.Kind, e.ID}
	if e.Kind == contract.EntityTIN {
		where, args = `entity_kind = ? AND entity_id >= ? AND entity_id < ?`, []any{contract.EntityTINNPI, e.ID + "/", e.ID + "0"}
	}
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT entity_kind, entity_id, version FROM fact_versions
		WHERE %s AND program = ? AND measure = ? AND year = ?`, where), append(args, string(p), measureID, year)...)
	if err != nil {
		return nil, fmt.Errorf("load fact versions: %w", err)
	}
	defer rows.Close()
	out := map[contract.Entity]int64{}
	for rows.Next() {
		var ent contract.Entity
		var v int64
		if err := rows.Scan(&ent.Kind, &ent.ID, &v); err != nil {
			return nil, fmt.Errorf("scan fact version: %w", err)
		}
		out[ent] = v
	}
	return out, rows.Err()
}

// BumpAll adds one to the version of every series, and gives every series with facts
// a version: a swap replaced them all.
func BumpAll(ctx context.Context, tx *store.Tx) error {
	// "WHERE true" lets SQLite tell the upsert's ON CONFLICT from a join's ON.
	for _, q := range []string{
		`INSERT INTO fact_versions (entity_kind, entity_id, program, measure, year, version)
			SELECT DISTINCT entity_kind, entity_id, program, measure, year, 0 FROM measure_facts WHERE true
			ON CONFLICT (entity_kind, entity_id, program, measure, year) DO NOTHING`,
		`UPDATE fact_versions SET version = version + 1`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("bump every fact version: %w", err)
		}
	}
	return nil
}

// key is the stored identity of a fact: the SHA-256 digest of its Key, 32 bytes (half
// the index space of its hex form, and compared as bytes).
func key(f membership.Fact) []byte {
	sum := sha256.Sum256([]byte(f.Key()))
	return sum[:]
}

// querier is a transaction or a database.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Items lists a patient's items in tables t.
func Items(ctx context.Context, q querier, t Tables, patientID string) ([]timeline.Item, error) {
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT kind, item_id, event_id, data FROM %s WHERE patient_id = ?
		ORDER BY kind, item_id`, t.Items), patientID)
	if err != nil {
		return nil, fmt.Errorf("load items of patient %s: %w", patientID, err)
	}
	return scanItems(rows, patientID)
}

// scanItems reads and closes rows of kind, item_id, event_id and data.
func scanItems(rows *sql.Rows, patientID string) ([]timeline.Item, error) {
	defer rows.Close()
	var out []timeline.Item
	for rows.Next() {
		it := timeline.Item{Patient: patientID}
		var kind, data string
		if err := rows.Scan(&kind, &it.ID, &it.Event, &data); err != nil {
			return nil, fmt.Errorf("scan item of patient %s: %w", patientID, err)
		}
		it.Kind, it.Data = timeline.Kind(kind), []byte(data)
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load items of patient %s: %w", patientID, err)
	}
	return out, nil
}

// factColumns are a fact's stored columns but its key, in factArgs' order.
const factColumns = `patient_id, entity_kind, entity_id, program, measure, year, object, role, ref, for_ref, channel,
	at, until, start, deadline, controlled, anytime, out, because`

func factArgs(f membership.Fact) []any {
	return []any{f.Patient, f.Entity.Kind, f.Entity.ID, string(f.Program), f.Measure, f.Year, f.Object, string(f.Role),
		f.Ref, f.For, string(f.Channel), f.At.UnixNano(), nanos(f.Until), nanos(f.Start), nanos(f.Deadline),
		boolInt(f.Controlled), boolInt(f.Anytime), f.Out, f.Because}
}

// nanos stores an instant as nanoseconds since the Unix epoch, NULL for none.
func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// instant reads what nanos stored.
func instant(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// queryFacts runs a query selecting factColumns.
func queryFacts(ctx context.Context, q querier, query string, args ...any) ([]membership.Fact, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("load facts: %w", err)
	}
	return scanFacts(rows)
}

// scanFacts reads and closes rows of factColumns.
func scanFacts(rows *sql.Rows) ([]membership.Fact, error) {
	defer rows.Close()
	var out []membership.Fact
	for rows.Next() {
		var (
			f                      membership.Fact
			program, role, channel string
			at                     int64
			until, start, due      sql.NullInt64
			controlled, anytime    int
		)
		if err := rows.Scan(&f.Patient, &f.Entity.Kind, &f.Entity.ID, &program, &f.Measure, &f.Year, &f.Object, &role,
			&f.Ref, &f.For, &channel, &at, &until, &start, &due, &controlled, &anytime, &f.Out, &f.Because); err != nil {
			return nil, fmt.Errorf("scan fact: %w", err)
		}
		f.Program, f.Role, f.Channel = measure.Program(program), membership.Role(role), measure.Channel(channel)
		f.At, f.Until, f.Start, f.Deadline = time.Unix(0, at).UTC(), instant(until), instant(start), instant(due)
		f.Controlled, f.Anytime = controlled != 0, anytime != 0
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load facts: %w", err)
	}
	return out, nil
}

// EntityFacts lists the facts of entity e (for a group, TIN, those of its clinicians)
// for one measure and year, in tables t, of the members with a denominator fact dated
// in [from, to) — the only members a period starting at from and ending before to can
// count — sorted as membership.Count reads them. A zero from or to leaves that side
// open.
func EntityFacts(ctx context.Context, q querier, t Tables, e contract.Entity, p measure.Program, measureID string, year int,
	from, to time.Time) ([]membership.Fact, error) {
	entity, ids := `%[1]sentity_kind = ? AND %[1]sentity_id = ?`, []any{e.Kind, e.ID}
	if e.Kind == contract.EntityTIN {
		// A TIN's clinicians are the tin_npi entities "TIN/…": '0' follows '/'.
		entity, ids = `%[1]sentity_kind = ? AND %[1]sentity_id >= ? AND %[1]sentity_id < ?`,
			[]any{contract.EntityTINNPI, e.ID + "/", e.ID + "0"}
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		lo = from.UnixNano()
	}
	if !to.IsZero() {
		hi = to.UnixNano()
	}
	var args []any
	args = append(append(args, ids...), string(p), measureID, year, string(membership.Denominator), lo, hi)
	args = append(append(args, ids...), string(p), measureID, year)
	// The members first (from the index on entity, measure, year, patient, object and
	// instant), then their facts, in the order Count reads them.
	return queryFacts(ctx, q, fmt.Sprintf(`SELECT %s FROM %s f JOIN (
			SELECT DISTINCT entity_id, patient_id, object FROM %[2]s
			WHERE %[3]s AND program = ? AND measure = ? AND year = ? AND role = ? AND at >= ? AND at < ?) d
		ON f.entity_id = d.entity_id AND f.patient_id = d.patient_id AND f.object = d.object
		WHERE %[4]s AND f.program = ? AND f.measure = ? AND f.year = ?
		ORDER BY f.entity_id, f.patient_id, f.object, f.at, f.ref`,
		prefixed("f.", factColumns), t.Facts, fmt.Sprintf(entity, ""), fmt.Sprintf(entity, "f.")), args...)
}

// prefixed qualifies each of a list of columns with a table alias.
func prefixed(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// PatientFacts lists a patient's facts in tables t.
func PatientFacts(ctx context.Context, q querier, t Tables, patientID string) ([]membership.Fact, error) {
	return queryFacts(ctx, q, fmt.Sprintf(`SELECT %s FROM %s WHERE patient_id = ?`, factColumns, t.Facts), patientID)
}

// Missing lists the facts of tables a that tables b lacks.
func Missing(ctx context.Context, q querier, a, b Tables) ([]membership.Fact, error) {
	return queryFacts(ctx, q, fmt.Sprintf(`SELECT %s FROM %s a WHERE NOT EXISTS (
			SELECT 1 FROM %s b WHERE b.patient_id = a.patient_id AND b.fact_key = a.fact_key)
		ORDER BY patient_id, fact_key`, prefixed("a.", factColumns), a.Facts, b.Facts))
}
