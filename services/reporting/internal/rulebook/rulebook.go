// Package rulebook is the reporting service's rule book: for each program, performance
// year and entity type, which measures count and how (required, optional, bonus,
// alternative, prerequisite), their thresholds, exclusions and where excluded points
// go, the objective rules ("attest all, meet 2", "meet N of M"), points per measure,
// the score formula, the minimum score and the reporting period rule. Evaluate turns
// per-measure numbers into met / not met / excluded with the reason, points, the total
// score and pass or fail, every step written out.
//
// The package is pure: no I/O, no clock, no globals that change. The books are data
// (books_*.go) read top to bottom against docs/scoring.md, which cites the sources.
// Arithmetic is exact (math/big rationals); the only roundings are the ones CMS
// applies, each in one named function (see rate.go).
//
// Measure IDs are the spec's: official QPP IDs (ACI_*, PI_*) for MIPS, the spec's own
// IDs for Meaningful Use stages (MS2-EP-06, S3-05.2, …) and EHPI_* for the Medicare
// hospital program, so the metrics engine's catalog and this book name measures alike.
package rulebook

import (
	"fmt"
	"slices"
	"strings"

	"github.com/attest-ehr/attest/libs/errs"
)

// Program is a CMS program (or MU stage) whose rules a Book holds.
type Program string

// The programs in the rule book.
const (
	// ModifiedStage2 is Meaningful Use "Modified Stage 2" (EHR Incentive Programs
	// 2015–2017, extended to 2018 by 42 CFR 495.22): every objective met or excluded.
	ModifiedStage2 Program = "mu-modified-stage-2"
	// Stage3 is Meaningful Use Stage 3 (optional 2017–2018, required from 2019;
	// Medicaid EPs and EHs through 2021): every objective met or excluded.
	Stage3 Program = "mu-stage-3"
	// HospitalPI is the Medicare Promoting Interoperability Program for eligible
	// hospitals and CAHs with performance-based scoring (2019 onwards).
	HospitalPI Program = "medicare-pi-hospital"
	// MIPS is the MIPS Advancing Care Information (2017–2018) / Promoting
	// Interoperability (2019 onwards) performance category.
	MIPS Program = "mips-pi"
)

// EntityType is who attests: a professional, a group, a hospital.
type EntityType string

// The entity types.
const (
	EP    EntityType = "ep"    // eligible professional; a MIPS individual clinician (TIN/NPI)
	Group EntityType = "group" // a MIPS group (TIN); scored like an individual
	EH    EntityType = "eh"    // eligible hospital (subsection (d) IPPS hospital)
	CAH   EntityType = "cah"   // critical access hospital
)

// Scoring is how a book turns measure results into an outcome.
type Scoring int

const (
	// MeetAll: Meaningful Use — every objective met or excluded; no points.
	MeetAll Scoring = iota + 1
	// Performance: points per measure = round(rate × max points), summed and capped
	// (hospital PI 2019+, MIPS PI 2019+).
	Performance
	// BasePerformanceBonus: MIPS ACI 2017–2018 — base score 50, performance score in
	// deciles up to 90, bonus, capped at 100.
	BasePerformanceBonus
)

// Kind is what a measure takes as input.
type Kind int

const (
	Proportion Kind = iota + 1 // numerator / denominator
	YesNo                      // a yes/no attestation
)

// Role is how a measure counts in its book.
type Role int

const (
	// Required: must be met (MU) or reported with at least one in the numerator,
	// or excluded; otherwise the entity fails (MU, hospital PI) or scores 0 (MIPS).
	Required Role = iota + 1
	// Optional: one of a choice within its objective ("meet N of M"); failing it
	// alone fails nothing.
	Optional
	// Bonus: adds points when met; never fails anything.
	Bonus
	// Alternative: may replace the measures it Substitutes (e.g. PI_HIE_5 for
	// PI_HIE_1 + PI_HIE_4); reporting both is invalid.
	Alternative
	// Prerequisite: a yes/no attestation that must be "yes" (or, for AnyAnswer,
	// answered) before anything is scored.
	Prerequisite
)

// Rule is what a measure must show to be met.
type Rule int

const (
	// MoreThan: the portal percentage (hundredths, see PortalPercent) is strictly
	// more than Threshold.Percent.
	MoreThan Rule = iota + 1
	// AtLeastOne: numerator ≥ 1.
	AtLeastOne
	// Yes: the attestation is "yes".
	Yes
	// AnyAnswer: the attestation must be made; "yes" and "no" both satisfy it
	// (SAFER Guides in their first years).
	AnyAnswer
	// Scored: a Performance-book proportion with no pass bar of its own beyond its
	// role (optional and bonus proportions); a required one is AtLeastOne.
	Scored
)

// Threshold is a measure's pass rule.
type Threshold struct {
	Rule    Rule
	Percent int // for MoreThan: whole percent, e.g. 40 for "more than 40%"
}

func (t Threshold) String() string {
	switch t.Rule {
	case MoreThan:
		return fmt.Sprintf("> %d%%", t.Percent)
	case AtLeastOne:
		return "≥ 1"
	case Yes:
		return "yes"
	case AnyAnswer:
		return "attested (yes or no)"
	case Scored:
		return "scored"
	}
	return "unknown"
}

