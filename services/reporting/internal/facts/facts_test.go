package facts_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/reporting/internal/facts"
)

func open(t *testing.T, db *store.DB) *facts.Store {
	t.Helper()
	if err := db.Migrate(context.Background(), facts.Migrations()); err != nil {
		t.Fatal(err)
	}
	return facts.NewStore(db, 1000)
}

func fact(entity, patient, object, role string, day int) contract.MeasureFact {
	kind := contract.EntityTINNPI
	if !strings.Contains(entity, "/") {
		kind = contract.EntityNPI
	}
	return contract.MeasureFact{Entity: contract.Entity{Kind: kind, ID: entity}, Program: "mips-pi", Measure: "PI_EP_1",
		Year: 2025, PatientID: patient, Object: object, Role: role, Ref: object,
		At: time.Date(2025, 3, day, 12, 0, 0, 0, time.UTC), Because: "ev-" + object + role}
}

var offset int64

func ev(t *testing.T, topic, typ string, partition int, payload any) event.Event {
	t.Helper()
	e, err := event.New(typ, "test", "k", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC), payload)
	if err != nil {
		t.Fatal(err)
	}
	offset++
	e.Topic, e.Partition, e.Offset = topic, partition, offset
	return e
}

func keys(fs [][]membership.Fact) []string {
	var out []string
	for _, l := range fs {
		for _, f := range l {
			out = append(out, f.Key()+"|"+f.Because)
		}
	}
	slices.Sort(out)
	return out
}

