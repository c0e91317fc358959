package membership_test

import (
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/measure/timeline"
)

// TestTimelyAccessOverPeriods: one patient, a visit shared in time in March and one
// never shared in September. Counted from facts, the same facts answer every period
// and moment: the year decrements, a spring quarter does not see September, and before
// September's deadline the patient is still in.
func TestTimelyAccessOverPeriods(t *testing.T) {
	c := catalog(t)
	m, _ := c.Measure(measure.MIPS, "PI_PEA_1", 2025, measure.TINNPI)
	cal := calendar.New(nil)
	prov := measure.Provider{NPI: npis[0], TIN: tins[0]}
	march, sept := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC), time.Date(2025, 9, 8, 9, 0, 0, 0, time.UTC)
	p := measure.Patient{ID: "p", Encounters: []measure.Encounter{
		{ID: "e1", Provider: prov, Setting: measure.Office, Start: march},
		{ID: "e2", Provider: prov, Setting: measure.Office, Start: sept},
	}, Shares: []measure.Share{
		{ID: "s1", EncounterID: "e1", Channel: measure.VDT, At: march.Add(time.Hour)},
		{ID: "s2", EncounterID: "e1", Channel: measure.API, At: march.Add(time.Hour)},
	}}
	facts := membership.NewDeriver(c, cal).Derive(timeline.Timeline{Patient: p})
	e := contract.Entity{Kind: contract.EntityTINNPI, ID: tins[0] + "/" + npis[0]}
	day := func(m time.Month, d int) time.Time { return time.Date(2025, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name        string
		first, last time.Time
		asOf        time.Time
		num, den    int
		code        measure.Code
	}{
		{"the year, final: September decrements", day(1, 1), day(12, 31), time.Time{}, 0, 1, measure.Decremented},
		{"spring: only March", day(3, 1), day(5, 29), time.Time{}, 1, 1, measure.Met},
		{"the year, before September's deadline: still in", day(1, 1), day(12, 31), sept.Add(24 * time.Hour), 1, 1, measure.Met},
		{"autumn: September alone, never shared", day(9, 1), day(11, 29), time.Time{}, 0, 1, measure.Missing},
		{"summer: no visit", day(6, 1), day(8, 29), time.Time{}, 0, 0, ""},
	}
	for _, tt := range tests {
		period := measure.Period{Year: 2025, First: tt.first, Last: tt.last}
		o := measure.Options{Calendar: cal, AsOf: tt.asOf}
		got, err := membership.Count(m, e, period, o, facts)
		if err != nil {
			t.Fatal(err)
		}
		want, err := measure.Evaluate(m, e, period, []measure.Patient{p}, o)
		if err != nil {
			t.Fatal(err)
		}
		if got.Numerator != tt.num || got.Denominator != tt.den || want.Numerator != tt.num || want.Denominator != tt.den {
			t.Errorf("%s: facts %d/%d, Evaluate %d/%d, want %d/%d", tt.name, got.Numerator, got.Denominator,
				want.Numerator, want.Denominator, tt.num, tt.den)
		}
		if tt.den > 0 && got.Members[0].Numerator.Code != tt.code {
			t.Errorf("%s: %s (%s), want %s", tt.name, got.Members[0].Numerator.Code, got.Members[0].Numerator.Note, tt.code)
		}
	}
}
