package record_test

import (
	"crypto/ed25519"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/record"
	"github.com/attest-ehr/attest/services/records/internal/wipe"
)

// wipeBody is a check-in: a statement signed with key.
func wipeBody(t *testing.T, key ed25519.PrivateKey, device, session string, cleared []string) map[string]any {
	t.Helper()
	st, sig, err := wipe.Sign(key, wipe.Statement{Type: wipe.Type, DeviceID: device, SessionID: session,
		Wiped: time.Now().UTC(), Cleared: cleared})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"statement": st, "signature": sig} // []byte encodes as base64
}

func weight(kg float64) map[string]any {
	return map[string]any{"code": code(contract.SystemLOINC, "29463-7"), "effective": time.Now().UTC().Format(time.RFC3339),
		"value": map[string]any{"value": kg, "unit": "kg"}}
}

// tabletFlow is the shared-tablet flow end to end: a device is enrolled and checked
// out to a patient, who uploads a blood pressure panel and a weight; the device cannot
// go to another patient before it is wiped; a wipe statement that does not verify, or
// does not clear everything, is refused; a good one checks the device in, after which
// uploads are refused and the device can go to the next patient. Every session, upload
// and wipe is an event and an audit record.
func (a *api) tabletFlow(t *testing.T, f fixture) {
	before := len(a.outbox())
	a.post("/v1/devices", map[string]any{"id": "tab-1", "organization_id": "org-main", "kind": "tablet", "public_key": pubKey(f)})
	p2 := a.post("/v1/patients", patientBody("MRN-T"))["id"].(string)

	s1 := a.post("/v1/tablet-sessions", map[string]any{"device_id": "tab-1", "patient_id": f.patient})
	sid := s1["id"].(string)
	if r := a.do(http.MethodPost, "/v1/tablet-sessions", map[string]any{"device_id": "tab-1", "patient_id": p2}); r.code != http.StatusConflict || r.field() != "device_id" {
		t.Errorf("check-out of an unwiped device: %d %s, want 409 naming device_id", r.code, r.raw)
	}
	panel := map[string]any{"code": code(contract.SystemLOINC, "85354-9"), "effective": time.Now().UTC().Format(time.RFC3339),
		"components": bp(131, 84)}
	v := a.post("/v1/tablet-sessions/"+sid+"/uploads", panel)
	if v["performer"] != "patient" || v["device_id"] != "tab-1" || v["session_id"] != sid || v["patient_id"] != f.patient {
		t.Errorf("uploaded vital sign: %v", v)
	}
	a.post("/v1/tablet-sessions/"+sid+"/uploads", weight(71.5))
	// A vital sign cannot claim a session outside the upload flow.
	forged := map[string]any{"patient_id": f.patient, "code": code(contract.SystemLOINC, "29463-7"), "performer": "patient",
		"effective": day("04", "10:00"), "value": map[string]any{"value": 70, "unit": "kg"}, "device_id": "tab-1", "session_id": sid}
	if r := a.do(http.MethodPost, "/v1/vital-signs", forged); r.code != http.StatusUnprocessableEntity || r.field() != "session_id" {
		t.Errorf("vital sign naming a session outside the upload flow: %d %s", r.code, r.raw)
	}

	_, otherKey, _ := ed25519.GenerateKey(nil)
	refusals := []struct {
		name  string
		body  map[string]any
		code  int
		field string
	}{
		{"signed by another key", wipeBody(t, otherKey, "tab-1", sid, wipe.Required()), 422, "signature"},
		{"storage not cleared", wipeBody(t, f.deviceKey, "tab-1", sid, []string{"cache", "cookies", "executionContexts"}), 422, "statement.cleared"},
		{"another session's statement", wipeBody(t, f.deviceKey, "tab-1", "other-session", wipe.Required()), 422, "statement.session_id"},
		{"no signature", map[string]any{"statement": []byte(`{}`)}, 400, "signature"},
	}
	for _, r := range refusals {
		if got := a.do(http.MethodPost, "/v1/tablet-sessions/"+sid+"/wipe", r.body); got.code != r.code || got.field() != r.field {
			t.Errorf("wipe %s: %d %s, want %d naming %q", r.name, got.code, got.raw, r.code, r.field)
		}
	}
	r := a.do(http.MethodPost, "/v1/tablet-sessions/"+sid+"/wipe", wipeBody(t, f.deviceKey, "tab-1", sid, wipe.Required()))
	if r.code != http.StatusOK || r.body["wiped"] == nil || r.body["uploads"] != 2.0 {
		t.Fatalf("wipe: %d %s", r.code, r.raw)
	}
	if r := a.do(http.MethodPost, "/v1/tablet-sessions/"+sid+"/uploads", weight(72)); r.code != http.StatusConflict || r.field() != "id" {
		t.Errorf("upload after check-in: %d %s, want 409", r.code, r.raw)
	}
	if r := a.do(http.MethodPost, "/v1/tablet-sessions/"+sid+"/wipe", wipeBody(t, f.deviceKey, "tab-1", sid, []string{"*"})); r.code != http.StatusConflict {
		t.Errorf("second wipe: %d %s", r.code, r.raw)
	}
	s2 := a.post("/v1/tablet-sessions", map[string]any{"device_id": "tab-1", "patient_id": p2})["id"].(string)
	if r := a.do(http.MethodDelete, "/v1/patients/"+p2, nil); r.code != http.StatusConflict {
		t.Errorf("deleting a patient holding a device: %d %s, want 409", r.code, r.raw)
	}
	if r := a.do(http.MethodDelete, "/v1/devices/tab-1", nil); r.code != http.StatusConflict {
		t.Errorf("deleting a device with sessions: %d %s, want 409", r.code, r.raw)
	}
	if r := a.do(http.MethodPost, "/v1/tablet-sessions/"+s2+"/wipe", wipeBody(t, f.deviceKey, "tab-1", s2, wipe.Required())); r.code != http.StatusOK {
		t.Fatalf("wipe of the second session: %d %s", r.code, r.raw)
	}

	audit := a.do(http.MethodGet, "/v1/devices/tab-1/audit", nil)
	var actions []string
	items, _ := audit.body["items"].([]any)
	for _, it := range items {
		actions = append(actions, it.(map[string]any)["action"].(string))
	}
	if got := strings.Join(actions, " "); got != "checked-out uploaded uploaded wiped checked-out wiped" {
		t.Errorf("audit trail %q", got)
	}
	want := strings.Join([]string{contract.DeviceRecorded, contract.PatientRegistered, contract.TabletSessionStarted,
		contract.VitalSignRecorded, contract.VitalSignRecorded, contract.TabletSessionWiped, contract.TabletSessionStarted,
		contract.TabletSessionWiped}, " ")
	evs := a.since(before)
	if got := types(evs); got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	if up := evs[3].Data; up["performer"] != "patient" || up["device_id"] != "tab-1" || up["session_id"] != sid {
		t.Errorf("upload event %s", evs[3].Raw)
	}
	if cleared, _ := evs[5].Data["cleared"].([]any); len(cleared) != 4 || evs[5].Key != f.patient {
		t.Errorf("wipe event %s keyed %s", evs[5].Raw, evs[5].Key)
	}
}

func TestTabletFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db, record.Config{})
		f := a.setUp()
		a.tabletFlow(t, f)

		// The patient's deletion deletes their (wiped) sessions too, each with an event.
		before := len(a.outbox())
		if r := a.do(http.MethodDelete, "/v1/patients/"+f.patient, nil); r.code != http.StatusNoContent {
			t.Fatalf("delete patient: %d %s", r.code, r.raw)
		}
		if got := types(a.since(before)); !strings.Contains(got, contract.TabletSessionDeleted) ||
			!strings.HasSuffix(got, contract.PatientDeleted) {
			t.Errorf("deletion events %q", got)
		}
		// The device's audit trail outlives the patient.
		if r := a.do(http.MethodGet, "/v1/devices/tab-1/audit", nil); r.code != http.StatusOK || !strings.Contains(r.raw, f.patient) {
			t.Errorf("audit after deletion: %d %s", r.code, r.raw)
		}
	})
}