// Exclusion is a reason an entity may be excused from a measure.
type Exclusion struct {
	ID        string // QPP exclusion ID (PI_LVPP_1) or the spec's wording key for MU
	Condition string // the condition, as CMS words it
	// FewerThan > 0 makes the exclusion volume-based: it holds only when the volume
	// (MeasureInput.Volume, else the measure's own denominator) is below it.
	FewerThan int64
}

// Measure is one measure in a book.
type Measure struct {
	ID        string
	Title     string
	Objective string // the Objective.ID it belongs to
	Kind      Kind
	Role      Role
	Threshold Threshold
	// Points is the measure's maximum points (Performance) or its performance
	// weight in percentage points (BasePerformanceBonus). Zero for MU books.
	Points int
	// Base marks an ACI 2017–2018 base-score measure (numerator ≥ 1 or excluded).
	Base        bool
	Exclusions  []Exclusion
	Substitutes []string // for an Alternative: the measures it replaces
}

// ObjectiveRule is how an objective is met from its measures.
type ObjectiveRule int

const (
	// AllMeasures: every measure of the objective met or excluded.
	AllMeasures ObjectiveRule = iota + 1
	// MeetN: at least min(N, measures not excluded) measures met; all excluded
	// makes the objective excluded. With ReportAll every measure must also be
	// reported (Stage 3 objectives 6 and 7: "attest to all three, meet two").
	MeetN
	// ScoredObjective: a points objective whose measures carry their own points.
	ScoredObjective
	// PublicHealth: a Performance objective whose yes/no measures share the
	// objective's Points: required members must each be yes or excluded; an
	// optional choice of N earns Points × yes/N (capped), exclusions filling the
	// choice when at least one is yes; any Bonus member "yes" earns BonusPoints once.
	PublicHealth
)

// Objective groups measures.
type Objective struct {
	ID          string
	Title       string
	Rule        ObjectiveRule
	N           int  // for MeetN and PublicHealth choices
	ReportAll   bool // MeetN: every measure must be reported
	Points      int  // PublicHealth: the objective's points
	BonusPoints int  // PublicHealth: points for any bonus registry "yes"
}

// Redistribution says where an excluded measure's points go. From is a measure
// ID, or an objective ID meaning "every measure of that objective excluded". The
// points (its own plus any it received) are split equally among the To measures
// that are reported and not excluded; if none is, they are lost (and said so).
type Redistribution struct {
	From string
	To   []string
}

// Book is the rule book of one program, year and entity type.
type Book struct {
	Program  Program
	Year     int
	Entity   EntityType
	Scoring  Scoring
	Period   PeriodRule
	MinScore int // Performance: the minimum total to pass (hospital PI); 0 = none
	MaxScore int // the cap on the total (100)
	// CategoryWeight is MIPS PI's weight in the MIPS final score, in percent (25);
	// zero for other programs.
	CategoryWeight  int
	Objectives      []Objective
	Measures        []Measure
	Redistributions []Redistribution // in the order they are applied
	Notes           []string         // facts a reader of a result should know (⚠ items)
}

// Measure returns the book's measure with the given ID.
func (b *Book) Measure(id string) (Measure, bool) {
	i := slices.IndexFunc(b.Measures, func(m Measure) bool { return m.ID == id })
	if i < 0 {
		return Measure{}, false
	}
	return b.Measures[i], true
}

// Objective returns the book's objective with the given ID.
func (b *Book) Objective(id string) (Objective, bool) {
	i := slices.IndexFunc(b.Objectives, func(o Objective) bool { return o.ID == id })
	if i < 0 {
		return Objective{}, false
	}
	return b.Objectives[i], true
}

// builder builds a book; nil means the combination has no book.
type builder func(year int, entity EntityType) *Book

// builders maps each program to the function that builds its books. A function, not
// a mutable table, so no package state can change.
func builders(p Program) builder {
	switch p {
	case ModifiedStage2:
		return modifiedStage2
	case Stage3:
		return stage3
	case HospitalPI:
		return hospitalPI
	case MIPS:
		return mips
	}
	return nil
}

// Programs lists the programs the rule book knows.
func Programs() []Program { return []Program{ModifiedStage2, Stage3, HospitalPI, MIPS} }

// Lookup returns the book for a program, performance year and entity type. An
// unknown program, or a year or entity type the program does not cover, is an
// errs.Invalid error naming the field.
func Lookup(p Program, year int, e EntityType) (*Book, error) {
	build := builders(p)
	if build == nil {
		return nil, errs.Field(errs.Invalid, "program", "unknown program %q; known: %v", p, Programs())
	}
	switch e {
	case EP, Group, EH, CAH:
	default:
		return nil, errs.Field(errs.Invalid, "entity_type", "unknown entity type %q; known: ep, group, eh, cah", e)
	}
	b := build(year, e)
	if b == nil {
		return nil, errs.Field(errs.Invalid, "year", "%s has no rules for %s in %d", p, e, year)
	}
	return b, nil
}

// CatalogID is the catalog's ID of a rule-book measure: the same, but for Stage 3,
// whose catalog IDs name the entity type (S3-EP-05.1 for the book's S3-05.1).
func CatalogID(p Program, e EntityType, id string) string {
	if p == Stage3 && strings.HasPrefix(id, "S3-") {
		t := "EP"
		if e == EH || e == CAH {
			t = "EH"
		}
		return "S3-" + t + "-" + strings.TrimPrefix(id, "S3-")
	}
	return id
}
