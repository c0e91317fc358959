package worklist_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
	"github.com/attest-ehr/attest/services/reporting/internal/window/windowtest"
	"github.com/attest-ehr/attest/services/reporting/internal/worklist"
)

// TestWorklistOverColumns: a source holding columns (as the fact store does) gives the
// very worklist a source of facts does, for the group and one of its clinicians.
func TestWorklistOverColumns(t *testing.T) {
	l, facts, e, _, _ := setup(t)
	cols, err := windowtest.NewColumnMemory(facts)
	if err != nil {
		t.Fatal(err)
	}
	overCols := &worklist.Lister{Catalog: l.Catalog, Calendar: l.Calendar, Facts: cols}
	req := worklist.Request{Program: rulebook.MIPS, Year: 2025, Entity: e, AsOf: time.Date(2025, 12, 20, 12, 0, 0, 0, time.UTC), PageSize: 500}
	want, err := l.List(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := overCols.List(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if want.Total == 0 {
		t.Fatal("an empty worklist compares nothing")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("over columns: %d items %+v\nover facts: %d items %+v", got.Total, got.Measures, want.Total, want.Measures)
	}
}
