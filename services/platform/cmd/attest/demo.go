package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
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
	// The last full calendar year: every measure's period is over, so the numbers are final.
	d.cfg = &demo.Config{Token: gateway.DemoServiceToken, Seed: 1, Patients: patients,
		Year: time.Now().Year() - 1, Dir: dir}
	return d, nil
}

// start loads the demo in the background; its progress and outcome go to out.
func (d *demoLoad) start(ctx context.Context, addr string, out io.Writer) {
	if d.cfg == nil {
		return
	}
	cfg := *d.cfg
	cfg.URL, cfg.Progress = "http://"+addr, out
	fmt.Fprintf(out, "  loading the demo health system (%d patients, %d) through the import API; ATTEST_DEMO=off skips it\n",
		cfg.Patients, cfg.Year)
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
