package worklist_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
	"github.com/attest-ehr/attest/services/reporting/internal/window/windowtest"
	"github.com/attest-ehr/attest/services/reporting/internal/worklist"
)

func setup(t *testing.T) (*worklist.Lister, []membership.Fact, contract.Entity, *measure.Catalog, *calendar.Calendar) {
	t.Helper()
	c, err := measure.New()
	if err != nil {
		t.Fatal(err)
	}
	cal := calendar.New(time.UTC)
	clin := windowtest.Clinicians(3, 1)
	g := &windowtest.Gen{R: rand.New(rand.NewPCG(4, 4)), Year: 2025, Loc: time.UTC, Providers: clin, Spread: 5}
	facts := windowtest.Derive(c, cal, g.Patients(600))
	return &worklist.Lister{Catalog: c, Calendar: cal, Facts: windowtest.NewMemory(facts)}, facts, contract.Entity{Kind: contract.EntityTIN, ID: clin[0].TIN}, c, cal
}

// TestWorklist checks every item against membership.Count (a denominator member not
// in the numerator, with a deadline ahead), the order, the threshold crossers and paging.
func TestWorklist(t *testing.T) {
	l, facts, e, c, cal := setup(t)
	asOf := time.Date(2025, 12, 20, 12, 0, 0, 0, time.UTC)
	req := worklist.Request{Program: rulebook.MIPS, Year: 2025, Entity: e, AsOf: asOf, PageSize: 500}
	all, err := l.List(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if all.Total == 0 || all.Total > 500 {
		t.Fatalf("%d items: the test wants a non-empty list on one page", all.Total)
	}
	period := measure.Period{Year: 2025, First: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Last: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)}
	members := map[string]measure.Member{}
	reasons := map[string]int{}
	for _, s := range all.Measures {
		m, _ := c.Measure(measure.MIPS, s.ID, 2025, measure.TIN)
		v := measure.NoVariant
		if len(m.Variants) > 0 {
			v = m.Variants[0]
		}
		r, err := membership.Count(m, e, period, measure.Options{Calendar: cal, AsOf: asOf, Variant: v}, facts)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Variants) == 0 && (r.Numerator != s.Numerator || r.Denominator != s.Denominator) {
			t.Errorf("%s: summary %d/%d, Count %d/%d", s.ID, s.Numerator, s.Denominator, r.Numerator, r.Denominator)
		}
		for _, mb := range r.Members {
			members[s.ID+"|"+mb.PatientID+"|"+mb.Object] = mb
		}
	}
	crossers := map[string]int{}
	for i, it := range all.Items {
		reasons[it.Reason]++
		mb, ok := members[it.Measure+"|"+it.PatientID+"|"+it.Object]
		if !ok && it.Measure != "PI_EP_1" {
			t.Errorf("item %+v is not a member Count knows", it)
			continue
		}
		if ok && (!mb.InDenominator || mb.InNumerator) {
			t.Errorf("item %+v: Count has den %v num %v", it, mb.InDenominator, mb.InNumerator)
		}
		if !it.Deadline.After(asOf) {
			t.Errorf("item %+v: the deadline has passed", it)
		}
		if it.Measure == "PI_PEA_1" && it.Reason != string(measure.Pending) {
			t.Errorf("timely access item %+v is not pending: it cannot be mended", it)
		}
		if it.CrossesThreshold {
			crossers[it.Measure]++
		}
		if i > 0 {
			a, b := all.Items[i-1], it
			if !a.CrossesThreshold && b.CrossesThreshold {
				t.Errorf("items %d, %d: a threshold crosser after another", i-1, i)
			}
		}
	}
	for _, s := range all.Measures {
		want := 0
		if s.Needed > 0 && int(s.Needed) <= s.Candidates {
			want = int(s.Needed)
		}
		if crossers[s.ID] != want {
			t.Errorf("%s: %d crossers, want %d (needed %d of %d candidates)", s.ID, crossers[s.ID], want, s.Needed, s.Candidates)
		}
	}
	t.Logf("%d items, reasons %v, measures %+v", all.Total, reasons, all.Measures)

	// Paging: the pages together are the list.
	var paged []worklist.Item
	req.PageSize = 7
	for {
		page, err := l.List(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page.Items...)
		if page.NextPageToken == "" {
			break
		}
		req.PageToken = page.NextPageToken
	}
	a, _ := json.Marshal(all.Items)
	b, _ := json.Marshal(paged)
	if string(a) != string(b) {
		t.Error("the pages differ from the whole list")
	}
}

