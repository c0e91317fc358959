package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// reportFormats are the formats `attest report` asks the reporting API for.
var reportFormats = []string{"json", "csv", "pdf", "qpp", "measurereport", "measurereport-summary", "qrda3"}

// runReport fetches a report from the platform's API (docs/reports.md): json from
// GET /reporting/v1/reports, any other format from GET /reporting/v1/reports/export,
// through the gateway with a bearer token, written to --out or standard output.
func runReport(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(out)
	program := fs.String("program", "", "program: mips-pi, medicare-pi-hospital, mu-modified-stage-2, mu-stage-3")
	year := fs.Int("year", 0, "performance year")
	entity := fs.String("entity", "", "reporting entity, kind:id (npi:…, tin_npi:TIN/NPI, tin:…, ccn:…)")
	from := fs.String("from", "", "first day of the period, YYYY-MM-DD (default: the whole year)")
	to := fs.String("to", "", "last day of the period, YYYY-MM-DD")
	cehrt := fs.String("cehrt-id", getenv("ATTEST_CEHRT_ID"), "CMS EHR Certification ID, needed by qpp and qrda3 (default $ATTEST_CEHRT_ID)")
	asOf := fs.String("as-of", "", "judge deadlines at this RFC 3339 instant, or final (default: now)")
	format := fs.String("format", "json", "json, csv, pdf, qpp, measurereport, measurereport-summary or qrda3")
	outFile := fs.String("out", "", "write to FILE (default: standard output)")
	base := fs.String("url", envOr(getenv, "ATTEST_URL", "http://localhost:8080"), "the platform's address (default $ATTEST_URL or http://localhost:8080)")
	token := fs.String("token", getenv("ATTEST_TOKEN"), "API token, sent as a bearer token (default $ATTEST_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case *program == "" || *year == 0 || *entity == "":
		return errors.New("usage: attest report --program P --year Y --entity kind:id [--from D --to D] [--format F] [--out FILE] [--url URL] [--token T]")
	case !contains(reportFormats, *format):
		return fmt.Errorf("--format: one of %s", strings.Join(reportFormats, ", "))
	}
	q := url.Values{"program": {*program}, "year": {fmt.Sprint(*year)}, "entity": {*entity}}
	for k, v := range map[string]string{"from": *from, "to": *to, "as_of": *asOf, "cehrt_id": *cehrt} {
		if v != "" {
			q.Set(k, v)
		}
	}
	path := "/reporting/v1/reports"
	if *format != "json" {
		path += "/export"
		q.Set("format", *format)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(*base, "/")+path+"?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("report: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	w := out
	if *outFile != "" {
		f, err := os.Create(*outFile)
		if err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		defer f.Close()
		w = f
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if f, ok := w.(*os.File); ok && f != os.Stdout {
		return f.Close()
	}
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
