package rulebook_test

import (
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// date parses a test date; a typo gives the zero time, which fails the test.
func date(s string) time.Time {
	t, _ := time.Parse(time.DateOnly, s)
	return t
}

func TestReportingPeriod(t *testing.T) {
	tests := []struct {
		name      string
		program   rulebook.Program
		year      int
		entity    rulebook.EntityType
		firstYear bool
		from, to  string
		wantField string // "" = the period follows the rule
		lastStart string
	}{
		{"MIPS 2019: 90 days", rulebook.MIPS, 2019, rulebook.EP, false, "2019-10-03", "2019-12-31", "", "2019-10-03"},
		{"MIPS 2019: 89 days is too short", rulebook.MIPS, 2019, rulebook.EP, false, "2019-10-04", "2019-12-31", "period.to", "2019-10-03"},
		{"MIPS 2019: longer than 90 days is allowed", rulebook.MIPS, 2019, rulebook.Group, false, "2019-01-01", "2019-12-31", "", "2019-10-03"},
		{"MIPS 2024: 180 days", rulebook.MIPS, 2024, rulebook.EP, false, "2024-07-05", "2024-12-31", "", "2024-07-05"},
		{"MIPS 2024: 90 days is too short", rulebook.MIPS, 2024, rulebook.EP, false, "2024-10-03", "2024-12-31", "period.to", "2024-07-05"},
		{"MIPS 2025: 180 days from Jan 1", rulebook.MIPS, 2025, rulebook.EP, false, "2025-01-01", "2025-06-29", "", "2025-07-05"},
		{"hospital 2023: 90 days", rulebook.HospitalPI, 2023, rulebook.EH, false, "2023-04-01", "2023-06-29", "", "2023-10-03"},
		{"hospital 2024: 180 days", rulebook.HospitalPI, 2024, rulebook.CAH, false, "2024-01-01", "2024-06-28", "", "2024-07-05"},
		{"period may not cross the year", rulebook.HospitalPI, 2023, rulebook.EH, false, "2023-11-01", "2024-01-29", "period.to", "2023-10-03"},
		{"MU 2016: exactly 90 days", rulebook.ModifiedStage2, 2016, rulebook.EP, false, "2016-03-01", "2016-05-29", "", "2016-10-03"},
		{"MU 2016: 91 days is not the rule", rulebook.ModifiedStage2, 2016, rulebook.EP, false, "2016-03-01", "2016-05-30", "period.to", "2016-10-03"},
		{"MU 2015 hospital: window opens Oct 1 2014", rulebook.ModifiedStage2, 2015, rulebook.EH, false, "2014-10-01", "2014-12-29", "", "2015-10-03"},
		{"MU 2015 EP: window is the calendar year", rulebook.ModifiedStage2, 2015, rulebook.EP, false, "2014-10-01", "2014-12-29", "period.from", "2015-10-03"},
		{"Medicaid Stage 3 2020: the whole year (a minimum of 90 days)", rulebook.Stage3, 2020, rulebook.EP, false, "2020-01-01", "2020-12-31", "", "2020-10-03"},
		{"Medicaid Stage 3 2020: 89 days is too short", rulebook.Stage3, 2020, rulebook.EP, false, "2020-01-01", "2020-03-29", "period.to", "2020-10-03"},
		{"MU 2018 hospital: exactly 90 days still", rulebook.Stage3, 2018, rulebook.EH, false, "2018-01-01", "2018-04-01", "period.to", "2018-10-03"},
		{"2014: a calendar quarter", rulebook.Stage3, 2014, rulebook.EP, false, "2014-04-01", "2014-06-30", "", "2014-10-01"},
		{"2014: not a quarter", rulebook.Stage3, 2014, rulebook.EP, false, "2014-04-02", "2014-07-01", "period.from", "2014-10-01"},
		{"2014 hospital: a fiscal quarter", rulebook.Stage3, 2014, rulebook.EH, false, "2013-10-01", "2013-12-31", "", "2014-07-01"},
		{"2013 returning EP: the full year", rulebook.ModifiedStage2, 2013, rulebook.EP, false, "2013-01-01", "2013-12-31", "", "2013-01-01"},
		{"2013 returning EP: 90 days is not enough", rulebook.ModifiedStage2, 2013, rulebook.EP, false, "2013-01-01", "2013-03-31", "period.from", "2013-01-01"},
		{"2013 first-year EP: any 90 days", rulebook.ModifiedStage2, 2013, rulebook.EP, true, "2013-01-01", "2013-03-31", "", "2013-10-03"},
		{"2012 hospital: fiscal year", rulebook.ModifiedStage2, 2012, rulebook.EH, false, "2011-10-01", "2012-09-30", "", "2011-10-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rulebook.ReportingPeriod(tt.program, tt.year, tt.entity, tt.firstYear)
			if err != nil {
				t.Fatal(err)
			}
			err = r.Check(date(tt.from), date(tt.to))
			if got := errs.FieldOf(err); got != tt.wantField {
				t.Errorf("Check(%s, %s) under %q = %v, want field %q", tt.from, tt.to, r, err, tt.wantField)
			}
			if err != nil && !errs.Is(errs.Unprocessable, err) {
				t.Errorf("kind = %v, want unprocessable", errs.KindOf(err))
			}
			if got := r.LastStart().Format(time.DateOnly); got != tt.lastStart {
				t.Errorf("LastStart = %s, want %s", got, tt.lastStart)
			}
		})
	}
}

func TestReportingPeriodErrors(t *testing.T) {
	tests := []struct {
		name    string
		program rulebook.Program
		year    int
		entity  rulebook.EntityType
	}{
		{"MIPS has no hospital period", rulebook.MIPS, 2020, rulebook.EH},
		{"hospital PI starts 2019", rulebook.HospitalPI, 2018, rulebook.EH},
		{"MU before 2011", rulebook.ModifiedStage2, 2010, rulebook.EP},
		{"MU after 2021", rulebook.Stage3, 2022, rulebook.EP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rulebook.ReportingPeriod(tt.program, tt.year, tt.entity, false)
			if !errs.Is(errs.Invalid, err) || errs.FieldOf(err) != "year" {
				t.Errorf("err = %v, want invalid year", err)
			}
		})
	}
	r, _ := rulebook.ReportingPeriod(rulebook.MIPS, 2020, rulebook.EP, false)
	if err := r.Check(date("2020-05-01"), date("2020-04-01")); !errs.Is(errs.Invalid, err) || errs.FieldOf(err) != "period.to" {
		t.Errorf("reversed period: %v, want invalid period.to", err)
	}
}
