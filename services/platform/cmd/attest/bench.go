package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/attest-ehr/attest/services/platform/internal/bench"
)

// runBench computes the same measures three ways on the same generated data (A.
// OpenEMR-style, B. set-based SQL, C. Attest), checks that they agree exactly and
// writes the measurements (docs/benchmarks/three-way.md). Disagreement is an error.
func runBench(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	seed := fs.Uint64("seed", 1, "generator seed")
	patients := fs.Int("patients", 10000, "patients, when --tiers is not given")
	tiers := fs.String("tiers", "", "comma-separated patient counts, e.g. 10000,100000")
	year := fs.Int("year", 2021, "performance year")
	dest := fs.String("out", "docs/benchmarks/three-way.md", "the results page to write ('' for none)")
	admin := fs.String("pg", "", "PostgreSQL URL to create the bench database from (default $ATTEST_BENCH_PG or postgres@127.0.0.1:5432)")
	db := fs.String("database", "attest_bench", "the dedicated database, dropped and created")
	work := fs.String("work", "", "working directory for generated files and the platform's data (default a temporary one)")
	windows := fs.Int("windows", 4, "90-day and 180-day windows sampled for the any-window workload (0: every window)")
	fresh := fs.Int("freshness", 20, "freshness probes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	counts := []int{*patients}
	if *tiers != "" {
		counts = nil
		for _, s := range strings.Split(*tiers, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 1 {
				return fmt.Errorf("bench: --tiers: %q is not a patient count", s)
			}
			counts = append(counts, n)
		}
	}
	if *admin == "" {
		*admin = getenv("ATTEST_BENCH_PG")
	}
	if *admin == "" {
		*admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	base := *work
	if base == "" {
		tmp, err := os.MkdirTemp("", "attest-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		base = tmp
	}
	var results []*bench.Tier
	var failed error
	for _, n := range counts {
		fmt.Fprintf(out, "bench: %d patients\n", n)
		t, err := bench.Run(ctx, bench.Config{Seed: *seed, Patients: n, Year: *year, AdminURL: *admin, Database: *db,
			WorkDir: filepath.Join(base, strconv.Itoa(n)), Windows: *windows, Freshness: *fresh, Progress: out})
		if err != nil {
			return fmt.Errorf("bench at %d patients: %w", n, err)
		}
		results = append(results, t)
		if len(t.Differ) > 0 {
			fmt.Fprintf(out, "bench: A, B and C DISAGREE at %d patients; first differences:\n  %s\n", n, strings.Join(t.Differ, "\n  "))
			failed = errors.Join(failed, fmt.Errorf("bench: the three ways disagree at %d patients", n))
		} else {
			fmt.Fprintf(out, "bench: A, B and C agree at %d patients: %s\n", n, strings.Join(t.Agree, "; "))
		}
	}
	command := "attest bench " + strings.Join(args, " ")
	if err := bench.Write(out, command, results); err != nil {
		return err
	}
	if *dest != "" {
		f, err := os.Create(*dest)
		if err != nil {
			return err
		}
		err = bench.Write(f, command, results)
		if err = errors.Join(err, f.Close()); err != nil {
			return err
		}
		fmt.Fprintf(out, "bench: wrote %s\n", *dest)
	}
	return failed
}
