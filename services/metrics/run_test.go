package metrics_test

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/metrics"
)

// TestRunFromTheBroker runs the service against the embedded broker over TCP: events
// published by records and messaging reach the numbers and the KPIs, and a watcher of
// the live stream is told.
func TestRunFromTheBroker(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		brokers := startBroker(t)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		a, err := metrics.New(ctx, metrics.Config{}, metrics.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Brokers: brokers})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		srv := httptest.NewServer(a.Handler())
		defer srv.Close()
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(runCtx) }()
		defer func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}()

		// Watch the live stream before anything happens.
		req, _ := http.NewRequestWithContext(runCtx, http.MethodGet, srv.URL+"/v1/kpis/stream", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		changes := make(chan string, 16)
		go func() {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if line := sc.Text(); strings.HasPrefix(line, "data: ") {
					changes <- line
				}
			}
			close(changes)
		}()

		es := visit(t, "run1", npiA, "2025-03-03", 2)
		es = append(es, ev(t, contract.MessageSent, "run1", contract.SecureMessage{MessageID: "m1", ThreadID: "th",
			PatientID: "run1", ClinicID: "c1", Kind: contract.KindGeneral, Direction: contract.DirectionPatientToProvider,
			SenderRole: contract.RolePatient, SenderID: "run1", Sent: at("2025-03-03T15:00:00Z")}))
		w := event.NewWriter(event.Config{Brokers: brokers})
		defer w.Close()
		for _, e := range es {
			if err := w.Publish(ctx, e.Topic, e); err != nil {
				t.Fatal(err)
			}
		}

		q := "/v1/numbers?" + query("entity", "tin_npi:"+tin+"/"+npiA, "program", "mips-pi", "year", "2025", "measure", "PI_PEA_1")
		for {
			var n struct{ Numerator, Denominator int }
			if get(t, a.Handler(), q, &n) == http.StatusOK && n.Numerator == 1 && n.Denominator == 1 {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatal("the numbers never reached 1/1")
			case <-time.After(20 * time.Millisecond):
			}
		}
		var sawMeasures, sawKPIs bool
		for !sawMeasures || !sawKPIs {
			select {
			case line := <-changes:
				sawMeasures = sawMeasures || strings.Contains(line, `"measures":`)
				sawKPIs = sawKPIs || strings.Contains(line, "message-received")
			case <-ctx.Done():
				t.Fatalf("the stream did not report both changes (measures %v, KPIs %v)", sawMeasures, sawKPIs)
			}
		}
		var r struct {
			Rows []struct {
				MessagesReceived  int `json:"messages_received"`
				AccessProvisioned int `json:"access_provisioned"`
			}
		}
		get(t, a.Handler(), "/v1/kpis?from=2025-03-01&to=2025-03-09", &r)
		if len(r.Rows) != 1 || r.Rows[0].MessagesReceived != 1 || r.Rows[0].AccessProvisioned != 2 {
			t.Errorf("KPIs: %+v", r)
		}
	})
}