// TestPendingAccessIsListed is the example: seen two business days ago,
// portal access not yet given, so the patient is on the list with the deadline.
func TestPendingAccessIsListed(t *testing.T) {
	c, _ := measure.New()
	cal := calendar.New(time.UTC)
	e := contract.Entity{Kind: contract.EntityTINNPI, ID: "123456789/1234567893"}
	seen := time.Date(2025, 3, 10, 14, 0, 0, 0, time.UTC) // a Monday
	deadline := cal.AddBusinessDays(seen, 4)
	mk := func(p string, at time.Time, shared bool) []membership.Fact {
		fs := []membership.Fact{{Entity: e, Program: measure.MIPS, Measure: "PI_PEA_1", Year: 2025, Patient: p, Role: membership.Denominator,
			Ref: "e-" + p, At: at, Deadline: cal.AddBusinessDays(at, 4)}}
		if shared {
			for _, ch := range []measure.Channel{measure.VDT, measure.API} {
				fs = append(fs, membership.Fact{Entity: e, Program: measure.MIPS, Measure: "PI_PEA_1", Year: 2025, Patient: p,
					Role: membership.Access, Ref: "s-" + p + string(ch), For: "e-" + p, Channel: ch, At: at.Add(time.Hour)})
			}
		}
		return fs
	}
	facts := append(append(mk("p-waiting", seen, false), mk("p-done", seen, true)...), mk("p-missed", seen.AddDate(0, 0, -30), false)...)
	// Through the group the clinician bills under.
	l := &worklist.Lister{Catalog: c, Calendar: cal, Facts: windowtest.NewMemory(facts)}
	res, err := l.List(context.Background(), worklist.Request{Program: rulebook.MIPS, Year: 2025, Entity: contract.Entity{Kind: contract.EntityTIN, ID: "123456789"},
		Measure: "PI_PEA_1", AsOf: time.Date(2025, 3, 12, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || res.Items[0].PatientID != "p-waiting" || !res.Items[0].Deadline.Equal(deadline) || res.Items[0].Ref != "e-p-waiting" ||
		res.Items[0].Clinician != "tin_npi:123456789/1234567893" {
		t.Fatalf("items %+v; want p-waiting alone, due %v", res.Items, deadline)
	}
	if s := res.Measures[0]; s.Numerator != 1 || s.Denominator != 3 || s.Needed != 0 || res.Items[0].CrossesThreshold {
		t.Errorf("summary %+v: PI_PEA_1 needs at least one and has it", s)
	}
}

func TestWorklistHTTP(t *testing.T) {
	l, _, e, _, _ := setup(t)
	mux := http.NewServeMux()
	worklist.Routes(mux, l, func() time.Time { return time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC) }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	base := "program=mips-pi&year=2025&entity=" + e.String()
	tests := []struct {
		query string
		code  int
		field string
	}{
		{base, 200, ""},
		{base + "&measure=PI_PEA_1&page_size=5", 200, ""},
		{base + "&measure=PI_NOPE", 400, "measure"},
		{base + "&page_size=0", 400, "page_size"},
		{base + "&page_size=501", 400, "page_size"},
		{base + "&page_token=xyz", 400, "page_token"},
		{"program=mips-pi&year=2025&entity=tin_npi:123456789/1234567893", 400, "entity"},
		{base + "&from=2025-13-01", 400, "from"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/worklists?"+tt.query, nil))
		if rec.Code != tt.code || tt.field != "" && !strings.Contains(rec.Body.String(), `"`+tt.field+`"`) {
			t.Errorf("%s: %d %.300s, want %d naming %q", tt.query, rec.Code, rec.Body, tt.code, tt.field)
		}
	}
}
