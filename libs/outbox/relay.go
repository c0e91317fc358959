package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
)

// Relay defaults and limits.
const (
	// DefaultInterval is RelayConfig.Interval's default.
	DefaultInterval = 200 * time.Millisecond
	// DefaultBatch is RelayConfig.Batch's default.
	DefaultBatch = 500

	// maxBackoff caps the wait between retries of a failing publish.
	maxBackoff = 30 * time.Second
	// minLockRetry is the shortest wait of a standby relay between attempts to take
	// the lock: standbys need not poll as often as the leader.
	minLockRetry = time.Second
	// cleanupTimeout bounds work that must finish even when ctx has ended: deleting
	// rows already published, releasing the lock.
	cleanupTimeout = 5 * time.Second
)

// lockKey is the PostgreSQL advisory-lock key of the relay: one per schema, so one
// relay per service publishes while services sharing the database do not contend.
// current_schema() is the service's schema, from the search_path store sets.
const lockKey = `hashtextextended('attest.outbox.relay:' || current_schema(), 0)`

// RelayConfig tunes a Relay. The zero value is usable.
type RelayConfig struct {
	// Log receives publish failures and leadership changes. Default: discarded.
	Log *slog.Logger

	// Interval is how often the relay looks for events when nobody calls Notify; it
	// bounds the delay of an event whose producer did not notify (another replica, a
	// crash between commit and Notify). Default: 200ms.
	Interval time.Duration

	// Batch is the most events read from the outbox at a time. Default: 500.
	Batch int

	// Metrics provides the meter for attest.outbox.pending (gauge: events waiting,
	// observed while Run runs) and attest.outbox.published (counter, by topic).
	// Default: no-op.
	Metrics metric.MeterProvider
}

// Relay publishes a service's outbox: events in id order, each deleted once Publish
// has returned nil for it. A failed Publish is retried, with backoff, from the same
// event, so nothing is lost or reordered; an event may be published more than once
// (the relay stops between Publish and delete), which consumers absorb with Processed.
//
// On PostgreSQL only the relay holding the schema's advisory lock publishes; others
// wait as standbys, so every replica of a service can run one. On SQLite the database
// belongs to one process: run one relay per database.
type Relay struct {
	db        *store.DB
	pub       event.Publisher
	log       *slog.Logger
	interval  time.Duration
	lockRetry time.Duration
	batch     int
	wake      chan struct{}

	meter     metric.Meter
	pending   metric.Int64ObservableGauge
	published metric.Int64Counter

	// mu serialises publishing (Run's cycles and Flush) and guards lease.
	mu sync.Mutex
	// lease is the PostgreSQL connection holding the advisory lock, nil when not held.
	// All of the leader's reads and deletes go through it, so they fail, rather than
	// carry on unlocked, if its session ends.
	lease *store.Conn
}

// NewRelay returns a relay that publishes db's outbox with pub. It starts nothing;
// call Run.
func NewRelay(db *store.DB, pub event.Publisher, cfg RelayConfig) *Relay {
	r := &Relay{
		db:       db,
		pub:      pub,
		log:      cfg.Log,
		interval: cfg.Interval,
		batch:    cfg.Batch,
		wake:     make(chan struct{}, 1),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.interval <= 0 {
		r.interval = DefaultInterval
	}
	if r.batch <= 0 {
		r.batch = DefaultBatch
	}
	r.lockRetry = max(r.interval, minLockRetry)

	mp := cfg.Metrics
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	r.meter = mp.Meter("github.com/attest-ehr/attest/libs/outbox")
	var err1, err2 error
	r.pending, err1 = r.meter.Int64ObservableGauge("attest.outbox.pending",
		metric.WithDescription("Events in the outbox not yet published."), metric.WithUnit("{event}"))
	r.published, err2 = r.meter.Int64Counter("attest.outbox.published",
		metric.WithDescription("Events the outbox relay has published."), metric.WithUnit("{event}"))
	if err := errors.Join(err1, err2); err != nil {
		// Instruments are best effort: a relay without metrics still publishes.
		r.log.Warn("outbox relay: metrics unavailable", "err", err)
		nm := noop.NewMeterProvider().Meter("")
		r.meter = nm
		r.pending, _ = nm.Int64ObservableGauge("attest.outbox.pending")
		r.published, _ = nm.Int64Counter("attest.outbox.published")
	}
	return r
}

// Notify wakes the relay to publish now. It never blocks; services call it right
// after committing a transaction that added events.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default: // a wake-up is already pending; it will see these events too
	}
}

