package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
	"github.com/attest-ehr/attest/services/reporting/internal/report/reporttest"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

func TestBuildCarriesTheRuleBookVerdicts(t *testing.T) {
	r := reporttest.Report(t, true)
	tests := []struct {
		id      string
		status  rulebook.Status
		points  int64
		percent string
		members int
	}{
		{"PI_EP_1", rulebook.Met, 4, "42.61", 116}, // 49/115 × 10 = 4.26 → 4
		{"PI_HIE_1", rulebook.Met, 9, "57.56", 1952},
		{"PI_PEA_1", rulebook.Met, 12, "47.60", 1810},
		{"PI_PPHI_1", rulebook.Met, 0, "", 0},
		{"PI_HIE_5", rulebook.NotReported, 0, "", 0},
	}
	for _, tt := range tests {
		m, ok := r.Measure(tt.id)
		if !ok || m.Status != tt.status || m.Points != tt.points || m.Percent != tt.percent || len(m.Members) != tt.members {
			t.Errorf("%s: %+v (members %d), want %s %d points %q, %d members", tt.id, m.Status, len(m.Members), tt.status, tt.points, tt.percent, tt.members)
		}
	}
	if !r.Pass || r.Score == nil || r.Score.Total == 0 {
		t.Errorf("pass %v score %+v, want a passing score", r.Pass, r.Score)
	}
	if m, _ := r.Measure("PI_HIE_5"); m.Reported {
		t.Error("PI_HIE_5 was not sent but is marked reported")
	}
	if err := report.Check(r); err != nil {
		t.Errorf("Check of a built report: %v", err)
	}
}

func TestBuildRefusesBadInput(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(in *report.Input)
		field string
	}{
		{"entity kind vs type", func(in *report.Input) { in.EntityType = rulebook.Group }, "entity_type"},
		{"invalid NPI", func(in *report.Input) { in.Entity = contract.Entity{Kind: "npi", ID: "1234567890"} }, "entity"},
		{"no logic version", func(in *report.Input) { in.LogicVersion = "" }, "logic_version"},
		{"no generation time", func(in *report.Input) { in.GeneratedAt = time.Time{} }, "generated_at"},
		{"data newer than report", func(in *report.Input) { in.DataAsOf = in.GeneratedAt.Add(time.Second) }, "data_as_of"},
		{"bad position", func(in *report.Input) { in.Positions[1].Offset = -1 }, "positions[1]"},
		{"malformed period", func(in *report.Input) { in.Period.From = "2025-13-01" }, "period.from"},
		{"period too short", func(in *report.Input) { in.Period.To = "2025-03-01" }, "period.to"},
		{"unknown measure", func(in *report.Input) { in.Measures["PI_NOPE"] = in.Measures["PI_PPHI_1"] }, "measures.PI_NOPE"},
		{"list does not add up", func(in *report.Input) {
			mi := in.Measures["PI_EP_1"]
			mi.Members = mi.Members[1:]
			in.Measures["PI_EP_1"] = mi
		}, "measures.PI_EP_1.members"},
		{"numerator member outside denominator", func(in *report.Input) {
			mi := in.Measures["PI_EP_1"]
			mi.Members[len(mi.Members)-1].InNumerator = true
			in.Measures["PI_EP_1"] = mi
		}, "measures.PI_EP_1.members[115].in_numerator"},
		{"engagement on a proportion", func(in *report.Input) {
			mi := in.Measures["PI_EP_1"]
			mi.Engagement = report.Production
			in.Measures["PI_EP_1"] = mi
		}, "measures.PI_EP_1.engagement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := reporttest.Input(true)
			tt.edit(&in)
			_, err := report.Build(in)
			if err == nil || errs.FieldOf(err) != tt.field {
				t.Fatalf("err %v (field %q), want one naming %q", err, errs.FieldOf(err), tt.field)
			}
		})
	}
}

