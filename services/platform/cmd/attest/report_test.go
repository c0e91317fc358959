package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportCommand checks that `attest report` asks the reporting API through the
// gateway for the right route, parameters and token, writes the answer where told, and
// fails naming the problem on a refused request or bad flags.
func TestReportCommand(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		if r.URL.Query().Get("year") == "1999" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"field":"year"}}`))
			return
		}
		_, _ = w.Write([]byte("body of " + r.URL.Path))
	}))
	defer srv.Close()
	env := func(k string) string { return map[string]string{"ATTEST_TOKEN": "atk_t"}[k] }
	base := []string{"--program", "mips-pi", "--year", "2025", "--entity", "npi:1234567893", "--from", "2025-01-01",
		"--to", "2025-06-29", "--url", srv.URL}

	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"report"}, base...), env, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "body of /reporting/v1/reports" || got.Header.Get("Authorization") != "Bearer atk_t" ||
		got.URL.Query().Get("entity") != "npi:1234567893" || got.URL.Query().Get("to") != "2025-06-29" {
		t.Errorf("json: %q from %s %v", out.String(), got.URL, got.Header)
	}

	file := filepath.Join(t.TempDir(), "r.csv")
	out.Reset()
	if err := run(context.Background(), append([]string{"report"}, append(base, "--format", "csv", "--out", file)...), env, &out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil || string(b) != "body of /reporting/v1/reports/export" || got.URL.Query().Get("format") != "csv" || out.Len() != 0 {
		t.Errorf("csv: %q %v from %s; stdout %q", b, err, got.URL, out.String())
	}

	bad := []struct {
		args []string
		want string
	}{
		{[]string{"--program", "mips-pi", "--year", "1999", "--entity", "npi:1234567893", "--url", srv.URL}, `"field":"year"`},
		{append(base, "--format", "docx"), "--format"},
		{[]string{"--year", "2025"}, "usage"},
	}
	for _, tt := range bad {
		err := run(context.Background(), append([]string{"report"}, tt.args...), env, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want an error with %q", tt.args, err, tt.want)
		}
	}
}
