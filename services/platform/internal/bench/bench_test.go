package bench_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/attest-ehr/attest/services/platform/internal/bench"
)

// TestThreeWaysAgree runs the whole bench at a tiny tier and requires A, B and C to
// agree on every count and member list, whole year and sampled windows: the check
// `make bench` relies on cannot rot unnoticed.
func TestThreeWaysAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the platform and PostgreSQL")
	}
	admin := os.Getenv("ATTEST_BENCH_ADMIN_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	// A database of its own (a concurrent run, e.g. under -race, must not drop it), dropped afterwards.
	db := fmt.Sprintf("attest_bench_test_%d", os.Getpid())
	t.Cleanup(func() {
		ctx := context.Background()
		if conn, err := pgx.Connect(ctx, admin); err == nil {
			_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
			_ = conn.Close(ctx)
		}
	})
	tier, err := bench.Run(context.Background(), bench.Config{Seed: 7, Patients: 300, Year: 2021, AdminURL: admin,
		Database: db, WorkDir: t.TempDir(), Windows: 2, Freshness: 3})
	if err != nil {
		t.Fatal(err)
	}
	logTier(t, tier)
	if len(tier.Differ) > 0 {
		t.Fatalf("the three ways disagree:\n%s", strings.Join(tier.Differ, "\n"))
	}
	if len(tier.Agree) != 5 { // the whole year and 2 + 2 windows
		t.Fatalf("compared %v", tier.Agree)
	}
	// A comparison of empty results would agree trivially: require real numbers where
	// the generated data has them (every measure but transitions into hospitals).
	den, num := map[string]int{}, map[string]int{}
	for k, v := range tier.Year {
		den[k.Spec.Name()] += len(v.Den)
		num[k.Spec.Name()] += len(v.Num)
	}
	for _, s := range bench.Specs() {
		n := s.Name()
		if den[n] == 0 && s.ID != "EHPI_HIE_4" {
			t.Errorf("%s: every denominator is empty", n)
		}
		if num[n] == 0 && s.ID != "EHPI_HIE_4" {
			t.Errorf("%s: every numerator is empty", n)
		}
		if num[n] == den[n] && den[n] > 0 {
			t.Errorf("%s: every member is in the numerator (%d)", n, den[n])
		}
	}
	if tier.Keys == 0 || tier.Lines == 0 || len(tier.Fresh) != 3 {
		t.Fatalf("nothing measured: %+v", tier)
	}
}

func TestDiffFindsDifferences(t *testing.T) {
	s := bench.Specs()[0]
	k := bench.Key{Spec: s, Entity: "tin_npi:1/2"}
	a := bench.Results{k: {Den: []string{"p1", "p2"}, Num: []string{"p1"}}}
	tests := []struct {
		name string
		b    bench.Results
		want string
	}{
		{"same", bench.Results{k: {Den: []string{"p1", "p2"}, Num: []string{"p1"}}}, ""},
		{"member swapped", bench.Results{k: {Den: []string{"p1", "p3"}, Num: []string{"p1"}}}, "denominator"},
		{"numerator differs", bench.Results{k: {Den: []string{"p1", "p2"}, Num: []string{"p2"}}}, "numerator"},
		{"missing", bench.Results{}, "missing from B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := bench.Diff("A", a, "B", tt.b, 10)
			switch {
			case tt.want == "" && len(d) > 0:
				t.Fatalf("diff %v", d)
			case tt.want != "" && (len(d) == 0 || !strings.Contains(d[0], tt.want)):
				t.Fatalf("diff %v, want %q", d, tt.want)
			}
		})
	}
}

func logTier(t *testing.T, tier *bench.Tier) {
	for name, p := range tier.Phases {
		t.Logf("%-22s %8v items %d", name, p.Wall.Round(1e6), p.Items)
	}
	t.Logf("agree %v; keys %d lines %d entities %v", tier.Agree, tier.Keys, tier.Lines, tier.Entities)
}
