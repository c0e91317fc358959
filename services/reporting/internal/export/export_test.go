package export_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/reporting/internal/export"
	"github.com/attest-ehr/attest/services/reporting/internal/money"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
	"github.com/attest-ehr/attest/services/reporting/internal/report/reporttest"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

func TestNeutralise(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"},
		{"+1+1", "'+1+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tTAB", "'\tTAB"},
		{"\rCR", "'\rCR"},
		{"plain", "plain"},
		{"a=b", "a=b"}, // only the first character matters
		{"", ""},
	}
	for _, tt := range tests {
		if got := export.Neutralise(tt.in); got != tt.want {
			t.Errorf("Neutralise(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCSV(t *testing.T) {
	r := reporttest.Report(t, true)
	// A hostile reason and note: every formula trigger must reach the file defused.
	r.Measures[4].Reason = "=cmd|' /C calc'!A0"
	r.Measures[4].Members[0].Numerator.Note = "@SUM(1,2)"
	r.Measures[4].Members[1].Numerator.Note = "line one\r\nline two, \"quoted\""
	var buf bytes.Buffer
	if err := export.CSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(buf.Bytes(), []byte("\r\n")) {
		t.Error("rows must end in CRLF (RFC 4180)")
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("the export does not re-parse: %v", err)
	}
	want := 1 + 1 + len(r.Measures) + r.MemberCount()
	if len(rows) != want {
		t.Fatalf("%d rows, want %d (header, report, measures, members)", len(rows), want)
	}
	for i, row := range rows {
		for j, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("row %d col %d starts with a formula trigger: %q", i, j, cell)
			}
		}
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	var ep1 []string
	for _, row := range rows {
		if row[0] == "measure" && row[col("measure_id")] == "PI_EP_1" {
			ep1 = row
		}
	}
	if ep1 == nil || ep1[col("numerator")] != "49" || ep1[col("denominator")] != "115" || ep1[col("reason")] != "'=cmd|' /C calc'!A0" {
		t.Errorf("PI_EP_1 row %q", ep1)
	}
	if !slices.ContainsFunc(rows, func(r []string) bool { return r[col("numerator_note")] == "'@SUM(1,2)" }) {
		t.Errorf("member note not neutralised")
	}
	// encoding/csv's reader drops the CR of a CRLF inside a quoted field.
	if !slices.ContainsFunc(rows, func(r []string) bool { return slices.Contains(r, "line one\nline two, \"quoted\"") }) {
		t.Error("a note with CRLF, comma and quotes did not round-trip")
	}
	// Members of a measure: numerator count equals the measure's numerator.
	num := 0
	for _, row := range rows {
		if row[0] == "member" && row[col("measure_id")] == "PI_HIE_1" && row[col("in_numerator")] == "true" {
			num++
		}
	}
	if num != 1123 {
		t.Errorf("PI_HIE_1 members in the numerator: %d, want 1123", num)
	}
}

func TestQPP(t *testing.T) {
	r := reporttest.Report(t, false)
	s, err := export.QPP(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back export.Submission
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := export.ValidateQPP(back); err != nil {
		t.Fatalf("the exported submission does not validate after a round trip: %v", err)
	}
	set := back.MeasurementSets[0]
	if back.EntityType != "individual" || back.TIN != "000456789" || back.NPI != "1234567893" || set.Category != "pi" ||
		set.PerformanceStart != "2025-01-01" || set.PerformanceEnd != "2025-06-29" {
		t.Errorf("submission header %+v / %+v", back, set)
	}
	got := map[string]any{}
	for _, m := range set.Measurements {
		got[m.MeasureID] = m.Value
	}
	want := map[string]any{
		"PI_EP_1": export.Proportion{Numerator: 49, Denominator: 115}, "PI_HIE_1": export.Proportion{Numerator: 1123, Denominator: 1951},
		"PI_PPHI_1": true, "PI_PHCDRR_1": true, "PI_PHCDRR_1_PROD": true,
	}
	for id, v := range want {
		if got[id] != v {
			t.Errorf("%s = %v, want %v", id, got[id], v)
		}
	}
	if _, sent := got["PI_HIE_5"]; sent {
		t.Error("an unreported alternative was sent")
	}
	// Every ID in the export exists in the year's catalogue.
	ids, err := export.QPPMeasureIDs(2025)
	if err != nil {
		t.Fatal(err)
	}
	for id := range got {
		if !slices.Contains(ids, id) {
			t.Errorf("%s is not in the 2025 catalogue", id)
		}
	}
}

func TestQPPExclusionReplacesTheMeasure(t *testing.T) {
	in := reporttest.Input(false)
	vol := int64(40)
	in.Measures["PI_EP_1"] = report.MeasureInput{MeasureInput: rulebook.MeasureInput{Exclusion: "PI_LVPP_1", Volume: &vol}}
	r, err := report.Build(in)
	if err != nil {
		t.Fatal(err)
	}
	s, err := export.QPP(r)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range s.MeasurementSets[0].Measurements {
		ids = append(ids, m.MeasureID)
	}
	if !slices.Contains(ids, "PI_LVPP_1") || slices.Contains(ids, "PI_EP_1") {
		t.Errorf("measurements %v: want PI_LVPP_1 in place of PI_EP_1", ids)
	}
}

func TestValidateQPPRules(t *testing.T) {
	base := func() export.Submission {
		s, err := export.QPP(reporttest.Report(t, false))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	add := func(s *export.Submission, id string, v any) {
		s.MeasurementSets[0].Measurements = append(s.MeasurementSets[0].Measurements, export.Measurement{MeasureID: id, Value: v})
	}
	set := func(s *export.Submission, id string, v any) {
		for i, m := range s.MeasurementSets[0].Measurements {
			if m.MeasureID == id {
				s.MeasurementSets[0].Measurements[i].Value = v
			}
		}
	}
	tests := []struct {
		name  string
		edit  func(s *export.Submission)
		field string
	}{
		{"unknown measure", func(s *export.Submission) { add(s, "PI_NOT_A_MEASURE", true) }, "measurementSets[0].measurements[13].measureId"},
		{"measure of another year", func(s *export.Submission) { add(s, "PI_EP_3", export.Proportion{}) }, "measurementSets[0].measurements[13].measureId"},
		{"2017 ID in 2025", func(s *export.Submission) { add(s, "ACI_EP_1", export.Proportion{}) }, "measurementSets[0].measurements[13].measureId"},
		{"duplicate", func(s *export.Submission) { add(s, "PI_PPHI_1", true) }, "measurementSets[0].measurements[13].measureId"},
		{"denominator 0, numerator 1", func(s *export.Submission) { set(s, "PI_EP_1", export.Proportion{Numerator: 1}) }, "measurementSets[0].measurements[4].value.numerator"},
		{"numerator over denominator", func(s *export.Submission) {
			set(s, "PI_EP_1", export.Proportion{Numerator: 9, Denominator: 8})
		}, "measurementSets[0].measurements[4].value.numerator"},
		{"negative", func(s *export.Submission) { set(s, "PI_EP_1", export.Proportion{Numerator: -1, Denominator: 8}) }, "measurementSets[0].measurements[4].value"},
		{"boolean for proportion", func(s *export.Submission) { set(s, "PI_EP_1", true) }, "measurementSets[0].measurements[4].value"},
		{"proportion for boolean", func(s *export.Submission) { set(s, "PI_PPHI_1", export.Proportion{}) }, "measurementSets[0].measurements[0].value"},
		{"measure with its exclusion", func(s *export.Submission) { add(s, "PI_LVPP_1", true) }, "measurementSets[0].measurements[4].measureId"},
		{"alternative with what it replaces", func(s *export.Submission) { add(s, "PI_HIE_5", true) }, "measurementSets[0].measurements[13].measureId"},
		{"no CEHRT ID", func(s *export.Submission) { s.MeasurementSets[0].CEHRTID = "" }, "measurementSets[0].cehrtId"},
		{"start outside the year", func(s *export.Submission) { s.MeasurementSets[0].PerformanceStart = "2024-12-31" }, "measurementSets[0].performanceStart"},
		{"end before start", func(s *export.Submission) { s.MeasurementSets[0].PerformanceEnd = "2024-12-31" }, "measurementSets[0].performanceEnd"},
		{"aci category in 2025", func(s *export.Submission) { s.MeasurementSets[0].Category = "aci" }, "measurementSets[0].category"},
		{"bad TIN", func(s *export.Submission) { s.TIN = "12345678" }, "taxpayerIdentificationNumber"},
		{"individual without NPI", func(s *export.Submission) { s.NPI = "" }, "nationalProviderIdentifier"},
		{"unknown year", func(s *export.Submission) { s.PerformanceYear = 2016 }, "performanceYear"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			if s.MeasurementSets[0].Measurements[4].MeasureID != "PI_EP_1" || s.MeasurementSets[0].Measurements[0].MeasureID != "PI_PPHI_1" ||
				len(s.MeasurementSets[0].Measurements) != 13 {
				t.Fatalf("sample changed: %+v", s.MeasurementSets[0].Measurements)
			}
			tt.edit(&s)
			err := export.ValidateQPP(s)
			if err == nil || errs.FieldOf(err) != tt.field {
				t.Fatalf("err %v (field %q), want one naming %q", err, errs.FieldOf(err), tt.field)
			}
		})
	}
}

func TestQPPRefusesWhatCannotBeSubmitted(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(in *report.Input)
		field string
	}{
		{"not MIPS", func(in *report.Input) {
			in.Program, in.Year, in.EntityType = rulebook.Stage3, 2019, rulebook.EP
			in.Entity = contract.Entity{Kind: contract.EntityNPI, ID: "1234567893"}
			in.Measures, in.Period = nil, report.Period{From: "2019-01-01", To: "2019-03-31"}
		}, "program"},
		{"NPI alone", func(in *report.Input) { in.Entity = contract.Entity{Kind: contract.EntityNPI, ID: "1234567893"} }, "entity"},
		{"no CEHRT ID", func(in *report.Input) { in.CEHRTID = "" }, "measurementSets[0].cehrtId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := reporttest.Input(false)
			tt.edit(&in)
			r, err := report.Build(in)
			if err != nil {
				t.Fatal(err)
			}
			_, err = export.QPP(r)
			if !errs.Is(errs.Unprocessable, err) || errs.FieldOf(err) != tt.field {
				t.Fatalf("err %v, want unprocessable naming %q", err, tt.field)
			}
		})
	}
}

