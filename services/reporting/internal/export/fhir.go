package export

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
)

// MeasureReportType is the FHIR MeasureReport type an export carries.
type MeasureReportType string

// The MeasureReport types we export (FHIR R4 measure-report-type).
const (
	Summary     MeasureReportType = "summary"      // population counts only
	SubjectList MeasureReportType = "subject-list" // counts plus the patients behind them, as contained Lists
)

// MeasureURL is the canonical URL our MeasureReports name a measure by: a URN with
// the measure ID and year, since CMS publishes no FHIR Measure for PI measures.
func MeasureURL(id string, year int) string { return fmt.Sprintf("urn:attest:measure:%s:%d", id, year) }

// Bundle is a FHIR R4 Bundle of type collection holding one MeasureReport per
// reported proportion measure.
type Bundle struct {
	ResourceType string        `json:"resourceType"` // Bundle
	Type         string        `json:"type"`         // collection
	Timestamp    string        `json:"timestamp"`
	Entry        []BundleEntry `json:"entry"`
}

// BundleEntry is one entry of a Bundle.
type BundleEntry struct {
	FullURL  string        `json:"fullUrl"`
	Resource MeasureReport `json:"resource"`
}

// MeasureReport is the subset of FHIR R4 MeasureReport we produce.
type MeasureReport struct {
	ResourceType        string            `json:"resourceType"` // MeasureReport
	ID                  string            `json:"id"`
	Contained           []List            `json:"contained,omitempty"`
	Status              string            `json:"status"` // complete
	Type                MeasureReportType `json:"type"`
	Measure             string            `json:"measure"`
	Date                string            `json:"date"`
	Reporter            *Reference        `json:"reporter,omitempty"`
	Period              FHIRPeriod        `json:"period"`
	ImprovementNotation CodeableConcept   `json:"improvementNotation"`
	Group               []Group           `json:"group"`
}

// Reference is a FHIR Reference by identifier.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Identifier is a FHIR Identifier.
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// FHIRPeriod is a FHIR Period.
type FHIRPeriod struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// CodeableConcept is a FHIR CodeableConcept with codings.
type CodeableConcept struct {
	Coding []Coding `json:"coding"`
	Text   string   `json:"text,omitempty"`
}

// Coding is a FHIR Coding.
type Coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

// Group is a MeasureReport group: the populations and the score.
type Group struct {
	Population   []Population `json:"population"`
	MeasureScore *Quantity    `json:"measureScore,omitempty"`
}

// Population is one population's count and, for subject-list, its subjects.
type Population struct {
	Code           CodeableConcept `json:"code"`
	Count          int64           `json:"count"`
	SubjectResults *Reference      `json:"subjectResults,omitempty"`
}

// Quantity is a FHIR Quantity; the measure score is a proportion (0–1).
type Quantity struct {
	Value json.Number `json:"value"`
}

// List is a contained FHIR List of the patients in one population.
type List struct {
	ResourceType string      `json:"resourceType"` // List
	ID           string      `json:"id"`
	Status       string      `json:"status"` // current
	Mode         string      `json:"mode"`   // snapshot
	Entry        []ListEntry `json:"entry"`
}

// ListEntry is one item of a List.
type ListEntry struct {
	Item Reference `json:"item"`
}

const (
	populationSystem  = "http://terminology.hl7.org/CodeSystem/measure-population"
	improvementSystem = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
)

