package measure_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/libs/measure"
)

func catalog(t testing.TB) *measure.Catalog {
	t.Helper()
	c, err := measure.New()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCatalogCoversEveryProgramYear: each program has ratio measures for every
// entity kind and year it ran, so a missing year cannot go unnoticed.
func TestCatalogCoversEveryProgramYear(t *testing.T) {
	c := catalog(t)
	tests := []struct {
		program  measure.Program
		from, to int
		kinds    []measure.EntityKind
	}{
		{measure.Stage1, 2011, 2014, []measure.EntityKind{measure.NPI, measure.CCN}},
		{measure.Stage2, 2014, 2014, []measure.EntityKind{measure.NPI, measure.CCN}},
		{measure.ModifiedStage2, 2015, 2018, []measure.EntityKind{measure.NPI, measure.CCN}},
		{measure.Stage3, 2017, 2021, []measure.EntityKind{measure.NPI, measure.CCN}},
		{measure.HospitalPI, 2019, 2026, []measure.EntityKind{measure.CCN}},
		{measure.MIPS, 2017, 2026, []measure.EntityKind{measure.TINNPI, measure.TIN}},
		{measure.MIPSTransition, 2017, 2018, []measure.EntityKind{measure.TINNPI, measure.TIN}},
	}
	for _, tt := range tests {
		for y := tt.from; y <= tt.to; y++ {
			for _, k := range tt.kinds {
				ratios, yesNo := 0, 0
				for _, m := range c.Measures(tt.program, y, k) {
					if m.Kind == measure.Ratio {
						ratios++
					} else {
						yesNo++
					}
				}
				if ratios == 0 || yesNo == 0 {
					t.Errorf("%s %d %s: %d ratio and %d yes/no measures", tt.program, y, k, ratios, yesNo)
				}
			}
		}
		if got := c.Measures(tt.program, tt.to+1, tt.kinds[0]); len(got) != 0 {
			t.Errorf("%s has %d measures in %d, after it ended", tt.program, len(got), tt.to+1)
		}
	}
}

// TestCatalogSpotChecks pins the facts a wrong number would follow from.
func TestCatalogSpotChecks(t *testing.T) {
	c := catalog(t)
	tests := []struct {
		program   measure.Program
		id        string
		year      int
		kind      measure.EntityKind
		threshold string
		timely    string
		window    measure.Window
	}{
		{measure.Stage1, "S1-EP-C04", 2011, measure.NPI, "more than 40%", "", measure.YearToAttestation},
		{measure.Stage1, "S1-EP-M10", 2012, measure.NPI, "at least 10%", "4 business days after the information is available to the provider", measure.YearToAttestation},
		{measure.Stage1, "S1-EP-C12", 2013, measure.NPI, "more than 50%", "", measure.YearToAttestation},
		{measure.Stage2, "S2-EP-C08", 2014, measure.NPI, "more than 50%", "", measure.YearToAttestation},
		{measure.Stage2, "S2-EP-C17", 2014, measure.NPI, "more than 5%", "", measure.InPeriod},
		{measure.ModifiedStage2, "MS2-EP-08.2", 2016, measure.NPI, "at least one", "", measure.InCalendarYear},
		{measure.ModifiedStage2, "MS2-EP-08.2", 2017, measure.NPI, "more than 5%", "", measure.InCalendarYear},
		{measure.ModifiedStage2, "MS2-EH-08.1", 2016, measure.CCN, "more than 50%", "36 hours after discharge", measure.YearToAttestation},
		{measure.Stage3, "S3-EP-05.1", 2021, measure.NPI, "more than 80%", "48 hours after the information is available to the provider", measure.InCalendarYear},
		{measure.Stage3, "S3-EH-06.2", 2017, measure.CCN, "more than 5%", "", measure.InCalendarYear},
		{measure.Stage3, "S3-EH-06.2", 2019, measure.CCN, "more than 25%", "", measure.InCalendarYear},
		{measure.Stage3, "S3-EP-02", 2020, measure.NPI, "more than 60%", "", measure.InCalendarYear},
		{measure.Stage3, "S3-EH-02", 2020, measure.CCN, "more than 25%", "", measure.InCalendarYear},
		{measure.HospitalPI, "EHPI_PEA_1", 2025, measure.CCN, "at least one", "36 hours after discharge", measure.InPeriod},
		{measure.MIPS, "PI_PEA_1", 2025, measure.TINNPI, "at least one", "4 business days after the information is available to the provider", measure.InPeriod},
		{measure.MIPS, "ACI_PEA_1", 2017, measure.TIN, "at least one", "4 business days after the information is available to the provider", measure.InCalendarYear},
	}
	for _, tt := range tests {
		m, ok := c.Measure(tt.program, tt.id, tt.year, tt.kind)
		if !ok {
			t.Errorf("%s %d: not in the catalog", tt.id, tt.year)
			continue
		}
		timely := ""
		if r, ok := m.Rule.(measure.TimelyAccess); ok {
			timely = r.Timely.String()
		}
		if got := m.Threshold.String(); got != tt.threshold || timely != tt.timely || m.Window != tt.window {
			t.Errorf("%s %d: %q, %q, %q; want %q, %q, %q", tt.id, tt.year, got, timely, m.Window, tt.threshold, tt.timely, tt.window)
		}
	}
	if m, _ := c.Measure(measure.MIPS, "PI_PEA_2", 2018, measure.TINNPI); !m.Transitive {
		t.Error("PI_PEA_2 (education, ONC RT3) must carry numerator credit across TINs")
	}
	if m, _ := c.Measure(measure.MIPS, "PI_PEA_1", 2025, measure.TINNPI); m.Transitive {
		t.Error("PI_PEA_1 must not be transitive: ONC RT2a scenario 1 expects TIN B/Provider 1 = 4/3")
	}
	if m, _ := c.Measure(measure.HospitalPI, "EHPI_EP_1", 2025, measure.CCN); !slices.Equal(m.Variants,
		[]measure.Variant{measure.ControlledIncluded, measure.ControlledExcluded}) {
		t.Errorf("EHPI_EP_1 variants = %v", m.Variants)
	}
}

// qppYear is one year of testdata/qpp-pi-measures.json, an extract of CMS's
// qpp-measures-data (see the LICENSE file beside it).
type qppMeasure struct {
	MeasureID         string `json:"measureId"`
	Title             string `json:"title"`
	MetricType        string `json:"metricType"`
	IsRequired        bool   `json:"isRequired"`
	ReportingCategory string `json:"reportingCategory"`
}

// TestMIPSAgainstQPPMeasuresData checks the MIPS rows against CMS's own catalogue for
// the years the pinned package carries: the same IDs (exclusions aside, which the
// catalog lists on the measure they replace), the same kind, the same title.
func TestMIPSAgainstQPPMeasuresData(t *testing.T) {
	raw, err := os.ReadFile("testdata/qpp-pi-measures.json")
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Years map[string][]qppMeasure `json:"years"`
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	c := catalog(t)
	for year := 2017; year <= 2022; year++ {
		qpp := data.Years[itoa(year)]
		if len(qpp) == 0 {
			t.Fatalf("no QPP data for %d", year)
		}
		ours := map[string]measure.Measure{}
		for _, p := range []measure.Program{measure.MIPS, measure.MIPSTransition} {
			for _, m := range c.Measures(p, year, measure.TINNPI) {
				ours[m.ID] = m
			}
		}
		for _, q := range qpp {
			if q.ReportingCategory == "exclusion" || strings.Contains(q.Title, "Exclusion") {
				continue
			}
			m, ok := ours[q.MeasureID]
			if !ok {
				t.Errorf("%d: QPP measure %s (%s) missing from the catalog", year, q.MeasureID, q.Title)
				continue
			}
			delete(ours, q.MeasureID)
			wantKind := measure.Ratio
			if q.MetricType == "boolean" {
				wantKind = measure.YesNo
			}
			if m.Kind != wantKind {
				t.Errorf("%d %s: kind %s, QPP says %s", year, q.MeasureID, m.Kind, q.MetricType)
			}
			if !strings.EqualFold(squash(m.Title), squash(q.Title)) && !titleAbbreviated(m.Title, q.Title) {
				t.Errorf("%d %s: title %q, QPP says %q", year, q.MeasureID, m.Title, q.Title)
			}
		}
		for id := range ours {
			t.Errorf("%d: catalog measure %s is not in QPP's data", year, id)
		}
	}
}

// titleAbbreviated allows the catalog's shorter titles where QPP's are long-winded.
func titleAbbreviated(ours, qpp string) bool {
	return strings.HasPrefix(qpp, "High Priority Practices Guide") && strings.HasPrefix(ours, "High Priority Practices Guide") ||
		strings.HasPrefix(qpp, ours) || strings.Contains(qpp, "Multiple Registry Engagement") && strings.Contains(ours, "Multiple Registry Engagement")
}

// squash drops white space, so QPP's "Exchange(HIE)" (2021) matches "Exchange (HIE)".
func squash(s string) string { return strings.Join(strings.Fields(s), "") }

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
