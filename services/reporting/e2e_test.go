package reporting_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/reporting"
)

const clinician = "000456789/1234567893"

// rx is the e-Prescribing facts of one prescription: in the denominator on day, in
// the numerator when transmitted.
func rx(id string, day int, transmitted bool) []contract.MeasureFact {
	at := time.Date(2025, 3, day, 15, 0, 0, 0, time.UTC)
	den := contract.MeasureFact{Entity: contract.Entity{Kind: contract.EntityTINNPI, ID: clinician}, Program: "mips-pi",
		Measure: "PI_EP_1", Year: 2025, PatientID: "pt-" + id, Object: id, Role: contract.RoleDenominator, Ref: id, At: at,
		Because: "ev-den-" + id}
	out := []contract.MeasureFact{den}
	if transmitted {
		num := den
		num.Role, num.At, num.Because = contract.RoleNumerator, at.Add(time.Minute), "ev-num-"+id
		out = append(out, num)
	}
	return out
}

func publishFacts(t *testing.T, w *event.Writer, typ string, fs ...contract.MeasureFact) {
	t.Helper()
	var es []event.Event
	for _, f := range fs {
		e, err := event.New(typ, "metrics", f.PatientID, f.At, time.Now(), f)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	if err := w.Publish(context.Background(), contract.TopicMeasureFact, es...); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, h http.Handler, target string, out any) int {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", target, nil)
	req.Header.Set(principal.Header, "officer:u-17")
	h.ServeHTTP(rec, req)
	if out != nil && rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s: %v in %.300s", target, err, rec.Body)
		}
	}
	return rec.Code
}

type measureNumbers struct {
	ID          string `json:"id"`
	Numerator   int64  `json:"numerator"`
	Denominator int64  `json:"denominator"`
	Answer      *bool  `json:"answer"`
	Status      string `json:"status"`
}

type reportJSON struct {
	Measures  []measureNumbers `json:"measures"`
	Positions []struct {
		Topic  string `json:"topic"`
		Offset int64  `json:"offset"`
	} `json:"positions"`
}

func (r reportJSON) measure(id string) measureNumbers {
	for _, m := range r.Measures {
		if m.ID == id {
			return m
		}
	}
	return measureNumbers{}
}

const reportQuery = "/v1/reports?program=mips-pi&year=2025&entity=tin_npi:" + clinician + "&from=2025-01-01&to=2025-12-31"

