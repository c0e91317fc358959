package attest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/reporting/internal/attest"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
	"github.com/attest-ehr/attest/services/reporting/internal/report/reporttest"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

var frozenAt = time.Date(2025, 7, 3, 8, 0, 0, 0, time.UTC)

func seedOf(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func storeWith(t *testing.T, db *store.DB, seed byte, former ...ed25519.PublicKey) *attest.Store {
	t.Helper()
	keys, err := attest.NewKeys(seedOf(seed), t.TempDir(), former, nil)
	if err != nil {
		t.Fatal(err)
	}
	return attest.NewStore(db, keys, func() time.Time { return frozenAt })
}

func newStore(t *testing.T, db *store.DB) *attest.Store {
	t.Helper()
	if err := db.Migrate(context.Background(), attest.Migrations()); err != nil {
		t.Fatal(err)
	}
	return storeWith(t, db, 7)
}

func count(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM attestations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFreezeGetListAndImmutability(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newStore(t, db)
		r := smallReport(t)
		a, err := s.Freeze(ctx, r, "officer:u-17")
		if err != nil {
			t.Fatal(err)
		}
		if a.Entity != "tin_npi:000456789/1234567893" || a.LogicVersion != r.LogicVersion || !a.FrozenAt.Equal(frozenAt) || a.KeyID != attest.KeyID(testKey(7).Public().(ed25519.PublicKey)) {
			t.Errorf("summary %+v", a.Summary)
		}
		got, err := s.Get(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.File, a.File) || got.Summary != a.Summary {
			t.Fatalf("stored attestation differs from the frozen one")
		}
		p, err := s.Open(got)
		if err != nil {
			t.Fatal(err)
		}
		if d := report.Compare(r, p.Report); !d.Same || len(d.Context) != 0 {
			t.Errorf("the frozen report differs from the one frozen: %+v", d)
		}
		if ep, _ := p.Report.Measure("PI_EP_1"); len(ep.Members) != 116 {
			t.Errorf("patient list not kept: %d members", len(ep.Members))
		}
		if _, err := s.Get(ctx, "no-such-id"); !errs.Is(errs.NotFound, err) {
			t.Errorf("unknown id: %v", err)
		}

		second, err := s.Freeze(ctx, r, "officer:u-18")
		if err != nil {
			t.Fatal(err)
		}
		list, err := s.List(ctx, attest.Query{Limit: 10})
		if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != second.ID {
			t.Fatalf("list %+v, %v", list, err)
		}
		if list, _ := s.List(ctx, attest.Query{Limit: 10, After: a.ID}); len(list) != 1 || list[0].ID != second.ID {
			t.Errorf("page after the first: %+v", list)
		}
		if list, _ := s.List(ctx, attest.Query{Limit: 10, Entity: "npi:1234567893"}); len(list) != 0 {
			t.Errorf("another entity's list: %+v", list)
		}

		// Immutable: the database refuses to change or remove an attestation.
		for _, stmt := range []string{
			`UPDATE attestations SET frozen_by = 'officer:u-99' WHERE id = ?`,
			`UPDATE attestations SET envelope = envelope WHERE id = ?`,
			`DELETE FROM attestations WHERE id = ?`,
		} {
			if _, err := db.ExecContext(ctx, stmt, a.ID); err == nil || !strings.Contains(err.Error(), "immutable") {
				t.Errorf("%s: %v, want refused as immutable", stmt, err)
			}
		}
		if db.Dialect() == store.Postgres {
			if _, err := db.ExecContext(ctx, `TRUNCATE attestations`); err == nil {
				t.Error("TRUNCATE succeeded")
			}
		}
		if n := count(t, db); n != 2 {
			t.Errorf("%d attestations after the refused changes, want 2", n)
		}
	})
}

func TestFreezeRefusesAReportThatDoesNotCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStore(t, db)
		r := smallReport(t)
		r.Measures[4].Status = rulebook.NotMet
		if _, err := s.Freeze(context.Background(), r, "officer:u-17"); !errs.Is(errs.Unprocessable, err) {
			t.Fatalf("err %v, want unprocessable", err)
		}
		if _, err := s.Freeze(context.Background(), smallReport(t), ""); !errs.Is(errs.Invalid, err) {
			t.Fatalf("no freezer: %v", err)
		}
		if n := count(t, db); n != 0 {
			t.Errorf("%d attestations stored, want none", n)
		}
	})
}

