package reports_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/reporting/internal/facts"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
	"github.com/attest-ehr/attest/services/reporting/internal/reports"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

var now = time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)

func computer(t testing.TB) *reports.Computer {
	t.Helper()
	c, err := measure.New()
	if err != nil {
		t.Fatal(err)
	}
	return reports.NewComputer(c, calendar.New(time.UTC), func() time.Time { return now })
}

const npi1, npi2 = "1234567893", "1245319599"

func ent(tinNPI string) contract.Entity {
	return contract.Entity{Kind: contract.EntityTINNPI, ID: tinNPI}
}

// prescriptions are n e-Prescribing facts of a clinician, the first sent of them transmitted.
func prescriptions(clin contract.Entity, prefix string, n, sent int) []membership.Fact {
	var out []membership.Fact
	for i := range n {
		at := time.Date(2025, 4, 1+i%28, 10, 0, 0, 0, time.UTC)
		id := fmt.Sprintf("%s-rx%d", prefix, i)
		den := membership.Fact{Entity: clin, Program: measure.MIPS, Measure: "PI_EP_1", Year: 2025,
			Patient: fmt.Sprintf("%s-p%d", prefix, i), Object: id, Role: membership.Denominator, Ref: id, At: at, Because: "ev-" + id}
		out = append(out, den)
		if i < sent {
			num := den
			num.Role, num.At, num.Because = membership.Numerator, at.Add(time.Hour), "ev-sent-"+id
			out = append(out, num)
		}
	}
	return out
}

func memory(fs []membership.Fact, atts []contract.Attestation, engs []contract.RegistryEngagement) *facts.Memory {
	m := facts.NewMemory()
	for _, f := range fs {
		m.Apply(facts.Change{Op: facts.AssertFact, Fact: f})
	}
	for _, a := range atts {
		m.Apply(facts.Change{Op: facts.PutAttestation, ID: a.AttestationID, Entity: a.Entity, Attestation: a})
	}
	for _, g := range engs {
		m.Apply(facts.Change{Op: facts.PutEngagement, ID: g.RegistryEngagementID, Entity: g.Entity, Engagement: g})
	}
	return m
}

func query(e contract.Entity) reports.Query {
	return reports.Query{Program: rulebook.MIPS, Year: 2025, Entity: e, EntityType: reports.EntityType(e, false),
		From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)}
}

func measureOf(t *testing.T, r report.Report, id string) report.Measure {
	t.Helper()
	m, ok := r.Measure(id)
	if !ok {
		t.Fatalf("no measure %s in the report", id)
	}
	return m
}

