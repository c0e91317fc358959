package export

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/services/reporting/internal/report"
)

// csvHeader names the columns of the CSV export. Every row has them all; row_type
// says which are filled: "report" (one row: who, what, when, the outcome),
// "measure" (one per measure), "member" (one per patient or object behind a
// measure, right after its measure row).
var csvHeader = []string{
	"row_type", "entity", "program", "year", "period_from", "period_to",
	"measure_id", "title", "status", "numerator", "denominator", "percent", "threshold", "points", "max_points", "reason",
	"patient_id", "object", "in_denominator", "in_numerator",
	"denominator_code", "denominator_ref", "denominator_at", "denominator_note",
	"numerator_code", "numerator_ref", "numerator_at", "numerator_note", "via",
}

// CSV writes the report as RFC 4180 CSV (CRLF line ends, fields quoted when they
// hold a comma, a quote or a line break) to w, streaming: rows go out through a
// small buffer as they are made, so a report with a million members never sits in
// memory as text. Every cell is neutralised against formula injection (Neutralise).
func CSV(w io.Writer, r report.Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	row := make([]string, len(csvHeader))
	write := func(cells ...string) error {
		clear(row)
		copy(row, cells)
		for i := range row {
			row[i] = Neutralise(row[i])
		}
		return cw.Write(row)
	}
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	score := ""
	if r.Score != nil {
		score = fmt.Sprintf("%d of %d", r.Score.Total, r.Score.Max)
	}
	outcome := "does not pass"
	if r.Pass {
		outcome = "passes"
	}
	ctx := []string{r.Entity.String(), string(r.Program), strconv.Itoa(r.Year), r.Period.From, r.Period.To}
	err := write(append([]string{"report"}, append(ctx, "", "generated "+stamp(r.GeneratedAt)+"; data as of "+stamp(r.DataAsOf)+
		"; logic "+r.LogicVersion, outcome, "", "", "", "", score, "", summary(r))...)...)
	if err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	for _, m := range r.Measures {
		err := write(append([]string{"measure"}, append(ctx, m.ID, m.Title, string(m.Status), count(m, m.Numerator),
			count(m, m.Denominator), m.Percent, m.Threshold, strconv.FormatInt(m.Points, 10), m.MaxPoints, m.Reason)...)...)
		if err != nil {
			return fmt.Errorf("csv: %w", err)
		}
		for _, mb := range m.Members {
			err := write("member", ctx[0], ctx[1], ctx[2], ctx[3], ctx[4], m.ID, "", "", "", "", "", "", "", "", "",
				mb.PatientID, mb.Object, strconv.FormatBool(mb.InDenominator), strconv.FormatBool(mb.InNumerator),
				mb.Denominator.Code, mb.Denominator.Ref, stamp(mb.Denominator.At), mb.Denominator.Note,
				mb.Numerator.Code, mb.Numerator.Ref, stamp(mb.Numerator.At), mb.Numerator.Note, mb.Via)
			if err != nil {
				return fmt.Errorf("csv: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	return nil
}

// count is a proportion's number as text; yes/no and excluded measures have none.
func count(m report.Measure, n int64) string {
	if m.Kind != report.Proportion || m.Exclusion != "" || !m.Reported {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func summary(r report.Report) string {
	if len(r.Failures) == 0 {
		return "no failures"
	}
	return strings.Join(r.Failures, "; ")
}

// Neutralise defuses a cell a spreadsheet would read as a formula: one that starts
// with =, +, -, @, a tab or a carriage return gets a leading apostrophe (OWASP, "CSV
// Injection"). Quoting alone does not help: spreadsheets evaluate quoted cells too.
func Neutralise(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}
