package measure

import (
	"fmt"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
)

// Clock is the moment a timeliness rule counts from.
type Clock string

// The clocks.
const (
	FromInfo      Clock = "after the information is available to the provider"
	FromDischarge Clock = "after discharge"
	FromVisit     Clock = "after the office visit"
	FromRequest   Clock = "after the request"
)

// Timely is a timeliness rule: within BusinessDays business days, or within Hours
// hours, of the clock's start. The zero value has no deadline.
type Timely struct {
	BusinessDays int
	Hours        int
	From         Clock
}

// BusinessDaysAfter is "within n business days" of clock.
func BusinessDaysAfter(n int, clock Clock) Timely { return Timely{BusinessDays: n, From: clock} }

// HoursAfter is "within n hours" of clock.
func HoursAfter(n int, clock Clock) Timely { return Timely{Hours: n, From: clock} }

// String is "4 business days after the information is available to the provider".
func (t Timely) String() string {
	switch {
	case t.BusinessDays > 0:
		return fmt.Sprintf("%d business days %s", t.BusinessDays, t.From)
	case t.Hours > 0:
		return fmt.Sprintf("%d hours %s", t.Hours, t.From)
	}
	return ""
}

// Deadline is the last instant an action started by start is timely: the end of the
// nth business day after start's day in the calendar's zone (the day itself does not
// count, weekends and federal holidays are skipped; "4 business days" from a Monday
// ends on Friday at midnight), or start plus the hours exactly, the boundary included.
// A rule without a deadline has none: the zero time.
func (t Timely) Deadline(cal *calendar.Calendar, start time.Time) time.Time {
	switch {
	case t.BusinessDays > 0:
		return cal.AddBusinessDays(start, t.BusinessDays)
	case t.Hours > 0:
		return start.Add(time.Duration(t.Hours) * time.Hour)
	}
	return time.Time{}
}

// on reports whether done is timely for start: no later than the deadline.
func (t Timely) on(cal *calendar.Calendar, start, done time.Time) bool {
	d := t.Deadline(cal, start)
	return d.IsZero() || !done.After(d)
}
