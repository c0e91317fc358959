package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/metrics/internal/engagement"
	"github.com/attest-ehr/attest/services/metrics/internal/fact"
	"github.com/attest-ehr/attest/services/metrics/internal/projection"
)

// The processed-event marks of a rebuild, kept under their own names until the swap.
const (
	rebuildMeasures   = projection.Group + ".rebuild"
	rebuildEngagement = engagement.Group + ".rebuild"
	rebuildSeen       = fact.Group + ".rebuild"
)

// replayBatch is how many events a rebuild applies per transaction: larger than the
// live consumers' 500, since nobody waits on a rebuild's commits and each commit writes
// every touched B-tree page again (measured: docs/benchmarks/metrics.md).
const replayBatch = 2000

// ReplayStats say what a replay did.
type ReplayStats struct {
	Events    int // events read from the topics
	Skipped   int // messages that were not events
	Asserted  int // membership facts the rebuilt state holds and the old one did not
	Retracted int // and the other way round
	// SeenAsserted and SeenRetracted are the same for the foundation's seen facts.
	SeenAsserted, SeenRetracted int
	Took                        time.Duration // from start to swap
}

// Replay rebuilds the service's derived state from the topics: it reads every
// event the projection, the KPIs and the seen facts consume, from the first offset to the end as it
// stands when Replay starts, into fresh tables (timelines, membership facts, KPI rows,
// seen facts, processed-event marks under rebuild names), then, in one transaction,
// publishes the membership and seen facts that differ between the old state and the
// new (retracted, then asserted), and swaps the new state in. Run it with the metrics service stopped (the
// platform too): events the service applied after Replay read the topics would be
// lost from the swapped state. Afterwards the service resumes from its consumer
// groups' offsets; events it had not consumed yet are either in the new state
// (and recognised as processed) or after it (and applied as usual).
func Replay(ctx context.Context, cfg Config, d Deps) (ReplayStats, error) {
	start := time.Now()
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.UTC
	}
	if cfg.ClinicHours == (calendar.Hours{}) {
		cfg.ClinicHours = engagement.DefaultHours
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := d.DB.Migrate(ctx, migrations()); err != nil {
		return ReplayStats{}, fmt.Errorf("migrate: %w", err)
	}
	if err := clearRebuild(ctx, d.DB); err != nil {
		return ReplayStats{}, err
	}
	catalog, err := measure.New()
	if err != nil {
		return ReplayStats{}, err
	}
	cal := calendar.New(cfg.TimeZone)
	// As in the service, the seen facts are rebuilt in the projection's transactions.
	seen := fact.NewDeriver(d.DB, cfg.TimeZone, nil, log).Rebuilding(rebuildSeen)
	projector := projection.NewProjector(
		projection.NewSQL(d.DB, projection.Rebuild, rebuildMeasures, false).WithAlongside(seen.Alongside),
		membership.NewDeriver(catalog, cal), nil, log)
	kpis := engagement.NewKeeper(d.DB, cal, cfg.ClinicHours, nil, log).Rebuilding(rebuildEngagement)
	measureTopics, kpiTopics := projection.Topics(), engagement.Topics()
	topics := slices.Concat(measureTopics, kpiTopics)
	topics = slices.Compact(slices.Sorted(slices.Values(topics)))
	read, err := event.ReadTopics(ctx, d.Events(), topics, replayBatch, func(es []event.Event) error {
		if err := projector.HandleBatch(ctx, only(es, measureTopics)); err != nil {
			return err
		}
		return kpis.HandleBatch(ctx, only(es, kpiTopics))
	})
	if err != nil {
		return ReplayStats{}, fmt.Errorf("rebuild: %w", err)
	}
	st := ReplayStats{Events: read.Events, Skipped: read.Skipped}
	err = d.DB.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if st.Asserted, st.Retracted, err = swap(ctx, tx); err != nil {
			return err
		}
		st.SeenAsserted, st.SeenRetracted, err = fact.Swap(ctx, tx, rebuildSeen, cfg.TimeZone, time.Now())
		return err
	})
	if err != nil {
		return ReplayStats{}, fmt.Errorf("swap: %w", err)
	}
	st.Took = time.Since(start)
	log.InfoContext(ctx, "replayed", "events", st.Events, "skipped", st.Skipped, "asserted", st.Asserted,
		"retracted", st.Retracted, "seen_asserted", st.SeenAsserted, "seen_retracted", st.SeenRetracted,
		"took", st.Took.String())
	return st, nil
}