func TestMeasureReports(t *testing.T) {
	r := reporttest.Report(t, true)
	for _, typ := range []export.MeasureReportType{export.Summary, export.SubjectList} {
		var buf bytes.Buffer
		if err := export.WriteMeasureReports(&buf, r, typ); err != nil {
			t.Fatal(err)
		}
		var b export.Bundle
		if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
			t.Fatal(err)
		}
		if b.ResourceType != "Bundle" || len(b.Entry) != 4 {
			t.Fatalf("%s: bundle %s with %d entries, want 4 MeasureReports", typ, b.ResourceType, len(b.Entry))
		}
		for _, e := range b.Entry {
			mr := e.Resource
			id := strings.ToUpper(strings.ReplaceAll(mr.ID, "-", "_"))
			m, _ := r.Measure(id)
			counts := map[string]int64{}
			for _, p := range mr.Group[0].Population {
				counts[p.Code.Coding[0].Code] = p.Count
			}
			if mr.Type != typ || mr.Measure != export.MeasureURL(id, 2025) || counts["numerator"] != m.Numerator ||
				counts["denominator"] != m.Denominator || mr.Period.Start != "2025-01-01" {
				t.Errorf("%s %s: %+v, want %d/%d", typ, id, mr, m.Numerator, m.Denominator)
			}
			if typ == export.SubjectList {
				lists := map[string]int{}
				for _, l := range mr.Contained {
					lists[l.ID] = len(l.Entry)
				}
				if int64(lists["numerator"]) != m.Numerator || int64(lists["denominator"]) != m.Denominator {
					t.Errorf("%s subject lists %v, want %d/%d", id, lists, m.Numerator, m.Denominator)
				}
			} else if len(mr.Contained) != 0 {
				t.Errorf("summary %s carries subject lists", id)
			}
		}
	}
}

