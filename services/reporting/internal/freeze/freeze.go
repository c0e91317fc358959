// Package freeze makes attestations from the server's own numbers and checks them
// against the log. Freezing computes the report (package reports) at the log
// positions reporting's facts stand at, and seals it with its patient lists, the
// measure-logic version, the positions, who froze it and when (package attest).
// Recompute reads the fact and yes/no topics from their beginning up to the recorded
// positions, rebuilds the facts in memory, counts again and says whether the numbers
// are the same; Diff compares a frozen report with the numbers the facts give today
// and explains each change (late events, corrections, a new logic version).
package freeze

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/reporting/internal/attest"
	"github.com/attest-ehr/attest/services/reporting/internal/facts"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
	"github.com/attest-ehr/attest/services/reporting/internal/reports"
)

// Freezer freezes, recomputes and diffs attestations.
type Freezer struct {
	reports      *reports.Service
	store        *facts.Store
	attestations *attest.Store
	events       event.Config
	log          *slog.Logger
}

// New returns a Freezer computing with rs over store's facts, sealing into as and
// reading the log through events.
func New(rs *reports.Service, store *facts.Store, as *attest.Store, events event.Config, log *slog.Logger) *Freezer {
	return &Freezer{reports: rs, store: store, attestations: as, events: events, log: log}
}

// Request is what a freeze asks for: the report's program, year, entity and period,
// and optionally how to count it (as the report API's parameters).
type Request struct {
	Program      string   `json:"program"`
	Year         int      `json:"year"`
	Entity       string   `json:"entity"`
	From         string   `json:"from"`
	To           string   `json:"to"`
	AsOf         string   `json:"as_of,omitempty"`
	Variant      string   `json:"variant,omitempty"`
	EntityType   string   `json:"entity_type,omitempty"`
	FirstYear    bool     `json:"first_year,omitempty"`
	Exclude      []string `json:"exclude,omitempty"`
	CEHRTID      string   `json:"cehrt_id,omitempty"`
	Quality      string   `json:"quality,omitempty"`
	Cost         string   `json:"cost,omitempty"`
	Improvement  string   `json:"improvement,omitempty"`
	ReweightCost bool     `json:"reweight_cost,omitempty"`
}

// values is the request as the report API's parameters, so both are read alike.
func (r Request) values() url.Values {
	v := url.Values{"program": {r.Program}, "year": {strconv.Itoa(r.Year)}, "entity": {r.Entity},
		"from": {r.From}, "to": {r.To}, "as_of": {r.AsOf}, "variant": {r.Variant}, "entity_type": {r.EntityType},
		"first_year": {strconv.FormatBool(r.FirstYear)}, "exclude": {strings.Join(r.Exclude, ",")},
		"cehrt_id": {r.CEHRTID}, "quality": {r.Quality}, "cost": {r.Cost}, "improvement": {r.Improvement},
		"reweight_cost": {strconv.FormatBool(r.ReweightCost)}}
	return v
}

// Freeze computes the report req asks for and freezes it as by.
func (f *Freezer) Freeze(ctx context.Context, req Request, by string) (attest.Attestation, error) {
	// A report defaults to the whole year; an attestation names its period.
	for _, f := range []struct{ field, v string }{{"from", req.From}, {"to", req.To}} {
		if f.v == "" {
			return attest.Attestation{}, errs.Field(errs.Invalid, f.field, "required (YYYY-MM-DD): an attestation names its period")
		}
	}
	q, err := reports.ParseQuery(req.values())
	if err != nil {
		return attest.Attestation{}, err
	}
	c, err := f.reports.Report(ctx, q)
	if err != nil {
		return attest.Attestation{}, err
	}
	return f.attestations.FreezeComputed(ctx, c.Report, computation(c.Query), by)
}

// computation records how a report was computed, for its recompute.
func computation(q reports.Query) *attest.Computation {
	c := &attest.Computation{Variant: string(q.Variant), Exclude: q.Exclude}
	if !q.AsOf.IsZero() {
		at := q.AsOf.UTC()
		c.AsOf = &at
	}
	m := map[string]string{"quality": q.Money.Quality, "cost": q.Money.Cost, "improvement": q.Money.Improvement}
	if q.Money.ReweightCost {
		m["reweight_cost"] = "true"
	}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	if len(m) > 0 {
		c.Money = m
	}
	return c
}

