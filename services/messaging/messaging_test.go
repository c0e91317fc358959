package messaging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/cache/cachetest"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/messaging"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const key1 = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=" // 32 bytes of 0x01

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		env    map[string]string
		fields []string // the settings named by the error, none when valid
		check  func(t *testing.T, c messaging.Config)
	}{
		{"defaults", map[string]string{"ATTEST_DATA_DIR": dir}, nil, func(t *testing.T, c messaging.Config) {
			if c.KeyFile != filepath.Join(dir, "messaging.keys") || c.Keys == nil || c.PatientRate != messaging.DefaultPatientRate ||
				c.Limits.MaxAttachments != 3 || c.Limits.MaxAttachmentBytes != 2<<20 {
				t.Errorf("config = %+v", c)
			}
		}},
		{"keys and limits set", map[string]string{"MESSAGING_KEYS": "k1:" + key1, "MESSAGING_PATIENT_RATE": "5/30s",
			"MESSAGING_MAX_ATTACHMENTS": "1", "MESSAGING_CLINICS": `{"east":{"time_zone":"America/New_York"}}`}, nil,
			func(t *testing.T, c messaging.Config) {
				if c.KeyFile != "" || c.Keys.Active() != "k1" || c.PatientRate.N != 5 || c.PatientRate.Per != 30*time.Second ||
					c.Limits.MaxAttachments != 1 || c.Clinics.Get("east").Zone.String() != "America/New_York" {
					t.Errorf("config = %+v", c)
				}
			}},
		{"everything wrong at once", map[string]string{"MESSAGING_KEYS": "k1:short", "MESSAGING_PATIENT_RATE": "lots",
			"MESSAGING_CARE_TEAM_RATE": "0/1m", "MESSAGING_MAX_ATTACHMENT_BYTES": "-1", "MESSAGING_CLINICS": "{"},
			[]string{"MESSAGING_KEYS", "MESSAGING_PATIENT_RATE", "MESSAGING_CARE_TEAM_RATE", "MESSAGING_MAX_ATTACHMENT_BYTES", "MESSAGING_CLINICS"}, nil},
		{"two keys without the active one", map[string]string{"MESSAGING_KEYS": "k1:" + key1 + ",k2:" + key1}, []string{"MESSAGING_ACTIVE_KEY"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := messaging.ConfigFromEnv(func(k string) string { return tt.env[k] })
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, c)
				return
			}
			for _, f := range tt.fields {
				if err == nil || !strings.Contains(err.Error(), f) {
					t.Errorf("error %v does not name %s", err, f)
				}
			}
			if err != nil && strings.Contains(err.Error(), key1) {
				t.Error("the error reveals a key")
			}
		})
	}

	// The generated key is kept: a restart reads the same key, so old messages open.
	getenv := func(k string) string { return map[string]string{"ATTEST_DATA_DIR": dir}[k] }
	a, err := messaging.ConfigFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := messaging.ConfigFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	kid, sealed, err := a.Keys.Seal([]byte("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Keys.Open(kid, sealed, nil); err != nil || string(got) != "hello" {
		t.Fatalf("a restart cannot open what the first start sealed: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "messaging.keys")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
}

// TestEndToEnd runs the service against the embedded broker over TCP: a patient
// registered in records reaches the directory, the patient's message goes out as a
// messaging.message.sent event, and nothing in it is content.
func TestEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Partitions: 1,
			Topics: []string{contract.TopicPatient, contract.TopicMessage, contract.TopicNotification}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		d := messaging.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Cache: cachetest.New(t), Brokers: b.Addrs()}
		cfg, err := messaging.ConfigFromEnv(func(k string) string {
			return map[string]string{"MESSAGING_KEYS": "k1:" + key1}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		app, err := messaging.New(ctx, cfg, d)
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		ran := make(chan error, 1)
		go func() { ran <- app.Run(runCtx) }()
		defer func() {
			stop()
			if err := <-ran; err != nil {
				t.Errorf("Run: %v", err)
			}
			if err := app.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()

		w := event.NewWriter(d.Events())
		defer w.Close()
		reg, err := event.New(contract.PatientRegistered, "records", "pat-e2e", time.Now(), time.Now(), contract.Patient{PatientID: "pat-e2e"})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Publish(ctx, contract.TopicPatient, reg); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the patient to reach the directory", func() bool {
			return do(app.Handler(), principal.Principal{}, "GET", "/v1/patients/pat-e2e", nil) == http.StatusOK
		})

		p := principal.Principal{Kind: principal.Patient, ID: "pat-e2e"}
		body := map[string]any{"kind": "pool", "clinic_id": "east", "subject": "ZZSUBJECT",
			"message": map[string]any{"kind": "general", "body": "ZZBODY"}}
		if code := do(app.Handler(), p, "POST", "/v1/threads", body); code != http.StatusCreated {
			t.Fatalf("start thread = %d", code)
		}

		got := make(chan event.Event, 16)
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		go func() {
			_ = event.Consume(cctx, d.Events(), event.ConsumerConfig{Group: "test.e2e", Topics: []string{contract.TopicMessage}},
				event.HandlerFunc(func(_ context.Context, e event.Event) error { got <- e; return nil }))
			close(got)
		}()
		select {
		case e, ok := <-got:
			if !ok {
				t.Fatal("no messaging event reached Kafka")
			}
			var m contract.SecureMessage
			if err := e.Decode(&m); err != nil {
				t.Fatal(err)
			}
			if e.Type != contract.MessageSent || e.Subject != "pat-e2e" || m.Direction != contract.DirectionPatientToProvider ||
				m.SenderRole != contract.RolePatient || m.ClinicID != "east" || bytes.Contains(e.Data, []byte("ZZ")) {
				t.Errorf("event %s %s: %s", e.Type, e.Subject, e.Data)
			}
		case <-cctx.Done():
			t.Fatal("no messaging event reached Kafka in time")
		}
		cancel()
		for range got { // let the consumer finish
		}
	})
}

func do(h http.Handler, p principal.Principal, method, path string, body any) int {
	var r *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Content-Type", "application/json")
	if p.Kind != "" {
		req.Header.Set(principal.Header, p.String())
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNewRefusesConfigWithoutKeys(t *testing.T) {
	_, err := messaging.New(context.Background(), messaging.Config{}, messaging.Deps{})
	if !errs.Is(errs.Invalid, err) {
		t.Fatalf("New without keys = %v, want Invalid", err)
	}
}