// TestStoreAppliesExactlyOnce applies random histories of assertions, retractions,
// redeliveries and yes/no inputs in random batches on both engines, and checks that
// the database state (read through the cache, also after changes) equals the same
// events applied to Memory, that positions only move forward, and that a group reads
// its clinicians' facts.
func TestStoreAppliesExactlyOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		h := facts.NewHandler(s, slog.New(slog.DiscardHandler))
		mem := facts.NewMemory()
		rng := rand.New(rand.NewPCG(7, 9))
		entities := []string{"111111111/1234567893", "111111111/1245319599", "1234567893"}
		var pool []contract.MeasureFact
		for i := range 40 {
			pool = append(pool, fact(entities[i%3], fmt.Sprint("p", i%7), fmt.Sprint("rx", i), []string{"denominator", "numerator"}[i%2], 1+i%20))
		}
		var history []event.Event
		for range 300 {
			f := pool[rng.IntN(len(pool))]
			typ := contract.MeasureFactAsserted
			if rng.IntN(3) == 0 {
				typ = contract.MeasureFactRetracted
			}
			history = append(history, ev(t, contract.TopicMeasureFact, typ, rng.IntN(3), f))
			if rng.IntN(10) == 0 { // a redelivery of an earlier event
				history = append(history, history[rng.IntN(len(history))])
			}
		}
		att := contract.Attestation{AttestationID: "a1", Entity: contract.Entity{Kind: contract.EntityTINNPI, ID: entities[0]},
			Kind: contract.AttestSecurityRiskAnalysis, Answer: true, Performed: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)}
		history = append(history, ev(t, contract.TopicAttestation, contract.AttestationRecorded, 0, att))
		att2 := att
		att2.Answer = false
		history = append(history, ev(t, contract.TopicAttestation, contract.AttestationCorrected, 0, att2))
		eng := contract.RegistryEngagement{RegistryEngagementID: "g1", Entity: att.Entity, Measure: contract.RegistryImmunization,
			RegistryID: "org-1", Status: contract.EngagementProduction, Since: time.Date(2025, 1, 5, 0, 0, 0, 0, time.UTC)}
		history = append(history, ev(t, contract.TopicRegistryEngagement, contract.RegistryEngagementRecorded, 1, eng))
		eng2 := eng
		eng2.RegistryEngagementID = "g2"
		history = append(history, ev(t, contract.TopicRegistryEngagement, contract.RegistryEngagementRecorded, 1, eng2),
			ev(t, contract.TopicRegistryEngagement, contract.RegistryEngagementDeleted, 1,
				contract.RegistryEngagementRef{RegistryEngagementID: "g2", Entity: eng.Entity}),
			ev(t, contract.TopicMeasureFact, "metrics.something.new", 2, map[string]string{}))
		discharges := int64(10000)
		pay := contract.PaymentInputs{PaymentInputsID: "pay-1", Entity: contract.Entity{Kind: contract.EntityCCN, ID: "123456"},
			Year: 2015, PaymentFigures: contract.PaymentFigures{Program: contract.IncentiveMedicare, Discharges: &discharges}}
		pay2 := pay
		pay2.PaymentInputsID, pay2.Year = "pay-2", 2016
		more := discharges + 500
		payCorrected := pay
		payCorrected.Discharges = &more
		history = append(history, ev(t, contract.TopicPaymentInputs, contract.PaymentInputsRecorded, 0, pay),
			ev(t, contract.TopicPaymentInputs, contract.PaymentInputsRecorded, 0, pay2),
			ev(t, contract.TopicPaymentInputs, contract.PaymentInputsCorrected, 0, payCorrected),
			ev(t, contract.TopicPaymentInputs, contract.PaymentInputsDeleted, 0,
				contract.PaymentInputsRef{PaymentInputsID: "pay-2", Entity: pay.Entity}))

		seen := map[string]bool{}
		tokens := map[contract.Entity]string{} // the token of each entity's series when last read
		held := map[contract.Entity][]string{} // and their facts
		for i := 0; i < len(history); {
			n := 1 + rng.IntN(40)
			batch := history[i:min(i+n, len(history))]
			yesNoBefore, err := s.YesNoVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.HandleBatch(ctx, batch); err != nil {
				t.Fatal(err)
			}
			yesNoChanged := false
			for _, e := range batch {
				if seen[e.ID] {
					continue
				}
				yesNoChanged = yesNoChanged || e.Topic != contract.TopicMeasureFact
				seen[e.ID] = true
				c, err := facts.Decode(e)
				if err != nil {
					t.Fatal(err)
				}
				mem.Apply(c)
			}
			i += n
			// Read through the cache after every batch: a stale series would show.
			for _, e := range []contract.Entity{{Kind: contract.EntityTIN, ID: "111111111"}, {Kind: contract.EntityNPI, ID: entities[2]},
				{Kind: contract.EntityTINNPI, ID: entities[1]}} {
				got, err := s.Facts(ctx, e, "mips-pi", "PI_EP_1", 2025)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := mem.Facts(ctx, e, "mips-pi", "PI_EP_1", 2025)
				if !slices.Equal(keys(got), keys(want)) {
					t.Fatalf("after %d events, %s: store has %d facts, memory %d", i, e, len(keys(got)), len(keys(want)))
				}
				// The token moves with the facts: a result kept under it is never stale.
				_, token, err := s.Columns(ctx, e, "mips-pi", "PI_EP_1", 2025)
				if err != nil {
					t.Fatal(err)
				}
				if before, ok := tokens[e]; ok && before == token && !slices.Equal(held[e], keys(got)) {
					t.Fatalf("after %d events, %s: the facts changed and the token %q did not", i, e, token)
				}
				tokens[e], held[e] = token, keys(got)
			}
			// So does the yes/no inputs' version (an unknown event type changes nothing,
			// but only the last batch can hold it and it holds engagements too).
			yesNoAfter, err := s.YesNoVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if yesNoChanged != (yesNoAfter != yesNoBefore) {
				t.Fatalf("after %d events: yes/no inputs changed %v, version %s → %s", i, yesNoChanged, yesNoBefore, yesNoAfter)
			}
		}
		series, err := s.Series(ctx, contract.Entity{Kind: contract.EntityTIN, ID: "111111111"}, "mips-pi", "PI_EP_1", 2025)
		if err != nil || len(series) == 0 || slices.ContainsFunc(series, func(f membership.Fact) bool { return f.Entity.Kind != contract.EntityTINNPI }) {
			t.Errorf("the group's series: %d facts, %v", len(series), err)
		}
		atts, err := s.Attestations(ctx, att.Entity)
		if err != nil || len(atts) != 1 || atts[0].Answer {
			t.Errorf("attestations %+v %v: want the corrected one", atts, err)
		}
		engs, err := s.Engagements(ctx, att.Entity)
		if err != nil || len(engs) != 1 || engs[0].RegistryEngagementID != "g1" {
			t.Errorf("engagements %+v %v: want g1 only", engs, err)
		}
		// Payment inputs: the corrected 2015 figures; 2016's were deleted; the store and
		// a recompute's memory agree.
		for year, want := range map[int]int64{2015: more, 2016: -1, 2014: -1} {
			got, err := s.PaymentInputs(ctx, pay.Entity, year)
			inMem, _ := mem.PaymentInputs(ctx, pay.Entity, year)
			switch {
			case err != nil:
				t.Fatal(err)
			case want < 0 && (got != nil || inMem != nil):
				t.Errorf("payment inputs %d: %+v / %+v, want none", year, got, inMem)
			case want >= 0 && (got == nil || inMem == nil || *got.Discharges != want || *inMem.Discharges != want):
				t.Errorf("payment inputs %d: %+v / %+v, want %d discharges", year, got, inMem, want)
			}
		}
		pos, newest, err := s.Positions(ctx)
		if err != nil || len(pos) == 0 || newest.IsZero() {
			t.Fatalf("positions %v %v %v", pos, newest, err)
		}
		// A redelivered old batch does not move a position back.
		if err := h.HandleBatch(ctx, history[:1]); err != nil {
			t.Fatal(err)
		}
		again, _, _ := s.Positions(ctx)
		if !slices.Equal(pos, again) {
			t.Errorf("positions moved back: %v then %v", pos, again)
		}
		for _, p := range pos {
			var max int64
			for _, e := range history {
				if e.Topic == p.Topic && e.Partition == p.Partition {
					max = e.Offset + 1
				}
			}
			if p.Offset != max {
				t.Errorf("position %s/%d = %d, want %d", p.Topic, p.Partition, p.Offset, max)
			}
		}
	})
}

