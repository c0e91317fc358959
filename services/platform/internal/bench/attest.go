package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/services/gateway"
	"github.com/attest-ehr/attest/services/metrics"
	"github.com/attest-ehr/attest/services/platform"
	"github.com/attest-ehr/attest/services/platform/internal/demo"
	"github.com/attest-ehr/attest/services/platform/internal/generate"
)

// Attest is contestant C: the whole platform in this process, fed through the import
// APIs (records' bulk import, messaging's and education's), answering from reporting's
// reports and drill-downs (its own copy of the facts metrics derives).
type Attest struct {
	Env    map[string]string
	Year   int
	Base   string // the platform's URL, once started
	p      *platform.Running
	client *http.Client
}

func (a *Attest) getenv(k string) string { return a.Env[k] }

// Start starts the platform (ATTEST_DATA_DIR, DATABASE_URL from Env).
func (a *Attest) Start(ctx context.Context) error {
	p, err := platform.Start(ctx, a.getenv)
	if err != nil {
		return fmt.Errorf("(C): start the platform: %w", err)
	}
	a.p, a.Base, a.client = p, p.URL, &http.Client{Timeout: 2 * time.Minute}
	return nil
}

// Stop stops the platform and closes it.
func (a *Attest) Stop(ctx context.Context) error {
	if a.p == nil {
		return nil
	}
	err := a.p.Stop(ctx)
	a.client.CloseIdleConnections()
	a.p = nil
	return err
}

// Ingest imports the generated files the way an integration loads a health system:
// records' kinds through records' bulk import (POST /records/v1/import, one NDJSON
// upload per kind), then secure messages and education given through messaging's and
// education's import APIs, and waits until the pipeline settled.
func (a *Attest) Ingest(ctx context.Context, dir string, progress io.Writer) (int64, error) {
	s, err := demo.Import(ctx, demo.Config{URL: a.Base, Token: gateway.DemoServiceToken, Dir: dir, Progress: progress,
		Client: &http.Client{Timeout: 30 * time.Minute}})
	n := s.Imported + s.Unchanged
	if err != nil {
		return n, fmt.Errorf("(C): import: %w", err)
	}
	return n, a.Settle(ctx, 2*time.Hour)
}

