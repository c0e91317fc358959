package catalog

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
)

// MaxImportRows bounds one import; larger catalogs are imported in parts.
const MaxImportRows = 20000

// Row is one material read from an import file, with the line it starts on. Err is
// set when the row could not be read at all.
type Row struct {
	Line     int
	Material Material
	Err      error
}

// RowError is a row an import refused: the line it starts on, the field at fault and
// why.
type RowError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Report says what an import did. When Imported is false nothing was written.
type Report struct {
	Imported  bool       `json:"imported"`
	Added     int        `json:"added"`
	Updated   int        `json:"updated"`
	Unchanged int        `json:"unchanged"`
	Errors    []RowError `json:"errors"`
}

// Import writes rows as materials: new IDs are added, known ones updated to the row's
// content and status (a new version when something changed), in one transaction.
//
// Every row is checked first. With partial false (the default mode), one bad row
// refuses the whole file: the report lists every bad row by line and nothing is
// written. With partial true, the good rows are written and the bad ones reported.
// A row repeating an ID of an earlier row is bad.
func (c *Catalog) Import(ctx context.Context, rows []Row, partial bool) (Report, error) {
	rep := Report{Errors: []RowError{}}
	if len(rows) > MaxImportRows {
		return rep, errs.E(errs.TooLarge, "an import holds at most %d materials", MaxImportRows)
	}
	good, bad := validRows(rows)
	rep.Errors = bad
	if len(rep.Errors) > 0 && !partial {
		return rep, nil
	}
	err := c.write(ctx, func(tx *store.Tx, now time.Time) error { return apply(ctx, tx, good, now, &rep) })
	if err != nil {
		return Report{Errors: []RowError{}}, err
	}
	rep.Imported = true
	return rep, nil
}

// validRows normalizes rows, reporting the bad ones: unreadable, invalid, or
// repeating the ID of an earlier row.
func validRows(rows []Row) ([]Material, []RowError) {
	good := make([]Material, 0, len(rows))
	bad := []RowError{}
	seen := make(map[string]int, len(rows))
	for _, r := range rows {
		err := r.Err
		var m Material
		if err == nil {
			m, err = r.Material.Normalize()
		}
		if err == nil {
			if first, dup := seen[m.ID]; dup {
				err = errs.Field(errs.Invalid, "id", "repeats the id of line %d", first)
			}
			seen[m.ID] = r.Line
		}
		if err != nil {
			bad = append(bad, rowError(r.Line, err))
			continue
		}
		if m.Status == "" {
			m.Status = Active
		}
		good = append(good, m)
	}
	return good, bad
}

// apply writes normalized materials in tx, counting what changed in rep.
func apply(ctx context.Context, tx *store.Tx, ms []Material, now time.Time, rep *Report) error {
	for _, m := range ms {
		old, err := get(ctx, tx, m.ID)
		var prev *Material
		switch {
		case err == nil:
			prev = &old
		case !errs.Is(errs.NotFound, err):
			return err
		}
		_, changed, err := put(ctx, tx, m, prev, now)
		switch {
		case err != nil:
			return err
		case !changed:
			rep.Unchanged++
		case prev == nil:
			rep.Added++
		default:
			rep.Updated++
		}
	}
	return nil
}

func rowError(line int, err error) RowError {
	var e *errs.Error
	msg := err.Error()
	if errors.As(err, &e) && e.Message != "" {
		msg = e.Message
	}
	return RowError{Line: line, Field: errs.FieldOf(err), Message: msg}
}

// CSV columns. id, language, title, summary, reading_level, format and codes are
// required; codes are "system|code" pairs separated by ";", the system as a FHIR URI,
// an OID or icd10cm, snomed, loinc, rxnorm.
var (
	csvColumns  = []string{"id", "topic", "language", "title", "summary", "reading_level", "format", "url", "content", "codes", "status"}
	csvRequired = []string{"id", "language", "title", "summary", "reading_level", "format", "codes"}
)

