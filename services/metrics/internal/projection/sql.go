package projection

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/measure/timeline"
)

// Tables names one set of projection tables.
type Tables struct {
	Items string // timeline items
	Facts string // membership facts
}

// The two sets of tables: the live ones, and those a replay rebuilds before swapping
// them in.
var (
	Live    = Tables{Items: "timeline_items", Facts: "measure_facts"}
	Rebuild = Tables{Items: "rebuild_timeline_items", Facts: "rebuild_measure_facts"}
)

// SQL is the projection's state in a database: the tables t, processed marks under
// consumer group, fact changes published through the outbox (or not at all when
// publish is false, as when rebuilding).
type SQL struct {
	db      *store.DB
	t       Tables
	group   string
	publish bool
}

// NewSQL returns the state in db's tables t for consumer group group.
func NewSQL(db *store.DB, t Tables, group string, publish bool) *SQL {
	return &SQL{db: db, t: t, group: group, publish: publish}
}

// InTx runs fn in a database transaction.
func (s *SQL) InTx(ctx context.Context, fn func(State) error) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error { return fn(sqlState{s, tx}) })
}

// sqlState is SQL within one transaction.
type sqlState struct {
	*SQL
	tx *store.Tx
}

func (s sqlState) Processed(ctx context.Context, eventID string) (bool, error) {
	return outbox.Processed(ctx, s.tx, s.group, eventID)
}

func (s sqlState) Put(ctx context.Context, it timeline.Item) error {
	_, err := s.tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (patient_id, kind, item_id, event_id, data)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (patient_id, kind, item_id)
		DO UPDATE SET event_id = excluded.event_id, data = excluded.data`, s.t.Items),
		it.Patient, string(it.Kind), it.ID, it.Event, string(it.Data))
	if err != nil {
		return fmt.Errorf("store %s %s: %w", it.Kind, it.ID, err)
	}
	return nil
}

func (s sqlState) Delete(ctx context.Context, it timeline.Item) error {
	_, err := s.tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE patient_id = ? AND kind = ? AND item_id = ?`, s.t.Items),
		it.Patient, string(it.Kind), it.ID)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", it.Kind, it.ID, err)
	}
	return nil
}

func (s sqlState) Items(ctx context.Context, patientID string) ([]timeline.Item, error) {
	return Items(ctx, s.tx, s.t, patientID)
}

func (s sqlState) Facts(ctx context.Context, patientID string) ([]membership.Fact, error) {
	return PatientFacts(ctx, s.tx, s.t, patientID)
}

// Facts are written and removed many rows to a statement: a statement costs more to
// parse than its rows to apply.
const (
	insertRows = 40  // rows of 20 values: well under SQLite's 32,766 parameters
	deleteRows = 500 // keys
)

func (s sqlState) Assert(ctx context.Context, fs []membership.Fact) error {
	row := "(?" + strings.Repeat(", ?", 19) + ")"
	for chunk := range slices.Chunk(fs, insertRows) {
		args := make([]any, 0, 20*len(chunk))
		for _, f := range chunk {
			args = append(append(args, key(f)), factArgs(f)...)
		}
		q := fmt.Sprintf(`INSERT INTO %s (fact_key, %s) VALUES %s`, s.t.Facts, factColumns,
			strings.TrimSuffix(strings.Repeat(row+", ", len(chunk)), ", "))
		if _, err := s.tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("assert facts of patient %s: %w", chunk[0].Patient, err)
		}
	}
	return nil
}

func (s sqlState) Retract(ctx context.Context, fs []membership.Fact) error {
	for chunk := range slices.Chunk(fs, deleteRows) {
		args := make([]any, len(chunk))
		for i, f := range chunk {
			args[i] = key(f)
		}
		q := fmt.Sprintf(`DELETE FROM %s WHERE fact_key IN (?%s)`, s.t.Facts, strings.Repeat(", ?", len(chunk)-1))
		if _, err := s.tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("retract facts of patient %s: %w", chunk[0].Patient, err)
		}
	}
	return nil
}

func (s sqlState) Publish(ctx context.Context, es []event.Event) error {
	if !s.publish || len(es) == 0 {
		return nil
	}
	return outbox.Add(ctx, s.tx, contract.TopicMeasureFact, es...)
}

// Bump adds one to the version of each series, in the live tables only: a rebuild's
// swap bumps every series at once.
func (s sqlState) Bump(ctx context.Context, series []membership.Series) error {
	if s.t != Live {
		return nil
	}
	for _, x := range series {
		if _, err := s.tx.ExecContext(ctx, `INSERT INTO fact_versions (entity_kind, entity_id, program, measure, year, version)
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

// key is the stored identity of a fact: a digest of its Key.
func key(f membership.Fact) string {
	sum := sha256.Sum256([]byte(f.Key()))
	return hex.EncodeToString(sum[:])
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
	return queryFacts(ctx, q, fmt.Sprintf(`SELECT %s FROM %s WHERE fact_key NOT IN (SELECT fact_key FROM %s)
		ORDER BY patient_id, fact_key`, factColumns, a.Facts, b.Facts))
}