func TestOpenDetectsAChangeBehindTheApplication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newStore(t, db)
		a, err := s.Freeze(ctx, smallReport(t), "officer:u-17")
		if err != nil {
			t.Fatal(err)
		}
		a.File = bytes.Replace(a.File, []byte(`"numerator":49`), []byte(`"numerator":59`), 1)
		if _, err := s.Open(a); err == nil || !strings.Contains(err.Error(), "payload hash") {
			t.Fatalf("a changed file opens: %v", err)
		}
	})
}

func TestOpenTrustsOnlyTheServiceKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, err := newStore(t, db).Freeze(ctx, smallReport(t), "officer:u-17")
		if err != nil {
			t.Fatal(err)
		}
		rotated := storeWith(t, db, 8) // the key was rotated and the old one forgotten
		if _, err := rotated.Open(a); err == nil || !strings.Contains(err.Error(), "does not trust") {
			t.Errorf("an attestation of an untrusted key opens: %v", err)
		}
		remembered := storeWith(t, db, 8, testKey(7).Public().(ed25519.PublicKey))
		if _, err := remembered.Open(a); err != nil {
			t.Errorf("an attestation of a former key: %v", err)
		}
		other, err := remembered.Freeze(ctx, smallReport(t), "officer:u-18")
		if err != nil {
			t.Fatal(err)
		}
		swapped := other
		swapped.ID, swapped.KeyID = a.ID, a.KeyID // another attestation's file under this row
		if _, err := remembered.Open(swapped); err == nil || !strings.Contains(err.Error(), "does not match its row") {
			t.Errorf("a file under another row opens: %v", err)
		}
	})
}