// qrdaDoc is what the QRDA test reads back: template IDs and the measure entries.
type qrdaDoc struct {
	Templates []struct {
		Root string `xml:"root,attr"`
		Ext  string `xml:"extension,attr"`
	} `xml:"templateId"`
	CEHRT struct {
		ID struct {
			Ext string `xml:"extension,attr"`
		} `xml:"associatedEntity>id"`
	} `xml:"participant"`
	Program struct {
		Ext string `xml:"extension,attr"`
	} `xml:"informationRecipient>intendedRecipient>id"`
	Section struct {
		Templates []struct {
			Root string `xml:"root,attr"`
			Ext  string `xml:"extension,attr"`
		} `xml:"templateId"`
		Entries []struct {
			Act *struct {
				Template struct {
					Root string `xml:"root,attr"`
					Ext  string `xml:"extension,attr"`
				} `xml:"templateId"`
				Low struct {
					Value string `xml:"value,attr"`
				} `xml:"effectiveTime>low"`
				High struct {
					Value string `xml:"value,attr"`
				} `xml:"effectiveTime>high"`
			} `xml:"act"`
			Organizer *struct {
				Template struct {
					Root string `xml:"root,attr"`
				} `xml:"templateId"`
				MeasureID struct {
					Ext string `xml:"extension,attr"`
				} `xml:"reference>externalDocument>id"`
				Components []struct {
					Value struct {
						Code string `xml:"code,attr"`
					} `xml:"observation>value"`
					Count struct {
						Value string `xml:"value,attr"`
					} `xml:"observation>entryRelationship>observation>value"`
				} `xml:"component"`
			} `xml:"organizer"`
		} `xml:"entry"`
	} `xml:"component>structuredBody>component>section"`
}

