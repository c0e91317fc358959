package window_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/reporting/internal/facts"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
	"github.com/attest-ehr/attest/services/reporting/internal/window"
	"github.com/attest-ehr/attest/services/reporting/internal/window/windowtest"
)

// The fact store (and its cache) hands its columns to the window, forecast and worklist.
var (
	_ window.ColumnFacts = (*facts.Store)(nil)
	_ window.ColumnFacts = (*windowtest.ColumnMemory)(nil)
)

// TestBestOverColumns: a source holding columns (swept by SweepColumns) gives the
// very result a source of facts does, for a clinician and for a group, in both years'
// period rules.
func TestBestOverColumns(t *testing.T) {
	for _, year := range []int{2023, 2025} {
		w := newWorld(t, 5, year, 600, 3, false)
		cols, err := windowtest.NewColumnMemory(w.facts)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range []contract.Entity{
			{Kind: contract.EntityTINNPI, ID: w.clin[0].TIN + "/" + w.clin[0].NPI},
			{Kind: contract.EntityTIN, ID: w.clin[0].TIN},
		} {
			req := window.Request{Program: rulebook.MIPS, Year: year, Entity: e, AsOf: time.Date(year+1, 2, 1, 0, 0, 0, 0, time.UTC)}
			want, err := (&window.Finder{Catalog: w.cat, Calendar: w.cal, Facts: w.source}).Best(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := (&window.Finder{Catalog: w.cat, Calendar: w.cal, Facts: cols}).Best(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%d %s: over columns %+v\nover facts %+v", year, e, got.Best, want.Best)
			}
			if want.Best.Measures[len(want.Best.Measures)-1].Denominator == 0 {
				t.Errorf("%d %s: an empty denominator compares nothing", year, e)
			}
		}
	}
}