func TestDevKeyIsMadeOnlyWhenNeeded(t *testing.T) {
	dir := t.TempDir()
	var made []string
	keys, err := attest.NewKeys("", dir, nil, func(k attest.Key) { made = append(made, k.ID()) })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := keys.Loaded(); ok {
		t.Fatal("a dev key is loaded before any was made")
	}
	if _, err := os.Stat(filepath.Join(dir, attest.DevKeyFile)); err == nil {
		t.Fatal("the dev key file exists before it was needed")
	}
	k, err := keys.Current()
	if err != nil || !k.Dev || len(made) != 1 || made[0] != k.ID() {
		t.Fatalf("current %+v, %v; made %v", k, err, made)
	}
	again, err := attest.NewKeys("", dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k2, ok := again.Loaded(); !ok || k2.ID() != k.ID() {
		t.Errorf("the dev key is not read back at start: %+v", k2)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := attest.LoadKey("", dir)
	if err != nil || !k1.Dev || k1.Path != filepath.Join(dir, attest.DevKeyFile) {
		t.Fatalf("dev key %+v, %v", k1, err)
	}
	info, err := os.Stat(k1.Path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("dev key file %v, %v; want mode 0600", info, err)
	}
	k2, err := attest.LoadKey("", dir)
	if err != nil || k2.ID() != k1.ID() {
		t.Fatalf("the dev key was not reused: %s vs %s, %v", k2.ID(), k1.ID(), err)
	}
	seed := "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=" // 32 bytes of 0x01
	k3, err := attest.LoadKey(seed, dir)
	if err != nil || k3.Dev || k3.ID() != attest.KeyID(testKey(1).Public().(ed25519.PublicKey)) {
		t.Fatalf("configured key %+v, %v", k3, err)
	}
	for _, bad := range []string{"not base64!", "AQID"} {
		_, err := attest.LoadKey(bad, dir)
		if errs.FieldOf(err) != "REPORTING_SIGNING_KEY" || strings.Contains(err.Error(), bad) {
			t.Errorf("seed %q: %v, want an error naming the variable, not the value", bad, err)
		}
	}
}

func api(t *testing.T, db *store.DB) (*attest.Store, http.Handler) {
	t.Helper()
	s := newStore(t, db)
	mux := http.NewServeMux()
	attest.Routes(mux, s, slog.New(slog.DiscardHandler))
	return s, mux
}

func do(h http.Handler, method, target string, body []byte, who string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if who != "" {
		req.Header.Set(principal.Header, who)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, h := api(t, db)
		a, err := s.Freeze(context.Background(), smallReport(t), "officer:u-17")
		if err != nil {
			t.Fatal(err)
		}
		sum := a.Summary

		rec := do(h, http.MethodGet, "/v1/attestations?entity=tin_npi:000456789/1234567893", nil, "")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), sum.ID) {
			t.Errorf("list: %d %s", rec.Code, rec.Body)
		}
		rec = do(h, http.MethodGet, "/v1/attestations/"+sum.ID, nil, "")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"numerator":49`) || strings.Contains(rec.Body.String(), "patient_id") {
			t.Errorf("get: %d %.200s; want the numbers without the patient lists", rec.Code, rec.Body)
		}

		// Every export format, and the attestation file itself, which verifies offline.
		wantType := map[string]string{
			"json": "application/json", "csv": "text/csv", "pdf": "application/pdf", "qpp": "application/json",
			"measurereport": "application/fhir+json", "measurereport-summary": "application/fhir+json", "qrda3": "application/xml",
		}
		for format, ct := range wantType {
			rec := do(h, http.MethodGet, "/v1/attestations/"+sum.ID+"/export?format="+format, nil, "")
			if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), ct) || rec.Body.Len() == 0 ||
				!strings.Contains(rec.Header().Get("Content-Disposition"), sum.ID) {
				t.Errorf("export %s: %d %q %q", format, rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Content-Disposition"))
			}
			if format == "json" {
				file := rec.Body.Bytes()
				if v := attest.Verify(file, testKey(7).Public().(ed25519.PublicKey)); !v.OK() {
					t.Errorf("the exported attestation does not verify: %v", v.Err())
				}
				// Freeze → export → verify → tamper one byte → verify fails.
				tampered := bytes.Replace(file, []byte(`"patient_id":"pt-0000042"`), []byte(`"patient_id":"pt-0000043"`), 1)
				if bytes.Equal(tampered, file) {
					t.Fatal("the patient list is not in the exported attestation")
				}
				if v := attest.Verify(tampered, testKey(7).Public().(ed25519.PublicKey)); v.OK() || !failed(v, "payload hash") {
					t.Errorf("a tampered export verifies: %+v", v.Checks)
				}
			}
		}
	})
}

func TestAPIRefusesBadRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, h := api(t, db)
		r := smallReport(t)
		r.Measures[4].Points = 10
		if _, err := s.Freeze(context.Background(), r, "officer:u-17"); errs.FieldOf(err) != "measures[4].points" {
			t.Errorf("a report whose verdict is not the rule book's: %v", err)
		}
		tests := []struct {
			name, method, target string
			body                 []byte
			who                  string
			status               int
			field                string
		}{
			{"unknown id", "GET", "/v1/attestations/nope", nil, "", 404, "id"},
			{"unknown id export", "GET", "/v1/attestations/nope/export?format=csv", nil, "", 404, "id"},
			{"bad limit", "GET", "/v1/attestations?limit=0", nil, "", 400, "limit"},
			{"bad entity filter", "GET", "/v1/attestations?entity=npi:1", nil, "", 400, "entity"},
		}
		for _, tt := range tests {
			rec := do(h, tt.method, tt.target, tt.body, tt.who)
			if rec.Code != tt.status || (tt.field != "" && !strings.Contains(rec.Body.String(), `"field":"`+tt.field+`"`)) {
				t.Errorf("%s: %d %s, want %d naming %q", tt.name, rec.Code, rec.Body, tt.status, tt.field)
			}
		}
		if n := count(t, db); n != 0 {
			t.Errorf("%d attestations stored by refused requests", n)
		}

		// Export errors: a format the report cannot take, an unknown one.
		a, err := s.Freeze(context.Background(), smallReport(t), "officer:u-17")
		if err != nil {
			t.Fatal(err)
		}
		sum := a.Summary
		for format, status := range map[string]int{"docx": 400, "": 400} {
			rec := do(h, http.MethodGet, "/v1/attestations/"+sum.ID+"/export?format="+format, nil, "")
			if rec.Code != status || !strings.Contains(rec.Body.String(), `"field":"format"`) {
				t.Errorf("format %q: %d %s", format, rec.Code, rec.Body)
			}
		}
		in := reporttest.Input(false)
		in.Program, in.Year, in.Period, in.Measures = rulebook.Stage3, 2019, report.Period{From: "2019-01-01", To: "2019-03-31"}, nil
		in.Entity = contract.Entity{Kind: contract.EntityNPI, ID: "1234567893"}
		mu, err := report.Build(in)
		if err != nil {
			t.Fatal(err)
		}
		if a, err = s.Freeze(context.Background(), mu, "officer:u-17"); err != nil {
			t.Fatalf("freeze an MU report: %v", err)
		}
		sum = a.Summary
		for _, format := range []string{"qpp", "qrda3"} {
			rec := do(h, http.MethodGet, "/v1/attestations/"+sum.ID+"/export?format="+format, nil, "")
			if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"field":"program"`) {
				t.Errorf("%s of an MU report: %d %s", format, rec.Code, rec.Body)
			}
		}
	})
}
