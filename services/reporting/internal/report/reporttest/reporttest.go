// Package reporttest builds reports for tests and benchmarks of the reporting
// service's packages: a small MIPS PI report with the numbers of CMS's published
// submission example, and reports with large patient lists.
package reporttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/reporting/internal/money"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// generated is the generation time of every report made here.
var generated = time.Date(2025, time.July, 2, 9, 30, 0, 0, time.UTC)

func yes() *bool { v := true; return &v }

// Input is the input of the sample report: a MIPS individual (TIN/NPI) for 2025,
// period 2025-01-01..2025-06-29, with the proportions of CMS's scoring example
// (49/115, 1123/1951, 923/951, 861/1809) and, when withMembers, the complete member
// list behind each proportion.
func Input(withMembers bool) report.Input {
	prop := func(id string, num, den int64) report.MeasureInput {
		mi := report.MeasureInput{MeasureInput: rulebook.MeasureInput{Numerator: num, Denominator: den}}
		if withMembers {
			mi.Members = Members(id, num, den)
		}
		return mi
	}
	att := report.MeasureInput{MeasureInput: rulebook.MeasureInput{Answer: yes()}}
	production := att
	production.Engagement = report.Production
	return report.Input{
		Program: rulebook.MIPS, Year: 2025, EntityType: rulebook.EP,
		Entity:  contract.Entity{Kind: contract.EntityTINNPI, ID: "000456789/1234567893"},
		Period:  report.Period{From: "2025-01-01", To: "2025-06-29"},
		CEHRTID: "0015CABCDEFGHIJ", GeneratedAt: generated, DataAsOf: generated.Add(-90 * time.Second),
		LogicVersion: "measure-catalog/2025.1+rulebook/2025.1",
		Positions: []report.Position{{Topic: contract.TopicFact, Partition: 0, Offset: 1200},
			{Topic: contract.TopicFact, Partition: 1, Offset: 1187}, {Topic: contract.TopicFact, Partition: 2, Offset: 1301}},
		Measures: map[string]report.MeasureInput{
			"PI_INFBLO_1": att, "PI_ONCDIR_1": att, "PI_PPHI_1": att, "PI_PPHI_2": att, "PI_EP_2": att,
			"PI_EP_1":     prop("PI_EP_1", 49, 115),
			"PI_HIE_1":    prop("PI_HIE_1", 1123, 1951),
			"PI_HIE_4":    prop("PI_HIE_4", 923, 951),
			"PI_PEA_1":    prop("PI_PEA_1", 861, 1809),
			"PI_PHCDRR_1": production, "PI_PHCDRR_3": production,
		},
		Money: &report.Money{Kind: "mips", PaymentYear: 2027, Outcome: "PI contributes 18.75 final-score points",
			Percent: "18.75", Explanation: money.Explanation{Formula: "PI category score × 25%", Steps: []string{"75 × 25% = 18.75"}}},
	}
}

// Members returns a complete list for a proportion: den patients in the
// denominator, the first num of them in the numerator, and one patient left out of
// the denominator, each with its reason.
func Members(measure string, num, den int64) []report.Member {
	out := make([]report.Member, 0, den+1)
	at := time.Date(2025, time.March, 4, 14, 30, 0, 0, time.UTC)
	for i := range den + 1 {
		m := report.Member{
			PatientID: fmt.Sprintf("pt-%07d", i), InDenominator: i < den,
			Denominator: report.Reason{Code: "counted", Ref: fmt.Sprintf("enc-%07d", i), At: at, Note: "seen by the provider during the period"},
		}
		switch {
		case i >= den:
			m.Denominator = report.Reason{Code: "out-of-period", Ref: fmt.Sprintf("enc-%07d", i), At: at.AddDate(-1, 0, 0), Note: "no encounter in the period"}
		case i < num:
			m.InNumerator = true
			m.Numerator = report.Reason{Code: "met", Ref: fmt.Sprintf("%s-act-%07d", measure, i), At: at.Add(time.Hour)}
		default:
			m.Numerator = report.Reason{Code: "missing", Note: "no qualifying action"}
		}
		out = append(out, m)
	}
	return out
}

// Report is the sample report, with member lists when withMembers.
func Report(t testing.TB, withMembers bool) report.Report {
	t.Helper()
	r, err := report.Build(Input(withMembers))
	if err != nil {
		t.Fatalf("reporttest: build sample report: %v", err)
	}
	return r
}

// Large is the sample report with patients members spread over its four
// proportions, for benchmarks: each proportion gets patients/4 denominator members,
// 60% of them in the numerator.
func Large(t testing.TB, patients int) report.Report {
	t.Helper()
	in := Input(false)
	per := int64(patients / 4)
	for _, id := range []string{"PI_EP_1", "PI_HIE_1", "PI_HIE_4", "PI_PEA_1"} {
		num := per * 6 / 10
		in.Measures[id] = report.MeasureInput{MeasureInput: rulebook.MeasureInput{Numerator: num, Denominator: per},
			Members: Members(id, num, per)}
	}
	r, err := report.Build(in)
	if err != nil {
		t.Fatalf("reporttest: build large report: %v", err)
	}
	return r
}
