package facts

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
)

// DefaultCacheFacts is how many facts a Store keeps in memory by default, as columns
// (about 93 bytes each, some 750 MB in all): every series of 1,000,000 patients with
// MIPS PI's four counted measures (4.6 facts a patient), with room to spare.
const DefaultCacheFacts = 8_000_000

// Store is the facts and yes/no inputs in reporting's database, with a cache of
// series in memory.
type Store struct {
	db    *store.DB
	cache *membership.Cache
}

// NewStore returns the state in db, keeping up to cacheFacts facts in memory.
func NewStore(db *store.DB, cacheFacts int) *Store {
	if cacheFacts <= 0 {
		cacheFacts = DefaultCacheFacts
	}
	return &Store{db: db, cache: membership.NewCache(cacheFacts)}
}

// apply applies events in one transaction. skipped is told of events of types this
// package does not use.
func (s *Store) apply(ctx context.Context, es []event.Event, skipped func(event.Event)) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		touched := map[membership.Series]bool{}
		yesNo := false
		next := map[partition]reached{}
		for _, e := range es {
			if e.Topic != "" {
				k := partition{e.Topic, e.Partition}
				r := next[k]
				r.offset = max(r.offset, e.Offset+1)
				if e.RecordedAt.After(r.newest) {
					r.newest = e.RecordedAt
				}
				next[k] = r
			}
			first, err := outbox.Processed(ctx, tx, Group, e.ID)
			if err != nil {
				return err
			}
			if !first {
				continue
			}
			c, err := Decode(e)
			if err != nil {
				return err
			}
			if c.Op == Skip {
				skipped(e)
				continue
			}
			changed, err := applyChange(ctx, tx, c)
			if err != nil {
				return fmt.Errorf("apply %s %s: %w", e.Type, e.ID, err)
			}
			switch {
			case changed && (c.Op == AssertFact || c.Op == RetractFact):
				touched[c.Fact.Series()] = true
			case changed:
				yesNo = true
			}
		}
		if err := bump(ctx, tx, touched); err != nil {
			return err
		}
		if yesNo {
			if _, err := tx.ExecContext(ctx, `UPDATE report_yesno_version SET version = version + 1 WHERE id = 1`); err != nil {
				return fmt.Errorf("bump the version of the yes/no inputs: %w", err)
			}
		}
		return advance(ctx, tx, next)
	})
}

