package rulebook

import (
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
)

// TestCheckEngagement checks the 60-day registration rule at its boundaries: day 60
// after the period start counts and day 61 does not (across February in a leap year
// too), an earlier year's registration counts, testing is exempt before 2023 and not
// after, production never depends on it, and a status that began after the period
// leaves the entity registered during it.
func TestCheckEngagement(t *testing.T) {
	d := func(s string) time.Time {
		v, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	p25 := Period{From: d("2025-01-01"), To: d("2025-03-31")}
	cases := []struct {
		name       string
		year       int
		period     Period
		status     string
		registered string
		since      string
		active     bool
		level      string
		reason     string
	}{
		{"registered on day 60", 2025, p25, contract.EngagementRegistered, "2025-03-02", "2025-03-02", true, "registered", "within 60 days"},
		{"registered on day 61", 2025, p25, contract.EngagementRegistered, "2025-03-03", "2025-03-03", false, "registered", "deadline 2025-03-02"},
		{"registered late in the day on day 60", 2025, p25, contract.EngagementRegistered, "2025-03-02", "2025-03-02", true, "registered", ""},
		{"leap year: day 60 is March 1", 2024, Period{From: d("2024-01-01"), To: d("2024-03-31")}, contract.EngagementRegistered,
			"2024-03-01", "2024-03-01", true, "registered", "deadline 2024-03-01"},
		{"leap year: March 2 is day 61", 2024, Period{From: d("2024-01-01"), To: d("2024-03-31")}, contract.EngagementRegistered,
			"2024-03-02", "2024-03-02", false, "registered", ""},
		{"a period starting mid-year", 2025, Period{From: d("2025-07-01"), To: d("2025-09-28")}, contract.EngagementRegistered,
			"2025-08-30", "2025-08-30", true, "registered", "deadline 2025-08-30"},
		{"registered in an earlier year", 2025, p25, contract.EngagementRegistered, "2023-05-10", "2023-05-10", true, "registered", "before the period"},
		{"registered after the period", 2025, p25, contract.EngagementRegistered, "2025-04-01", "2025-04-01", false, "", "after the period ended"},
		{"testing, late registration, 2022", 2022, Period{From: d("2022-01-01"), To: d("2022-03-31")}, contract.EngagementTesting,
			"2022-03-20", "2022-03-25", true, "testing", "testing since 2022-03-25"},
		{"testing, late registration, 2023", 2023, Period{From: d("2023-01-01"), To: d("2023-03-31")}, contract.EngagementTesting,
			"2023-03-20", "2023-03-25", false, "testing", "more than 60 days"},
		{"testing, registered in time, 2023", 2023, Period{From: d("2023-01-01"), To: d("2023-03-31")}, contract.EngagementTesting,
			"2023-03-02", "2023-03-25", true, "testing", "within 60 days"},
		{"production, late registration", 2025, p25, contract.EngagementProduction, "2025-03-20", "2025-03-25", true, "production", "production since"},
		{"production reached after the period", 2025, p25, contract.EngagementProduction, "2025-02-01", "2025-06-01", true, "registered", "within 60 days"},
		{"production after the period, late registration", 2025, p25, contract.EngagementProduction, "2025-03-10", "2025-06-01", false, "registered", "more than 60 days"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := d(c.registered)
			if strings.Contains(c.name, "late in the day") {
				reg = reg.Add(23*time.Hour + 59*time.Minute)
			}
			v := CheckEngagement(c.year, c.period, Engagement{Status: c.status, Registered: reg, Since: d(c.since)})
			if v.Active != c.active || v.Level != c.level || !strings.Contains(v.Reason, c.reason) {
				t.Errorf("got active %v level %q reason %q; want %v %q containing %q", v.Active, v.Level, v.Reason, c.active, c.level, c.reason)
			}
		})
	}
}