// waitFor polls the report until ok holds for it.
func waitFor(t *testing.T, h http.Handler, what string, ok func(reportJSON) bool) reportJSON {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var r reportJSON
		code := get(t, h, reportQuery, &r)
		if code == http.StatusOK && ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the report never got there (%d): %+v", what, code, r.measure("PI_EP_1"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReportsFromPublishedFacts runs the service against the embedded broker on both
// engines: facts published on metrics.measure-fact.v1 and an attestation on
// records.attestation.v1 change the report's numbers; drill-down names each member's
// event; a freeze verifies offline and fails once tampered with; after more events
// (late facts and a correction) recompute at the recorded positions still gives the
// frozen numbers and the diff explains the change.
func TestReportsFromPublishedFacts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// A broker per engine: the database must hold the log from its beginning.
		b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Partitions: 3, Topics: contract.Topics()})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg, err := reporting.ConfigFromEnv(func(k string) string { return map[string]string{"ATTEST_DATA_DIR": t.TempDir()}[k] })
		if err != nil {
			t.Fatal(err)
		}
		deps := reporting.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Brokers: b.Addrs()}
		app, err := reporting.New(ctx, cfg, deps)
		if err != nil {
			t.Fatal(err)
		}
		defer app.Close()
		done := make(chan error, 1)
		go func() { done <- app.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil && ctx.Err() == nil {
				t.Errorf("run: %v", err)
			}
		}()
		h := app.Handler()
		w := event.NewWriter(deps.Events())
		defer w.Close()

		// Before any fact: the measure is counted at 0/0 (and so excluded by volume).
		base := waitFor(t, h, "empty", func(r reportJSON) bool { return len(r.Measures) > 0 })
		start := base.measure("PI_EP_1")

		tag := fmt.Sprintf("%s-%d", db.Dialect(), time.Now().UnixNano())
		var first []contract.MeasureFact
		first = append(first, rx("a-"+tag, 3, true)...)
		first = append(first, rx("b-"+tag, 4, true)...)
		first = append(first, rx("c-"+tag, 5, false)...)
		publishFacts(t, w, contract.MeasureFactAsserted, first...)
		sra := contract.Attestation{AttestationID: "sra-" + tag, Entity: contract.Entity{Kind: contract.EntityTINNPI, ID: clinician},
			Kind: contract.AttestSecurityRiskAnalysis, Answer: true, Performed: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)}
		e, err := event.New(contract.AttestationRecorded, "records", sra.Entity.String(), sra.Performed, time.Now(), sra)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Publish(ctx, contract.TopicAttestation, e); err != nil {
			t.Fatal(err)
		}
		r := waitFor(t, h, "first facts", func(r reportJSON) bool {
			m := r.measure("PI_EP_1")
			return m.Denominator == start.Denominator+3 && r.measure("PI_PPHI_1").Answer != nil && *r.measure("PI_PPHI_1").Answer
		})
		if m := r.measure("PI_EP_1"); m.Numerator != start.Numerator+2 {
			t.Errorf("PI_EP_1 after the facts: %+v", m)
		}

		// Drill-down: the one prescription not transmitted, with the event behind it.
		var page struct {
			Members []struct {
				PatientID        string `json:"patient_id"`
				Object           string `json:"object"`
				DenominatorEvent string `json:"denominator_event"`
			} `json:"members"`
			Total int `json:"total"`
		}
		target := strings.Replace(reportQuery, "/v1/reports?", "/v1/reports/members?", 1) + "&measure=PI_EP_1&in=not-numerator&page_size=1000"
		if code := get(t, h, target, &page); code != http.StatusOK {
			t.Fatalf("members: %d", code)
		}
		found := false
		for _, m := range page.Members {
			found = found || m.Object == "c-"+tag && m.DenominatorEvent == "ev-den-c-"+tag
		}
		if !found {
			t.Errorf("not-numerator members %+v lack c-%s with its event", page.Members, tag)
		}

		// Freeze, export, verify, tamper.
		body := `{"program":"mips-pi","year":2025,"entity":"tin_npi:` + clinician + `","from":"2025-01-01","to":"2025-12-31","as_of":"final"}`
		req := httptest.NewRequest("POST", "/v1/attestations", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(principal.Header, "officer:u-17")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Fatalf("freeze: %d %s", rec.Code, rec.Body)
		}
		var sum struct {
			ID       string `json:"id"`
			FrozenBy string `json:"frozen_by"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &sum); err != nil || sum.FrozenBy != "officer:u-17" {
			t.Fatalf("freeze answer %s", rec.Body)
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/attestations/"+sum.ID+"/export?format=json", nil))
		file := rec.Body.Bytes()
		if v, err := reporting.VerifyAttestation(file, ""); err != nil || !v.OK() {
			t.Fatalf("the frozen attestation does not verify: %v %v", err, v.Err())
		}
		if !bytes.Contains(file, []byte(`"positions":[{`)) || !bytes.Contains(file, []byte("c-"+tag)) {
			t.Error("the attestation lacks its positions or patient lists")
		}
		i := bytes.Index(file, []byte(`"numerator":`))
		tampered := bytes.Clone(file)
		tampered[i+len(`"numerator":`)] ^= 1 // one digit changed
		if v, _ := reporting.VerifyAttestation(tampered, ""); v.OK() {
			t.Error("a tampered attestation verifies")
		}

		// More events after the freeze: a late prescription, and a correction that
		// retracts the transmission of b.
		publishFacts(t, w, contract.MeasureFactAsserted, rx("d-"+tag, 6, true)...)
		publishFacts(t, w, contract.MeasureFactRetracted, rx("b-"+tag, 4, true)[1])
		waitFor(t, h, "later facts", func(r reportJSON) bool {
			m := r.measure("PI_EP_1")
			return m.Denominator == start.Denominator+4 && m.Numerator == start.Numerator+2
		})

		var rc struct {
			Equal       bool `json:"equal"`
			EventsRead  int  `json:"events_read"`
			Differences []struct {
				Measure, Field string
			} `json:"differences"`
		}
		if code := get(t, h, "/v1/attestations/"+sum.ID+"/recompute", &rc); code != http.StatusOK || !rc.Equal || rc.EventsRead == 0 {
			t.Errorf("recompute at the positions: %d %+v", code, rc)
		}
		var diff struct {
			Changed  bool `json:"changed"`
			Measures []struct {
				Measure        string   `json:"measure"`
				Changed        bool     `json:"changed"`
				LateFacts      int      `json:"late_facts"`
				RetractedFacts int      `json:"retracted_facts"`
				Explanation    []string `json:"explanation"`
			} `json:"measures"`
		}
		if code := get(t, h, "/v1/attestations/"+sum.ID+"/diff", &diff); code != http.StatusOK || !diff.Changed {
			t.Fatalf("diff: %d %+v", code, diff)
		}
		for _, m := range diff.Measures {
			if m.Measure == "PI_EP_1" && (!m.Changed || m.LateFacts != 2 || m.RetractedFacts != 1 || len(m.Explanation) == 0) {
				t.Errorf("diff of PI_EP_1: %+v; want 2 late facts and 1 retraction explained", m)
			}
			if m.Measure == "PI_PPHI_1" && m.Changed {
				t.Errorf("diff of PI_PPHI_1 changed: %+v", m)
			}
		}
	})
}

// TestIncentiveFromPublishedPaymentInputs runs the service against the embedded
// broker on both engines: a hospital's Meaningful Use report says which payment
// inputs to enter until records publishes them on records.payment-inputs.v1, then
// shows the Medicare hospital incentive with its explanation.
func TestIncentiveFromPublishedPaymentInputs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Partitions: 3, Topics: contract.Topics()})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg, err := reporting.ConfigFromEnv(func(k string) string { return map[string]string{"ATTEST_DATA_DIR": t.TempDir()}[k] })
		if err != nil {
			t.Fatal(err)
		}
		deps := reporting.Deps{Log: slog.New(slog.DiscardHandler), DB: db, Brokers: b.Addrs()}
		app, err := reporting.New(ctx, cfg, deps)
		if err != nil {
			t.Fatal(err)
		}
		defer app.Close()
		done := make(chan error, 1)
		go func() { done <- app.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil && ctx.Err() == nil {
				t.Errorf("run: %v", err)
			}
		}()
		h := app.Handler()
		w := event.NewWriter(deps.Events())
		defer w.Close()

		// Each engine's database is fresh, but a distinct CCN keeps the runs apart.
		ccn := map[string]string{"sqlite": "123456", "postgres": "654321"}[string(db.Dialect())]
		hospital := contract.Entity{Kind: contract.EntityCCN, ID: ccn}
		target := "/v1/reports?program=mu-modified-stage-2&year=2015&entity=ccn:" + ccn +
			"&from=2015-01-01&to=2015-03-31&variant=controlled-substances-excluded"
		type incentiveJSON struct {
			Notes     []string `json:"notes"`
			Incentive *struct {
				Kind        string `json:"kind"`
				PaymentYear int    `json:"payment_year"`
				Explanation struct {
					Steps []string `json:"steps"`
				} `json:"explanation"`
			} `json:"incentive"`
		}
		var r incentiveJSON
		if code := get(t, h, target, &r); code != http.StatusOK || r.Incentive != nil ||
			!strings.Contains(strings.Join(r.Notes, " "), "enter payment inputs for the year") {
			t.Fatalf("before the inputs: %d %+v", code, r)
		}

		n := func(v int64) *int64 { return &v }
		in := contract.PaymentInputs{PaymentInputsID: "pay-" + ccn, Entity: hospital, Year: 2015,
			PaymentFigures: contract.PaymentFigures{Program: contract.IncentiveMedicare, FirstPaymentYear: 2013,
				Discharges: n(10000), MedicarePartADays: n(35000), TotalInpatientDays: n(100000),
				TotalChargesCents: n(100_000_000), CharityChargesCents: n(10_000_000)}}
		e, err := event.New(contract.PaymentInputsRecorded, "records", hospital.String(), time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC), time.Now(), in)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Publish(ctx, contract.TopicPaymentInputs, e); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			r = incentiveJSON{}
			if code := get(t, h, target, &r); code == http.StatusOK && r.Incentive != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the incentive never appeared: %+v", r)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if r.Incentive.Kind != "incentive" || r.Incentive.PaymentYear != 2015 ||
			!strings.Contains(strings.Join(r.Incentive.Explanation.Steps, " "), "$718,432.56") {
			t.Errorf("incentive %+v", r.Incentive)
		}
	})
}
