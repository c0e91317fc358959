package export

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// Submission is a QPP Submissions API submission (spec §6.1) with one measurement
// set: the Promoting Interoperability (ACI in 2017) category.
type Submission struct {
	EntityType      string           `json:"entityType"` // individual or group
	TIN             string           `json:"taxpayerIdentificationNumber"`
	NPI             string           `json:"nationalProviderIdentifier,omitempty"` // individual only
	PerformanceYear int              `json:"performanceYear"`
	MeasurementSets []MeasurementSet `json:"measurementSets"`
}

// MeasurementSet is one category's measurements for a performance period.
type MeasurementSet struct {
	Category         string        `json:"category"`         // "pi" ("aci" for 2017)
	SubmissionMethod string        `json:"submissionMethod"` // electronicHealthRecord
	PerformanceStart string        `json:"performanceStart"`
	PerformanceEnd   string        `json:"performanceEnd"`
	CEHRTID          string        `json:"cehrtId"`
	ProgramName      string        `json:"programName"` // mips
	Measurements     []Measurement `json:"measurements"`
}

// Measurement is one measure's value: a boolean, or a proportion.
type Measurement struct {
	MeasureID string `json:"measureId"`
	Value     any    `json:"value"` // bool or Proportion
}

// Proportion is a proportion measure's value.
type Proportion struct {
	Numerator   int64 `json:"numerator"`
	Denominator int64 `json:"denominator"`
}

// cehrtID is the CMS EHR Certification ID: 15 characters, "C" fifth
// ("2025CXXXXXXXXXX", "0015CXXXXXXXXXX").
var cehrtID = regexp.MustCompile(`^[0-9A-Z]{4}C[0-9A-Z]{10}$`)

// QPP builds the report's QPP submission and validates it (ValidateQPP). Only MIPS
// reports have one; an individual (tin_npi) is submitted as "individual", a TIN as
// "group". A measure is sent as reported: its numbers, its answer, or — replacing it
// — its exclusion as a boolean measure; from 2023 a public health "yes" with an
// engagement level also sends <ID>_PRE or <ID>_PROD.
func QPP(r report.Report) (Submission, error) {
	if r.Program != rulebook.MIPS {
		return Submission{}, errs.Field(errs.Unprocessable, "program", "QPP submissions are for %s reports, not %s", rulebook.MIPS, r.Program)
	}
	s := Submission{PerformanceYear: r.Year}
	switch r.Entity.Kind {
	case contract.EntityTINNPI:
		tin, npi, _ := strings.Cut(r.Entity.ID, "/")
		s.EntityType, s.TIN, s.NPI = "individual", tin, npi
	case contract.EntityTIN:
		s.EntityType, s.TIN = "group", r.Entity.ID
	default:
		return Submission{}, errs.Field(errs.Unprocessable, "entity", "a QPP submission is by TIN/NPI (individual) or TIN (group), not %s", r.Entity.Kind)
	}
	set := MeasurementSet{Category: "pi", SubmissionMethod: "electronicHealthRecord", PerformanceStart: r.Period.From,
		PerformanceEnd: r.Period.To, CEHRTID: r.CEHRTID, ProgramName: "mips"}
	if r.Year == 2017 {
		set.Category = "aci"
	}
	for _, m := range r.Measures {
		switch {
		case !m.Reported:
		case m.Exclusion != "":
			set.Measurements = append(set.Measurements, Measurement{MeasureID: m.Exclusion, Value: true})
		case m.Kind == report.YesNo:
			set.Measurements = append(set.Measurements, Measurement{MeasureID: m.ID, Value: m.Answer != nil && *m.Answer})
			if r.Year >= 2023 && m.Engagement != "" {
				suffix := map[report.Engagement]string{report.PreProduction: "_PRE", report.Production: "_PROD"}[m.Engagement]
				set.Measurements = append(set.Measurements, Measurement{MeasureID: m.ID + suffix, Value: true})
			}
		default:
			set.Measurements = append(set.Measurements, Measurement{MeasureID: m.ID,
				Value: Proportion{Numerator: m.Numerator, Denominator: m.Denominator}})
		}
	}
	s.MeasurementSets = []MeasurementSet{set}
	if err := ValidateQPP(s); err != nil {
		return Submission{}, unprocessable(err)
	}
	return s, nil
}