// TestStoreRefusesMalformedEvents checks that a malformed event of a known type is a
// permanent error (dead-lettered) and its batch leaves nothing behind.
func TestStoreRefusesMalformedEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		h := facts.NewHandler(s, slog.New(slog.DiscardHandler))
		good := fact("1234567893", "p1", "rx1", "denominator", 3)
		bad := []any{
			contract.MeasureFact{},
			func() contract.MeasureFact {
				f := good
				f.Entity = contract.Entity{Kind: contract.EntityTIN, ID: "111111111"}
				return f
			}(),
			func() contract.MeasureFact { f := good; f.Role = "sideways"; return f }(),
			func() contract.MeasureFact { f := good; f.PatientID = ""; return f }(),
			"not an object",
		}
		for i, b := range bad {
			err := h.HandleBatch(ctx, []event.Event{ev(t, contract.TopicMeasureFact, contract.MeasureFactAsserted, 0, good),
				ev(t, contract.TopicMeasureFact, contract.MeasureFactAsserted, 0, b)})
			if !event.IsPermanent(err) {
				t.Errorf("bad fact %d: %v, want a permanent error", i, err)
			}
		}
		for _, b := range []struct {
			typ     string
			payload any
		}{
			{contract.AttestationRecorded, contract.Attestation{Entity: contract.Entity{Kind: "npi", ID: "1234567893"}}},
			{contract.AttestationDeleted, contract.AttestationRef{}},
			{contract.RegistryEngagementRecorded, contract.RegistryEngagement{RegistryEngagementID: "g", Entity: contract.Entity{Kind: "npi", ID: "1"}}},
			{contract.PaymentInputsRecorded, contract.PaymentInputs{Entity: contract.Entity{Kind: "ccn", ID: "123456"}, Year: 2015}},
			{contract.PaymentInputsRecorded, contract.PaymentInputs{PaymentInputsID: "pay", Entity: contract.Entity{Kind: "ccn", ID: "123456"}}},
			{contract.PaymentInputsDeleted, contract.PaymentInputsRef{}},
		} {
			if err := h.Handle(ctx, ev(t, contract.TopicAttestation, b.typ, 0, b.payload)); !event.IsPermanent(err) {
				t.Errorf("%s %+v: %v, want a permanent error", b.typ, b.payload, err)
			}
		}
		got, err := s.Facts(ctx, good.Entity, "mips-pi", "PI_EP_1", 2025)
		if err != nil || len(got) != 0 {
			t.Errorf("a refused batch left %d series (%v)", len(got), err)
		}
		pos, _, err := s.Positions(ctx)
		if err != nil || len(pos) != 0 {
			t.Errorf("a refused batch moved positions: %v %v", pos, err)
		}
	})
}