func TestCheckRefusesVerdictsTheRuleBookDoesNotGive(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(r *report.Report)
		field string
	}{
		{"status", func(r *report.Report) { r.Measures[4].Status = rulebook.NotMet }, "measures[4].status"},
		{"points", func(r *report.Report) { r.Measures[4].Points++ }, "measures[4].points"},
		{"pass", func(r *report.Report) { r.Pass = !r.Pass }, "pass"},
		{"score", func(r *report.Report) { r.Score.Total = 100 }, "score"},
		{"numbers", func(r *report.Report) { r.Measures[4].Numerator = 100 }, "measures[4].points"},
		{"duplicate measure", func(r *report.Report) { r.Measures = append(r.Measures, r.Measures[0]) }, "measures[" + "16].id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reporttest.Report(t, false)
			if r.Measures[4].ID != "PI_EP_1" || len(r.Measures) != 16 {
				t.Fatalf("sample changed: measures[4] = %s, %d measures", r.Measures[4].ID, len(r.Measures))
			}
			score := *r.Score
			r.Score = &score
			tt.edit(&r)
			err := report.Check(r)
			if err == nil || !strings.HasPrefix(errs.FieldOf(err), tt.field) {
				t.Fatalf("err %v (field %q), want one naming %q", err, errs.FieldOf(err), tt.field)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	frozen := reporttest.Report(t, true)
	if d := report.Compare(frozen, frozen); !d.Same || len(d.Measures) != 0 {
		t.Fatalf("a report against itself: %+v", d)
	}

	// Later: one late patient enters PI_EP_1's numerator, one numerator patient's
	// deciding action is corrected away, one denominator patient is retracted; the
	// log has moved on.
	in := reporttest.Input(true)
	in.Positions[0].Offset += 7
	mi := in.Measures["PI_EP_1"]
	members := mi.Members[:len(mi.Members)-1] // the patient left out earlier is gone: retraction
	members[0].InNumerator, members[0].Numerator = false, report.Reason{Code: "missing", Note: "action deleted"}
	late := reporttest.Members("PI_EP_1", 1, 1)[0]
	late.PatientID = "pt-late"
	members = append(members, late)
	mi.Members, mi.Numerator, mi.Denominator = members, 49, 116
	in.Measures["PI_EP_1"] = mi
	later, err := report.Build(in)
	if err != nil {
		t.Fatal(err)
	}
	d := report.Compare(frozen, later)
	if d.Same {
		t.Fatal("reports that differ compare the same")
	}
	if !containsText(d.Context, contract.TopicFact+"/0 read to offset 1207, was 1200 (+7 events)") {
		t.Errorf("context %q does not say the log moved on", d.Context)
	}
	if len(d.Measures) != 1 || d.Measures[0].ID != "PI_EP_1" {
		t.Fatalf("measures %+v, want PI_EP_1 only", d.Measures)
	}
	md := d.Measures[0]
	if !containsText(md.Changes, "numbers 49/115 → 49/116") {
		t.Errorf("changes %q", md.Changes)
	}
	causes := map[string]string{}
	for _, c := range md.Members {
		causes[c.PatientID] = c.Cause + ": " + c.Before + " → " + c.After
	}
	want := map[string]string{
		"pt-0000000": "correction: numerator → denominator only",
		"pt-late":    "late event: absent → numerator",
		"pt-0000115": "retraction: out → absent",
	}
	for p, w := range want {
		if causes[p] != w {
			t.Errorf("%s: %q, want %q", p, causes[p], w)
		}
	}
	if len(md.Members) != len(want) {
		t.Errorf("%d member changes, want %d: %+v", len(md.Members), len(want), md.Members)
	}

	// Same numbers under new logic: the diff names the logic version.
	in = reporttest.Input(true)
	in.LogicVersion = "measure-catalog/2026.1+rulebook/2026.1"
	relogic, err := report.Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if d := report.Compare(frozen, relogic); !d.Same || !containsText(d.Context, "measure logic changed") {
		t.Errorf("logic-only change: %+v", d)
	}
}

func containsText(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
