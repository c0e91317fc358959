// Package measure is the measure catalog of the metrics service and the pure functions
// that evaluate it: every Meaningful Use / Promoting Interoperability measure, by
// program × performance year × entity kind, and for one entity, measure and period
// the numerator and denominator membership of each patient (or counted object) with
// the input that put it in or kept it out.
//
// The catalog is data: a Measure states its unit, its denominator and numerator rules,
// the window its numerator actions may fall in, its timeliness rule, its threshold,
// its variants and its sources. A new performance year is a new row (or a wider year
// span) in a catalog table, plus a small new Rule type only when CMS invents a new
// way of counting; last year's rows and rules are never edited for it.
//
// Evaluation is pure and exact: Evaluate reads a slice of per-patient timelines
// (Patient) and returns a Result; it does no I/O, keeps no state, and compares
// thresholds with integer arithmetic. The caller (the event consumers, the ONC deck
// loader) builds the timelines; nothing here knows about Kafka or databases.
//
// Spec references in comments ("§2.1") are to the team's measure specification; the
// catalog itself cites the primary and secondary sources of every measure, and
// docs/measures.md is generated from it.
package measure

import (
	"fmt"

	"github.com/attest-ehr/attest/libs/contract"
)

// Program is the measure set a provider attests to in a year. Medicare and Medicaid
// share a program where their measures are the same; where they differ (Stage 3's
// numerator windows, hospital scoring from 2019) they are separate programs.
type Program string

// The programs.
const (
	Stage1         Program = "mu-stage1"          // EHR Incentive Programs Stage 1, 2011–2014
	Stage2         Program = "mu-stage2"          // EHR Incentive Programs Stage 2, 2014
	ModifiedStage2 Program = "mu-modified-stage2" // "2015 through 2017" (Modified Stage 2), 2015–2018
	Stage3         Program = "mu-stage3"          // Stage 3: Medicare hospitals 2017–2018, Medicaid 2017–2021
	HospitalPI     Program = "medicare-pi-hospital"
	MIPS           Program = "mips-pi"            // MIPS ACI (2017) / Promoting Interoperability (2018+)
	MIPSTransition Program = "mips-pi-transition" // ACI/PI transition measures for 2014 Edition CEHRT, 2017–2018
)

// Programs lists every program in the catalog, oldest first.
func Programs() []Program {
	return []Program{Stage1, Stage2, ModifiedStage2, Stage3, HospitalPI, MIPS, MIPSTransition}
}

// Title is the program's name as CMS uses it.
func (p Program) Title() string {
	switch p {
	case Stage1:
		return "Meaningful Use Stage 1"
	case Stage2:
		return "Meaningful Use Stage 2"
	case ModifiedStage2:
		return "Modified Stage 2 (2015 through 2017, extended to 2018)"
	case Stage3:
		return "Meaningful Use Stage 3 / Medicaid Promoting Interoperability"
	case HospitalPI:
		return "Medicare Promoting Interoperability Program (eligible hospitals and CAHs)"
	case MIPS:
		return "MIPS Advancing Care Information / Promoting Interoperability"
	case MIPSTransition:
		return "MIPS ACI / PI transition measures (2014 Edition CEHRT)"
	}
	return string(p)
}

// EntityKind is who reports a measure: the contract's entity kinds.
type EntityKind = string

// Entity kinds, as in libs/contract.
const (
	NPI    EntityKind = contract.EntityNPI    // an eligible professional, individually (MU)
	TINNPI EntityKind = contract.EntityTINNPI // a MIPS eligible clinician within one group (EC individual)
	TIN    EntityKind = contract.EntityTIN    // a MIPS group: its clinicians together, patients de-duplicated
	CCN    EntityKind = contract.EntityCCN    // an eligible hospital or CAH
)

// Kind is whether a measure is computed as a ratio or answered yes or no.
type Kind string

// The kinds of measure.
const (
	Ratio Kind = "ratio"  // numerator / denominator, with a percentage or "at least one" threshold
	YesNo Kind = "yes-no" // an attestation or a fact that holds or not (SRA done, CDS enabled, registry engaged)
)

// Unit is what a ratio measure counts.
type Unit string

