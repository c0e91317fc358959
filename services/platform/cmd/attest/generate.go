package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/progress"
	"github.com/attest-ehr/attest/services/platform/internal/generate"
)

// runGenerate writes a synthetic health system as records' JSON API requests (NDJSON,
// one file per kind) and, with --post, sends them to records.
func runGenerate(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(out)
	seed := fs.Uint64("seed", 1, "the same seed gives byte-identical output")
	patients := fs.Int("patients", 20000, "how many patients")
	year := fs.Int("year", 2025, "the calendar year of activity")
	until := fs.String("until", "", "instead of --year: the 365 days before this date or RFC 3339 time (nothing dated after it), e.g. today's date")
	dir := fs.String("out", "generated", "the directory the NDJSON files are written to")
	rates := fs.String("rates", "", "rates to change, e.g. office=4,telehealth=0.2 (names: "+strings.Join(rateNames(), ", ")+")")
	post := fs.String("post", "", "records' base URL to post the files to, e.g. http://localhost:8080/records (messages and education go to messaging and education beside it)")
	token := fs.String("token", "", "bearer token for --post (default $ATTEST_TOKEN)")
	workers := fs.Int("workers", 8, "requests in flight with --post")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("generate: unexpected argument %q", fs.Arg(0))
	}
	if *patients < 1 { // before any file is created
		return fmt.Errorf("generate: --patients must be at least 1, got %d", *patients)
	}
	cfg := generate.Config{Seed: *seed, Patients: *patients, Year: *year, Rates: generate.DefaultRates()}
	if *until != "" {
		t, err := time.Parse(time.RFC3339, *until)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, *until); err != nil {
				return fmt.Errorf("generate: --until: want a date (2006-01-02) or an RFC 3339 time, got %q", *until)
			}
		}
		cfg.Until = t
	}
	if err := parseRates(*rates, &cfg.Rates); err != nil {
		return err
	}
	d, err := generate.CreateDir(*dir)
	if err != nil {
		return err
	}
	meter := progress.Start(out, progress.Config{Label: "generating", Unit: "requests"})
	n, err := generate.Generate(ctx, cfg, d, meter)
	meter.Done()
	if err = errors.Join(err, d.Close()); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d requests for %d patients to %s\n", n, *patients, *dir)
	if *post == "" {
		return nil
	}
	if *token == "" {
		*token = getenv("ATTEST_TOKEN")
	}
	posted, err := generate.Post(ctx, generate.PostConfig{Dir: *dir, URL: *post, Token: *token, Workers: *workers,
		Progress: out})
	if err != nil {
		return fmt.Errorf("generate: posted %d, then: %w", posted, err)
	}
	fmt.Fprintf(out, "posted %d requests to %s\n", posted, *post)
	// Then the secure messages and education given, to messaging and education beside
	// records (the platform's base URL), once they have learnt the patients.
	base := strings.TrimSuffix(strings.TrimSuffix(*post, "/"), "/records")
	sent, err := generate.PostServices(ctx, generate.PostConfig{Dir: *dir, URL: base, Token: *token, Workers: *workers,
		Progress: out, RetryUnknownPatient: true})
	if err != nil {
		return fmt.Errorf("generate: posted %d messages and education, then: %w", sent, err)
	}
	fmt.Fprintf(out, "posted %d messages and education to %s\n", sent, base)
	return nil
}

// rateFields names the rates --rates can set.
func rateFields(r *generate.Rates) map[string]*float64 {
	return map[string]*float64{
		"office": &r.OfficeVisits, "telehealth": &r.Telehealth, "admissions": &r.Admissions, "ed": &r.EDVisits,
		"prescriptions": &r.Prescriptions, "controlled": &r.Controlled, "labs": &r.LabOrders,
		"referrals-out": &r.ReferralsOut, "referrals-in": &r.ReferralsIn, "portal-use": &r.PortalUse,
		"messages": &r.Messages, "education": &r.Education, "tablet": &r.Tablet, "registries": &r.Registries,
	}
}

func rateNames() []string {
	return slices.Sorted(maps.Keys(rateFields(&generate.Rates{})))
}

// parseRates sets the rates named in s ("name=value,...").
func parseRates(s string, r *generate.Rates) error {
	if s == "" {
		return nil
	}
	fields := rateFields(r)
	for _, kv := range strings.Split(s, ",") {
		name, value, _ := strings.Cut(kv, "=")
		f, ok := fields[name]
		if !ok {
			return fmt.Errorf("generate: --rates: unknown rate %q (want one of %s)", name, strings.Join(rateNames(), ", "))
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || v < 0 || v > 50 {
			return fmt.Errorf("generate: --rates: %s wants a number from 0 to 50", name)
		}
		*f = v
	}
	return nil
}
