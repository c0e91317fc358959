package window

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// Routes registers GET /v1/best-window?program=&year=&entity=&days=90|180[&as_of=][&entity_type=cah].
// now is the clock as_of defaults to.
func Routes(mux *http.ServeMux, f *Finder, now func() time.Time, log *slog.Logger) {
	mux.Handle("GET /v1/best-window", httpapi.NewServer(
		func(ctx context.Context, req any) (any, error) { return f.Best(ctx, req.(Request)) },
		func(_ context.Context, r *http.Request) (any, error) {
			q := r.URL.Query()
			c, err := ParseCommon(q, now)
			if err != nil {
				return nil, err
			}
			req := Request{Program: c.Program, Year: c.Year, Entity: c.Entity, CAH: c.CAH, AsOf: c.AsOf}
			if s := q.Get("days"); s != "" {
				if req.Days, err = strconv.Atoi(s); err != nil || (req.Days != 90 && req.Days != 180) {
					return nil, errs.Field(errs.Invalid, "days", "must be 90 or 180")
				}
			}
			return req, nil
		}, log))
}

// Common are the query parameters every route of the three packages takes.
type Common struct {
	Program rulebook.Program
	Year    int
	Entity  contract.Entity
	CAH     bool
	AsOf    time.Time
}

// ParseCommon reads program, year, entity, entity_type (eh or cah, for a CCN) and
// as_of (RFC 3339 or YYYY-MM-DD, the start of that day in UTC; default now) as
// errs.Invalid errors naming the parameter.
func ParseCommon(q url.Values, now func() time.Time) (Common, error) {
	var c Common
	c.Program = rulebook.Program(q.Get("program"))
	if c.Program == "" {
		return c, errs.Field(errs.Invalid, "program", "required; one of %v", rulebook.Programs())
	}
	if _, err := Program(c.Program); err != nil {
		return c, err
	}
	y, err := strconv.Atoi(q.Get("year"))
	if err != nil || y < 2011 || y > 2100 {
		return c, errs.Field(errs.Invalid, "year", "required: a performance year such as 2025")
	}
	c.Year = y
	if q.Get("entity") == "" {
		return c, errs.Field(errs.Invalid, "entity", "required: kind:id, e.g. tin_npi:123456789/1234567893")
	}
	if c.Entity, err = ident.ParseEntity(q.Get("entity")); err != nil {
		return c, err
	}
	switch q.Get("entity_type") {
	case "", "eh", "ep", "group":
	case "cah":
		c.CAH = true
	default:
		return c, errs.Field(errs.Invalid, "entity_type", "one of ep, group, eh, cah")
	}
	c.AsOf = now()
	if s := q.Get("as_of"); s != "" {
		if c.AsOf, err = ParseInstant(s); err != nil {
			return c, errs.Field(errs.Invalid, "as_of", "not an RFC 3339 instant or a YYYY-MM-DD date")
		}
	}
	return c, nil
}

// ParseInstant reads an RFC 3339 instant or a YYYY-MM-DD date (its start, UTC).
func ParseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

// ParseDay reads a YYYY-MM-DD parameter; "" gives def.
func ParseDay(q url.Values, field string, def time.Time) (time.Time, error) {
	s := q.Get(field)
	if s == "" {
		return def, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, errs.Field(errs.Invalid, field, "not a date in YYYY-MM-DD form")
	}
	return t, nil
}
