package metrics_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/metrics"
)

// TestMain checks that no consumer, relay, stream or pool goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	npiA, npiB = "1234567893", "1245319599"
	tin        = "123456789"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ev(t testing.TB, typ, patient string, payload any) event.Event {
	t.Helper()
	e, err := event.New(typ, "records", patient, time.Now(), time.Now(), payload)
	if err != nil {
		t.Fatal(err)
	}
	spec, ok := contract.Lookup(typ)
	if !ok {
		t.Fatalf("%s is not in the contract", typ)
	}
	e.Topic = spec.Topic
	return e
}

// visit is a patient seen by npi under the TIN on day, with VDT and API access to
// the visit's information given hours later (none when hours < 0).
func visit(t testing.TB, patient, npi, day string, hours int) []event.Event {
	start := at(day + "T14:00:00Z")
	enc := contract.Encounter{EncounterID: patient + "-" + day, PatientID: patient, Class: contract.ClassOffice, Start: start,
		RenderingNPI: npi, BillingTIN: tin}
	es := []event.Event{ev(t, contract.EncounterRecorded, patient, enc)}
	if hours >= 0 {
		for _, kind := range []string{contract.AccessVDT, contract.AccessAPI} {
			es = append(es, ev(t, contract.AccessGrantRecorded, patient, contract.AccessGrant{AccessGrantID: enc.EncounterID + kind,
				PatientID: patient, Kind: kind, Granted: start.Add(time.Duration(hours) * time.Hour), NPI: npi, TIN: tin,
				EncounterID: enc.EncounterID}))
		}
	}
	return es
}

func newApp(t *testing.T, db *store.DB) *metrics.App {
	t.Helper()
	cfg, err := metrics.ConfigFromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	a, err := metrics.New(context.Background(), cfg, metrics.Deps{Log: slog.New(slog.DiscardHandler), DB: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func get(t *testing.T, h http.Handler, path string, v any) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if v != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("GET %s: %d %s: %v", path, rec.Code, rec.Body, err)
		}
	}
	return rec.Code
}

func query(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

// TestNumbersMembersAndExplanations drives the measure API on both engines: the
// group and its clinicians counted from the facts for a year and a 90-day period, a
// correction that takes a patient out, the worklist, and a patient's explanation.
func TestNumbersMembersAndExplanations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := newApp(t, db)
		var es []event.Event
		es = append(es, visit(t, "p1", npiA, "2025-03-03", 2)...)   // timely
		es = append(es, visit(t, "p2", npiA, "2025-03-04", 200)...) // late
		es = append(es, visit(t, "p3", npiB, "2025-07-01", 1)...)   // timely, another clinician
		es = append(es, visit(t, "p1", npiB, "2025-08-01", 1)...)   // p1 again, timely
		if err := a.Apply(ctx, es...); err != nil {
			t.Fatal(err)
		}
		base := []string{"program", "mips-pi", "year", "2025", "measure", "PI_PEA_1", "as_of", "final"}
		numbers := func(entity string, extra ...string) (n struct{ Numerator, Denominator int }) {
			t.Helper()
			if code := get(t, a.Handler(), "/v1/numbers?"+query(append(append([]string{"entity", entity}, base...), extra...)...), &n); code != 200 {
				t.Fatalf("numbers of %s: %d", entity, code)
			}
			return n
		}
		tests := []struct {
			entity   string
			extra    []string
			num, den int
		}{
			{"tin_npi:" + tin + "/" + npiA, nil, 1, 2},
			{"tin_npi:" + tin + "/" + npiB, nil, 2, 2},
			{"tin:" + tin, nil, 2, 3}, // p1 counted once, in the numerator through npiB
			{"tin:" + tin, []string{"from", "2025-01-01", "to", "2025-03-31"}, 1, 2},
		}
		for _, tt := range tests {
			if n := numbers(tt.entity, tt.extra...); n.Numerator != tt.num || n.Denominator != tt.den {
				t.Errorf("%s %v: %d/%d, want %d/%d", tt.entity, tt.extra, n.Numerator, n.Denominator, tt.num, tt.den)
			}
		}
		if code := get(t, a.Handler(), "/v1/numbers?"+query(append([]string{"entity", "npi:" + npiA}, base...)...), nil); code != 404 {
			t.Errorf("a MIPS measure for an NPI: %d, want 404", code)
		}

		// The worklist of the group: p2, whose access came late.
		var page struct {
			Members []struct {
				PatientID string `json:"patient_id"`
				Numerator struct{ Code, Ref string }
			}
			Total int
		}
		get(t, a.Handler(), "/v1/members?"+query(append([]string{"entity", "tin:" + tin, "in", "not-numerator"}, base...)...), &page)
		if page.Total != 1 || page.Members[0].PatientID != "p2" || page.Members[0].Numerator.Code != "late" {
			t.Errorf("worklist: %+v", page)
		}

		// A correction moves p3's visit out of the group: the group loses p3.
		moved := contract.Encounter{EncounterID: "p3-2025-07-01", PatientID: "p3", Class: contract.ClassOffice,
			Start: at("2025-07-01T14:00:00Z"), RenderingNPI: npiB, BillingTIN: "987654321"}
		if err := a.Apply(ctx, ev(t, contract.EncounterCorrected, "p3", moved)); err != nil {
			t.Fatal(err)
		}
		if n := numbers("tin:" + tin); n.Numerator != 1 || n.Denominator != 2 {
			t.Errorf("after the correction: %d/%d, want 1/2", n.Numerator, n.Denominator)
		}

		var ex struct {
			Members []struct {
				InDenominator bool `json:"in_denominator"`
				Numerator     struct{ Code, Note string }
			}
			Facts  []contract.MeasureFact
			Inputs []struct{ Kind, ID, Event string }
		}
		get(t, a.Handler(), "/v1/patients/p2/explanation?"+query(append([]string{"entity", "tin:" + tin}, base...)...), &ex)
		if len(ex.Members) != 1 || !ex.Members[0].InDenominator || ex.Members[0].Numerator.Code != "late" ||
			!strings.Contains(ex.Members[0].Numerator.Note, "after the deadline") || len(ex.Facts) == 0 || len(ex.Inputs) != 3 {
			t.Errorf("explanation of p2: %+v", ex)
		}
	})
}

