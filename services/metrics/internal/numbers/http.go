package numbers

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/libs/measure"
)

// Page sizes of member listings.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Routes registers the API on mux:
//
//	GET /v1/measures?program=&year=&entity_kind=
//	GET /v1/numbers?entity=&program=&year=&measure=[&from=&to=&variant=&as_of=&attested=]
//	GET /v1/members?<the same>[&in=&page_size=&page_token=]
//	GET /v1/patients/{id}/explanation?<the same>
func Routes(mux *http.ServeMux, r *Reader, log *slog.Logger) {
	mux.Handle("GET /v1/measures", httpapi.NewServer(
		func(_ context.Context, req any) (any, error) {
			q := req.(catalogQuery)
			return map[string]any{"program": q.program, "year": q.year, "entity_kind": q.kind,
				"measures": r.Catalog(q.program, q.year, q.kind)}, nil
		},
		func(_ context.Context, hr *http.Request) (any, error) { return parseCatalogQuery(hr.URL.Query()) }, log))
	mux.Handle("GET /v1/numbers", httpapi.NewServer(
		func(ctx context.Context, req any) (any, error) {
			n, _, err := r.Count(ctx, req.(Query))
			return n, err
		},
		func(_ context.Context, hr *http.Request) (any, error) { return r.parseQuery(hr.URL.Query()) }, log))
	mux.Handle("GET /v1/members", httpapi.NewServer(
		func(ctx context.Context, req any) (any, error) {
			l := req.(listing)
			return r.Members(ctx, l.Query, l.which, l.size, l.token)
		},
		func(_ context.Context, hr *http.Request) (any, error) { return r.parseListing(hr.URL.Query()) }, log))
	mux.Handle("GET /v1/patients/{id}/explanation", httpapi.NewServer(
		func(ctx context.Context, req any) (any, error) {
			e := req.(explaining)
			return r.Explain(ctx, e.patient, e.Query)
		},
		func(_ context.Context, hr *http.Request) (any, error) {
			id := hr.PathValue("id")
			if id == "" || len(id) > 64 {
				return nil, errs.Field(errs.Invalid, "id", "a patient ID of 1 to 64 characters")
			}
			q, err := r.parseQuery(hr.URL.Query())
			return explaining{Query: q, patient: id}, err
		}, log))
}

type catalogQuery struct {
	program measure.Program
	year    int
	kind    measure.EntityKind
}

type listing struct {
	Query
	which, token string
	size         int
}

type explaining struct {
	Query
	patient string
}

func parseCatalogQuery(v url.Values) (catalogQuery, error) {
	p, err := program(v)
	if err != nil {
		return catalogQuery{}, err
	}
	y, err := year(v)
	if err != nil {
		return catalogQuery{}, err
	}
	k := v.Get("entity_kind")
	if !slices.Contains([]string{measure.NPI, measure.TINNPI, measure.TIN, measure.CCN}, k) {
		return catalogQuery{}, errs.Field(errs.Invalid, "entity_kind", "one of npi, tin_npi, tin, ccn")
	}
	return catalogQuery{program: p, year: y, kind: k}, nil
}

func program(v url.Values) (measure.Program, error) {
	p := measure.Program(v.Get("program"))
	if !slices.Contains(measure.Programs(), p) {
		names := make([]string, 0, len(measure.Programs()))
		for _, x := range measure.Programs() {
			names = append(names, string(x))
		}
		return "", errs.Field(errs.Invalid, "program", "one of %s", strings.Join(names, ", "))
	}
	return p, nil
}

func year(v url.Values) (int, error) {
	y, err := strconv.Atoi(v.Get("year"))
	if err != nil || y < 2011 || y > 2100 {
		return 0, errs.Field(errs.Invalid, "year", "a performance year, e.g. 2025")
	}
	return y, nil
}

// day parses a YYYY-MM-DD parameter, or returns def when it is absent.
func day(v url.Values, name string, def time.Time) (time.Time, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, errs.Field(errs.Invalid, name, "a day written YYYY-MM-DD")
	}
	return t, nil
}

// instant parses an RFC 3339 parameter; empty gives zero.
func instant(v url.Values, name string) (time.Time, error) {
	s := v.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errs.Field(errs.Invalid, name, "an instant written RFC 3339, e.g. 2025-03-04T09:00:00Z")
	}
	return t, nil
}

// parseQuery reads a Query: entity, program, year and measure are required; the period
// defaults to the whole reporting year, as_of to now ("final" for none).
func (r *Reader) parseQuery(v url.Values) (Query, error) {
	e, err := ident.ParseEntity(v.Get("entity"))
	if err != nil {
		return Query{}, err
	}
	p, err := program(v)
	if err != nil {
		return Query{}, err
	}
	y, err := year(v)
	if err != nil {
		return Query{}, err
	}
	id := v.Get("measure")
	if id == "" || len(id) > 64 {
		return Query{}, errs.Field(errs.Invalid, "measure", "a measure ID, e.g. PI_PEA_1")
	}
	yFrom, yTo := measure.ReportingYear(e.Kind, y, time.UTC)
	first, err := day(v, "from", yFrom)
	if err != nil {
		return Query{}, err
	}
	last, err := day(v, "to", yTo.AddDate(0, 0, -1))
	if err != nil {
		return Query{}, err
	}
	q := Query{Entity: e, Program: p, Year: y, Measure: id, Period: measure.Period{Year: y, First: first, Last: last},
		Variant: measure.Variant(v.Get("variant")), AsOf: r.now()}
	if q.Period.Attested, err = instant(v, "attested"); err != nil {
		return Query{}, err
	}
	switch s := v.Get("as_of"); s {
	case "":
	case "final":
		q.AsOf = time.Time{}
	default:
		if q.AsOf, err = instant(v, "as_of"); err != nil {
			return Query{}, errs.Field(errs.Invalid, "as_of", `an instant written RFC 3339, or "final"`)
		}
	}
	return q, nil
}

func (r *Reader) parseListing(v url.Values) (listing, error) {
	q, err := r.parseQuery(v)
	if err != nil {
		return listing{}, err
	}
	l := listing{Query: q, which: v.Get("in"), token: v.Get("page_token"), size: DefaultPageSize}
	if l.which == "" {
		l.which = InDenominator
	}
	if s := v.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return listing{}, errs.Field(errs.Invalid, "page_size", "a whole number from 1 to %d", MaxPageSize)
		}
		l.size = n
	}
	return l, nil
}
