// Package calendar answers business-day questions with the US federal holiday
// calendar (5 U.S.C. 6103): is a day a business day, what is the Nth business day after
// a moment, how many business hours lie between two moments. Measures use it for their
// timeliness rules ("within 4 business days", "1 business day") and messaging for
// response times within clinic hours.
//
// The spec leaves holidays configurable (no CMS source defines them for the measures),
// so a Calendar takes extra closed days on top of the federal ones.
package calendar

import (
	"sync"
	"time"
)

// Holiday is a federal holiday in a given year, on the day it is observed.
type Holiday struct {
	Name     string
	Date     time.Time // midnight UTC of the observed day
	Observed bool      // true when the legal date fell on a weekend and this is the substitute
}

// FederalHolidays lists the year's federal holidays on their observed days: a holiday
// falling on a Saturday is observed the Friday before, on a Sunday the Monday after.
// Juneteenth is a federal holiday from 2021. Inauguration Day, observed only in the
// Washington area, is not included.
func FederalHolidays(year int) []Holiday {
	var hs []Holiday
	fixed := func(name string, m time.Month, d int) {
		legal := date(year, m, d)
		obs := legal
		switch legal.Weekday() {
		case time.Saturday:
			obs = legal.AddDate(0, 0, -1)
		case time.Sunday:
			obs = legal.AddDate(0, 0, 1)
		}
		hs = append(hs, Holiday{Name: name, Date: obs, Observed: !obs.Equal(legal)})
	}
	nth := func(name string, m time.Month, wd time.Weekday, n int) {
		hs = append(hs, Holiday{Name: name, Date: nthWeekday(year, m, wd, n)})
	}
	fixed("New Year's Day", time.January, 1)
	nth("Birthday of Martin Luther King, Jr.", time.January, time.Monday, 3)
	nth("Washington's Birthday", time.February, time.Monday, 3)
	nth("Memorial Day", time.May, time.Monday, -1)
	if year >= 2021 {
		fixed("Juneteenth National Independence Day", time.June, 19)
	}
	fixed("Independence Day", time.July, 4)
	nth("Labor Day", time.September, time.Monday, 1)
	nth("Columbus Day", time.October, time.Monday, 2)
	fixed("Veterans Day", time.November, 11)
	nth("Thanksgiving Day", time.November, time.Thursday, 4)
	fixed("Christmas Day", time.December, 25)
	return hs
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// nthWeekday is the nth given weekday of the month; n = -1 is the last one.
func nthWeekday(year int, m time.Month, wd time.Weekday, n int) time.Time {
	if n < 0 {
		last := date(year, m+1, 0)
		return last.AddDate(0, 0, -((int(last.Weekday()) - int(wd) + 7) % 7))
	}
	first := date(year, m, 1)
	return first.AddDate(0, 0, (int(wd)-int(first.Weekday())+7)%7+7*(n-1))
}

// Calendar decides business days. The zero value is not usable; use New. A Calendar
// is safe for concurrent use: measures are evaluated for many entities at once with
// one calendar.
type Calendar struct {
	loc    *time.Location
	closed map[civil]bool // extra closed days

	mu    sync.Mutex             // guards years, filled lazily
	years map[int]map[civil]bool // federal holidays observed in each year
}

// civil is a calendar day independent of time zone.
type civil struct {
	y int
	m time.Month
	d int
}

func civilOf(t time.Time) civil { y, m, d := t.Date(); return civil{y, m, d} }

// New returns a calendar whose days are the calendar days of loc (nil means UTC),
// closed on weekends, federal holidays and the extra days given (YYYY-MM-DD dates
// taken as days in loc).
func New(loc *time.Location, extraClosed ...time.Time) *Calendar {
	if loc == nil {
		loc = time.UTC
	}
	c := &Calendar{loc: loc, closed: map[civil]bool{}, years: map[int]map[civil]bool{}}
	for _, d := range extraClosed {
		c.closed[civilOf(d)] = true
	}
	return c
}

// Location is the time zone whose calendar days the calendar counts.
func (c *Calendar) Location() *time.Location { return c.loc }

func (c *Calendar) holidays(year int) map[civil]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.years[year]; ok {
		return h
	}
	h := map[civil]bool{}
	// A New Year's Day on a Saturday is observed on 31 December of the year before,
	// so a year's set includes the next year's holidays observed in it.
	for _, y := range []int{year, year + 1} {
		for _, hol := range FederalHolidays(y) {
			if hol.Date.Year() == year {
				h[civilOf(hol.Date)] = true
			}
		}
	}
	c.years[year] = h
	return h
}

// IsBusinessDay reports whether the calendar day of t (in the calendar's zone) is a
// weekday that is neither a federal holiday nor an extra closed day.
func (c *Calendar) IsBusinessDay(t time.Time) bool {
	t = t.In(c.loc)
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	day := civilOf(t)
	return !c.closed[day] && !c.holidays(day.y)[day]
}

// AddBusinessDays returns the end of the nth business day after the day of t: the
// deadline of "within n business days" of t. The day of t itself does not count,
// whatever it is; n = 0 gives the end of t's own day. The result is the last
// instant of that day in the calendar's zone.
func (c *Calendar) AddBusinessDays(t time.Time, n int) time.Time {
	day := t.In(c.loc)
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, c.loc)
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if c.IsBusinessDay(day) {
			n--
		}
	}
	return day.AddDate(0, 0, 1).Add(-time.Nanosecond)
}

// WithinBusinessDays reports whether done happened no later than the end of the nth
// business day after start (and not before start's day).
func (c *Calendar) WithinBusinessDays(start, done time.Time, n int) bool {
	return !done.After(c.AddBusinessDays(start, n))
}

// Hours are a clinic's opening hours on business days, in the calendar's zone.
type Hours struct {
	Open, Close time.Duration // since midnight, e.g. 8h and 17h
}

// BusinessDuration is the time between from and to that falls within opening hours on
// business days. It is zero when to is not after from.
func (c *Calendar) BusinessDuration(from, to time.Time, h Hours) time.Duration {
	if !to.After(from) || h.Close <= h.Open {
		return 0
	}
	var total time.Duration
	f := from.In(c.loc)
	day := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, c.loc)
	for !day.After(to) {
		if c.IsBusinessDay(day) {
			open := wallClock(day, h.Open, c.loc)
			closing := wallClock(day, h.Close, c.loc)
			s, e := maxTime(open, from), minTime(closing, to)
			if e.After(s) {
				total += e.Sub(s)
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return total
}

// wallClock is the instant at the given time of day on day, in loc; built from the
// date so that a daylight-saving change that day does not shift opening hours.
func wallClock(day time.Time, since time.Duration, loc *time.Location) time.Time {
	h, m := int(since/time.Hour), int(since%time.Hour/time.Minute)
	return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