// TestCompute checks what the report makes of the facts and yes/no inputs: ratio
// numbers with their members, a group de-duplicated over its clinicians, yes/no
// answers from attestations (the group's attestation counting for its clinicians),
// registry engagement with its QPP level, volume exclusions claimed only when the
// volume is low and the measure not met, an alternative replacing what it substitutes.
func TestCompute(t *testing.T) {
	c := computer(t)
	ctx := context.Background()
	clin := ent("111111111/" + npi1)
	other := ent("111111111/" + npi2)
	fs := append(prescriptions(clin, "a", 150, 100), prescriptions(other, "b", 20, 0)...)
	tin := contract.Entity{Kind: contract.EntityTIN, ID: "111111111"}
	atts := []contract.Attestation{
		{AttestationID: "sra", Entity: tin, Kind: contract.AttestSecurityRiskAnalysis, Answer: true, Performed: time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC)},
		{AttestationID: "hie5", Entity: clin, Kind: contract.AttestHIEBidirectional, Answer: true, Performed: time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC)},
	}
	engs := []contract.RegistryEngagement{{RegistryEngagementID: "imm", Entity: clin, Measure: contract.RegistryImmunization,
		RegistryID: "org-1", Status: contract.EngagementProduction, Since: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}}
	src := memory(fs, atts, engs)

	got, err := c.Compute(ctx, src, query(clin), nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	r := got.Report
	ep := measureOf(t, r, "PI_EP_1")
	if !ep.Reported || ep.Numerator != 100 || ep.Denominator != 150 || len(ep.Members) != 150 || ep.Exclusion != "" {
		t.Errorf("PI_EP_1: %d/%d, %d members, exclusion %q", ep.Numerator, ep.Denominator, len(ep.Members), ep.Exclusion)
	}
	if a := measureOf(t, r, "PI_PPHI_1").Answer; a == nil || !*a {
		t.Errorf("the group's security risk analysis does not answer for its clinician: %v", a)
	}
	if m := measureOf(t, r, "PI_PHCDRR_1"); m.Answer == nil || !*m.Answer || m.Engagement != report.Production {
		t.Errorf("immunization registry: %+v", m)
	}
	if m := measureOf(t, r, "PI_HIE_5"); !m.Reported || measureOf(t, r, "PI_HIE_1").Reported || measureOf(t, r, "PI_HIE_4").Reported {
		t.Errorf("HIE_5 answered yes must replace HIE_1 and HIE_4: %+v", m)
	}
	if r.Score == nil || r.Money != nil || !strings.Contains(strings.Join(r.Notes, " "), "quality=") {
		t.Errorf("score %v, money %v, notes %v", r.Score, r.Money, r.Notes)
	}

	// The other clinician: 20 prescriptions, none sent, under the 100 of PI_LVPP_1:
	// the exclusion is claimed with the volume, and verified by the rule book.
	got, err = c.Compute(ctx, src, query(other), nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if m := measureOf(t, got.Report, "PI_EP_1"); m.Exclusion != "PI_LVPP_1" || m.Volume == nil || *m.Volume != 20 || m.Status != rulebook.Excluded {
		t.Errorf("low-volume PI_EP_1: %+v", m)
	}
	if res := got.Results["PI_EP_1"]; res.Denominator != 20 {
		t.Errorf("the excluded measure's count is kept for drill-down: %+v", res.Denominator)
	}

	// The group: both clinicians' prescriptions, each once.
	q := query(tin)
	q.Money = reports.MoneyInputs{Quality: "80", Cost: "70", Improvement: "100"}
	got, err = c.Compute(ctx, src, q, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if m := measureOf(t, got.Report, "PI_EP_1"); m.Numerator != 100 || m.Denominator != 170 {
		t.Errorf("group PI_EP_1: %d/%d", m.Numerator, m.Denominator)
	}
	if got.Report.Money == nil || got.Report.Money.Kind != "mips" || got.Report.Money.PaymentYear != 2027 {
		t.Errorf("group money: %+v", got.Report.Money)
	}

	// A claimed attested exclusion replaces the measure; an unknown one is refused.
	q = query(clin)
	q.Exclude = []string{"PI_EP_2_EX_1"}
	if got, err = c.Compute(ctx, src, q, nil, time.Time{}); err != nil || measureOf(t, got.Report, "PI_EP_2").Exclusion != "PI_EP_2_EX_1" {
		t.Errorf("claimed exclusion: %v", err)
	}
	q.Exclude = []string{"NOPE"}
	if _, err := c.Compute(ctx, src, q, nil, time.Time{}); err == nil || !strings.Contains(err.Error(), "exclude") {
		t.Errorf("unknown exclusion: %v", err)
	}
}

// TestAPI serves reports from a database on both engines: the JSON report without its
// lists, the drill-down paged with each member's event, exports, and 400s naming the
// field for every bad parameter.
func TestAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx, facts.Migrations()); err != nil {
			t.Fatal(err)
		}
		st := facts.NewStore(db, 10_000)
		clin := ent("111111111/" + npi1)
		if err := st.InsertFacts(ctx, prescriptions(clin, "a", 130, 120)); err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		reports.Routes(mux, reports.NewService(computer(t), st), slog.New(slog.DiscardHandler))
		base := "program=mips-pi&year=2025&entity=tin_npi:111111111/" + npi1 + "&from=2025-01-01&to=2025-12-31"
		do := func(target string) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
			return rec
		}

		rec := do("/v1/reports?" + base)
		var r report.Report
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &r) != nil {
			t.Fatalf("report: %d %.300s", rec.Code, rec.Body)
		}
		if m := measureOf(t, r, "PI_EP_1"); m.Numerator != 120 || m.Denominator != 130 || m.Members != nil || r.LogicVersion == "" {
			t.Errorf("PI_EP_1 in the JSON report: %+v", m)
		}

		var tokens []string
		total := 0
		token := ""
		for {
			rec := do("/v1/reports/members?" + base + "&measure=PI_EP_1&in=denominator&page_size=50&page_token=" + token)
			var p reports.Page
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &p) != nil {
				t.Fatalf("members: %d %s", rec.Code, rec.Body)
			}
			for _, m := range p.Members {
				if m.DenominatorEvent != "ev-"+m.Object || m.InNumerator && m.NumeratorEvent != "ev-sent-"+m.Object {
					t.Errorf("member %+v lacks its events", m)
				}
			}
			total += len(p.Members)
			if p.NextToken == "" {
				break
			}
			token = p.NextToken
			tokens = append(tokens, token)
		}
		if total != 130 || len(tokens) != 2 {
			t.Errorf("paged %d members over %d tokens, want 130 over 2", total, len(tokens))
		}
		var p reports.Page
		if rec := do("/v1/reports/members?" + base + "&measure=PI_EP_1&in=not-numerator"); json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Total != 10 {
			t.Errorf("not-numerator: %d %.200s", rec.Code, rec.Body)
		}
		for _, f := range []string{"csv", "qpp", "measurereport", "qrda3", "pdf"} {
			if rec := do("/v1/reports/export?" + base + "&cehrt_id=0015CABCDEFGHIJ&format=" + f); rec.Code != http.StatusOK || rec.Body.Len() == 0 {
				t.Errorf("export %s: %d %.200s", f, rec.Code, rec.Body)
			}
		}

		bad := []struct{ query, field string }{
			{strings.Replace(base, "mips-pi", "mips", 1), "program"},
			{strings.Replace(base, "year=2025", "year=20x5", 1), "year"},
			{strings.Replace(base, npi1, "1234567890", 1), "entity"},
			{strings.Replace(base, "from=2025-01-01", "from=2025-13-01", 1), "from"},
			{strings.Replace(base, "to=2025-12-31", "to=2024-12-31", 1), "to"},
			{base + "&as_of=yesterday", "as_of"},
			{base + "&variant=some", "variant"},
			{base + "&entity_type=cah", "entity_type"},
			{base + "&first_year=maybe", "first_year"},
			{base + "&exclude=NOPE", "exclude"},
		}
		for _, b := range bad {
			if rec := do("/v1/reports?" + b.query); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"field":"`+b.field) {
				t.Errorf("%s: %d %s, want 400 naming %s", b.query, rec.Code, rec.Body, b.field)
			}
		}
		if rec := do("/v1/reports?" + strings.Replace(base, "to=2025-12-31", "to=2025-02-01", 1)); rec.Code != http.StatusUnprocessableEntity ||
			!strings.Contains(rec.Body.String(), `"field":"period.to"`) {
			t.Errorf("a period the rule book refuses: %d %s", rec.Code, rec.Body)
		}
		members := []struct{ query, field string }{
			{base + "&in=denominator", "measure"},
			{base + "&measure=PI_EP_1&in=everyone", "in"},
			{base + "&measure=PI_EP_1&in=numerator&page_size=0", "page_size"},
			{base + "&measure=PI_EP_1&in=numerator&page_token=x", "page_token"},
		}
		for _, b := range members {
			if rec := do("/v1/reports/members?" + b.query); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"field":"`+b.field) {
				t.Errorf("%s: %d %s, want 400 naming %s", b.query, rec.Code, rec.Body, b.field)
			}
		}
		if rec := do("/v1/reports/members?" + base + "&measure=PI_PPHI_1&in=numerator"); rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("members of a yes/no measure: %d %s", rec.Code, rec.Body)
		}
		if rec := do("/v1/reports/members?" + base + "&measure=NOPE&in=numerator"); rec.Code != http.StatusNotFound {
			t.Errorf("members of an unknown measure: %d %s", rec.Code, rec.Body)
		}
		if rec := do("/v1/reports/export?" + base + "&format=docx"); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"field":"format"`) {
			t.Errorf("bad format: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestIncentiveFromPaymentInputs checks the incentive a Meaningful Use report shows
// from the entity's payment inputs: computed with its explanation (not earned when
// the period does not make a meaningful user), and a note naming what to enter when
// the inputs are absent or incomplete.
func TestIncentiveFromPaymentInputs(t *testing.T) {
	c := computer(t)
	ctx := context.Background()
	hospital := contract.Entity{Kind: contract.EntityCCN, ID: "123456"}
	n := func(v int64) *int64 { return &v }
	q := reports.Query{Program: rulebook.ModifiedStage2, Year: 2015, Entity: hospital, EntityType: rulebook.EH,
		From: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2015, 3, 31, 0, 0, 0, 0, time.UTC),
		Variant: measure.ControlledExcluded}
	in := contract.PaymentInputs{PaymentInputsID: "pay-1", Entity: hospital, Year: 2015,
		PaymentFigures: contract.PaymentFigures{Program: contract.IncentiveMedicare, FirstPaymentYear: 2013,
			Discharges: n(10000), MedicarePartADays: n(35000), TotalInpatientDays: n(100000),
			TotalChargesCents: n(100_000_000), CharityChargesCents: n(10_000_000)}}

	src := memory(nil, nil, nil)
	got, err := c.Compute(ctx, src, q, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Report.Incentive != nil || !strings.Contains(strings.Join(got.Report.Notes, " "), "Medicare hospital incentive for 2015 is not computed: enter payment inputs for the year") {
		t.Errorf("no inputs: incentive %+v, notes %v", got.Report.Incentive, got.Report.Notes)
	}

	partial := in
	partial.Discharges = nil
	src.Apply(facts.Change{Op: facts.PutPaymentInputs, ID: partial.PaymentInputsID, Entity: hospital, Payment: partial})
	got, err = c.Compute(ctx, src, q, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Report.Incentive != nil || !strings.Contains(strings.Join(got.Report.Notes, " "), "enter discharges in records' payment inputs") {
		t.Errorf("no discharges: incentive %+v, notes %v", got.Report.Incentive, got.Report.Notes)
	}

	// 3,770,200 × 7/18 × ½ (FY2015 for a FY2013 starter) × 98% = $718,432.56; the
	// period (no facts) does not make a meaningful user, so nothing is earned.
	src.Apply(facts.Change{Op: facts.PutPaymentInputs, ID: in.PaymentInputsID, Entity: hospital, Payment: in})
	got, err = c.Compute(ctx, src, q, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	inc := got.Report.Incentive
	if inc == nil || inc.Kind != "incentive" || inc.PaymentYear != 2015 || inc.Amount == nil || *inc.Amount != 0 || got.Report.Pass {
		t.Fatalf("incentive %+v (pass %v)", inc, got.Report.Pass)
	}
	steps := strings.Join(inc.Explanation.Steps, "\n")
	if !strings.Contains(steps, "$718,432.56") || !strings.Contains(inc.Outcome, "not earned") {
		t.Errorf("incentive outcome %q, steps:\n%s", inc.Outcome, steps)
	}
}

// TestRegistrationWithin60Days checks that a registry engagement at the registered
// level answers a public health measure only when registration was completed within
// 60 days of the period start, and that the report says why when it was not.
func TestRegistrationWithin60Days(t *testing.T) {
	c := computer(t)
	ctx := context.Background()
	clin := ent("111111111/" + npi1)
	day := func(m time.Month, d int) time.Time { return time.Date(2025, m, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		registered time.Time
		yes        bool
	}{{day(3, 2), true}, {day(3, 3), false}} {
		engs := []contract.RegistryEngagement{{RegistryEngagementID: "imm", Entity: clin, Measure: contract.RegistryImmunization,
			RegistryID: "org-1", Status: contract.EngagementRegistered, Registered: tc.registered, Since: tc.registered}}
		got, err := c.Compute(ctx, memory(nil, nil, engs), query(clin), nil, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		m := measureOf(t, got.Report, "PI_PHCDRR_1")
		notes := strings.Join(got.Report.Notes, " ")
		if tc.yes {
			if m.Answer == nil || !*m.Answer || m.Engagement != report.PreProduction || strings.Contains(notes, "not active engagement") {
				t.Errorf("registered %s: %+v, notes %s", tc.registered, m, notes)
			}
			continue
		}
		if m.Answer == nil || *m.Answer || !strings.Contains(notes, "PI_PHCDRR_1: engagement imm is not active engagement: registered: registration completed on 2025-03-03, more than 60 days after the period start 2025-01-01 (deadline 2025-03-02)") {
			t.Errorf("registered %s: %+v, notes %s", tc.registered, m, notes)
		}
	}
}
