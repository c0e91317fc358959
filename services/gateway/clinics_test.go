package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/gateway"
)

// kpiService answers GET /v1/kpis the way metrics does: rows keyed by clinic ("tin:…")
// and clinician (NPI) for the dimensions asked.
func kpiService() http.Handler {
	type row struct {
		Clinic    string `json:"clinic,omitempty"`
		Clinician string `json:"clinician,omitempty"`
		Access    int    `json:"access_provisioned"`
	}
	rows := map[string][]row{
		"clinic": {{Clinic: "tin:111111111", Access: 9}, {Clinic: "tin:222222222", Access: 7}},
		"clinic,clinician": {{Clinic: "tin:111111111", Clinician: "1234567893", Access: 5},
			{Clinic: "tin:111111111", Clinician: "1245319599", Access: 4}, {Clinic: "tin:222222222", Clinician: "1679576722", Access: 7}},
		"clinician": {{Clinician: "1234567893", Access: 5}, {Clinician: "1245319599", Access: 4}, {Clinician: "1679576722", Access: 7}},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"status":"ready"}`)) })
	mux.HandleFunc("GET /v1/kpis", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"from": "2025-01-06", "to": "2026-01-05",
			"rows": rows[r.URL.Query().Get("by")]})
	})
	return mux
}

// TestClinicAdminSeesTheirClinicians: the demo administrator's clinic is an
// organization of records' directory; once records announces the clinic's group and
// the clinicians billing under its TIN, the engagement page lists that clinic and its
// clinicians — and nothing of the other clinic. Nobody maps anything by hand.
func TestClinicAdminSeesTheirClinicians(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seen := &[]string{}
		g := startWith(t, db, nil, seen, map[string]http.Handler{"metrics": kpiService(), "reporting": fakeService(seen)})
		ctx := context.Background()
		w := event.NewWriter(g.events)
		defer w.Close()
		publish := func(topic, typ, subject string, payload any) {
			t.Helper()
			e, err := event.New(typ, "records", subject, time.Now(), time.Now(), payload)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Publish(ctx, topic, e); err != nil {
				t.Fatal(err)
			}
		}
		publish(contract.TopicGroup, contract.GroupRecorded, "g1", contract.Group{GroupID: "g1", OrganizationID: gateway.DemoClinic, TIN: "111111111"})
		publish(contract.TopicGroup, contract.GroupRecorded, "g2", contract.Group{GroupID: "g2", OrganizationID: "clinic2", TIN: "222222222"})
		for id, c := range map[string]contract.Clinician{
			"d1": {ClinicianID: "d1", NPI: "1234567893", TINs: []string{"111111111"}},
			"d2": {ClinicianID: "d2", NPI: "1245319599", TINs: []string{"111111111", "222222222"}},
			"d3": {ClinicianID: "d3", NPI: "1679576722", TINs: []string{"222222222"}},
		} {
			publish(contract.TopicClinician, contract.ClinicianRecorded, id, c)
		}

		cookie := map[string]string{"Cookie": sessionCookie(t, signIn(t, g, "demo-admin", gateway.DemoPassword, code(t)))}
		rowHeads := func(page, caption string) []string {
			i := strings.Index(page, caption)
			if i < 0 {
				t.Fatalf("no table %q on the page", caption)
			}
			table := page[i:]
			table = table[:strings.Index(table, "</table>")]
			var heads []string
			for _, part := range strings.Split(table, `<th scope="row">`)[1:] {
				heads = append(heads, part[:strings.Index(part, "<")])
			}
			return heads
		}
		var clinics, clinicians []string
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			resp := do(t, "GET", g.url+"/engagement?from=2025-01-01&to=2025-12-31", nil, cookie)
			page := readAll(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("engagement: %d %s", resp.StatusCode, page)
			}
			clinics, clinicians = rowHeads(page, "<caption>By clinic:"), rowHeads(page, "<caption>By clinician")
			if len(clinicians) == 2 || time.Now().After(deadline) {
				break
			}
		}
		if strings.Join(clinics, ",") != "tin:111111111" {
			t.Errorf("clinic rows %q, want the demo clinic's TIN only", clinics)
		}
		// d2 also bills under clinic2's TIN: only what they did at the demo clinic.
		if strings.Join(clinicians, ",") != "1234567893,1245319599" {
			t.Errorf("clinician rows %q, want the two clinicians billing under the demo clinic's TIN", clinicians)
		}
		// Another clinic stays out of scope.
		if resp := do(t, "GET", g.url+"/engagement?clinic=tin:222222222", nil, cookie); resp.StatusCode != http.StatusForbidden {
			t.Errorf("another clinic's engagement: %d", resp.StatusCode)
		}
	})
}