// query is the query a frozen report was computed with.
func query(p attest.Payload) (reports.Query, error) {
	r := p.Report
	if p.Computation == nil {
		return reports.Query{}, errs.Field(errs.Unprocessable, "id",
			"this attestation froze a report sent to the service, not one it computed: there is nothing to recompute")
	}
	from, err1 := time.Parse(time.DateOnly, r.Period.From)
	to, err2 := time.Parse(time.DateOnly, r.Period.To)
	if err1 != nil || err2 != nil {
		return reports.Query{}, fmt.Errorf("attestation %s: bad period %v", p.ID, r.Period)
	}
	q := reports.Query{Program: r.Program, Year: r.Year, Entity: r.Entity, EntityType: r.EntityType, From: from, To: to,
		FirstYear: r.FirstYear, CEHRTID: r.CEHRTID, Exclude: p.Computation.Exclude}
	q.Variant = measure.Variant(p.Computation.Variant)
	if p.Computation.AsOf != nil {
		q.AsOf = *p.Computation.AsOf
	}
	m := p.Computation.Money
	q.Money = reports.MoneyInputs{Quality: m["quality"], Cost: m["cost"], Improvement: m["improvement"],
		ReweightCost: m["reweight_cost"] == "true"}
	return q, nil
}

// Routes registers freezing, recompute and diff on mux:
//
//	POST /v1/attestations                 compute and freeze {program, year, entity, from, to, …} (201, the summary)
//	GET  /v1/attestations/{id}/recompute  recount from the log up to the recorded positions: equal or not
//	GET  /v1/attestations/{id}/diff       the frozen numbers against today's, each change explained
func Routes(mux *http.ServeMux, f *Freezer, log *slog.Logger) {
	mux.Handle("POST /v1/attestations", httpapi.NewServer(func(ctx context.Context, req any) (any, error) {
		fr := req.(freezeRequest)
		a, err := f.Freeze(ctx, fr.req, fr.by)
		if err != nil {
			return nil, err
		}
		log.InfoContext(ctx, "attestation frozen", "id", a.ID, "entity", a.Entity, "program", a.Program,
			"year", a.Year, "sha256", a.PayloadSHA256, "key_id", a.KeyID)
		return created{a.Summary}, nil
	}, decodeFreeze, log))
	mux.Handle("GET /v1/attestations/{id}/recompute", httpapi.NewServer(func(ctx context.Context, req any) (any, error) {
		return f.Recompute(ctx, req.(string))
	}, decodeID, log))
	mux.Handle("GET /v1/attestations/{id}/diff", httpapi.NewServer(func(ctx context.Context, req any) (any, error) {
		return f.Diff(ctx, req.(string))
	}, decodeID, log))
}

type freezeRequest struct {
	req Request
	by  string
}

func decodeFreeze(_ context.Context, r *http.Request) (any, error) {
	p, ok, err := principal.FromRequest(r)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, errs.E(errs.Unauthenticated, "sign-in required: an attestation records who froze it")
	}
	var req Request
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	return freezeRequest{req: req, by: string(p.Kind) + ":" + p.ID}, nil
}

func decodeID(_ context.Context, r *http.Request) (any, error) { return r.PathValue("id"), nil }

type created struct{ attest.Summary }

// StatusCode answers 201 Created.
func (created) StatusCode() int { return http.StatusCreated }

// Headers sets Location to the new attestation.
func (c created) Headers() http.Header {
	return http.Header{"Location": {"/v1/attestations/" + c.ID}}
}

// open reads and verifies a stored attestation.
func (f *Freezer) open(ctx context.Context, id string) (attest.Payload, error) {
	a, err := f.attestations.Get(ctx, id)
	if err != nil {
		return attest.Payload{}, err
	}
	return f.attestations.Open(a)
}

// replay reads the topics from their beginning to their ends as they stand, handing
// each decoded change to fn with whether it lies below the positions at (the state a
// report at those positions saw). Malformed events are skipped, as the consumer
// dead-letters them. Only topics named in at or now are read.
func (f *Freezer) replay(ctx context.Context, at, now []report.Position, fn func(e event.Event, c facts.Change, before bool)) (int, error) {
	limit := map[[2]any]int64{}
	var topics []string
	for _, p := range at {
		limit[[2]any{p.Topic, p.Partition}] = p.Offset
		if !slices.Contains(topics, p.Topic) {
			topics = append(topics, p.Topic)
		}
	}
	for _, p := range now {
		if !slices.Contains(topics, p.Topic) {
			topics = append(topics, p.Topic)
		}
	}
	slices.Sort(topics)
	if len(topics) == 0 {
		return 0, nil
	}
	read := 0
	_, err := event.ReadTopics(ctx, f.events, topics, 500, func(es []event.Event) error {
		for _, e := range es {
			read++
			c, err := facts.Decode(e)
			if err != nil || c.Op == facts.Skip {
				continue
			}
			fn(e, c, e.Offset < limit[[2]any{e.Topic, e.Partition}])
		}
		return nil
	})
	if err != nil {
		return read, fmt.Errorf("read the log: %w", err)
	}
	return read, nil
}
