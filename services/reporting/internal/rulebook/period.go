package rulebook

import (
	"fmt"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
)

// PeriodKind is the shape of an EHR reporting / performance period.
type PeriodKind int

const (
	// ContinuousDays: any continuous run of Days days inside the window; with
	// Minimum, any longer run too (MIPS and hospital PI say "a minimum of").
	ContinuousDays PeriodKind = iota + 1
	// FullYear: the whole window (a calendar year, or a federal fiscal year for
	// hospitals before 2015).
	FullYear
	// Quarter: one three-month quarter of the window (2014: calendar quarters for
	// EPs, fiscal-year quarters for hospitals).
	Quarter
)

// PeriodRule is the rule a reporting period must follow. Dates are civil days at
// midnight UTC; a period's From and To are both included.
type PeriodRule struct {
	Kind    PeriodKind
	Days    int       // ContinuousDays: the length
	Minimum bool      // ContinuousDays: Days is a minimum, not an exact length
	Start   time.Time // the window the period must lie in
	End     time.Time // last day of the window, included
	Source  string    // where the rule comes from
}

// String states the rule in words.
func (r PeriodRule) String() string {
	win := fmt.Sprintf("%s–%s", r.Start.Format(time.DateOnly), r.End.Format(time.DateOnly))
	switch r.Kind {
	case ContinuousDays:
		if r.Minimum {
			return fmt.Sprintf("at least %d continuous days within %s", r.Days, win)
		}
		return fmt.Sprintf("any continuous %d days within %s", r.Days, win)
	case FullYear:
		return "the full year " + win
	case Quarter:
		return "any three-month quarter of " + win
	}
	return "unknown rule"
}

// LastStart is the last day a period following the rule can begin: Oct 3 for 90
// days in a calendar year, Jul 5 for 180 days.
func (r PeriodRule) LastStart() time.Time {
	switch r.Kind {
	case ContinuousDays:
		return r.End.AddDate(0, 0, -(r.Days - 1))
	case Quarter:
		return r.Start.AddDate(0, 9, 0) // the fourth quarter
	}
	return r.Start
}

// days counts the days from..to, both included.
func days(from, to time.Time) int { return int(to.Sub(from).Hours()/24) + 1 }

// Check reports whether the period from..to follows the rule. A period that breaks
// it is an errs.Unprocessable error naming "period.from" or "period.to" and saying
// why (the dates are well formed; the rule is not met).
func (r PeriodRule) Check(from, to time.Time) error {
	from, to = civilDay(from), civilDay(to)
	if to.Before(from) {
		return errs.Field(errs.Invalid, "period.to", "is before period.from")
	}
	if from.Before(r.Start) {
		return errs.Field(errs.Unprocessable, "period.from", "%s is before the window: the rule is %s", from.Format(time.DateOnly), r)
	}
	if to.After(r.End) {
		return errs.Field(errs.Unprocessable, "period.to", "%s is after the window: the rule is %s", to.Format(time.DateOnly), r)
	}
	n := days(from, to)
	switch r.Kind {
	case ContinuousDays:
		if n < r.Days || (!r.Minimum && n != r.Days) {
			return errs.Field(errs.Unprocessable, "period.to", "the period has %d days: the rule is %s", n, r)
		}
	case FullYear:
		if !from.Equal(r.Start) || !to.Equal(r.End) {
			return errs.Field(errs.Unprocessable, "period.from", "the rule is %s", r)
		}
	case Quarter:
		q := from
		ok := false
		for s := r.Start; !s.After(r.End); s = s.AddDate(0, 3, 0) {
			if q.Equal(s) && to.Equal(s.AddDate(0, 3, -1)) {
				ok = true
			}
		}
		if !ok {
			return errs.Field(errs.Unprocessable, "period.from", "the period is not a quarter: the rule is %s", r)
		}
	}
	return nil
}

func civilDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func calendarYear(y int) (time.Time, time.Time) {
	return day(y, time.January, 1), day(y, time.December, 31)
}

