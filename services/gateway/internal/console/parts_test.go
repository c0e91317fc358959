package console

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/gateway/internal/audit"
)

func TestParseChoice(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		query    string
		from, to string
		field    string // the field an error names; "" for none
	}{
		{"", "2025-01-01", "2025-12-31", ""},
		{"year=2024", "2024-01-01", "2024-12-31", ""},
		{"year=2024&period=180&start=2024-07-05", "2024-07-05", "2024-12-31", ""},
		{"year=2024&period=90", "2024-01-01", "2024-03-30", ""},
		{"year=2024&period=custom&from=2024-02-01&to=2024-02-29", "2024-02-01", "2024-02-29", ""},
		{"year=2024&period=180&start=2024-07-06", "", "", "start"},
		{"year=2024&period=custom&from=2024-02-01&to=2025-01-01", "", "", "from"},
		{"year=2024&period=custom&from=2024-02-01", "", "", "to"},
		{"year=1999", "", "", "year"},
		{"program=x", "", "", "program"},
		{"period=30", "", "", "period"},
		{"entity=npi:1%3Cdrop%3E", "", "", "entity"},
	} {
		q, _ := url.ParseQuery(tc.query)
		c, err := parseChoice(q, now)
		if tc.field != "" {
			if errs.KindOf(err) != errs.Invalid || errs.FieldOf(err) != tc.field {
				t.Errorf("%s: got %v, want an invalid %s", tc.query, err, tc.field)
			}
			continue
		}
		if err != nil || c.From != tc.from || c.To != tc.to {
			t.Errorf("%s: got %s..%s %v, want %s..%s", tc.query, c.From, c.To, err, tc.from, tc.to)
		}
		// The choice survives a round trip through its links.
		again, err := parseChoice(c.query(), now)
		if err != nil || again.From != c.From || again.To != c.To {
			t.Errorf("%s: round trip gave %s..%s %v", tc.query, again.From, again.To, err)
		}
	}
}

func TestWeeks(t *testing.T) {
	got := weeks("2025-01-01", "2025-12-31", 12)
	if len(got) != 12 || got[11] != [2]string{"2025-12-29", "2025-12-31"} || got[10] != [2]string{"2025-12-22", "2025-12-28"} {
		t.Errorf("year: %v", got)
	}
	if got := weeks("2025-03-05", "2025-03-12", 12); !reflect.DeepEqual(got, [][2]string{{"2025-03-05", "2025-03-09"}, {"2025-03-10", "2025-03-12"}}) {
		t.Errorf("short period: %v", got)
	}
	if weeks("2025-03-05", "2025-03-01", 12) != nil {
		t.Error("a backwards period has weeks")
	}
}

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		word      string
		rate, thr float64
		has       bool
		want      status
	}{
		{"met", 80, 50, true, statusMet},
		{"met", 52, 50, true, statusAtRisk},
		{"met", math.NaN(), 50, true, statusMet},
		{"met", 3, 0, false, statusMet},
		{"not_met", 10, 50, true, statusNotMet},
		{"excluded", 0, 50, true, statusExcluded},
		{"not_reported", 0, 0, false, statusNotReported},
	} {
		if got := verdict(tc.word, tc.rate, tc.thr, tc.has); got != tc.want {
			t.Errorf("verdict(%s, %v, %v): %v, want %v", tc.word, tc.rate, tc.thr, got, tc.want)
		}
		if s := verdict(tc.word, tc.rate, tc.thr, tc.has); s.Word == "" || s.Icon == "" {
			t.Errorf("%s: a status needs its word and icon", tc.word)
		}
	}
}

func TestCharts(t *testing.T) {
	if v, ok := thresholdPercent("> 50%"); !ok || v != 50 {
		t.Errorf("> 50%%: %v %v", v, ok)
	}
	if v, ok := thresholdPercent("≥ 10.5 %"); !ok || v != 10.5 {
		t.Errorf("≥ 10.5 %%: %v %v", v, ok)
	}
	if _, ok := thresholdPercent("at least one"); ok {
		t.Error("a count threshold read as a percentage")
	}
	bar := string(rateBar(150, 50, true))
	if !strings.Contains(bar, `width="200.0"`) || !strings.Contains(bar, `x1="100.0"`) {
		t.Errorf("bar: the rate is clamped to 100%% and the marker sits at 50%%: %s", bar)
	}
	if strings.Contains(string(rateBar(10, 0, false)), "bar-mark") {
		t.Error("a bar without a threshold has a marker")
	}
	sp := string(sparkline([]float64{10, math.NaN(), 30, 40}, 50, true, `a "label" <x>`))
	if strings.Count(sp, "<polyline") != 1 || strings.Count(sp, "<circle") != 1 || !strings.Contains(sp, "spark-mark") {
		t.Errorf("a gap splits the line into a dot and a line: %s", sp)
	}
	if strings.Contains(sp, `"label"`) || strings.Contains(sp, "<x>") {
		t.Errorf("the label is not escaped: %s", sp)
	}
	if tb := string(trendBars([]float64{0, 5, 10}, "t")); strings.Count(tb, "<rect") != 3 || !strings.Contains(tb, `height="26.0"`) {
		t.Errorf("trend bars scale to the largest: %s", tb)
	}
}

