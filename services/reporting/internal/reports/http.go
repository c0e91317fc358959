package reports

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/services/reporting/internal/export"
	"github.com/attest-ehr/attest/services/reporting/internal/facts"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// Service computes reports from the reporting database.
type Service struct {
	computer *Computer
	store    *facts.Store
}

// NewService returns the reports of store's state.
func NewService(c *Computer, s *facts.Store) *Service { return &Service{computer: c, store: s} }

// Computer is the service's computer (freezing and recomputing use it).
func (s *Service) Computer() *Computer { return s.computer }

// Report computes q from the database as it stands, with the log positions it was
// computed at: positions are read before and after, and the computation is repeated
// (a few times) until they agree, so the numbers are exactly those of the positions.
func (s *Service) Report(ctx context.Context, q Query) (Computed, error) {
	var last error
	for range 5 {
		before, newest, err := s.store.Positions(ctx)
		if err != nil {
			return Computed{}, err
		}
		c, err := s.computer.Compute(ctx, s.store, q, before, newest)
		if err != nil {
			return Computed{}, err
		}
		after, _, err := s.store.Positions(ctx)
		if err != nil {
			return Computed{}, err
		}
		if slices.Equal(before, after) {
			return c, nil
		}
		last = errs.E(errs.Unavailable, "the facts kept changing while the report was computed; try again")
	}
	return Computed{}, last
}

// Routes registers the report API on mux:
//
//	GET /v1/reports?program=&year=&entity=&from=&to=[&…]     the report (JSON), without patient lists
//	GET /v1/reports/export?<same>&format=csv|pdf|qpp|measurereport|measurereport-summary|qrda3
//	GET /v1/reports/members?<same>&measure=&in=denominator|numerator|not-numerator|excluded&page_size=&page_token=
func Routes(mux *http.ServeMux, s *Service, log *slog.Logger) {
	mux.Handle("GET /v1/reports", httpapi.NewServer(func(ctx context.Context, req any) (any, error) {
		q := req.(Query)
		q.WithoutLists, q.NumbersOnly = true, true
		c, err := s.Report(ctx, q)
		if err != nil {
			return nil, err
		}
		return WithoutMembers(c.Report), nil
	}, decodeQuery, log))
	mux.HandleFunc("GET /v1/reports/export", func(w http.ResponseWriter, r *http.Request) {
		if err := exportReport(w, r, s); err != nil {
			httpapi.WriteError(w, r, log, err)
		}
	})
	mux.Handle("GET /v1/reports/members", httpapi.NewServer(func(ctx context.Context, req any) (any, error) {
		return s.Members(ctx, req.(membersRequest))
	}, decodeMembers, log))
}

// WithoutMembers is the report without its patient lists: the numbers; the lists are
// drill-down (GET /v1/reports/members) and exports.
func WithoutMembers(r report.Report) report.Report {
	r.Measures = slices.Clone(r.Measures)
	for i := range r.Measures {
		r.Measures[i].Members = nil
	}
	return r
}

func exportReport(w http.ResponseWriter, r *http.Request, s *Service) error {
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		return err
	}
	format := export.Format(r.URL.Query().Get("format"))
	if !slices.Contains(export.Formats(), format) {
		return errs.Field(errs.Invalid, "format", "one of %v", export.Formats())
	}
	c, err := s.Report(r.Context(), q)
	if err != nil {
		return err
	}
	var buf bytes.Buffer // made whole first, so a failure is still a clean error
	if err := export.Write(&buf, format, c.Report, nil); err != nil {
		return err
	}
	name := fmt.Sprintf("report-%s-%d-%s-%s.%s", q.Program, q.Year, strings.ReplaceAll(q.Entity.String(), "/", "-"),
		format, export.Extension(format))
	h := w.Header()
	h.Set("Content-Type", export.ContentType(format))
	h.Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, ":", "-")+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes()) // a failed write means the client went away
	return nil
}

func decodeQuery(_ context.Context, r *http.Request) (any, error) { return ParseQuery(r.URL.Query()) }