// Settle waits until everything written has gone through the pipeline.
func (a *Attest) Settle(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	wait := 10 * time.Millisecond
	for {
		ok, err := a.p.Settled(ctx)
		if err != nil {
			return fmt.Errorf("(C): settle: %w", err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("(C): the pipeline did not settle within %v", limit)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

func (a *Attest) get(ctx context.Context, path string, v url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.Base+path+"?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+gateway.DemoServiceToken)
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d: %s", path, resp.StatusCode, bytes.TrimSpace(body))
	}
	return json.Unmarshal(body, out)
}

// query is reporting's report query for one entity over period p, every deadline
// counted as passed (as_of=final), in s's variant.
func (a *Attest) query(s Spec, entity string, p Period) url.Values {
	v := url.Values{"entity": {entity}, "program": {reportingProgram(s.Program)}, "year": {strconv.Itoa(a.Year)},
		"as_of": {"final"}, "from": {p.From.Format(time.DateOnly)}, "to": {p.To.AddDate(0, 0, -1).Format(time.DateOnly)}}
	if s.Variant != measure.NoVariant {
		v.Set("variant", string(s.Variant))
	}
	return v
}

// reportingProgram is the name reporting's rule book gives a measure catalog's program.
func reportingProgram(p measure.Program) string {
	switch p {
	case measure.Stage3:
		return "mu-stage-3"
	case measure.ModifiedStage2:
		return "mu-modified-stage-2"
	}
	return string(p)
}

// reportingID is the ID reporting's rule book gives a catalog measure: the same, but
// for Meaningful Use, whose rule book numbers objectives once for professionals and
// hospitals ("S3-EP-06.2" is "S3-06.2" in a professional's report).
func reportingID(s Spec) string {
	if s.Program == measure.Stage3 || s.Program == measure.ModifiedStage2 {
		return strings.Replace(strings.Replace(s.ID, "-EP-", "-", 1), "-EH-", "-", 1)
	}
	return s.ID
}

// reportRow is one measure's row of reporting's report.
type reportRow struct {
	ID          string `json:"id"`
	Numerator   int    `json:"numerator"`
	Denominator int    `json:"denominator"`
	Exclusion   string `json:"exclusion"` // claimed in place of the numbers (a volume under the bound)
}

// report reads reporting's report of one entity (every measure of the program, in
// s's variant), what a compliance officer opens.
func (a *Attest) report(ctx context.Context, s Spec, entity string, p Period) (map[string]reportRow, error) {
	var r struct {
		Measures []reportRow `json:"measures"`
	}
	if err := a.get(ctx, "/reporting/v1/reports", a.query(s, entity, p), &r); err != nil {
		return nil, err
	}
	out := make(map[string]reportRow, len(r.Measures))
	for _, m := range r.Measures {
		out[m.ID] = m
	}
	return out, nil
}

// Numbers is the count of one measure for one entity in reporting's report.
func (a *Attest) Numbers(ctx context.Context, s Spec, entity string, p Period) (num, den int, err error) {
	rows, err := a.report(ctx, s, entity, p)
	if err != nil {
		return 0, 0, err
	}
	m, ok := rows[reportingID(s)]
	if !ok {
		return 0, 0, fmt.Errorf("reporting's %s report for %s has no measure %s", s.Program, entity, s.ID)
	}
	return m.Numerator, m.Denominator, nil
}

// page is one page of reporting's drill-down.
type page struct {
	Members []struct {
		PatientID string `json:"patient_id"`
		Object    string `json:"object"`
	}
	Total     int    `json:"total"`
	NextToken string `json:"next_token"`
}

// members lists one side of a measure for one entity, every page, from reporting's
// drill-down (GET /reporting/v1/reports/members).
func (a *Attest) members(ctx context.Context, s Spec, entity string, p Period, which string) ([]string, error) {
	v := a.query(s, entity, p)
	v.Set("measure", reportingID(s))
	v.Set("in", which)
	v.Set("page_size", "1000")
	out := []string{}
	for {
		var page page
		if err := a.get(ctx, "/reporting/v1/reports/members", v, &page); err != nil {
			return nil, err
		}
		for _, m := range page.Members {
			id := m.PatientID
			if m.Object != "" {
				id += "/" + m.Object
			}
			out = append(out, id)
		}
		if page.NextToken == "" {
			return out, nil
		}
		v.Set("page_token", page.NextToken)
	}
}

// total is how many members one side of a measure has, from the drill-down's first page.
func (a *Attest) total(ctx context.Context, s Spec, entity string, p Period, which string) (int, error) {
	v := a.query(s, entity, p)
	v.Set("measure", reportingID(s))
	v.Set("in", which)
	v.Set("page_size", "1")
	var pg page
	err := a.get(ctx, "/reporting/v1/reports/members", v, &pg)
	return pg.Total, err
}

// reportKey is one report: a program's measures for one entity in one variant.
type reportKey struct {
	program measure.Program
	variant measure.Variant
	entity  string
}

// Report reads every spec for every entity from reporting, as an officer would: each
// entity's report once per program and variant for the numbers, and each measure's
// drill-down for both member lists, checking that the counts and the lists agree.
func (a *Attest) Report(ctx context.Context, specs []Spec, ents Entities, p Period, lists bool, tick func()) (Results, error) {
	out := Results{}
	reports := map[reportKey]map[string]reportRow{}
	for _, s := range specs {
		for _, id := range ents[s.Kind] {
			entity := s.Kind + ":" + id
			k := reportKey{s.Program, s.Variant, entity}
			rows, ok := reports[k]
			if !ok {
				var err error
				if rows, err = a.report(ctx, s, entity, p); err != nil {
					return nil, fmt.Errorf("(C) %s %s: %w", s.Name(), entity, err)
				}
				reports[k] = rows
			}
			row, ok := rows[reportingID(s)]
			if !ok {
				return nil, fmt.Errorf("(C) %s %s: reporting's report has no such measure", s.Name(), entity)
			}
			num, den := row.Numerator, row.Denominator
			if row.Exclusion != "" {
				// The report claims the exclusion (too few to count) in place of the
				// numbers, as an attestation does; the drill-down still counts them.
				var err error
				if den, err = a.total(ctx, s, entity, p, "denominator"); err == nil {
					num, err = a.total(ctx, s, entity, p, "numerator")
				}
				if err != nil {
					return nil, fmt.Errorf("(C) %s %s: %w", s.Name(), entity, err)
				}
			}
			var dl, nl []string
			if lists {
				var err error
				if dl, err = a.members(ctx, s, entity, p, "denominator"); err != nil {
					return nil, fmt.Errorf("(C) %s %s: %w", s.Name(), entity, err)
				}
				if nl, err = a.members(ctx, s, entity, p, "numerator"); err != nil {
					return nil, fmt.Errorf("(C) %s %s: %w", s.Name(), entity, err)
				}
				if len(dl) != den || len(nl) != num {
					return nil, fmt.Errorf("(C) %s %s: report %d/%d (exclusion %q) but member lists %d/%d", s.Name(), entity,
						num, den, row.Exclusion, len(nl), len(dl))
				}
			} else {
				dl, nl = make([]string, den), make([]string, num) // counts only
			}
			out.put(Key{s, entity}, dl, nl)
			if tick != nil {
				tick()
			}
		}
	}
	return out, nil
}

// Freshness posts n new patients, each with one office visit of clinician entity
// (TIN/NPI) in the year, and measures for each how long after records accepted the
// visit the PI_PEA_1 denominator of the entity's report in reporting changed.
func (a *Attest) Freshness(ctx context.Context, tinNPI string, n int) ([]time.Duration, error) {
	tin, npi, _ := cut(tinNPI)
	spec := Spec{measure.MIPS, "PI_PEA_1", "", measure.TINNPI}
	entity := measure.TINNPI + ":" + tinNPI
	year := Year(a.Year)
	var out []time.Duration
	for i := range n {
		_, den, err := a.Numbers(ctx, spec, entity, year)
		if err != nil {
			return nil, err
		}
		id := fmt.Sprintf("fresh-%06d", i+1)
		if err := a.post(ctx, "patients", map[string]any{"id": id, "organization_id": "hs",
			"mrn":  map[string]string{"system": generate.MRNSystem, "value": id},
			"name": map[string]any{"given": []string{"Fresh"}, "family": "Probe"}, "birth_date": "1980-01-01", "sex": "female"}); err != nil {
			return nil, err
		}
		start := time.Date(a.Year, time.June, 1+i%28, 10, 0, 0, 0, time.UTC)
		if err := a.post(ctx, "encounters", map[string]any{"id": id + "-e1", "patient_id": id, "class": "office",
			"start": start, "end": start.Add(20 * time.Minute), "rendering_npi": npi, "billing_tin": tin}); err != nil {
			return nil, err
		}
		accepted := time.Now()
		for {
			_, d, err := a.Numbers(ctx, spec, entity, year)
			if err != nil {
				return nil, err
			}
			if d != den {
				out = append(out, time.Since(accepted))
				break
			}
			if time.Since(accepted) > time.Minute {
				return nil, fmt.Errorf("(C) freshness: %s's denominator did not change within a minute", entity)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (a *Attest) post(ctx context.Context, kind string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.Base+"/records/v1/"+kind, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+gateway.DemoServiceToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: status %d: %s", kind, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// Replay rebuilds metrics' derived state from the topics, with the platform stopped:
// what `attest replay metrics` does.
func (a *Attest) Replay(ctx context.Context) (metrics.ReplayStats, error) {
	env, err := app.EnvFrom(a.getenv)
	if err != nil {
		return metrics.ReplayStats{}, err
	}
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(env.DataDir, "broker"),
		Partitions: env.Partitions, Topics: platform.Topics()})
	if err != nil {
		return metrics.ReplayStats{}, err
	}
	defer b.Close()
	env.Brokers = b.Addrs()
	in, err := app.OpenInfra(ctx, "attest", a.getenv, env)
	if err != nil {
		return metrics.ReplayStats{}, err
	}
	defer in.Close(context.WithoutCancel(ctx))
	d, err := in.Deps(ctx, metrics.Name)
	if err != nil {
		return metrics.ReplayStats{}, err
	}
	cfg, err := metrics.ConfigFromEnv(a.getenv)
	if err != nil {
		return metrics.ReplayStats{}, err
	}
	return metrics.Replay(ctx, cfg, d)
}
