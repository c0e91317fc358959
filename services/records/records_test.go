package records_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/cache/cachetest"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records"
)

// TestMain checks that the service stops its relay and upkeep.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want time.Duration
		ok   bool
	}{
		{"default", nil, 30 * 24 * time.Hour, true},
		{"set", map[string]string{"RECORDS_DUPLICATE_STUDY_WINDOW": "168h"}, 168 * time.Hour, true},
		{"not a duration", map[string]string{"RECORDS_DUPLICATE_STUDY_WINDOW": "a week"}, 0, false},
		{"negative", map[string]string{"RECORDS_DUPLICATE_STUDY_WINDOW": "-1h"}, 0, false},
	}
	for _, tt := range tests {
		cfg, err := records.ConfigFromEnv(func(k string) string { return tt.env[k] })
		if (err == nil) != tt.ok || cfg.DuplicateWindow != tt.want {
			t.Errorf("%s: %+v, %v", tt.name, cfg, err)
		}
	}
}

// TestServiceOverKafka runs the service against the embedded broker over TCP: facts
// posted to the API arrive on their topics, keyed by the patient, in order.
func TestServiceOverKafka(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		topics := []string{contract.TopicPatient, contract.TopicPrescription, contract.TopicOrganization}
		b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Partitions: 1, Topics: topics})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		d := records.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Cache: cachetest.New(t), Brokers: b.Addrs()}
		a, err := records.New(ctx, records.Config{}, d)
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer stop()
		wg.Go(func() {
			if err := a.Run(runCtx); err != nil {
				t.Errorf("Run: %v", err)
			}
			if err := a.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})

		post := func(path string, body map[string]any) map[string]any {
			t.Helper()
			data, _ := json.Marshal(body)
			r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(data))
			r.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, r)
			var out map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &out)
			if rec.Code >= 300 {
				t.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
			}
			return out
		}
		post("/v1/organizations", map[string]any{"id": "org-1", "name": "Clinic", "kind": "practice"})
		p := post("/v1/patients", map[string]any{"organization_id": "org-1",
			"mrn":  map[string]any{"system": "urn:oid:1.2.3", "value": "MRN-1"},
			"name": map[string]any{"given": []string{"Ann"}, "family": "Example"}, "birth_date": "1970-01-02", "sex": "female"})
		pid := p["id"].(string)
		rx := post("/v1/prescriptions", map[string]any{"patient_id": pid, "kind": "new", "permissible": true,
			"code":    map[string]any{"system": contract.SystemRxNorm, "code": "860975"},
			"written": "2025-03-04T14:45:00Z", "npi": "1234567893"})
		post("/v1/prescriptions/"+rx["id"].(string)+"/transmit", map[string]any{"transmitted": "2025-03-04T14:46:00Z",
			"method": "electronic", "outcome": "succeeded"})

		var (
			mu  sync.Mutex
			got []event.Event
		)
		consumeCtx, stopConsuming := context.WithCancel(ctx)
		var cwg sync.WaitGroup
		cwg.Go(func() {
			err := event.Consume(consumeCtx, d.Events(), event.ConsumerConfig{Group: "test.records", Topics: topics},
				event.HandlerFunc(func(_ context.Context, e event.Event) error {
					mu.Lock()
					defer mu.Unlock()
					got = append(got, e)
					return nil
				}))
			if err != nil {
				t.Errorf("Consume: %v", err)
			}
		})
		deadline := time.Now().Add(30 * time.Second) // guards against a hang only
		for {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n >= 4 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		stopConsuming()
		cwg.Wait()

		byTopic := map[string][]string{}
		for _, e := range got {
			byTopic[e.Topic] = append(byTopic[e.Topic], e.Type)
			if e.Topic == contract.TopicPrescription && (e.Subject != pid || e.Source != "records" || e.Time.IsZero()) {
				t.Errorf("%s: subject %q, source %q, time %v", e.Type, e.Subject, e.Source, e.Time)
			}
		}
		if rx := byTopic[contract.TopicPrescription]; len(rx) != 2 || rx[0] != contract.PrescriptionRecorded ||
			rx[1] != contract.PrescriptionTransmitted {
			t.Errorf("prescription events %v", rx)
		}
		if pt := byTopic[contract.TopicPatient]; len(pt) != 1 || pt[0] != contract.PatientRegistered {
			t.Errorf("patient events %v", pt)
		}
		if org := byTopic[contract.TopicOrganization]; len(org) != 1 {
			t.Errorf("organization events %v", org)
		}
	})
}

// TestOpenAPIServed: the service answers its OpenAPI document at GET /v1/openapi.json,
// and it describes the health routes served beside the API.
func TestOpenAPIServed(t *testing.T) {
	db := storetest.Open(t, store.SQLite, storetest.Service)
	d := records.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Cache: cachetest.New(t)}
	a, err := records.New(context.Background(), records.Config{}, d)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/openapi.json", nil))
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("GET /v1/openapi.json: %d %v", rec.Code, err)
	}
	if doc.OpenAPI != "3.0.3" || len(doc.Paths) < 60 {
		t.Errorf("openapi %q with %d paths", doc.OpenAPI, len(doc.Paths))
	}
	for _, path := range []string{"/healthz", "/readyz", "/v1/openapi.json", "/v1/patients/{id}"} {
		if doc.Paths[path]["get"] == nil {
			t.Errorf("GET %s is not in the document", path)
		}
	}
	rec = httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("GET /healthz: %d", rec.Code)
	}
}