// ParseQuery reads a report query from URL parameters: program, year, entity, from,
// to (both days, YYYY-MM-DD; default the whole calendar year) and optionally as_of
// (RFC 3339, or "final"; default now), variant, entity_type (cah for a critical access
// hospital), first_year, exclude (exclusion IDs, comma-separated), cehrt_id, and the
// money inputs quality, cost, improvement, reweight_cost. A bad one is an
// errs.Invalid naming it.
func ParseQuery(v url.Values) (Query, error) {
	var q Query
	q.Program = rulebook.Program(v.Get("program"))
	if !slices.Contains(rulebook.Programs(), q.Program) {
		return Query{}, errs.Field(errs.Invalid, "program", "one of %v", rulebook.Programs())
	}
	y, err := strconv.Atoi(v.Get("year"))
	if err != nil || y < 2011 || y > 2100 {
		return Query{}, errs.Field(errs.Invalid, "year", "a performance year such as 2025")
	}
	q.Year = y
	if q.Entity, err = ident.ParseEntity(v.Get("entity")); err != nil {
		return Query{}, err
	}
	cah := false
	switch t := v.Get("entity_type"); t {
	case "":
	case string(rulebook.CAH):
		if q.Entity.Kind != contract.EntityCCN {
			return Query{}, errs.Field(errs.Invalid, "entity_type", "only a ccn entity is a critical access hospital")
		}
		cah = true
	default:
		if rulebook.EntityType(t) != EntityType(q.Entity, false) {
			return Query{}, errs.Field(errs.Invalid, "entity_type", "a %s entity reports as %s (or cah for a ccn)", q.Entity.Kind, EntityType(q.Entity, false))
		}
	}
	q.EntityType = EntityType(q.Entity, cah)
	q.From, q.To = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC)
	if s := v.Get("from"); s != "" || v.Get("to") != "" {
		if q.From, err = day(s, "from"); err != nil {
			return Query{}, err
		}
		if q.To, err = day(v.Get("to"), "to"); err != nil {
			return Query{}, err
		}
		if q.To.Before(q.From) {
			return Query{}, errs.Field(errs.Invalid, "to", "before from")
		}
	}
	switch s := v.Get("as_of"); s {
	case "", "now":
		q.AsOfNow = true
	case "final":
	default:
		if q.AsOf, err = time.Parse(time.RFC3339, s); err != nil {
			return Query{}, errs.Field(errs.Invalid, "as_of", "an RFC 3339 instant, or final")
		}
	}
	switch vr := measure.Variant(v.Get("variant")); vr {
	case "", measure.ControlledIncluded, measure.ControlledExcluded:
		q.Variant = vr
	default:
		return Query{}, errs.Field(errs.Invalid, "variant", "%s or %s", measure.ControlledIncluded, measure.ControlledExcluded)
	}
	if q.FirstYear, err = flag(v.Get("first_year"), "first_year"); err != nil {
		return Query{}, err
	}
	if s := v.Get("exclude"); s != "" {
		q.Exclude = strings.Split(s, ",")
	}
	q.CEHRTID = v.Get("cehrt_id")
	q.Money = MoneyInputs{Quality: v.Get("quality"), Cost: v.Get("cost"), Improvement: v.Get("improvement")}
	if q.Money.ReweightCost, err = flag(v.Get("reweight_cost"), "reweight_cost"); err != nil {
		return Query{}, err
	}
	return q, nil
}

func day(s, field string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errs.Field(errs.Invalid, field, "required (YYYY-MM-DD)")
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, errs.Field(errs.Invalid, field, "not a date in YYYY-MM-DD form")
	}
	return t, nil
}

func flag(s, field string) (bool, error) {
	switch s {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, errs.Field(errs.Invalid, field, "true or false")
}

// Which members a drill-down lists.
const (
	InDenominator = "denominator"   // in the denominator
	InNumerator   = "numerator"     // in the numerator
	NotNumerator  = "not-numerator" // in the denominator, not the numerator
	Excluded      = "excluded"      // kept out of the denominator by a rule
)

// MaxPageSize is the most members one page holds.
const MaxPageSize = 1000

type membersRequest struct {
	Query
	measure, in string
	size, start int
}

func decodeMembers(_ context.Context, r *http.Request) (any, error) {
	v := r.URL.Query()
	q, err := ParseQuery(v)
	if err != nil {
		return nil, err
	}
	req := membersRequest{Query: q, measure: v.Get("measure"), in: v.Get("in"), size: 100}
	if req.measure == "" {
		return nil, errs.Field(errs.Invalid, "measure", "required: a measure ID of the report")
	}
	if !slices.Contains([]string{InDenominator, InNumerator, NotNumerator, Excluded}, req.in) {
		return nil, errs.Field(errs.Invalid, "in", "one of denominator, numerator, not-numerator, excluded")
	}
	if s := v.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return nil, errs.Field(errs.Invalid, "page_size", "a number from 1 to %d", MaxPageSize)
		}
		req.size = n
	}
	if s := v.Get("page_token"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, errs.Field(errs.Invalid, "page_token", "not a token this API returned")
		}
		req.start = n
	}
	return req, nil
}

