// Package export writes a report (package report) in the formats compliance
// officers, CMS and auditors take: CSV (RFC 4180, formula-injection safe,
// streamed), a PDF attestation packet (maroto), the QPP submission JSON for MIPS
// Promoting Interoperability validated against the rules and CMS's measure
// catalogue, FHIR R4 MeasureReports (summary and subject-list) and QRDA Category
// III XML (CDA R2, the CMS eligible clinician templates of the year).
//
// Exports read only the report: the same report always gives the same export
// (the PDF's creation date is the report's generation time). docs/exports.md
// describes each format and its sources.
package export

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
)

// Format names an export format.
type Format string

// The formats. JSON, the attestation file itself, is package attest's.
const (
	FormatCSV           Format = "csv"
	FormatPDF           Format = "pdf"
	FormatQPP           Format = "qpp"
	FormatMeasureReport Format = "measurereport" // FHIR subject-list
	FormatSummary       Format = "measurereport-summary"
	FormatQRDA3         Format = "qrda3"
)

// Formats lists the formats Write takes.
func Formats() []Format {
	return []Format{FormatCSV, FormatPDF, FormatQPP, FormatMeasureReport, FormatSummary, FormatQRDA3}
}

// ContentType is the media type of a format.
func ContentType(f Format) string {
	switch f {
	case FormatCSV:
		return "text/csv; charset=utf-8; header=present"
	case FormatPDF:
		return "application/pdf"
	case FormatQPP:
		return "application/json"
	case FormatMeasureReport, FormatSummary:
		return "application/fhir+json"
	case FormatQRDA3:
		return "application/xml"
	}
	return "application/octet-stream"
}

// Extension is the file name extension of a format.
func Extension(f Format) string {
	switch f {
	case FormatCSV:
		return "csv"
	case FormatPDF:
		return "pdf"
	case FormatQRDA3:
		return "xml"
	}
	return "json"
}

// Write writes r in format f to w. seal, when not nil, is the attestation the
// report was frozen in (the PDF prints it). A report the format cannot express —
// QPP and QRDA III for a program other than MIPS — is errs.Unprocessable; an
// unknown format is errs.Invalid naming "format".
func Write(w io.Writer, f Format, r report.Report, seal *Seal) error {
	switch f {
	case FormatCSV:
		return CSV(w, r)
	case FormatPDF:
		b, err := PDF(r, seal)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case FormatQPP:
		s, err := QPP(r)
		if err != nil {
			return err
		}
		if err := json.NewEncoder(w).Encode(s); err != nil {
			return fmt.Errorf("qpp: %w", err)
		}
		return nil
	case FormatMeasureReport:
		return WriteMeasureReports(w, r, SubjectList)
	case FormatSummary:
		return WriteMeasureReports(w, r, Summary)
	case FormatQRDA3:
		return QRDA3(w, r)
	}
	return errs.Field(errs.Invalid, "format", "unknown format %q; known: json, %v", f, Formats())
}