// The units.
const (
	UniquePatients    Unit = "unique patients"
	OfficeVisits      Unit = "office visits"
	Prescriptions     Unit = "prescriptions"
	Orders            Unit = "orders"
	LabResults        Unit = "lab test results"
	ImagingResults    Unit = "imaging test results"
	TransitionsOut    Unit = "transitions of care and referrals (sent)"
	TransitionsIn     Unit = "transitions of care, referrals received and new patients"
	SummariesReceived Unit = "electronic summary of care records received"
	Requests          Unit = "patient requests"
	NoUnit            Unit = ""
)

// Years is an inclusive span of performance years.
type Years struct{ From, To int }

// Has reports whether y is in the span.
func (ys Years) Has(y int) bool { return ys.From <= y && y <= ys.To }

// String is "2019–2026", or "2014" for one year.
func (ys Years) String() string {
	if ys.From == ys.To {
		return fmt.Sprint(ys.From)
	}
	return fmt.Sprintf("%d–%d", ys.From, ys.To)
}

// Window is where a numerator action may fall, relative to the reporting period (§2.2).
type Window string

// The numerator windows.
const (
	// InPeriod: the action falls within the reporting or performance period
	// (MIPS and Medicare hospital PI from 2019; CMS: "constrained to the period").
	InPeriod Window = "within the period"
	// InCalendarYear: the action may fall outside a period shorter than a year, but
	// within its calendar year (Stage 3 / Medicaid; MIPS 2017–2018).
	InCalendarYear Window = "within the calendar year of the period"
	// YearToAttestation: not before the start of the reporting year and not after the
	// attestation (Stage 1 and 2, and Modified Stage 2 measures without a patient action).
	YearToAttestation Window = "from the start of the reporting year to the attestation"
	// BeforePeriodEnd: recorded at any time up to the end of the period (structured data
	// capture in Stage 1 and 2: a problem list entry made last year still counts).
	BeforePeriodEnd Window = "any time up to the end of the period"
)

// Variant is a way CMS lets a provider count a measure; the provider picks one and
// products must compute each (ONC general notes).
type Variant string

// The variants.
const (
	NoVariant          Variant = ""
	ControlledIncluded Variant = "controlled-substances-included"
	ControlledExcluded Variant = "controlled-substances-excluded"
)

// Measure is one catalog entry: a measure of one program for a span of years and a
// set of entity kinds.
type Measure struct {
	ID       string       // official ID (PI_EP_1) or the spec's proposed one (MS2-EP-08.1)
	Title    string       // CMS's name for it
	Program  Program      // the measure set it belongs to
	Years    Years        // the performance years it applies to, with these parameters
	Entities []EntityKind // who reports it
	Kind     Kind         // ratio or yes/no

	Unit        Unit   // what a ratio counts
	Denominator string // the denominator rule, in CMS's words
	Numerator   string // the numerator rule, in CMS's words
	Rule        Rule   // how a ratio's numerator and denominator are computed
	Check       Check  // how a yes/no measure is decided
	Window      Window // where numerator actions may fall
	Threshold   Threshold
	Variants    []Variant // allowed variants; empty when there is one way to count
	// Transitive: numerator actions for a unique-patient measure count for the same
	// NPI under every TIN it bills under (§2.4; ONC general notes: RT3–RT6).
	Transitive bool

	Required   bool     // must be reported (or excluded) for the program
	Bonus      bool     // counts only as a bonus
	Exclusions []string // exclusion IDs or conditions that replace the measure
	Sources    []string // source keys from the spec's key table (§9), most authoritative first
	Caveat     string   // what is not verified, or where sources disagree (⚠)
}

// Key names the measure for one year: "PI_PEA_1@2025".
func (m Measure) Key(year int) string { return fmt.Sprintf("%s@%d", m.ID, year) }

// For reports whether the measure applies to entity kind k.
func (m Measure) For(k EntityKind) bool {
	for _, e := range m.Entities {
		if e == k {
			return true
		}
	}
	return false
}

// HasVariant reports whether v is one of the measure's variants (NoVariant when it has none).
func (m Measure) HasVariant(v Variant) bool {
	if len(m.Variants) == 0 {
		return v == NoVariant
	}
	for _, x := range m.Variants {
		if x == v {
			return true
		}
	}
	return false
}
