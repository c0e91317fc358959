package education_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/cache/cachetest"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/education"
)

// TestMain checks that the service stops its consumers and relay.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		ok   bool
		want func(education.Config) bool
	}{
		{"defaults", nil, true, func(c education.Config) bool {
			return c.Auto == "suggest" && c.Recent == 90*24*time.Hour && c.Starter && !c.MedlinePlus
		}},
		{"days", map[string]string{"EDUCATION_RECENT_RESULTS": "30d", "EDUCATION_AUTO": "provide"}, true,
			func(c education.Config) bool { return c.Recent == 30*24*time.Hour && c.Auto == "provide" }},
		{"bad auto", map[string]string{"EDUCATION_AUTO": "always"}, false, nil},
		{"bad duration", map[string]string{"EDUCATION_RECENT_RESULTS": "soon"}, false, nil},
		{"over NLM's limit", map[string]string{"EDUCATION_MEDLINEPLUS_PER_MINUTE": "95"}, false, nil},
		{"bad bool", map[string]string{"EDUCATION_MEDLINEPLUS": "maybe"}, false, nil},
	}
	for _, tt := range tests {
		cfg, err := education.ConfigFromEnv(func(k string) string { return tt.env[k] })
		if (err == nil) != tt.ok || tt.ok && !tt.want(cfg) {
			t.Errorf("%s: %+v, %v", tt.name, cfg, err)
		}
	}
}

// TestServiceOverKafka runs the service against the embedded broker over TCP: records'
// events in, a suggestion made and its event relayed out.
func TestServiceOverKafka(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		topics := []string{contract.TopicPatient, contract.TopicProblem, contract.TopicMed, contract.TopicResult, contract.TopicMaterial}
		b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Partitions: 1, Topics: topics})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		d := education.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Cache: cachetest.New(t), Brokers: b.Addrs()}
		cfg, err := education.ConfigFromEnv(func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		a, err := education.New(ctx, cfg, d)
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(runCtx) }()
		defer func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			if err := a.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()

		w := event.NewWriter(d.Events())
		defer w.Close()
		now := time.Now()
		reg, _ := event.New(contract.PatientRegistered, "records", "p1", now, now, contract.Patient{PatientID: "p1"})
		prob, _ := event.New(contract.ProblemRecorded, "records", "p1", now, now, contract.Problem{ProblemID: "pr1",
			PatientID: "p1", Code: contract.Code{System: contract.SystemICD10CM, Code: "E11.9"}, Status: "active", Recorded: now})
		if err := w.Publish(ctx, contract.TopicPatient, reg); err != nil {
			t.Fatal(err)
		}
		if err := w.Publish(ctx, contract.TopicProblem, prob); err != nil {
			t.Fatal(err)
		}

		get := func(path string) map[string]any {
			r := httptest.NewRequest(http.MethodGet, path, nil)
			r.Header.Set(principal.Header, "clinician:1234567893")
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, r)
			var out map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &out)
			return out
		}
		waitFor(t, "a suggestion from the starter catalog", func() bool {
			sg, _ := get("/v1/patients/p1/suggestions")["suggestions"].([]any)
			return len(sg) > 0
		})
		waitFor(t, "the relay to publish the matched event", func() bool {
			n, err := outbox.Pending(ctx, db)
			return err == nil && n == 0
		})
		if p := get("/v1/patients/p1"); p["patient_id"] != "p1" {
			t.Errorf("patient directory: %v", p)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // guards against a hang only
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