func TestQRDA3(t *testing.T) {
	r := reporttest.Report(t, false)
	var buf bytes.Buffer
	if err := export.QRDA3(&buf, r); err != nil {
		t.Fatal(err)
	}
	xmllint(t, buf.Bytes())

	var doc qrdaDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	tpl, _ := export.Templates(2025)
	if len(doc.Templates) != 2 || doc.Templates[0].Root != "2.16.840.1.113883.10.20.27.1.1" || doc.Templates[0].Ext != "2020-12-01" ||
		doc.Templates[1].Root != "2.16.840.1.113883.10.20.27.1.2" || doc.Templates[1].Ext != tpl.CMSReport || tpl.CMSReport != "2024-07-01" {
		t.Errorf("document templates %+v, want QRDA III Report V5 2020-12-01 and the CMS 2025 template 2024-07-01", doc.Templates)
	}
	if doc.Section.Templates[0].Root != "2.16.840.1.113883.10.20.27.2.5" || doc.Section.Templates[0].Ext != "2020-12-01" ||
		doc.CEHRT.ID.Ext != r.CEHRTID || doc.Program.Ext != "MIPS_INDIV" {
		t.Errorf("section %+v, CEHRT %q, program %q", doc.Section.Templates, doc.CEHRT.ID.Ext, doc.Program.Ext)
	}
	if a := doc.Section.Entries[0].Act; a == nil || a.Template.Root != "2.16.840.1.113883.10.20.17.3.8" || a.Template.Ext != "2020-12-01" {
		t.Errorf("the first entry must be the Reporting Parameters Act (V2): %+v", doc.Section.Entries[0])
	}
	// Parse back: the entries are exactly the QPP measurements.
	s, err := export.QPP(r)
	if err != nil {
		t.Fatal(err)
	}
	var got []export.Measurement
	for _, e := range doc.Section.Entries {
		switch {
		case e.Act != nil:
			if e.Act.Low.Value != "20250101" || e.Act.High.Value != "20250629" {
				t.Errorf("reporting parameters %+v", e.Act)
			}
		case e.Organizer != nil && e.Organizer.Template.Root == "2.16.840.1.113883.10.20.27.3.29":
			got = append(got, export.Measurement{MeasureID: e.Organizer.MeasureID.Ext, Value: e.Organizer.Components[0].Value.Code == "Y"})
		case e.Organizer != nil:
			var p export.Proportion
			for _, c := range e.Organizer.Components {
				n := mustInt(t, c.Count.Value)
				if c.Value.Code == "NUMER" {
					p.Numerator = n
				} else {
					p.Denominator = n
				}
			}
			got = append(got, export.Measurement{MeasureID: e.Organizer.MeasureID.Ext, Value: p})
		}
	}
	if !slices.Equal(got, s.MeasurementSets[0].Measurements) {
		t.Errorf("QRDA entries %+v\nwant the QPP measurements %+v", got, s.MeasurementSets[0].Measurements)
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatalf("count %q: %v", s, err)
	}
	return n
}