// applyChange writes one change; changed reports whether a fact was asserted or
// retracted (its series' version must move) or a yes/no input put or deleted.
func applyChange(ctx context.Context, tx *store.Tx, c Change) (changed bool, err error) {
	var res sql.Result
	switch c.Op {
	case AssertFact:
		f := c.Fact
		res, err = tx.ExecContext(ctx, `INSERT INTO report_facts (fact_key, `+factColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fact_key) DO NOTHING`,
			append([]any{key(f)}, factArgs(f)...)...)
	case RetractFact:
		res, err = tx.ExecContext(ctx, `DELETE FROM report_facts WHERE fact_key = ?`, key(c.Fact))
	case PutAttestation:
		res, err = tx.ExecContext(ctx, `INSERT INTO report_attestations (attestation_id, entity_kind, entity_id, data, event_id)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (attestation_id) DO UPDATE SET entity_kind = excluded.entity_kind,
			entity_id = excluded.entity_id, data = excluded.data, event_id = excluded.event_id`,
			c.ID, c.Entity.Kind, c.Entity.ID, string(c.Data), c.Event)
	case DeleteAttestation:
		res, err = tx.ExecContext(ctx, `DELETE FROM report_attestations WHERE attestation_id = ?`, c.ID)
	case PutEngagement:
		res, err = tx.ExecContext(ctx, `INSERT INTO report_engagements (registry_engagement_id, entity_kind, entity_id, data, event_id)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (registry_engagement_id) DO UPDATE SET entity_kind = excluded.entity_kind,
			entity_id = excluded.entity_id, data = excluded.data, event_id = excluded.event_id`,
			c.ID, c.Entity.Kind, c.Entity.ID, string(c.Data), c.Event)
	case DeleteEngagement:
		res, err = tx.ExecContext(ctx, `DELETE FROM report_engagements WHERE registry_engagement_id = ?`, c.ID)
	case PutPaymentInputs:
		res, err = tx.ExecContext(ctx, `INSERT INTO report_payment_inputs (payment_inputs_id, entity_kind, entity_id, year, data, event_id)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (payment_inputs_id) DO UPDATE SET entity_kind = excluded.entity_kind,
			entity_id = excluded.entity_id, year = excluded.year, data = excluded.data, event_id = excluded.event_id`,
			c.ID, c.Entity.Kind, c.Entity.ID, c.Payment.Year, string(c.Data), c.Event)
	case DeletePaymentInputs:
		res, err = tx.ExecContext(ctx, `DELETE FROM report_payment_inputs WHERE payment_inputs_id = ?`, c.ID)
	}
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// bump adds one to the version of each series, in a fixed order so that concurrent
// batches cannot deadlock on PostgreSQL.
func bump(ctx context.Context, tx *store.Tx, touched map[membership.Series]bool) error {
	series := make([]membership.Series, 0, len(touched))
	for s := range touched {
		series = append(series, s)
	}
	sort.Slice(series, func(i, j int) bool { return seriesKey(series[i]) < seriesKey(series[j]) })
	for _, x := range series {
		if _, err := tx.ExecContext(ctx, `INSERT INTO report_fact_versions (entity_kind, entity_id, program, measure, year, version)
			VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (entity_kind, entity_id, program, measure, year)
			DO UPDATE SET version = report_fact_versions.version + 1`,
			x.Entity.Kind, x.Entity.ID, string(x.Program), x.Measure, x.Year); err != nil {
			return fmt.Errorf("bump the version of %s %s: %w", x.Entity, x.Measure, err)
		}
	}
	return nil
}

func seriesKey(s membership.Series) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%d", s.Entity.Kind, s.Entity.ID, s.Program, s.Measure, s.Year)
}

type partition struct {
	topic string
	part  int
}

type reached struct {
	offset int64
	newest time.Time
}

// advance records the next offsets applied; a position only moves forward (a
// redelivered batch does not move it back).
func advance(ctx context.Context, tx *store.Tx, next map[partition]reached) error {
	keys := make([]partition, 0, len(next))
	for k := range next {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].topic != keys[j].topic {
			return keys[i].topic < keys[j].topic
		}
		return keys[i].part < keys[j].part
	})
	for _, k := range keys {
		r := next[k]
		if _, err := tx.ExecContext(ctx, `INSERT INTO report_positions (topic, part, next_offset, newest) VALUES (?, ?, ?, ?)
			ON CONFLICT (topic, part) DO UPDATE SET next_offset = excluded.next_offset,
			newest = CASE WHEN excluded.newest > report_positions.newest THEN excluded.newest ELSE report_positions.newest END
			WHERE report_positions.next_offset < excluded.next_offset`, k.topic, k.part, r.offset, r.newest.UnixNano()); err != nil {
			return fmt.Errorf("record position %s/%d: %w", k.topic, k.part, err)
		}
	}
	return nil
}

// Positions lists how far each topic partition has been applied, by topic and
// partition, and the newest recorded time of the events applied: the data is
// current as of it.
func (s *Store) Positions(ctx context.Context) ([]Position, time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT topic, part, next_offset, newest FROM report_positions ORDER BY topic, part`)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("load positions: %w", err)
	}
	defer rows.Close()
	out := []Position{}
	var newest int64
	for rows.Next() {
		var p Position
		var n int64
		if err := rows.Scan(&p.Topic, &p.Partition, &p.Offset, &n); err != nil {
			return nil, time.Time{}, fmt.Errorf("scan position: %w", err)
		}
		out = append(out, p)
		newest = max(newest, n)
	}
	if newest <= 0 {
		return out, time.Time{}, rows.Err()
	}
	return out, time.Unix(0, newest).UTC(), rows.Err()
}

// Series returns the facts of entity e (for a group, TIN, its clinicians' TIN/NPI
// facts together) for one program, measure and performance year: what
// membership.Count takes, built from the cached columns (a new slice each call).
func (s *Store) Series(ctx context.Context, e contract.Entity, program string, measureID string, year int) ([]membership.Fact, error) {
	lists, err := s.Facts(ctx, e, measure.Program(program), measureID, year)
	if err != nil {
		return nil, err
	}
	if len(lists) == 1 {
		return lists[0], nil
	}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]membership.Fact, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	return out, nil
}

// Facts implements Source: the facts of Columns (a new slice each).
func (s *Store) Facts(ctx context.Context, e contract.Entity, p measure.Program, measureID string, year int) ([][]membership.Fact, error) {
	cols, _, err := s.Columns(ctx, e, p, measureID, year)
	if err != nil {
		return nil, err
	}
	out := make([][]membership.Fact, 0, len(cols))
	for _, c := range cols {
		out = append(out, c.Facts())
	}
	return out, nil
}