// MeasureReports builds the report's MeasureReports, one per reported proportion
// measure (yes/no attestations and exclusions have no populations). A subject-list
// report lists, in contained Lists, the patients of the denominator and numerator
// by their opaque IDs (Patient/<id>), which equal the counts.
func MeasureReports(r report.Report, typ MeasureReportType) Bundle {
	b := Bundle{ResourceType: "Bundle", Type: "collection", Timestamp: r.GeneratedAt.UTC().Format(time.RFC3339)}
	for _, m := range r.Measures {
		if !m.Reported || m.Kind != report.Proportion || m.Exclusion != "" {
			continue
		}
		mr := MeasureReport{
			ResourceType: "MeasureReport", ID: strings.ToLower(strings.ReplaceAll(m.ID, "_", "-")),
			Status: "complete", Type: typ, Measure: MeasureURL(m.ID, r.Year),
			Date: r.GeneratedAt.UTC().Format(time.RFC3339), Reporter: reporter(r.Entity),
			Period:              FHIRPeriod{Start: r.Period.From, End: r.Period.To},
			ImprovementNotation: CodeableConcept{Coding: []Coding{{System: improvementSystem, Code: "increase"}}},
		}
		g := Group{Population: []Population{
			population("initial-population", m.Denominator), population("denominator", m.Denominator),
			population("numerator", m.Numerator),
		}}
		if m.Denominator > 0 {
			g.MeasureScore = &Quantity{Value: json.Number(new(big.Rat).SetFrac64(m.Numerator, m.Denominator).FloatString(4))}
		}
		if typ == SubjectList {
			den, num := subjectLists(m)
			mr.Contained = []List{den, num}
			g.Population[0].SubjectResults = &Reference{Reference: "#" + den.ID}
			g.Population[1].SubjectResults = &Reference{Reference: "#" + den.ID}
			g.Population[2].SubjectResults = &Reference{Reference: "#" + num.ID}
		}
		mr.Group = []Group{g}
		b.Entry = append(b.Entry, BundleEntry{FullURL: "urn:attest:measurereport:" + mr.ID, Resource: mr})
	}
	return b
}

func population(code string, n int64) Population {
	return Population{Code: CodeableConcept{Coding: []Coding{{System: populationSystem, Code: code}}}, Count: n}
}

// subjectLists are the patients in the denominator and in the numerator. For
// object-counting measures a patient appears once per counted object, so the
// entries equal the counts.
func subjectLists(m report.Measure) (den, num List) {
	den = List{ResourceType: "List", ID: "denominator", Status: "current", Mode: "snapshot", Entry: []ListEntry{}}
	num = List{ResourceType: "List", ID: "numerator", Status: "current", Mode: "snapshot", Entry: []ListEntry{}}
	for _, mb := range m.Members {
		e := ListEntry{Item: Reference{Reference: "Patient/" + mb.PatientID}}
		if mb.InDenominator {
			den.Entry = append(den.Entry, e)
		}
		if mb.InNumerator {
			num.Entry = append(num.Entry, e)
		}
	}
	return den, num
}

// reporter identifies the entity: NPI, TIN or CCN as an Organization or
// Practitioner identifier.
func reporter(e contract.Entity) *Reference {
	switch e.Kind {
	case contract.EntityNPI:
		return &Reference{Identifier: &Identifier{System: "http://hl7.org/fhir/sid/us-npi", Value: e.ID}}
	case contract.EntityTIN:
		return &Reference{Identifier: &Identifier{System: "urn:oid:2.16.840.1.113883.4.2", Value: e.ID}}
	case contract.EntityCCN:
		return &Reference{Identifier: &Identifier{System: "urn:oid:2.16.840.1.113883.4.336", Value: e.ID}}
	case contract.EntityTINNPI:
		_, npi, _ := strings.Cut(e.ID, "/")
		return &Reference{Identifier: &Identifier{System: "http://hl7.org/fhir/sid/us-npi", Value: npi}, Display: "TIN/NPI " + e.ID}
	}
	return nil
}

// WriteMeasureReports writes the Bundle as JSON to w.
func WriteMeasureReports(w io.Writer, r report.Report, typ MeasureReportType) error {
	enc := json.NewEncoder(w)
	if err := enc.Encode(MeasureReports(r, typ)); err != nil {
		return fmt.Errorf("measurereport: %w", err)
	}
	return nil
}
