package forecast_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/services/reporting/internal/forecast"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
	"github.com/attest-ehr/attest/services/reporting/internal/window/windowtest"
)

// TestForecastOverColumns: a source holding columns (as the fact store does) gives the
// very forecast a source of facts does, for a group and one of its clinicians.
func TestForecastOverColumns(t *testing.T) {
	c, err := measure.New()
	if err != nil {
		t.Fatal(err)
	}
	cal := calendar.New(time.UTC)
	clin := windowtest.Clinicians(3, 1)
	g := &windowtest.Gen{R: rand.New(rand.NewPCG(9, 9)), Year: 2025, Loc: time.UTC, Providers: clin, Spread: 5}
	facts := windowtest.Derive(c, cal, g.Patients(400))
	cols, err := windowtest.NewColumnMemory(facts)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []contract.Entity{
		{Kind: contract.EntityTIN, ID: clin[0].TIN},
		{Kind: contract.EntityTINNPI, ID: clin[0].TIN + "/" + clin[0].NPI},
	} {
		req := forecast.Request{Program: rulebook.MIPS, Year: 2025, Entity: e, AsOf: time.Date(2025, 9, 30, 12, 0, 0, 0, time.UTC)}
		want, err := (&forecast.Forecaster{Catalog: c, Calendar: cal, Facts: windowtest.NewMemory(facts)}).Forecast(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := (&forecast.Forecaster{Catalog: c, Calendar: cal, Facts: cols}).Forecast(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(want.Measures) == 0 || want.Measures[0].Now.Denominator == 0 {
			t.Fatalf("%s: an empty forecast compares nothing: %+v", e, want.Measures)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: over columns %+v\nover facts %+v", e, got.Measures, want.Measures)
		}
	}
}