// Columns implements Source: each series from memory when its version is unchanged,
// from the database otherwise; the token is the entities and versions read (a series
// without facts has no version row, and a version only moves up: a series that
// appears, changes or empties moves the token).
func (s *Store) Columns(ctx context.Context, e contract.Entity, p measure.Program, measureID string, year int) ([]*membership.Columns, string, error) {
	versions, err := s.versions(ctx, e, p, measureID, year)
	if err != nil {
		return nil, "", err
	}
	out := make([]*membership.Columns, 0, len(versions))
	token := append(make([]byte, 0, 2+32*len(versions)), "v:"...) // not "" even without any series
	for _, v := range versions {
		x := membership.Series{Entity: v.entity, Program: p, Measure: measureID, Year: year}
		cols, ok := s.cache.GetColumns(x, v.version)
		if !ok {
			fs, err := s.load(ctx, x)
			if err != nil {
				return nil, "", err
			}
			if cols, err = membership.NewColumns(fs); err != nil {
				return nil, "", fmt.Errorf("columns of %s %s: %w", x.Entity, x.Measure, err)
			}
			s.cache.PutColumns(x, v.version, cols)
		}
		out = append(out, cols)
		token = strconv.AppendInt(append(append(token, v.entity.ID...), '@'), v.version, 10)
		token = append(token, ' ')
	}
	return out, string(token), nil
}