// TestBadQueriesAreClear: each wrong input gets a 4xx naming the field.
func TestBadQueriesAreClear(t *testing.T) {
	db := storetest.Open(t, store.SQLite, storetest.Service)
	a := newApp(t, db)
	ok := []string{"entity", "tin:" + tin, "program", "mips-pi", "year", "2025", "measure", "PI_PEA_1"}
	with := func(k, v string) string {
		kv := append([]string(nil), ok...)
		for i := 0; i < len(kv); i += 2 {
			if kv[i] == k {
				kv[i+1] = v
				return query(kv...)
			}
		}
		return query(append(kv, k, v)...)
	}
	tests := []struct {
		path   string
		status int
		field  string
	}{
		{"/v1/numbers?" + with("entity", "tin:12"), 400, "entity"},
		{"/v1/numbers?" + with("entity", "npi:1234567890"), 400, "entity"},
		{"/v1/numbers?" + with("program", "mu-stage9"), 400, "program"},
		{"/v1/numbers?" + with("year", "twenty"), 400, "year"},
		{"/v1/numbers?" + with("measure", ""), 400, "measure"},
		{"/v1/numbers?" + with("from", "2025-13-01"), 400, "from"},
		{"/v1/numbers?" + with("to", "2024-12-31"), 400, "period.last"},
		{"/v1/numbers?" + with("from", "2024-06-01"), 400, "period"},
		{"/v1/numbers?" + with("as_of", "yesterday"), 400, "as_of"},
		{"/v1/numbers?" + with("measure", "PI_EP_1") + "&variant=sometimes", 400, "variant"},
		{"/v1/numbers?" + with("measure", "PI_NOPE_9"), 404, "measure"},
		{"/v1/numbers?" + with("measure", "PI_PPHI_1"), 422, "measure"},
		{"/v1/members?" + with("in", "everyone"), 400, "in"},
		{"/v1/members?" + with("page_size", "0"), 400, "page_size"},
		{"/v1/members?" + with("page_token", "x"), 400, "page_token"},
		{"/v1/patients/nobody/explanation?" + query(ok...), 404, "id"},
		{"/v1/measures?program=mips-pi&year=2025&entity_kind=group", 400, "entity_kind"},
		{"/v1/kpis?from=2025-02-30", 400, "from"},
		{"/v1/kpis?by=month", 400, "by"},
		{"/v1/kpis?from=2025-03-01&to=2025-01-01", 400, "to"},
	}
	for _, tt := range tests {
		var body struct {
			Error struct{ Code, Field, Message string }
		}
		if code := get(t, a.Handler(), tt.path, &body); code != tt.status || body.Error.Field != tt.field {
			t.Errorf("GET %s: %d %+v, want %d naming %s", tt.path, code, body.Error, tt.status, tt.field)
		}
	}
	var doc map[string]any
	if code := get(t, a.Handler(), "/v1/openapi.json", &doc); code != 200 || doc["openapi"] != "3.1.0" {
		t.Errorf("openapi.json: %d %v", code, doc["openapi"])
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"defaults", nil, true},
		{"zone and hours", map[string]string{"METRICS_TIME_ZONE": "UTC", "METRICS_CLINIC_HOURS": "07:30-18:00"}, true},
		{"unknown zone", map[string]string{"METRICS_TIME_ZONE": "Mars/Olympus"}, false},
		{"backwards hours", map[string]string{"METRICS_CLINIC_HOURS": "18:00-07:00"}, false},
		{"garbled hours", map[string]string{"METRICS_CLINIC_HOURS": "nine to five"}, false},
	}
	for _, tt := range tests {
		_, err := metrics.ConfigFromEnv(func(k string) string { return tt.env[k] })
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