// fiscalYear is the federal fiscal year y: Oct 1 of y-1 to Sep 30 of y.
func fiscalYear(y int) (time.Time, time.Time) {
	return day(y-1, time.October, 1), day(y, time.September, 30)
}

// ReportingPeriod is the EHR reporting (or MIPS performance) period rule for a
// program's year and entity. firstYear marks a provider demonstrating meaningful use
// for the first time, which had a 90-day period in 2011–2013 and 2016.
//
// It covers 2011–2014 (Stage 1 and 2, whose measure books are not in this package)
// as well as every year a book covers. The table, with sources, is in
// docs/scoring.md ("Reporting periods").
func ReportingPeriod(p Program, year int, e EntityType, firstYear bool) (PeriodRule, error) {
	hospital := e == EH || e == CAH
	cy := func(days int, minimum bool, src string) PeriodRule {
		s, end := calendarYear(year)
		return PeriodRule{Kind: ContinuousDays, Days: days, Minimum: minimum, Start: s, End: end, Source: src}
	}
	switch {
	case p == MIPS && year >= 2017 && year <= 2023 && !hospital:
		return cy(90, true, "QPP: a minimum of 90 continuous days (2017–2023)"), nil
	case p == MIPS && year >= 2024 && !hospital:
		return cy(180, true, "QPP: a minimum of 180 continuous days (2024+)"), nil
	case p == HospitalPI && year >= 2019 && year <= 2023 && hospital:
		return cy(90, true, "Medicare PI: a minimum of any continuous 90 days (2019–2023)"), nil
	case p == HospitalPI && year >= 2024 && hospital:
		return cy(180, true, "Medicare PI: a minimum of any continuous 180 days (2024+)"), nil
	case p == MIPS || p == HospitalPI:
		return PeriodRule{}, errs.Field(errs.Invalid, "year", "%s has no reporting period for %s in %d", p, e, year)
	}
	// Meaningful Use (any stage): the EHR Incentive Programs' periods.
	switch {
	case year >= 2011 && year <= 2013:
		start, end := calendarYear(year)
		if hospital {
			start, end = fiscalYear(year)
		}
		if firstYear {
			return PeriodRule{Kind: ContinuousDays, Days: 90, Start: start, End: end, Source: "42 CFR 495.4: first payment year, any continuous 90 days"}, nil
		}
		return PeriodRule{Kind: FullYear, Start: start, End: end, Source: "42 CFR 495.4: subsequent years, the full year"}, nil
	case year == 2014:
		start, end := calendarYear(year)
		if hospital {
			start, end = fiscalYear(year)
		}
		return PeriodRule{Kind: Quarter, Start: start, End: end, Source: "2014 CEHRT flexibility: any three-month quarter (calendar quarter for EPs, fiscal quarter for hospitals) ⚠"}, nil
	case year == 2015 && hospital:
		return PeriodRule{Kind: ContinuousDays, Days: 90, Start: day(2014, time.October, 1), End: day(2015, time.December, 31),
			Source: "80 FR 62761: any continuous 90 days from Oct 1 2014 to Dec 31 2015"}, nil
	case year >= 2015 && year <= 2018:
		return cy(90, false, "80 FR 62761 and the CY2017 OPPS rule: any continuous 90 days in the calendar year"), nil
	case year >= 2019 && year <= 2021:
		// From 2019 CMS wrote "a minimum of any continuous 90-day period" for Medicaid EPs
		// and hospitals alike (CMS's 2019 reminder via [TORTOLANO-2019]; the FY 2020
		// Medicaid PI requirements), so a longer period, up to the year, is allowed.
		return cy(90, true, "CY2019 PFS / FY2019 IPPS rules: a minimum of any continuous 90 days in the calendar year (2019–2021)"), nil
	}
	return PeriodRule{}, errs.Field(errs.Invalid, "year", "%s has no reporting period for %s in %d", p, e, year)
}