func TestAuditQueryAndSort(t *testing.T) {
	q, by, desc, err := auditQuery(url.Values{"from": {"2025-01-01"}, "to": {"2025-01-31"}, "user": {" officer:u-1 "},
		"patient": {"pt-1"}, "action": {"signin"}, "sort": {"actor"}, "dir": {"desc"}, "after": {"7"}})
	if err != nil || by != "actor" || !desc || q.Actor != "officer:u-1" || q.PatientID != "pt-1" || q.Action != "signin" ||
		q.AfterSeq != 7 || !q.To.Equal(time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("query: %+v %s %v %v", q, by, desc, err)
	}
	for field, v := range map[string]url.Values{
		"from": {"from": {"jan"}}, "to": {"from": {"2025-02-01"}, "to": {"2025-01-01"}},
		"sort": {"sort": {"hash"}}, "dir": {"dir": {"up"}}, "after": {"after": {"-1"}},
	} {
		if _, _, _, err := auditQuery(v); errs.FieldOf(err) != field {
			t.Errorf("%v: %v, want field %s", v, err, field)
		}
	}
	rows := []audit.Record{{Seq: 1, Entry: audit.Entry{Actor: "b"}}, {Seq: 2, Entry: audit.Entry{Actor: "a"}}, {Seq: 3, Entry: audit.Entry{Actor: "b"}}}
	sortRecords(rows, "actor", false)
	if rows[0].Seq != 2 || rows[1].Seq != 1 || rows[2].Seq != 3 {
		t.Errorf("by actor, then sequence: %v", rows)
	}
	sortRecords(rows, "seq", true)
	if rows[0].Seq != 3 || rows[2].Seq != 1 {
		t.Errorf("by sequence, descending: %v", rows)
	}
	cols := columns(url.Values{"sort": {"actor"}}, "actor", false)
	if cols[2].Sort != "ascending" || !strings.Contains(cols[2].Href, "dir=desc") || cols[0].Sort != "none" {
		t.Errorf("the current column toggles: %+v", cols[2])
	}
	for in, want := range map[string]string{"=SUM(A1)": "'=SUM(A1)", "+1": "'+1", "@x": "'@x", "signin": "signin", "": ""} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q", in, got)
		}
	}
}

func TestVerifyEnvelope(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	payload := json.RawMessage(`{"id":"att-1","report":{}}`)
	sum := sha256.Sum256(payload)
	keySum := sha256.Sum256(pub)
	env := map[string]any{"payload": payload, "payload_sha256": hex.EncodeToString(sum[:]),
		"signature":  base64.StdEncoding.EncodeToString(ed25519.Sign(key, sum[:])),
		"public_key": base64.StdEncoding.EncodeToString(pub), "key_id": hex.EncodeToString(keySum[:8])}
	a := Attestation{PayloadSHA256: hex.EncodeToString(sum[:]), KeyID: hex.EncodeToString(keySum[:8])}
	good, _ := json.Marshal(env)
	for _, ch := range verifyEnvelope(good, a) {
		if !ch.OK {
			t.Errorf("a good file fails %s", ch.Name)
		}
	}
	tampered := strings.Replace(string(good), `"att-1"`, `"att-2"`, 1)
	failed := 0
	for _, ch := range verifyEnvelope([]byte(tampered), a) {
		if !ch.OK {
			failed++
		}
	}
	if failed < 2 {
		t.Errorf("a changed payload fails only %d checks", failed)
	}
	if cs := verifyEnvelope([]byte("nope"), a); len(cs) != 1 || cs[0].OK {
		t.Errorf("garbage: %+v", cs)
	}
}