// only keeps the events of topics.
func only(es []event.Event, topics []string) []event.Event {
	return slices.DeleteFunc(slices.Clone(es), func(e event.Event) bool { return !slices.Contains(topics, e.Topic) })
}

// clearRebuild empties the rebuild tables and marks, left over by a replay that
// stopped half-way.
func clearRebuild(ctx context.Context, db *store.DB) error {
	return db.InTx(ctx, func(tx *store.Tx) error {
		for _, q := range []string{
			`DELETE FROM rebuild_timeline_items`, `DELETE FROM rebuild_measure_facts`, `DELETE FROM rebuild_kpi_items`,
			`DELETE FROM rebuild_timeline_versions`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("clear rebuild tables: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM processed_events WHERE consumer IN (?, ?)`,
			rebuildMeasures, rebuildEngagement); err != nil {
			return fmt.Errorf("clear rebuild marks: %w", err)
		}
		return fact.ClearRebuild(ctx, tx, rebuildSeen)
	})
}

// swap publishes the membership facts that differ between the live and the rebuilt
// state, and makes the rebuilt state live. It returns how many facts were asserted
// and retracted.
func swap(ctx context.Context, tx *store.Tx) (asserted, retracted int, err error) {
	retract, err := projection.Missing(ctx, tx, projection.Live, projection.Rebuild)
	if err != nil {
		return 0, 0, err
	}
	assert, err := projection.Missing(ctx, tx, projection.Rebuild, projection.Live)
	if err != nil {
		return 0, 0, err
	}
	es, err := projection.Events(time.Now(), retract, assert)
	if err != nil {
		return 0, 0, err
	}
	if len(es) > 0 {
		// AddAll: many rows a statement, where Add runs one a fact (half of a swap's
		// CPU when a replay changes every fact).
		ms := make([]outbox.Message, len(es))
		for i, e := range es {
			ms[i] = outbox.Message{Topic: contract.TopicMeasureFact, Event: e}
		}
		if err := outbox.AddAll(ctx, tx, ms); err != nil {
			return 0, 0, err
		}
	}
	for _, q := range []string{
		`DELETE FROM timeline_items`, `INSERT INTO timeline_items SELECT * FROM rebuild_timeline_items`,
		`DELETE FROM measure_facts`, `INSERT INTO measure_facts SELECT * FROM rebuild_measure_facts`,
		`DELETE FROM kpi_items`, `INSERT INTO kpi_items SELECT * FROM rebuild_kpi_items`,
		// The rebuilt timelines' version tokens are fresh random ones: no process keeps
		// using a timeline it held from before the swap.
		`DELETE FROM timeline_versions`, `INSERT INTO timeline_versions SELECT * FROM rebuild_timeline_versions`,
		`DELETE FROM rebuild_timeline_items`, `DELETE FROM rebuild_measure_facts`, `DELETE FROM rebuild_kpi_items`,
		`DELETE FROM rebuild_timeline_versions`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return 0, 0, fmt.Errorf("swap tables: %w", err)
		}
	}
	if err := projection.BumpAll(ctx, tx); err != nil {
		return 0, 0, err
	}
	if err := engagement.Swapped(ctx, tx); err != nil { // the KPI reports kept are of the old rows
		return 0, 0, err
	}
	for live, rebuilt := range map[string]string{projection.Group: rebuildMeasures, engagement.Group: rebuildEngagement} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM processed_events WHERE consumer = ?`, live); err != nil {
			return 0, 0, fmt.Errorf("swap marks: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE processed_events SET consumer = ? WHERE consumer = ?`, live, rebuilt); err != nil {
			return 0, 0, fmt.Errorf("swap marks: %w", err)
		}
	}
	return len(assert), len(retract), nil
}