// Run publishes until ctx is done, then returns nil. It publishes at once, then on
// every Notify and every Interval. A failure (broker or database) is logged and
// retried from the same event with exponential backoff.
func (r *Relay) Run(ctx context.Context) error {
	if r.db == nil || r.pub == nil {
		return errs.E(errs.Invalid, "outbox: relay needs a database and a publisher")
	}
	reg, err := r.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		n, err := Pending(ctx, r.db)
		if err != nil {
			return err
		}
		o.ObserveInt64(r.pending, int64(n))
		return nil
	}, r.pending)
	if err != nil {
		r.log.WarnContext(ctx, "outbox relay: cannot observe pending events", "err", err)
	} else {
		defer func() { _ = reg.Unregister() }()
	}
	defer func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.releaseLocked(ctx)
	}()

	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	var backoff time.Duration
	for {
		leader, err := r.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case err != nil:
			backoff = nextBackoff(backoff, r.interval)
			r.log.ErrorContext(ctx, "outbox relay: cycle failed; retrying from the same event",
				"err", err, "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			continue
		case !leader:
			backoff = 0
			if !sleep(ctx, r.lockRetry) {
				return nil
			}
			continue
		}
		backoff = 0
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-tick.C:
		}
	}
}

// runOnce publishes everything pending if this relay is (or becomes) the leader.
func (r *Relay) runOnce(ctx context.Context) (leader bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	had := r.lease != nil
	q, ok, err := r.acquireLocked(ctx, false)
	if err != nil || !ok {
		return false, err
	}
	if !had && r.lease != nil {
		r.log.InfoContext(ctx, "outbox relay: took the relay lock; publishing")
	}
	_, err = r.publishLocked(ctx, q, math.MaxInt64)
	var pe *publishError
	if err != nil && !errors.As(err, &pe) {
		// A database error: the lease's session may be gone, and the lock with it.
		// Start again from a fresh connection.
		r.releaseLocked(ctx)
	}
	return true, err
}

// Flush publishes every event pending when it is called and returns how many it
// published. On PostgreSQL it first waits for the relay lock, which another relay
// (another replica's Run) may hold for as long as it runs: bound the wait with ctx.
// Unlike Run, Flush does not retry: it returns the first failure.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	if r.db == nil || r.pub == nil {
		return 0, errs.E(errs.Invalid, "outbox: relay needs a database and a publisher")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lease == nil && r.db.Dialect() == store.Postgres {
		// A lease taken just for this flush is given back after it.
		defer r.releaseLocked(ctx)
	}
	q, _, err := r.acquireLocked(ctx, true)
	if err != nil {
		return 0, fmt.Errorf("outbox: flush: %w", err)
	}
	var upTo int64
	if err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM outbox").Scan(&upTo); err != nil {
		return 0, fmt.Errorf("outbox: flush: find the last pending event: %w", err)
	}
	n, err := r.publishLocked(ctx, q, upTo)
	if err != nil {
		return n, fmt.Errorf("outbox: flush: %w", err)
	}
	return n, nil
}

// querier is what the relay runs its SQL on: the pool (SQLite) or the lease.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// acquireLocked returns where to run the relay's SQL, taking the PostgreSQL advisory
// lock if not held: waiting for it when wait is set, else reporting ok=false when
// another relay holds it.
func (r *Relay) acquireLocked(ctx context.Context, wait bool) (q querier, ok bool, err error) {
	if r.db.Dialect() != store.Postgres {
		return r.db, true, nil
	}
	if r.lease != nil {
		return r.lease, true, nil
	}
	c, err := r.db.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("take the relay lock: %w", err)
	}
	if wait {
		_, err = c.ExecContext(ctx, "SELECT pg_advisory_lock("+lockKey+")")
		ok = err == nil
	} else {
		err = c.QueryRowContext(ctx, "SELECT pg_try_advisory_lock("+lockKey+")").Scan(&ok)
	}
	if err != nil {
		// The session's state is unknown (a cancelled wait may still be granted).
		return nil, false, errors.Join(fmt.Errorf("take the relay lock: %w", err), c.Discard())
	}
	if !ok {
		return nil, false, c.Close() // holds no lock: safe to pool
	}
	r.lease = c
	return c, true, nil
}

// releaseLocked unlocks and gives back the lease, if held. A connection that cannot
// confirm the unlock is discarded, which ends the lock with the session.
func (r *Relay) releaseLocked(ctx context.Context) {
	if r.lease == nil {
		return
	}
	c := r.lease
	r.lease = nil
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var unlocked bool
	err := c.QueryRowContext(ctx, "SELECT pg_advisory_unlock("+lockKey+")").Scan(&unlocked)
	if err == nil && unlocked {
		err = c.Close()
	} else {
		err = errors.Join(err, c.Discard())
	}
	if err != nil {
		r.log.WarnContext(ctx, "outbox relay: releasing the relay lock", "err", err)
	}
}

// publishError marks a failure of the broker, as opposed to the database.
type publishError struct {
	topic string
	n     int
	err   error
}

func (e *publishError) Error() string {
	return fmt.Sprintf("publish %d events to %s: %v", e.n, e.topic, e.err)
}

func (e *publishError) Unwrap() error { return e.err }

// row is one outbox row.
type row struct {
	id    int64
	topic string
	event event.Event
}