func TestEngagementScope(t *testing.T) {
	kpis := map[string]any{"rows": []map[string]any{
		{"clinic": "tin:111111111", "portal_users": 4, "week": "2025-03-03"},
		{"clinic": "tin:222222222", "portal_users": 9, "week": "2025-03-03"},
		// Clinicians by clinic: the clinic decides the row's scope, so a clinician
		// billing under both TINs shows only their work at the administrator's clinic.
		{"clinic": "tin:111111111", "clinician": "1234567893", "access_provisioned": 5},
		{"clinic": "tin:222222222", "clinician": "1679576722", "access_provisioned": 6},
		{"clinician": "1245319599", "access_provisioned": 7}, // no clinic: its NPI's clinics decide
		// Messaging's care-team pools are named by organization: the administrator's own
		// is theirs (and asks reporting for no worklist), another's is not.
		{"clinic": "north", "messages_received": 11, "week": "2025-03-03"},
		{"clinic": "south", "messages_received": 13, "week": "2025-03-03"},
	}}
	c := newConsole(t, fakeAPI{"metrics/v1/kpis": kpis})
	admin := principal.Principal{Kind: principal.ClinicAdmin, ID: "u-2", Clinics: []string{"north"}}
	for _, tc := range []struct {
		name   string
		p      principal.Principal
		target string
		status int
		want   []string
		reject []string
	}{
		{"admin sees their clinic", admin, "/engagement", 200, []string{"tin:111111111", "in your clinics", "1234567893", ">north<"},
			[]string{"tin:222222222", "1679576722", "1245319599", ">south<"}},
		{"admin refused another clinic", admin, "/engagement?clinic=tin:222222222", 403, []string{"not one of yours"}, []string{"portal_users"}},
		{"officer sees every clinic", officer, "/engagement", 200, []string{"tin:111111111", "tin:222222222", "Portal users per week"}, nil},
		{"bad date", officer, "/engagement?from=soon", 400, []string{"<code>from</code>"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := as(tc.p, c.Engagement, tc.target)
			body := rec.Body.String()
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d\n%s", rec.Code, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("lacks %q", w)
				}
			}
			for _, w := range tc.reject {
				if strings.Contains(body, w) {
					t.Errorf("has %q", w)
				}
			}
		})
	}
	// Metrics not served: a panel, not an error page.
	rec := as(officer, newConsole(t, fakeAPI{}).Engagement, "/engagement")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Engagement KPIs: not available") {
		t.Errorf("without metrics: %d", rec.Code)
	}
}

func TestMembersAndPanels(t *testing.T) {
	members := map[string]any{"total": 51, "next_token": "p2", "members": []map[string]any{
		{"patient_id": "pt-9", "in_denominator": true, "denominator": map[string]any{"code": "counted"},
			"numerator": map[string]any{"code": "late", "note": "after the deadline"}}}}
	c := newConsole(t, fakeAPI{"metrics/v1/members": members, "reporting/v1/forecast": 403})
	q := "program=mips-pi&year=2025&entity=tin:111111111&measure=PI_PEA_1"
	rec := as(officer, c.Members, "/members?"+q+"&in=not-numerator")
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "pt-9") || !strings.Contains(body, "late: after the deadline") ||
		!strings.Contains(body, "page_token=p2") || !strings.Contains(body, "the worklist") {
		t.Errorf("members from metrics when reporting has none: %d\n%s", rec.Code, body)
	}
	for target, want := range map[string]int{
		"/members?" + q + "&in=everyone":                      400,
		"/members?program=mips-pi&year=2025&measure=PI_PEA_1": 400,
	} {
		if rec := as(officer, c.Members, target); rec.Code != want {
			t.Errorf("%s: %d, want %d", target, rec.Code, want)
		}
	}
	denied := newConsole(t, fakeAPI{"metrics/v1/members": 403})
	if rec := as(officer, denied.Members, "/members?"+q); rec.Code != 403 || !strings.Contains(rec.Body.String(), "not permitted") {
		t.Errorf("a refused list: %d", rec.Code)
	}
	for name, want := range map[string]string{"best-window": "The best window: not available",
		"forecast": "The forecast: not permitted", "worklist": "The worklist: not available"} {
		req := "/panels/" + name + "?" + q
		rec := asPath(officer, c.Panel, req, name)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body.String())
		}
	}
	if rec := asPath(officer, c.Panel, "/panels/nope?"+q, "nope"); rec.Code != 404 {
		t.Errorf("an unknown panel: %d", rec.Code)
	}
}

