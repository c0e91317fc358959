package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/services/gateway"
	"github.com/attest-ehr/attest/services/platform/internal/demo"
)

// demoLoad is `attest run`'s demo health system: on the first start with an empty data
// directory, in demo mode (GATEWAY_DEMO=true, which provides the service token), and
// unless ATTEST_DEMO=off, it loads ATTEST_DEMO_PATIENTS patients (default 20,000) with
// a year of care through records' import API once the platform serves.
type demoLoad struct {
	cfg *demo.Config // nil: no demo load
	wg  sync.WaitGroup
}

// newDemoLoad decides before the platform starts (and fills the data directory)
// whether this start loads the demo.
func newDemoLoad(getenv func(string) string) (*demoLoad, error) {
	d := &demoLoad{}
	if getenv("ATTEST_DEMO") == "off" || getenv("GATEWAY_DEMO") != "true" {
		return d, nil
	}
	env, err := app.EnvFrom(getenv)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(env.DataDir, "demo")
	if !emptyDir(env.DataDir) && !interrupted(dir) {
		return d, nil
	}
	patients := 20000
	if v := getenv("ATTEST_DEMO_PATIENTS"); v != "" {
		if patients, err = strconv.Atoi(v); err != nil || patients < 1 {
			return nil, fmt.Errorf("ATTEST_DEMO_PATIENTS: want a positive number of patients, got %q", v)
		}
	}
	// The year up to today, so the console's defaults (this year, the last twelve weeks,
	// last week's visits in the worklists, the forecast) all show data. The moment is
	// kept beside the data so that a load resumed on a later day generates the same lines.
	until, err := demoUntil(filepath.Join(env.DataDir, "demo-until"), time.Now())
	if err != nil {
		return nil, err
	}
	d.cfg = &demo.Config{Token: gateway.DemoServiceToken, Seed: 1, Patients: patients,
		Until: until, Year: until.Year(), Dir: dir}
	return d, nil
}

// demoUntil is the moment the demo's year ends: the one recorded in path by an earlier
// start, else now (recorded).
func demoUntil(path string, now time.Time) (time.Time, error) {
	if b, err := os.ReadFile(path); err == nil {
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
		if err != nil {
			return time.Time{}, fmt.Errorf("demo: %s: %w", path, err)
		}
		return t, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, fmt.Errorf("demo: %w", err)
	}
	now = now.UTC().Truncate(time.Minute)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return time.Time{}, fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(path, []byte(now.Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return time.Time{}, fmt.Errorf("demo: %w", err)
	}
	return now, nil
}

// start loads the demo in the background; its progress and outcome go to out.
func (d *demoLoad) start(ctx context.Context, addr string, out io.Writer) {
	if d.cfg == nil {
		return
	}
	cfg := *d.cfg
	cfg.URL, cfg.Progress = "http://"+addr, out
	fmt.Fprintf(out, "  loading the demo health system (%d patients, the year to %s) through the import API; ATTEST_DEMO=off skips it\n",
		cfg.Patients, cfg.Until.Format(time.DateOnly))
	d.wg.Go(func() {
		s, err := demo.Load(ctx, cfg)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			fmt.Fprintf(out, "demo load failed: %v\n", err)
		default:
			fmt.Fprintf(out, "demo health system loaded: %d resources in %s; the console shows them as the pipeline applies them\n",
				s.Imported+s.Unchanged, s.Elapsed.Round(time.Second))
		}
	})
}

// wait waits for a load in progress to stop (the context ended).
func (d *demoLoad) wait() { d.wg.Wait() }

// emptyDir reports whether dir is absent or holds nothing.
func emptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err != nil && os.IsNotExist(err) || err == nil && len(entries) == 0
}

// interrupted reports whether a demo load began in dir and did not finish: it resumes
// (the import is idempotent, so lines already stored are left unchanged).
func interrupted(dir string) bool {
	_, err := os.Stat(dir)
	return err == nil && !demo.Loaded(dir)
}