// Member is one member of a drill-down: the report's member with the events that
// recorded the inputs deciding each side.
type Member struct {
	report.Member
	DenominatorEvent string `json:"denominator_event,omitempty"`
	NumeratorEvent   string `json:"numerator_event,omitempty"`
}

// Page is one page of a drill-down.
type Page struct {
	Measure   report.Measure `json:"measure"` // the measure's numbers and verdict, without its list
	In        string         `json:"in"`
	Members   []Member       `json:"members"`
	Total     int            `json:"total"`                // members matching, over all pages
	NextToken string         `json:"next_token,omitempty"` // absent on the last page
}

// Members lists the members behind one measure of a report, with the reason each is
// in or out and the event that put it there, by patient and object.
func (s *Service) Members(ctx context.Context, req membersRequest) (Page, error) {
	req.WithoutLists = true
	c, err := s.Report(ctx, req.Query)
	if err != nil {
		return Page{}, err
	}
	m, ok := c.Report.Measure(req.measure)
	if !ok {
		return Page{}, errs.Field(errs.NotFound, "measure", "%s is not a measure of %s %d for %s", req.measure,
			req.Program, req.Year, req.EntityType)
	}
	res, counted := c.Results[req.measure] // the lists are in Results whatever WithoutLists
	if !counted {
		return Page{}, errs.Field(errs.Unprocessable, "measure", "%s is not counted from patient data (%s)", m.ID, m.Kind)
	}
	m.Members = nil
	var all []measure.Member
	for _, mb := range res.Members {
		if map[string]bool{
			InDenominator: mb.InDenominator,
			InNumerator:   mb.InNumerator,
			NotNumerator:  mb.InDenominator && !mb.InNumerator,
			Excluded:      !mb.InDenominator,
		}[req.in] {
			all = append(all, mb)
		}
	}
	p := Page{Measure: m, In: req.in, Total: len(all), Members: []Member{}}
	if req.start >= len(all) {
		return p, nil
	}
	end := min(req.start+req.size, len(all))
	if end < len(all) {
		p.NextToken = strconv.Itoa(end)
	}
	events, err := s.events(ctx, req.Query, req.measure, all[req.start:end])
	if err != nil {
		return Page{}, err
	}
	for _, mb := range all[req.start:end] {
		out := Member{Member: report.Member{PatientID: mb.PatientID, Object: mb.Object, InDenominator: mb.InDenominator,
			InNumerator: mb.InNumerator, Denominator: reason(mb.Denominator), Numerator: reason(mb.Numerator), Via: mb.Via}}
		out.DenominatorEvent = events[eventKey{mb.PatientID, mb.Object, mb.Denominator.Ref, false}]
		if mb.Numerator.Ref != "" {
			out.NumeratorEvent = events[eventKey{mb.PatientID, mb.Object, mb.Numerator.Ref, true}]
		}
		p.Members = append(p.Members, out)
	}
	return p, nil
}

// eventKey names the fact behind one side of a member's decision: the input (ref)
// on the numerator side (a numerator action or a share) or the denominator side.
type eventKey struct {
	patient, object, ref string
	numerator            bool
}

// events finds, for the members of a page, the event behind each input that decided
// them: the because of the measure's fact with that input.
func (s *Service) events(ctx context.Context, q Query, measureID string, page []measure.Member) (map[eventKey]string, error) {
	want := map[[2]string]bool{}
	for _, mb := range page {
		want[[2]string{mb.PatientID, mb.Object}] = true
	}
	lists, err := s.store.Facts(ctx, q.Entity, CatalogProgram(q.Program), rulebook.CatalogID(q.Program, q.EntityType, measureID), q.Year)
	if err != nil {
		return nil, err
	}
	out := map[eventKey]string{}
	for _, l := range lists {
		for _, f := range l {
			if want[[2]string{f.Patient, f.Object}] {
				k := eventKey{f.Patient, f.Object, f.Ref, f.Role == membership.Numerator || f.Role == membership.Access}
				if _, ok := out[k]; !ok {
					out[k] = f.Because
				}
			}
		}
	}
	return out, nil
}