// unprocessable turns a validation error about an export the report produced into
// errs.Unprocessable, keeping its field and message: the request was well formed,
// the report cannot be expressed in the format.
func unprocessable(err error) error {
	var e *errs.Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Kind = errs.Unprocessable
	return &c
}

// ValidateQPP checks a submission against the rules of spec §6.1 and the measure
// catalogue of its year: known entity type with well-formed TIN (and NPI for an
// individual); per set a known category, a CEHRT ID, performance dates inside the
// year with start ≤ end; every measure ID in the year's catalogue with a value of its
// metric type; no measure twice; numerator ≤ denominator and a zero denominator only
// with a zero numerator; a measure never with its own exclusion; an alternative never
// with a measure it substitutes. Errors name the field as a JSON path.
func ValidateQPP(s Submission) error {
	cat, err := qppCatalogue(s.PerformanceYear)
	if err != nil {
		return err
	}
	switch {
	case s.EntityType != "individual" && s.EntityType != "group":
		return errs.Field(errs.Invalid, "entityType", "must be individual or group")
	case !digitsN(s.TIN, 9):
		return errs.Field(errs.Invalid, "taxpayerIdentificationNumber", "must be 9 digits")
	case s.EntityType == "individual" && !digitsN(s.NPI, 10):
		return errs.Field(errs.Invalid, "nationalProviderIdentifier", "an individual needs a 10-digit NPI")
	case s.EntityType == "group" && s.NPI != "":
		return errs.Field(errs.Invalid, "nationalProviderIdentifier", "a group submission has no NPI")
	case len(s.MeasurementSets) == 0:
		return errs.Field(errs.Invalid, "measurementSets", "at least one measurement set is required")
	}
	for i, set := range s.MeasurementSets {
		if err := validateSet(fmt.Sprintf("measurementSets[%d]", i), s.PerformanceYear, set, cat); err != nil {
			return err
		}
	}
	return nil
}

func validateSet(path string, year int, set MeasurementSet, cat map[string]catalogueMeasure) error {
	wantCategory := "pi"
	if year == 2017 {
		wantCategory = "aci"
	}
	if set.Category != wantCategory {
		return errs.Field(errs.Invalid, path+".category", "must be %q for %d", wantCategory, year)
	}
	if !cehrtID.MatchString(set.CEHRTID) {
		return errs.Field(errs.Invalid, path+".cehrtId", "must be a 15-character CMS EHR Certification ID (e.g. 2025CXXXXXXXXXX)")
	}
	start, err1 := time.Parse(time.DateOnly, set.PerformanceStart)
	end, err2 := time.Parse(time.DateOnly, set.PerformanceEnd)
	switch {
	case err1 != nil || start.Year() != year:
		return errs.Field(errs.Invalid, path+".performanceStart", "must be a date (YYYY-MM-DD) in %d", year)
	case err2 != nil || end.Year() != year:
		return errs.Field(errs.Invalid, path+".performanceEnd", "must be a date (YYYY-MM-DD) in %d", year)
	case end.Before(start):
		return errs.Field(errs.Invalid, path+".performanceEnd", "is before performanceStart")
	}
	sent := make(map[string]bool, len(set.Measurements))
	for j, m := range set.Measurements {
		field := fmt.Sprintf("%s.measurements[%d]", path, j)
		cm, ok := cat[m.MeasureID]
		if !ok {
			return errs.Field(errs.Invalid, field+".measureId", "%q is not a %d PI measure in qpp-measures-data", m.MeasureID, year)
		}
		if sent[m.MeasureID] {
			return errs.Field(errs.Invalid, field+".measureId", "%s is sent twice", m.MeasureID)
		}
		sent[m.MeasureID] = true
		if err := checkValue(field+".value", cm.MetricType, m.Value); err != nil {
			return err
		}
	}
	for j, m := range set.Measurements {
		field := fmt.Sprintf("%s.measurements[%d].measureId", path, j)
		for _, ex := range cat[m.MeasureID].Exclusion {
			if sent[ex] {
				return errs.Field(errs.Invalid, field, "%s cannot be sent with its exclusion %s", m.MeasureID, ex)
			}
		}
		for _, other := range alternatives(m.MeasureID) {
			if sent[other] {
				return errs.Field(errs.Invalid, field, "%s cannot be sent with %s (QPP PiSectionValidator)", m.MeasureID, other)
			}
		}
	}
	return nil
}