// publishLocked publishes pending events with ids up to upTo, reading them in id
// order, a read's events of one topic in one Publish, and deletes what it published
// once per read. It stops at the first failure, so the next attempt starts from the
// first event of the topic that failed; the topics published before it are deleted
// first, so that they are not published again.
func (r *Relay) publishLocked(ctx context.Context, q querier, upTo int64) (int, error) {
	total := 0
	for {
		rows, err := r.read(ctx, q, upTo)
		if err != nil {
			return total, err
		}
		// One Publish per topic of the read, each topic's events in id order: Kafka
		// orders events within a topic's partition only, so no order a consumer can
		// see changes, and interleaved topics (a bulk import's patients, encounters,
		// orders, ...) cost a request per topic, not one per run of a topic.
		byTopic := groupByTopic(rows)
		var published []row
		var failed error
		for _, group := range byTopic {
			topic := group[0].topic
			es := make([]event.Event, len(group))
			for i, rw := range group {
				es[i] = rw.event
			}
			if err := r.pub.Publish(ctx, topic, es...); err != nil {
				failed = &publishError{topic: topic, n: len(es), err: err}
				break
			}
			r.published.Add(ctx, int64(len(group)), metric.WithAttributes(attribute.String("topic", topic)))
			published = append(published, group...)
		}
		if len(published) > 0 {
			if err := r.delete(ctx, q, published); err != nil {
				return total, err
			}
			total += len(published)
		}
		if failed != nil {
			return total, failed
		}
		if len(rows) < r.batch {
			return total, nil
		}
	}
}

// groupByTopic splits rows (in id order) by topic, each group in id order, the
// groups in the order of their topics' first rows.
func groupByTopic(rows []row) [][]row {
	var groups [][]row
	at := map[string]int{}
	for _, rw := range rows {
		i, ok := at[rw.topic]
		if !ok {
			i = len(groups)
			at[rw.topic] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], rw)
	}
	return groups
}

func (r *Relay) read(ctx context.Context, q querier, upTo int64) ([]row, error) {
	rs, err := q.QueryContext(ctx, `SELECT id, topic, event_id, type, source, subject, time, recorded_at, data, traceparent
		FROM outbox WHERE id <= ? ORDER BY id LIMIT ?`, upTo, r.batch)
	if err != nil {
		return nil, fmt.Errorf("read the outbox: %w", err)
	}
	defer rs.Close()
	var rows []row
	for rs.Next() {
		var (
			rw             row
			e              = &rw.event
			at, recordedAt string
		)
		if err := rs.Scan(&rw.id, &rw.topic, &e.ID, &e.Type, &e.Source, &e.Subject, &at, &recordedAt, &e.Data, &e.Traceparent); err != nil {
			return nil, fmt.Errorf("read the outbox: %w", err)
		}
		// A row that does not parse stops the relay rather than being skipped: skipping
		// would break the order of its subject's events. It needs a human.
		if e.Time, err = time.Parse(timeLayout, at); err != nil {
			return nil, fmt.Errorf("outbox row %d (event %s): bad time: %w", rw.id, e.ID, err)
		}
		if e.RecordedAt, err = time.Parse(timeLayout, recordedAt); err != nil {
			return nil, fmt.Errorf("outbox row %d (event %s): bad recorded_at: %w", rw.id, e.ID, err)
		}
		rows = append(rows, rw)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read the outbox: %w", err)
	}
	return rows, nil
}

// delete removes published rows by id. Not by range: on PostgreSQL a transaction that
// took a lower id may commit after a higher one was read, and its row must stay.
func (r *Relay) delete(ctx context.Context, q querier, rows []row) error {
	// The events are published: deleting them should not be abandoned because ctx
	// ended, or they would be published again.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	ids := make([]any, len(rows))
	for i, rw := range rows {
		ids[i] = rw.id
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	del := func(q querier) error {
		_, err := q.ExecContext(ctx, "DELETE FROM outbox WHERE id IN ("+marks+")", ids...)
		return err
	}
	var err error
	if db, ok := q.(*store.DB); ok && db.Dialect() == store.SQLite {
		// Through InTx, which waits its turn at SQLite's write lock in the process
		// (store's write turns). A bare statement would meet the writers at SQLite's
		// own lock, which a loser polls with sleeps of up to 100 ms: the relay falls
		// behind a bulk import, and a request's commit waits out a sleep.
		err = db.InTx(ctx, func(tx *store.Tx) error { return del(tx) })
	} else {
		err = del(q)
	}
	if err != nil {
		return fmt.Errorf("delete %d published events (ids %d–%d): %w", len(rows), rows[0].id, rows[len(rows)-1].id, err)
	}
	return nil
}

// nextBackoff doubles the wait after each consecutive failure, from the shorter of
// interval and 100ms up to maxBackoff.
func nextBackoff(prev, interval time.Duration) time.Duration {
	if prev <= 0 {
		return min(interval, 100*time.Millisecond)
	}
	return min(2*prev, maxBackoff)
}

// sleep waits d, or until ctx is done, reporting whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
