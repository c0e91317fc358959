package run

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Query is one number asked for: a measure of a program and year, for an entity, over
// the whole reporting year, counted as final (every deadline passed).
type Query struct {
	Entity  string // kind:id, e.g. tin_npi:900001001/1700010000
	Program string
	Year    int
	Measure string
	Variant string // e.g. controlled-substances-included; "" when the measure has none
}

// Numbers are a measure's numerator and denominator.
type Numbers struct {
	Numerator   int `json:"numerator"`
	Denominator int `json:"denominator"`
}

// Source answers the numbers the decks expect. Metrics' numbers API is one; reporting's
// reports API (counting from the same published facts) would be another.
type Source interface {
	Numbers(ctx context.Context, q Query) (Numbers, error)
	// Measures lists the ratio measures a program has in a year for a kind of entity.
	Measures(ctx context.Context, program string, year int, entityKind string) ([]Measure, error)
}

// Measure is a catalog row, as much of it as the runner needs.
type Measure struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Kind     string   `json:"kind"`
	Variants []string `json:"variants"`
}

// Client calls the platform's public API as one account.
type Client struct {
	Base  string // e.g. http://127.0.0.1:8080
	Token string // bearer token
	HTTP  *http.Client
}

// Do sends one request with a JSON body (nil for none), retrying 429 and 5xx a few
// times, and decodes a 2xx answer into out (when not nil). Any other answer is an
// error with the status and the body.
func (c *Client) Do(ctx context.Context, method, path, idempotencyKey string, body, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, c.Base+path, bytes.NewReader(raw))
		if err != nil {
			return err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if idempotencyKey != "" {
			req.Header.Set("Idempotency-Key", idempotencyKey)
		}
		req.Header.Set("Authorization", "Bearer "+c.Token)
		resp, err := c.HTTP.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		switch {
		case resp.StatusCode < 300:
			if out == nil {
				return nil
			}
			return json.Unmarshal(b, out)
		case (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) && attempt < 6:
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
			wait *= 2
		default:
			return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
		}
	}
}

// MetricsSource asks metrics' numbers API (GET /metrics/v1/numbers), which counts with
// membership.Count from the facts metrics derives.
type MetricsSource struct{ C *Client }

// Numbers implements Source.
func (s MetricsSource) Numbers(ctx context.Context, q Query) (Numbers, error) {
	v := url.Values{"entity": {q.Entity}, "program": {q.Program}, "year": {strconv.Itoa(q.Year)}, "measure": {q.Measure},
		"from": {fmt.Sprintf("%d-01-01", q.Year)}, "to": {fmt.Sprintf("%d-12-31", q.Year)}, "as_of": {"final"}}
	if q.Variant != "" {
		v.Set("variant", q.Variant)
	}
	var n Numbers
	err := s.C.Do(ctx, http.MethodGet, "/metrics/v1/numbers?"+v.Encode(), "", nil, &n)
	return n, err
}

// Measures implements Source.
func (s MetricsSource) Measures(ctx context.Context, program string, year int, entityKind string) ([]Measure, error) {
	v := url.Values{"program": {program}, "year": {strconv.Itoa(year)}, "entity_kind": {entityKind}}
	var out struct {
		Measures []Measure `json:"measures"`
	}
	if err := s.C.Do(ctx, http.MethodGet, "/metrics/v1/measures?"+v.Encode(), "", nil, &out); err != nil {
		return nil, err
	}
	return out.Measures, nil
}

// ReportingSource asks reporting's reports API (GET /reporting/v1/reports), which
// counts every measure of the rule book from reporting's own copy of the facts metrics
// publishes: the numbers a compliance officer attests. The measure catalog (titles,
// variants) still comes from metrics' catalog API, the same library's catalog.
type ReportingSource struct{ C *Client }

// Numbers implements Source: the measure's row of the entity's report for the whole
// year, counted as final. Medicaid Stage 3 values are the exception: where a measure's
// volume is under its exclusion's bound and the measure is not met (CPOE with fewer
// than 100 orders, e-prescribing with fewer than 100 prescriptions), the report claims
// the exclusion in place of the numbers, as an attestation does, while the 2023 decks
// expect the counted numbers; metrics' numbers API gives them (the same
// membership.Count over the same facts).
func (s ReportingSource) Numbers(ctx context.Context, q Query) (Numbers, error) {
	if q.Program == "mu-stage3" {
		return MetricsSource(s).Numbers(ctx, q)
	}
	v := url.Values{"entity": {q.Entity}, "program": {q.Program}, "year": {strconv.Itoa(q.Year)},
		"from": {fmt.Sprintf("%d-01-01", q.Year)}, "to": {fmt.Sprintf("%d-12-31", q.Year)}, "as_of": {"final"}}
	if q.Variant != "" {
		v.Set("variant", q.Variant)
	}
	var r struct {
		Measures []struct {
			ID          string `json:"id"`
			Numerator   int    `json:"numerator"`
			Denominator int    `json:"denominator"`
		} `json:"measures"`
	}
	if err := s.C.Do(ctx, http.MethodGet, "/reporting/v1/reports?"+v.Encode(), "", nil, &r); err != nil {
		return Numbers{}, err
	}
	for _, m := range r.Measures {
		if m.ID == q.Measure {
			return Numbers{Numerator: m.Numerator, Denominator: m.Denominator}, nil
		}
	}
	return Numbers{}, fmt.Errorf("reporting's %s %d report for %s has no measure %s", q.Program, q.Year, q.Entity, q.Measure)
}

// Measures implements Source with metrics' catalog.
func (s ReportingSource) Measures(ctx context.Context, program string, year int, entityKind string) ([]Measure, error) {
	return MetricsSource(s).Measures(ctx, program, year, entityKind)
}

// sameTitle compares a deck's measure name with a catalog title, ignoring case,
// spacing and punctuation.
func sameTitle(a, b string) bool {
	norm := func(s string) string {
		var sb strings.Builder
		for _, r := range strings.ToLower(s) {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				sb.WriteRune(r)
			}
		}
		return sb.String()
	}
	return norm(a) == norm(b)
}
