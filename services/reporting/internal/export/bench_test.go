package export_test

import (
	"io"
	"testing"

	"github.com/attest-ehr/attest/services/reporting/internal/export"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
	"github.com/attest-ehr/attest/services/reporting/internal/report/reporttest"
)

// countingWriter counts bytes and keeps none, so the benchmark measures making the
// export, not storing it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// benchWrite measures f on the sample report with 1,000,000 members in its lists
// (250,000 per proportion); building the report is not measured.
func benchWrite(b *testing.B, f func(io.Writer, report.Report) error) {
	r := reporttest.Large(b, 1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	var w countingWriter
	for b.Loop() {
		w.n = 0
		if err := f(&w, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(w.n)/1e6, "MB/export")
	b.ReportMetric(float64(r.MemberCount()), "members")
}

// BenchmarkCSV1M streams the CSV of a report with a million members.
func BenchmarkCSV1M(b *testing.B) { benchWrite(b, export.CSV) }

// BenchmarkMeasureReportSubjectList1M writes the FHIR subject-list Bundle (every
// patient referenced) of a report with a million members.
func BenchmarkMeasureReportSubjectList1M(b *testing.B) {
	benchWrite(b, func(w io.Writer, r report.Report) error { return export.WriteMeasureReports(w, r, export.SubjectList) })
}

// BenchmarkQPP1M builds and validates the QPP submission (counts only) of the same report.
func BenchmarkQPP1M(b *testing.B) {
	benchWrite(b, func(w io.Writer, r report.Report) error { return export.Write(w, export.FormatQPP, r, nil) })
}

// BenchmarkQRDA31M writes the QRDA III document (counts only) of the same report.
func BenchmarkQRDA31M(b *testing.B) { benchWrite(b, export.QRDA3) }

// BenchmarkPDF1M renders the attestation packet (counts, not lists) of the same report.
func BenchmarkPDF1M(b *testing.B) {
	seal := &export.Seal{ID: "bench", SHA256: "00"}
	benchWrite(b, func(w io.Writer, r report.Report) error { return export.Write(w, export.FormatPDF, r, seal) })
}
