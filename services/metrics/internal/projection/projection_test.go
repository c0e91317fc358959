package projection_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/measuretest"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/measure/timeline"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/metrics/internal/projection"
	"github.com/attest-ehr/attest/services/metrics/internal/projection/projectiontest"
)

func deriver(t testing.TB) *membership.Deriver {
	t.Helper()
	c, err := measure.New()
	if err != nil {
		t.Fatal(err)
	}
	return membership.NewDeriver(c, calendar.New(nil))
}

// recompute is the from-scratch state of a history: every patient's final items, and
// the facts derived from them.
func recompute(t *rapid.T, d *membership.Deriver, h projectiontest.History) (items []string, facts []string) {
	final, err := h.Final()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range slices.Sorted(maps.Keys(final)) {
		for _, it := range final[p] {
			items = append(items, itemString(it))
		}
		tl, err := timeline.Build(p, final[p])
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range d.Derive(tl) {
			facts = append(facts, f.Key())
		}
	}
	slices.Sort(items)
	slices.Sort(facts)
	return items, slices.Compact(facts)
}

func itemString(it timeline.Item) string {
	return fmt.Sprintf("%s %s %s %s %s", it.Patient, it.Kind, it.ID, it.Event, it.Data)
}

// folded is the set of facts (their keys) a consumer holds after applying the
// published changes in order; asserting a fact held, or retracting one not held, is
// an error.
func folded(t *rapid.T, es []event.Event) []string {
	held := map[string]bool{}
	for _, e := range es {
		var mf contract.MeasureFact
		if err := json.Unmarshal(e.Data, &mf); err != nil {
			t.Fatal(err)
		}
		k := membership.FromContract(mf).Key()
		switch e.Type {
		case contract.MeasureFactAsserted:
			if held[k] {
				t.Fatalf("asserted twice: %q", k)
			}
			held[k] = true
		case contract.MeasureFactRetracted:
			if !held[k] {
				t.Fatalf("retracted but not held: %q", k)
			}
			delete(held, k)
		}
	}
	return slices.Sorted(maps.Keys(held))
}

// TestStreamingEqualsRecompute: whatever order the consumer sees a history in (each
// topic's events of one patient in order, anything across them), with redeliveries,
// in any batches, the projection ends with exactly the items and facts a from-scratch
// recompute of the history gives, and its published fact changes add up to those facts.
func TestStreamingEqualsRecompute(t *testing.T) {
	// 10,000 histories: half on each core.
	measuretest.Checks(t, 5_000)
	d := deriver(t)
	for i := range 2 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			streamingEqualsRecompute(t, d)
		})
	}
}

func streamingEqualsRecompute(t *testing.T, d *membership.Deriver) {
	ctx := context.Background()
	var runs, withFacts int
	rapid.Check(t, func(rt *rapid.T) {
		h := projectiontest.Draw(rt, "p1", "p2")
		mem := projectiontest.NewMemory()
		pr := projection.NewProjector(mem, d, nil, slog.New(slog.DiscardHandler))
		for _, batch := range h.Delivery(rt) {
			if err := pr.HandleBatch(ctx, batch); err != nil {
				rt.Fatal(err)
			}
		}
		wantItems, wantFacts := recompute(rt, d, h)
		var gotItems []string
		for _, it := range mem.Items() {
			gotItems = append(gotItems, itemString(it))
		}
		slices.Sort(gotItems)
		if !slices.Equal(gotItems, wantItems) {
			rt.Fatalf("items\n got %q\nwant %q", gotItems, wantItems)
		}
		if got := mem.Facts(); !slices.Equal(got, wantFacts) {
			rt.Fatalf("facts: %d streamed, %d recomputed\n got %q\nwant %q", len(got), len(wantFacts), got, wantFacts)
		}
		if got := folded(rt, mem.Published()); !slices.Equal(got, wantFacts) {
			rt.Fatalf("published changes add up to %d facts, want %d", len(got), len(wantFacts))
		}
		runs++
		if len(wantFacts) > 0 {
			withFacts++
		}
	})
	if withFacts*2 < runs {
		t.Errorf("only %d of %d histories had facts: the generator is too sparse", withFacts, runs)
	}
}

// TestStreamingEqualsRecomputeInDatabase runs the property through the database state
// on SQLite and PostgreSQL: fewer histories, each on its own patients in one database.
func TestStreamingEqualsRecomputeInDatabase(t *testing.T) {
	d := deriver(t)
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if err := db.Migrate(ctx, projection.Migrations()); err != nil {
			t.Fatal(err)
		}
		measuretest.Checks(t, 25)
		// Two replicas on one database, each keeping timelines in memory (one of them
		// only a single patient's), take the batches in turn at random: each must notice
		// what the other changed behind its back.
		stA := projection.NewSQL(db, projection.Live, projection.Group, true)
		stB := projection.NewSQL(db, projection.Live, projection.Group, true).WithCache(1)
		replicas := []*projection.Projector{
			projection.NewProjector(stA, d, nil, slog.New(slog.DiscardHandler)),
			projection.NewProjector(stB, d, nil, slog.New(slog.DiscardHandler)),
		}
		defer func() {
			hitsA, missesA, _ := stA.CacheStats()
			hitsB, missesB, _ := stB.CacheStats()
			if hitsA == 0 || missesA == 0 || hitsB == 0 || missesB == 0 {
				t.Errorf("cache hits and misses: A %d/%d, B %d/%d; want both ways on both", hitsA, missesA, hitsB, missesB)
			}
		}()
		n := 0
		rapid.Check(t, func(rt *rapid.T) {
			n++
			pa, pb := fmt.Sprintf("%s-a%d", t.Name(), n), fmt.Sprintf("%s-b%d", t.Name(), n)
			h := projectiontest.Draw(rt, pa, pb)
			for _, batch := range h.Delivery(rt) {
				pr := replicas[rapid.IntRange(0, 1).Draw(rt, "replica")]
				if err := pr.HandleBatch(ctx, batch); err != nil {
					rt.Fatal(err)
				}
			}
			wantItems, wantFacts := recompute(rt, d, h)
			var gotItems, gotFacts []string
			for _, p := range []string{pa, pb} {
				items, err := projection.Items(ctx, db, projection.Live, p)
				if err != nil {
					rt.Fatal(err)
				}
				for _, it := range items {
					gotItems = append(gotItems, itemString(it))
				}
				facts, err := projection.PatientFacts(ctx, db, projection.Live, p)
				if err != nil {
					rt.Fatal(err)
				}
				for _, f := range facts {
					gotFacts = append(gotFacts, f.Key())
				}
			}
			slices.Sort(gotItems)
			slices.Sort(gotFacts)
			if !slices.Equal(gotItems, wantItems) {
				rt.Fatalf("items\n got %q\nwant %q", gotItems, wantItems)
			}
			if !slices.Equal(gotFacts, wantFacts) {
				rt.Fatalf("facts: %d streamed, %d recomputed", len(gotFacts), len(wantFacts))
			}
		})
	})
}