func TestComplianceFromReport(t *testing.T) {
	report := map[string]any{"program": "mips-pi", "year": 2025, "entity": map[string]string{"kind": "tin", "id": "111111111"},
		"period": map[string]string{"from": "2025-01-01", "to": "2025-12-31"}, "data_as_of": "2025-11-19T08:00:00Z", "pass": false,
		"score":    map[string]any{"sum": 16, "total": 0, "minimum": 60},
		"failures": []string{"prerequisite PI_PPHI_1 not met"},
		"money": map[string]any{"kind": "mips", "payment_year": 2027, "outcome": "negative adjustment", "percent": "-9",
			"explanation": map[string]any{"formula": "final score < threshold ⇒ −9%", "inputs": []map[string]string{{"name": "final score", "value": "0"}}}},
		"measures": []map[string]any{
			{"id": "PI_PPHI_1", "title": "Security Risk Analysis", "kind": "yes-no", "status": "not_met", "reason": "attested no", "threshold": "yes"},
			{"id": "PI_EP_1", "title": "e-Prescribing", "kind": "proportion", "numerator": 209, "denominator": 380, "status": "met",
				"threshold": "≥ 1", "max_points": "10", "points": 6, "formula": "round(209/380 × 10) = 6"},
		}}
	c := newConsole(t, fakeAPI{"reporting/v1/reports": report})
	rec := as(officer, c.Compliance, "/compliance?entity=tin:111111111&year=2025")
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("%d\n%s", rec.Code, body)
	}
	for _, w := range []string{"Does not pass", "Score <strong>0</strong> against a minimum of <strong>60</strong>",
		"prerequisite PI_PPHI_1 not met", "negative adjustment", "final score &lt; threshold", "6 of 10 points",
		"55.0%", "Yes/no measure: <strong>attested no</strong>", "2025-11-19 08:00 UTC", "numbers from reporting",
		"Patients behind PI_EP_1"} {
		if !strings.Contains(body, w) {
			t.Errorf("lacks %q", w)
		}
	}
	if strings.Contains(body, "Patients behind PI_PPHI_1") {
		t.Error("a yes/no measure offers a patient list")
	}
}

func TestWindowAndForecastPanels(t *testing.T) {
	c := newConsole(t, fakeAPI{
		"reporting/v1/best-window": map[string]any{"days": 180, "windows_evaluated": 186, "ranking": "score",
			"best": map[string]any{"from": "2025-07-01", "to": "2025-12-27", "pass": true, "required_met": 5, "required_total": 6, "score": 71}},
		"reporting/v1/forecast": map[string]any{"days_elapsed": 323, "days_remaining": 42, "method": "recent rate",
			"measures": []map[string]any{{"id": "PI_PEA_1", "threshold": "≥ 1", "status": "at_risk",
				"now":       map[string]any{"numerator": 4, "denominator": 133, "percent": "3.01"},
				"projected": map[string]any{"percent": "3.2", "percent_low": "2.1", "percent_high": "4.4"}}}},
	})
	q := "?program=mips-pi&year=2025&entity=tin:111111111"
	for name, want := range map[string][]string{
		"best-window": {"2025-07-01 to 2025-12-27: ✔ passes", "5 of 6 required measures met, score 71", "186 windows compared"},
		"forecast":    {"323 days elapsed, 42 remaining", "4 / 133 (3.01%)", "3.2% (range 2.1–4.4%)", "⚠ at_risk"},
	} {
		rec := asPath(officer, c.Panel, "/panels/"+name+q, name)
		for _, w := range want {
			if !strings.Contains(rec.Body.String(), w) {
				t.Errorf("%s lacks %q:\n%s", name, w, rec.Body.String())
			}
		}
	}
}

// TestBestWindowLengthTheProgramRefuses: reporting refuses a window length the
// program's rule does not have (MIPS PI 2025: 180 days, not 90) with an error on
// "days"; the panel says the length does not apply, with the rule's reason, and still
// shows the length that does — not an input error the person cannot fix.
func TestBestWindowLengthTheProgramRefuses(t *testing.T) {
	c := newConsole(t, fakeAPI{"reporting/v1/best-window": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("days") == "90" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"code":"invalid","field":"days","message":"90 days breaks the rule: at least 180 continuous days within 2025-01-01–2025-12-31"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"days":180,"windows_evaluated":186,"best":{"from":"2025-06-25","to":"2025-12-21","pass":true,"required_met":4,"required_total":4}}`)
	})})
	rec := asPath(officer, c.Panel, "/panels/best-window?program=mips-pi&year=2025&entity=tin:111111111", "best-window")
	body := rec.Body.String()
	for _, w := range []string{"Not a reporting period of this program: 90 days breaks the rule: at least 180 continuous days",
		"2025-06-25 to 2025-12-21: ✔ passes"} {
		if !strings.Contains(body, w) {
			t.Errorf("lacks %q:\n%s", w, body)
		}
	}
	if strings.Contains(body, "check the input") {
		t.Errorf("a length the program does not have is shown as an input error:\n%s", body)
	}
}