// YesNoVersion implements Source: the version of the yes/no inputs.
func (s *Store) YesNoVersion(ctx context.Context) (string, error) {
	var v int64
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM report_yesno_version WHERE id = 1`).Scan(&v); err != nil {
		return "", fmt.Errorf("load the version of the yes/no inputs: %w", err)
	}
	return strconv.FormatInt(v, 10), nil
}

type seriesVersion struct {
	entity  contract.Entity
	version int64
}

// versions lists the versions of entity e's series (a group's: its clinicians'), by entity.
func (s *Store) versions(ctx context.Context, e contract.Entity, p measure.Program, measureID string, year int) ([]seriesVersion, error) {
	where, args := `entity_kind = ? AND entity_id = ?`, []any{e.Kind, e.ID}
	if e.Kind == contract.EntityTIN {
		// A TIN's clinicians are the tin_npi entities "TIN/…": '0' follows '/'.
		where, args = `entity_kind = ? AND entity_id >= ? AND entity_id < ?`, []any{contract.EntityTINNPI, e.ID + "/", e.ID + "0"}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT entity_kind, entity_id, version FROM report_fact_versions
		WHERE `+where+` AND program = ? AND measure = ? AND year = ? ORDER BY entity_id`,
		append(args, string(p), measureID, year)...)
	if err != nil {
		return nil, fmt.Errorf("load fact versions: %w", err)
	}
	defer rows.Close()
	var out []seriesVersion
	for rows.Next() {
		var v seriesVersion
		if err := rows.Scan(&v.entity.Kind, &v.entity.ID, &v.version); err != nil {
			return nil, fmt.Errorf("scan fact version: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// load reads one series from the database, in the order Count reads it.
func (s *Store) load(ctx context.Context, x membership.Series) ([]membership.Fact, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+factColumns+` FROM report_facts
		WHERE entity_kind = ? AND entity_id = ? AND program = ? AND measure = ? AND year = ?
		ORDER BY patient_id, object, at, ref`, x.Entity.Kind, x.Entity.ID, string(x.Program), x.Measure, x.Year)
	if err != nil {
		return nil, fmt.Errorf("load facts of %s %s: %w", x.Entity, x.Measure, err)
	}
	defer rows.Close()
	var out []membership.Fact
	// The series' own strings and the role and channel constants are shared by every
	// fact rather than allocated per row: a cached series holds millions of facts.
	var kind, id, program, measureID, role, channel sql.RawBytes
	for rows.Next() {
		var (
			f                   membership.Fact
			at                  int64
			until, start, due   sql.NullInt64
			controlled, anytime int
		)
		if err := rows.Scan(&f.Patient, &kind, &id, &program, &measureID, &f.Year, &f.Object, &role,
			&f.Ref, &f.For, &channel, &at, &until, &start, &due, &controlled, &anytime, &f.Out, &f.Because); err != nil {
			return nil, fmt.Errorf("scan fact: %w", err)
		}
		f.Entity, f.Program, f.Measure = x.Entity, x.Program, x.Measure
		f.Role, f.Channel = roleOf(role), channelOf(channel)
		f.At, f.Until, f.Start, f.Deadline = time.Unix(0, at).UTC(), instant(until), instant(start), instant(due)
		f.Controlled, f.Anytime = controlled != 0, anytime != 0
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load facts of %s %s: %w", x.Entity, x.Measure, err)
	}
	return out, nil
}

func roleOf(b []byte) membership.Role {
	for _, r := range []membership.Role{membership.Denominator, membership.Numerator, membership.Access, membership.Gate} {
		if string(b) == string(r) {
			return r
		}
	}
	return membership.Role(b)
}

func channelOf(b []byte) measure.Channel {
	for _, c := range []measure.Channel{"", measure.VDT, measure.API} {
		if string(b) == string(c) {
			return c
		}
	}
	return measure.Channel(b)
}

// Attestations implements Source.
func (s *Store) Attestations(ctx context.Context, e contract.Entity) ([]contract.Attestation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM report_attestations WHERE entity_kind = ? AND entity_id = ?
		ORDER BY attestation_id`, e.Kind, e.ID)
	if err != nil {
		return nil, fmt.Errorf("load attestations: %w", err)
	}
	defer rows.Close()
	var out []contract.Attestation
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("scan attestation: %w", err)
		}
		a, err := decodeAttestation(data)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Engagements implements Source.
func (s *Store) Engagements(ctx context.Context, e contract.Entity) ([]contract.RegistryEngagement, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM report_engagements WHERE entity_kind = ? AND entity_id = ?
		ORDER BY registry_engagement_id`, e.Kind, e.ID)
	if err != nil {
		return nil, fmt.Errorf("load registry engagements: %w", err)
	}
	defer rows.Close()
	var out []contract.RegistryEngagement
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("scan registry engagement: %w", err)
		}
		g, err := decodeEngagement(data)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// PaymentInputs implements Source.
func (s *Store) PaymentInputs(ctx context.Context, e contract.Entity, year int) (*contract.PaymentInputs, error) {
	var data string
	err := s.db.QueryRowContext(ctx, `SELECT data FROM report_payment_inputs WHERE entity_kind = ? AND entity_id = ?
		AND year = ? ORDER BY payment_inputs_id LIMIT 1`, e.Kind, e.ID, year).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load payment inputs: %w", err)
	}
	p, err := decodePaymentInputs(data)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// InsertFacts writes facts directly, bumping their series, in one transaction: for
// benchmarks and tests that synthesise a state without the log. The rows go in the
// table's order (series, member, time: consecutive inserts then touch neighbouring
// pages of SQLite's clustered table rather than a random one per row) and many to one
// prepared statement (a statement costs more to parse than its rows to apply).
func (s *Store) InsertFacts(ctx context.Context, fs []membership.Fact) error {
	const rows = 500 // of 20 values: well under SQLite's 32,766 parameters
	type keyed struct {
		key string
		f   *membership.Fact
	}
	sorted := make([]keyed, len(fs))
	for i := range fs {
		sorted[i] = keyed{key(fs[i]), &fs[i]}
	}
	slices.SortFunc(sorted, func(a, b keyed) int {
		x, y := a.f, b.f
		return cmp.Or(strings.Compare(x.Entity.Kind, y.Entity.Kind), strings.Compare(x.Entity.ID, y.Entity.ID),
			strings.Compare(string(x.Program), string(y.Program)), strings.Compare(x.Measure, y.Measure),
			cmp.Compare(x.Year, y.Year), strings.Compare(x.Patient, y.Patient), strings.Compare(x.Object, y.Object),
			x.At.Compare(y.At), strings.Compare(a.key, b.key))
	})
	row := "(?" + strings.Repeat(", ?", 19) + ")"
	insert := func(n int) string {
		return `INSERT INTO report_facts (fact_key, ` + factColumns + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") + ` ON CONFLICT (fact_key) DO NOTHING`
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		touched := map[membership.Series]bool{}
		full, err := tx.Prepare(ctx, insert(rows))
		if err != nil {
			return err
		}
		args := make([]any, 0, 20*rows)
		for chunk := range slices.Chunk(sorted, rows) {
			args = args[:0]
			for _, k := range chunk {
				args = append(append(args, k.key), factArgs(*k.f)...)
				touched[k.f.Series()] = true
			}
			if len(chunk) == rows {
				_, err = full.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, insert(len(chunk)), args...)
			}
			if err != nil {
				return fmt.Errorf("insert facts: %w", err)
			}
		}
		return bump(ctx, tx, touched)
	})
}

// factColumns are a fact's stored columns but its key, in factArgs' order.
const factColumns = `patient_id, entity_kind, entity_id, program, measure, year, object, role, ref, for_ref, channel,
	at, until, start, deadline, controlled, anytime, out, because`

func factArgs(f membership.Fact) []any {
	return []any{f.Patient, f.Entity.Kind, f.Entity.ID, string(f.Program), f.Measure, f.Year, f.Object, string(f.Role),
		f.Ref, f.For, string(f.Channel), f.At.UnixNano(), nanos(f.Until), nanos(f.Start), nanos(f.Deadline),
		boolInt(f.Controlled), boolInt(f.Anytime), f.Out, f.Because}
}

// key is the stored identity of a fact: a digest of its Key.
func key(f membership.Fact) string {
	sum := sha256.Sum256([]byte(f.Key()))
	return hex.EncodeToString(sum[:])
}

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
