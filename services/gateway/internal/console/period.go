package console

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
)

// programs are the programs the selector offers, with their names in words.
var programs = []struct{ ID, Label string }{
	{"mips-pi", "MIPS Promoting Interoperability"},
	{"medicare-pi-hospital", "Medicare Promoting Interoperability (hospitals)"},
	{"mu-stage3", "Meaningful Use Stage 3"},
	{"mu-modified-stage2", "Meaningful Use Modified Stage 2"},
	{"mu-stage2", "Meaningful Use Stage 2"},
	{"mu-stage1", "Meaningful Use Stage 1"},
	{"mips-pi-transition", "MIPS PI transition measures"},
}

// periodKinds are the reporting periods the selector offers.
var periodKinds = []struct{ ID, Label string }{
	{"year", "Calendar year"},
	{"90", "Any 90 days"},
	{"180", "Any 180 days"},
	{"custom", "Custom"},
}

// choice is the officer's selector as asked (the form's values) and resolved.
type choice struct {
	Program, Entity, Period, Start string
	Year                           int
	From, To                       string // the resolved period, YYYY-MM-DD, both days included
}

func (c choice) selection() selection {
	return selection{Program: c.Program, Year: c.Year, Entity: c.Entity, From: c.From, To: c.To}
}

// query is the choice as URL parameters, for links that keep it.
func (c choice) query() url.Values {
	q := url.Values{"program": {c.Program}, "year": {strconv.Itoa(c.Year)}, "entity": {c.Entity}, "period": {c.Period}}
	switch c.Period {
	case "90", "180":
		q.Set("start", c.Start)
	case "custom":
		q.Set("from", c.From)
		q.Set("to", c.To)
	}
	return q
}

var entityPattern = regexp.MustCompile(`^(npi|tin|ccn|tin_npi):[0-9A-Za-z/]{1,40}$`)

// parseChoice reads the selector from a query; now gives the default year. A wrong
// value is an Invalid error naming the field.
func parseChoice(q url.Values, now time.Time) (choice, error) {
	c := choice{Program: q.Get("program"), Entity: strings.TrimSpace(q.Get("entity")), Period: q.Get("period"),
		Year: now.Year()}
	if c.Program == "" {
		c.Program = programs[0].ID
	}
	if !slices.ContainsFunc(programs, func(p struct{ ID, Label string }) bool { return p.ID == c.Program }) {
		return c, errs.Field(errs.Invalid, "program", "not a program Attest computes")
	}
	if s := q.Get("year"); s != "" {
		y, err := strconv.Atoi(s)
		if err != nil || y < 2011 || y > 2100 {
			return c, errs.Field(errs.Invalid, "year", "a year from 2011")
		}
		c.Year = y
	}
	if c.Entity != "" && !entityPattern.MatchString(c.Entity) {
		return c, errs.Field(errs.Invalid, "entity", "want kind:id, e.g. npi:1234567893 or tin:123456789")
	}
	first := time.Date(c.Year, 1, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(c.Year, 12, 31, 0, 0, 0, 0, time.UTC)
	switch c.Period {
	case "", "year":
		c.Period = "year"
		c.From, c.To = first.Format(time.DateOnly), last.Format(time.DateOnly)
	case "90", "180":
		days, _ := strconv.Atoi(c.Period)
		start := first
		if s := q.Get("start"); s != "" {
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return c, errs.Field(errs.Invalid, "start", "a date, YYYY-MM-DD")
			}
			start = t
		}
		end := start.AddDate(0, 0, days-1)
		if start.Before(first) || end.After(last) {
			return c, errs.Field(errs.Invalid, "start", "the %d days must fall within %d", days, c.Year)
		}
		c.Start = start.Format(time.DateOnly)
		c.From, c.To = c.Start, end.Format(time.DateOnly)
	case "custom":
		from, err := time.Parse(time.DateOnly, q.Get("from"))
		if err != nil {
			return c, errs.Field(errs.Invalid, "from", "a date, YYYY-MM-DD")
		}
		to, err := time.Parse(time.DateOnly, q.Get("to"))
		if err != nil {
			return c, errs.Field(errs.Invalid, "to", "a date, YYYY-MM-DD")
		}
		if to.Before(from) {
			return c, errs.Field(errs.Invalid, "to", "on or after from")
		}
		if from.Year() != c.Year || to.Year() != c.Year {
			return c, errs.Field(errs.Invalid, "from", "the period must fall within %d", c.Year)
		}
		c.From, c.To = from.Format(time.DateOnly), to.Format(time.DateOnly)
	default:
		return c, errs.Field(errs.Invalid, "period", "year, 90, 180 or custom")
	}
	if c.Start == "" {
		c.Start = c.From
	}
	return c, nil
}

// weeks returns the last n Monday-to-Sunday weeks that end within [from, to], oldest
// first, each clipped to the period; fewer when the period is shorter.
func weeks(from, to string, n int) [][2]string {
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	if err1 != nil || err2 != nil || t.Before(f) {
		return nil
	}
	// The Monday of the week holding the last day.
	monday := t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
	var out [][2]string
	for i := 0; i < n; i++ {
		start := monday.AddDate(0, 0, -7*i)
		end := start.AddDate(0, 0, 6)
		if end.After(t) {
			end = t
		}
		if end.Before(f) {
			break
		}
		if start.Before(f) {
			start = f
		}
		out = append(out, [2]string{start.Format(time.DateOnly), end.Format(time.DateOnly)})
	}
	slices.Reverse(out)
	return out
}