// xmllint checks the document with libxml2: well-formed always, and against the
// CDA schema when testdata/cda/CDA_SDTC.xsd is vendored (see docs/exports.md for
// why it is not yet).
func xmllint(t *testing.T, doc []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "qrda3.xml")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--noout", "--nonet"}
	if _, err := os.Stat("testdata/cda/CDA_SDTC.xsd"); err == nil {
		args = append(args, "--schema", "testdata/cda/CDA_SDTC.xsd")
	}
	out, err := exec.Command("xmllint", append(args, path)...).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint %v: %v\n%s", args, err, out)
	}
}

func TestQRDAMalformedInputStaysEscaped(t *testing.T) {
	in := reporttest.Input(false)
	in.CEHRTID = "0015CABCDEFGHIJ"
	in.GeneratedAt = time.Date(2025, 7, 2, 9, 30, 0, 0, time.UTC)
	r, err := report.Build(in)
	if err != nil {
		t.Fatal(err)
	}
	r.Measures[0].Title = `<script>&"'`
	var buf bytes.Buffer
	if err := export.QRDA3(&buf, r); err != nil {
		t.Fatal(err)
	}
	xmllint(t, buf.Bytes())
}

func TestPDF(t *testing.T) {
	r := reporttest.Report(t, true)
	// An incentive beside the money: both are printed with their inputs and steps.
	amount := money.Cents(73_500)
	r.Incentive = &report.Money{Kind: "incentive", PaymentYear: 2014, Outcome: "Medicare EP incentive earned", Amount: &amount,
		Explanation: money.Explanation{Formula: "min(75% × allowed charges, cap)", Inputs: []money.Input{{Name: "allowed charges", Value: "$1,000.00"}},
			Steps: []string{"75% × allowed charges $1,000.00 = $750.00"}}}
	seal := &export.Seal{ID: "0191aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee", FrozenBy: "officer:u-17",
		FrozenAt: time.Date(2025, 7, 3, 8, 0, 0, 0, time.UTC), SHA256: strings.Repeat("ab", 32), KeyID: "0123456789abcdef"}
	b, err := export.PDF(r, seal)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "packet.pdf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	want := []string{
		"Attestation packet", "tin_npi:000456789/1234567893", "2025-01-01 to 2025-06-29",
		"2025-07-02T09:30:00Z", "2025-07-02T09:28:30Z", "measure-catalog/2025.1+rulebook/2025.1",
		"fact", seal.SHA256, seal.ID, "officer:u-17", "Outcome: passes",
		"49 / 115 = 42.61%", "1123 / 1951 = 57.56%", "923 / 951", "861 / 1809", "PI_PPHI_1",
		"Medicare EP incentive earned (payment year 2014): $735.00", "Input: allowed charges = $1,000.00",
		"75% × allowed charges $1,000.00 = $750.00", "PI contributes",
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF text lacks %q", w)
		}
	}
}

func TestWriteRefusesUnknownFormat(t *testing.T) {
	err := export.Write(&bytes.Buffer{}, "docx", reporttest.Report(t, false), nil)
	if !errs.Is(errs.Invalid, err) || errs.FieldOf(err) != "format" {
		t.Fatalf("err %v, want invalid naming format", err)
	}
}

// TestCatalogueHasEveryRuleBookMeasure cross-checks the rule book against CMS's
// catalogue: every MIPS measure and exclusion the rule book knows for a year must be
// a measure ID QPP accepts that year, or QPP exports of it would be refused.
func TestCatalogueHasEveryRuleBookMeasure(t *testing.T) {
	for year := 2017; year <= 2026; year++ {
		ids, err := export.QPPMeasureIDs(year)
		if err != nil {
			t.Fatalf("%d: %v", year, err)
		}
		book, err := rulebook.Lookup(rulebook.MIPS, year, rulebook.EP)
		if err != nil {
			t.Fatalf("%d: %v", year, err)
		}
		for _, m := range book.Measures {
			want := []string{m.ID}
			for _, x := range m.Exclusions {
				want = append(want, x.ID)
			}
			for _, id := range want {
				if !slices.Contains(ids, id) {
					t.Errorf("%d: rule book measure %s is not in the QPP catalogue", year, id)
				}
			}
		}
	}
}

