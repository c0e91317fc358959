package fhir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/cache/cachetest"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/patientdir"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/messaging/internal/clinic"
	"github.com/attest-ehr/attest/services/messaging/internal/fhir"
	"github.com/attest-ehr/attest/services/messaging/internal/keyring"
	"github.com/attest-ehr/attest/services/messaging/internal/thread"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	patient = principal.Principal{Kind: principal.Patient, ID: "pat-1"}
	other   = principal.Principal{Kind: principal.Patient, ID: "pat-2"}
	staff   = principal.Principal{Kind: principal.Staff, ID: "staff-1", Clinics: []string{"east"}}
)

// setup is a messaging service with a refill request answered, and the export's
// handler.
func setup(t *testing.T, db *store.DB) (http.Handler, thread.Started, thread.Message) {
	t.Helper()
	ctx := context.Background()
	if err := db.Migrate(ctx, thread.Migrations()); err != nil {
		t.Fatal(err)
	}
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Parse("k1:"+key, "")
	if err != nil {
		t.Fatal(err)
	}
	clinics, err := clinic.Parse("", "")
	if err != nil {
		t.Fatal(err)
	}
	rate := thread.Rate{N: 100, Per: time.Minute}
	svc, err := thread.New(thread.Config{DB: db, Keys: keys, Clinics: clinics, Limiter: cachetest.New(t), PatientRate: rate, CareTeamRate: rate})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	ev, err := event.New(contract.PatientRegistered, "records", "pat-1", time.Now(), time.Now(), contract.Patient{PatientID: "pat-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := patientdir.New(db, "test.patients", log).Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	st, _, err := svc.Start(ctx, patient, thread.NewThread{Kind: thread.PoolThread, ClinicID: "east", Subject: "Refill",
		Message: thread.NewMessage{Kind: contract.KindRefillRequest, Body: "My inhaler, please", MedicationID: "med-7",
			Attachments: []thread.NewAttachment{{ContentType: "text/plain", Name: "list.txt", Data: []byte("inhaler")}}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	ans, _, err := svc.Answer(ctx, staff, st.Message.ID, thread.NewAnswer{Outcome: contract.OutcomeApproved, Body: phi.Text("Sent to your pharmacy")}, "")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	fhir.Routes(mux, svc, "/messaging", log)
	return thread.Authenticate(httpapi.Route(mux), log), st, ans
}

func get(t *testing.T, h http.Handler, p principal.Principal, path string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if p.Kind != "" {
		req.Header.Set(principal.Header, p.String())
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != fhir.ContentType {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	var v map[string]any
	if err := json.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return rec.Code, v
}

func TestExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h, st, ans := setup(t, db)

		code, b := get(t, h, patient, "/fhir/Communication?patient=pat-1")
		if code != 200 || b["resourceType"] != "Bundle" || b["type"] != "searchset" || b["total"] != 2.0 {
			t.Fatalf("search = %d %v", code, b)
		}
		newest := b["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
		if newest["id"] != ans.ID || newest["status"] != "completed" ||
			ref(newest["basedOn"]) != "CommunicationRequest/"+st.Message.ID || ref(newest["inResponseTo"]) != "Communication/"+st.Message.ID ||
			newest["subject"].(map[string]any)["reference"] != "Patient/pat-1" {
			t.Errorf("the answer as Communication = %v", newest)
		}

		code, c := get(t, h, patient, "/fhir/Communication/"+st.Message.ID)
		payload := c["payload"].([]any)
		if code != 200 || payload[0].(map[string]any)["contentString"] != "My inhaler, please" ||
			payload[1].(map[string]any)["contentAttachment"].(map[string]any)["title"] != "list.txt" ||
			!strings.HasPrefix(payload[1].(map[string]any)["contentAttachment"].(map[string]any)["url"].(string),
				"/messaging/v1/threads/"+st.Thread.ID+"/messages/"+st.Message.ID+"/attachments/") ||
			c["topic"].(map[string]any)["text"] != "Refill" {
			t.Errorf("the request as Communication = %d %v", code, c)
		}
		recipient := c["recipient"].([]any)[0].(map[string]any)
		if recipient["type"] != "CareTeam" || recipient["identifier"].(map[string]any)["value"] != "east" {
			t.Errorf("a pool message's recipient = %v", recipient)
		}

		code, r := get(t, h, staff, "/fhir/CommunicationRequest/"+st.Message.ID)
		if code != 200 || r["resourceType"] != "CommunicationRequest" || r["status"] != "completed" ||
			r["about"].([]any)[0].(map[string]any)["identifier"].(map[string]any)["value"] != "med-7" {
			t.Errorf("the request as CommunicationRequest = %d %v", code, r)
		}
		code, b = get(t, h, patient, "/fhir/CommunicationRequest?patient=pat-1")
		if code != 200 || b["total"] != 1.0 {
			t.Errorf("request search = %d %v", code, b)
		}

		for _, tc := range []struct {
			name   string
			caller principal.Principal
			path   string
			status int
			code   string
		}{
			{"another patient's message", other, "/fhir/Communication/" + st.Message.ID, 404, "not-found"},
			{"another patient's search", other, "/fhir/Communication?patient=pat-1", 200, ""},
			{"an answer is no request", patient, "/fhir/CommunicationRequest/" + ans.ID, 404, "not-found"},
			{"no patient", patient, "/fhir/Communication", 400, "invalid"},
			{"unknown parameter", patient, "/fhir/Communication?patient=pat-1&_sort=date", 400, "invalid"},
			{"bad count", patient, "/fhir/Communication?patient=pat-1&_count=0", 400, "invalid"},
			{"no caller", principal.Principal{}, "/fhir/Communication?patient=pat-1", 401, "login"},
		} {
			code, v := get(t, h, tc.caller, tc.path)
			if code != tc.status {
				t.Errorf("%s: %d %v, want %d", tc.name, code, v, tc.status)
				continue
			}
			if tc.code == "" {
				if v["total"] != 0.0 {
					t.Errorf("%s: found %v", tc.name, v["total"])
				}
				continue
			}
			issue := v["issue"].([]any)[0].(map[string]any)
			if v["resourceType"] != "OperationOutcome" || issue["code"] != tc.code {
				t.Errorf("%s: %v, want an OperationOutcome %s", tc.name, v, tc.code)
			}
		}
	})
}

func ref(v any) string { return v.([]any)[0].(map[string]any)["reference"].(string) }