// alternatives are the measures an alternative may not be combined with (QPP's
// PiSectionValidator: PI_HIE_5 excludes the HIE measures it replaces and their
// exclusions; PI_HIE_6, added in 2023, likewise and PI_HIE_5).
func alternatives(id string) []string {
	hie := []string{"PI_HIE_1", "PI_LVOTC_1", "PI_HIE_4", "PI_LVITC_2"}
	switch id {
	case "PI_HIE_5":
		return hie
	case "PI_HIE_6":
		return append(hie, "PI_HIE_5")
	}
	return nil
}

func checkValue(field, metric string, v any) error {
	switch metric {
	case "boolean":
		if _, ok := v.(bool); !ok {
			return errs.Field(errs.Invalid, field, "a boolean measure takes true or false")
		}
	case "proportion":
		p, ok := v.(Proportion)
		switch {
		case !ok:
			return errs.Field(errs.Invalid, field, "a proportion measure takes {numerator, denominator}")
		case p.Numerator < 0 || p.Denominator < 0:
			return errs.Field(errs.Invalid, field, "numerator and denominator must not be negative")
		case p.Numerator > p.Denominator:
			return errs.Field(errs.Invalid, field+".numerator", "must not exceed the denominator")
		}
	default:
		return errs.Field(errs.Invalid, field, "unsupported metric type %q", metric)
	}
	return nil
}

// UnmarshalJSON reads a measurement's value as a bool or a Proportion.
func (m *Measurement) UnmarshalJSON(b []byte) error {
	var raw struct {
		MeasureID string          `json:"measureId"`
		Value     json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	m.MeasureID = raw.MeasureID
	var flag bool
	if err := json.Unmarshal(raw.Value, &flag); err == nil {
		m.Value = flag
		return nil
	}
	var p Proportion
	if err := json.Unmarshal(raw.Value, &p); err != nil {
		return fmt.Errorf("measurement %s: value is neither a boolean nor a proportion", raw.MeasureID)
	}
	m.Value = p
	return nil
}

func digitsN(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

//go:embed catalog/*.json
var catalogFiles embed.FS

type catalogueMeasure struct {
	MeasureID   string   `json:"measureId"`
	MetricType  string   `json:"metricType"`
	IsRequired  bool     `json:"isRequired"`
	IsBonus     bool     `json:"isBonus"`
	Exclusion   []string `json:"exclusion"`
	Substitutes []string `json:"substitutes"`
}

// qppCatalogue returns the PI measures of a performance year by ID: 2017–2022 from
// CMS's qpp-measures-data 5.5.4, 2023–2026 from the spec (catalog/).
func qppCatalogue(year int) (map[string]catalogueMeasure, error) {
	name := "catalog/qpp-measures-2017-2022.json"
	if year >= 2023 {
		name = "catalog/qpp-measures-2023-2026.json"
	}
	b, err := catalogFiles.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("qpp catalogue: %w", err)
	}
	var f struct {
		Years map[string][]catalogueMeasure `json:"years"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("qpp catalogue %s: %w", name, err)
	}
	ms, ok := f.Years[strconv.Itoa(year)]
	if !ok {
		return nil, errs.Field(errs.Invalid, "performanceYear", "no QPP PI measure catalogue for %d (2017–2026)", year)
	}
	out := make(map[string]catalogueMeasure, len(ms))
	for _, m := range ms {
		out[m.MeasureID] = m
	}
	return out, nil
}

// QPPMeasureIDs lists the measure IDs of a year's catalogue, sorted; for tests and
// documentation.
func QPPMeasureIDs(year int) ([]string, error) {
	cat, err := qppCatalogue(year)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(cat))
	for id := range cat {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}