// ParseCSV reads an import file in CSV with a header row. A bad header is an
// errs.Invalid error; a bad row is returned with its Err set and its line.
func ParseCSV(r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked per row, to report the line
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errs.E(errs.Invalid, "the CSV file is empty")
	}
	if err != nil {
		return nil, errs.Field(errs.Invalid, "line 1", "not a CSV header row")
	}
	index := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(csvColumns, h) {
			return nil, errs.Field(errs.Invalid, "line 1", "unknown column %q (want %s)", h, strings.Join(csvColumns, ", "))
		}
		if _, dup := index[h]; dup {
			return nil, errs.Field(errs.Invalid, "line 1", "column %q appears twice", h)
		}
		index[h] = i
	}
	for _, h := range csvRequired {
		if _, ok := index[h]; !ok {
			return nil, errs.Field(errs.Invalid, "line 1", "missing column %q", h)
		}
	}
	var rows []Row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if len(rows) >= MaxImportRows {
			return nil, errs.E(errs.TooLarge, "an import holds at most %d materials", MaxImportRows)
		}
		line, _ := cr.FieldPos(0)
		var perr *csv.ParseError
		switch {
		case errors.As(err, &perr):
			rows = append(rows, Row{Line: perr.StartLine, Err: errs.E(errs.Invalid, "malformed CSV: %v", perr.Err)})
			continue
		case err != nil:
			return nil, errs.Wrap(errs.Invalid, err, "could not read the CSV file")
		case len(rec) != len(header):
			rows = append(rows, Row{Line: line, Err: errs.E(errs.Invalid, "%d fields, want %d like the header", len(rec), len(header))})
			continue
		}
		rows = append(rows, csvRow(line, rec, index))
	}
}

func csvRow(line int, rec []string, index map[string]int) Row {
	col := func(name string) string {
		if i, ok := index[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	m := Material{
		ID: col("id"), Topic: col("topic"), Language: col("language"), Title: col("title"), Summary: col("summary"),
		Format: col("format"), URL: col("url"), Content: col("content"), Status: col("status"),
	}
	level, err := strconv.Atoi(col("reading_level"))
	if err != nil {
		return Row{Line: line, Err: errs.Field(errs.Invalid, "reading_level", "a whole number from 1 to 16")}
	}
	m.ReadingLevel = level
	for i, item := range strings.Split(col("codes"), ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		sys, code, ok := strings.Cut(item, "|")
		if !ok {
			return Row{Line: line, Err: errs.Field(errs.Invalid, "codes["+strconv.Itoa(i)+"]", "want system|code")}
		}
		m.Codes = append(m.Codes, contract.Code{System: sys, Code: code})
	}
	return Row{Line: line, Material: m}
}

// ParseJSON reads an import file that is a JSON array of materials. Each element is
// decoded strictly (unknown fields are errors) and reported by the line it starts on.
func ParseJSON(r io.Reader) ([]Row, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "could not read the JSON file")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, errs.E(errs.Invalid, "a JSON import is an array of materials")
	}
	var rows []Row
	for dec.More() {
		if len(rows) >= MaxImportRows {
			return nil, errs.E(errs.TooLarge, "an import holds at most %d materials", MaxImportRows)
		}
		line := lineAt(body, dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errs.E(errs.Invalid, "malformed JSON at line %d", line)
		}
		strict := json.NewDecoder(bytes.NewReader(raw))
		strict.DisallowUnknownFields()
		var m Material
		if err := strict.Decode(&m); err != nil {
			rows = append(rows, Row{Line: line, Err: errs.E(errs.Invalid, "%s", strings.TrimPrefix(err.Error(), "json: "))})
			continue
		}
		rows = append(rows, Row{Line: line, Material: m})
	}
	if _, err := dec.Token(); err != nil {
		return nil, errs.E(errs.Invalid, "malformed JSON: the array is not closed")
	}
	return rows, nil
}

// lineAt is the 1-based line of the first value byte at or after off, skipping the
// whitespace and comma a decoder's offset can stand before.
func lineAt(body []byte, off int64) int {
	i := int(off)
	for i < len(body) && strings.IndexByte(" \t\r\n,", body[i]) >= 0 {
		i++
	}
	return bytes.Count(body[:min(i, len(body))], []byte("\n")) + 1
}

// Describe is a one-line summary of a report, for logs.
func (r Report) Describe() string {
	return fmt.Sprintf("imported=%v added=%d updated=%d unchanged=%d errors=%d",
		r.Imported, r.Added, r.Updated, r.Unchanged, len(r.Errors))
}