// TestEveryYearExports builds, for every MIPS year, a report that answers every
// measure of the rule book (yes, or 1 of 2) but the alternatives, and exports it as
// QPP JSON and QRDA III: the year's measure IDs must all pass the catalogue, and
// the document must be well formed with that year's templates.
func TestEveryYearExports(t *testing.T) {
	for year := 2017; year <= 2026; year++ {
		t.Run(strconv.Itoa(year), func(t *testing.T) {
			book, err := rulebook.Lookup(rulebook.MIPS, year, rulebook.EP)
			if err != nil {
				t.Fatal(err)
			}
			in := reporttest.Input(false)
			in.Year, in.Period = year, report.Period{From: fmt.Sprintf("%d-01-01", year), To: fmt.Sprintf("%d-12-31", year)}
			in.Measures = map[string]report.MeasureInput{}
			yes := true
			for _, m := range book.Measures {
				switch {
				case m.Role == rulebook.Alternative:
				case m.Kind == rulebook.YesNo:
					in.Measures[m.ID] = report.MeasureInput{MeasureInput: rulebook.MeasureInput{Answer: &yes}}
				default:
					in.Measures[m.ID] = report.MeasureInput{MeasureInput: rulebook.MeasureInput{Numerator: 1, Denominator: 2}}
				}
			}
			r, err := report.Build(in)
			if err != nil {
				t.Fatal(err)
			}
			s, err := export.QPP(r)
			if err != nil {
				t.Fatalf("QPP: %v", err)
			}
			if n := len(s.MeasurementSets[0].Measurements); n != len(in.Measures) {
				t.Errorf("%d measurements, want %d", n, len(in.Measures))
			}
			var buf bytes.Buffer
			if err := export.QRDA3(&buf, r); err != nil {
				t.Fatalf("QRDA III: %v", err)
			}
			xmllint(t, buf.Bytes())
			tpl, err := export.Templates(year)
			if err != nil || !bytes.Contains(buf.Bytes(), []byte(`extension="`+tpl.CMSReport+`"`)) {
				t.Errorf("the document lacks the %d CMS template %q (%v)", year, tpl.CMSReport, err)
			}
		})
	}
}

// TestQRDATemplatesByYear pins the template extensions of each year to CMS's QRDA III
// schematron for the year (docs/exports.md lists the source of each row): the CMS
// report template, the HL7 report, PI section and Reporting Parameters Act versions,
// which moved to the STU 5 templates (2020-12-01) in 2023.
func TestQRDATemplatesByYear(t *testing.T) {
	want := []struct {
		year                         int
		cms, report, section, params string
	}{
		{2017, "2016-11-01", "2017-06-01", "2017-06-01", ""},
		{2018, "2017-07-01", "2017-06-01", "2017-06-01", ""},
		{2019, "2018-05-01", "2017-06-01", "2017-06-01", ""},
		{2020, "2019-05-01", "2017-06-01", "2017-06-01", ""},
		{2021, "2020-05-01", "2017-06-01", "2017-06-01", ""},
		{2022, "2021-07-01", "2017-06-01", "2017-06-01", ""},
		{2023, "2022-12-01", "2020-12-01", "2020-12-01", "2020-12-01"},
		{2024, "2022-12-01", "2020-12-01", "2020-12-01", "2020-12-01"},
		{2025, "2024-07-01", "2020-12-01", "2020-12-01", "2020-12-01"},
		{2026, "2025-05-01", "2020-12-01", "2020-12-01", "2020-12-01"},
	}
	for _, w := range want {
		got, err := export.Templates(w.year)
		if err != nil || got.CMSReport != w.cms || got.QRDAReport != w.report || got.PISection != w.section || got.Parameters != w.params ||
			got.Organizer != "2017-06-01" || got.BooleanOrg != "2016-09-01" {
			t.Errorf("%d: %+v (%v), want CMS %s, report %s, section %s, parameters %q", w.year, got, err, w.cms, w.report, w.section, w.params)
		}
	}
	if _, err := export.Templates(2016); err == nil {
		t.Error("2016 has no MIPS QRDA III templates")
	}
}
