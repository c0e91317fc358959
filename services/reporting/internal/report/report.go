// Package report is the reporting service's report model: for one entity, program,
// performance year and period, every measure's numbers, the rule book's verdict on
// them (status, reason, threshold, points), the patient (or object) lists behind each
// number with the reason each member is in or out, the score, the money it earns or
// costs with its explanation, and the provenance that makes the report evidence:
// when it was generated, how current its data was, the measure-logic version and the
// log positions (topic, partition, offset) it was computed at.
//
// A Report is built from an Input by Build, which runs the rule book, so a report's
// verdicts always follow from its numbers; Check re-derives them for a report that
// arrives from outside. Exports (package export) and attestations (package attest)
// are made from a Report and never look anywhere else. The package does no I/O and
// reads no clock: times come in with the input.
//
// Lists carry opaque patient IDs and the IDs of the inputs that decided each
// membership, never PHI, so a report may be logged by ID, hashed and exported.
package report

import (
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/reporting/internal/money"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// Report is one entity's measures, verdicts, score and money for one period.
type Report struct {
	Program    rulebook.Program    `json:"program"`
	Year       int                 `json:"year"`
	Entity     contract.Entity     `json:"entity"`
	EntityType rulebook.EntityType `json:"entity_type"`
	Period     Period              `json:"period"`
	FirstYear  bool                `json:"first_year,omitempty"` // first year demonstrating meaningful use (period rule)
	// CEHRTID is the CMS EHR Certification ID (CHPL) the entity used; QPP and QRDA
	// III submissions for MIPS PI need it.
	CEHRTID string `json:"cehrt_id,omitempty"`

	GeneratedAt time.Time `json:"generated_at"`
	// DataAsOf is the newest event time the numbers include: "data current as of".
	DataAsOf time.Time `json:"data_as_of"`
	// LogicVersion names the measure logic (catalog and rule book) that computed it.
	LogicVersion string `json:"logic_version"`
	// Positions are the log offsets the numbers were computed at, one per topic
	// partition read; recomputing from the log up to them gives the same numbers.
	Positions []Position `json:"positions"`

	Measures   []Measure                  `json:"measures"`
	Objectives []rulebook.ObjectiveResult `json:"objectives,omitempty"`
	Score      *rulebook.Score            `json:"score,omitempty"`
	Pass       bool                       `json:"pass"`
	Failures   []string                   `json:"failures,omitempty"`
	Steps      []string                   `json:"steps,omitempty"`
	Notes      []string                   `json:"notes,omitempty"`
	Money      *Money                     `json:"money,omitempty"`
	// Incentive is the EHR incentive payment the period earns (Medicare or Medicaid
	// EP, Medicare hospital, CAH), computed from the entity's payment inputs; Money
	// is then the payment adjustment, when one applies as well.
	Incentive *Money `json:"incentive,omitempty"`
}

// Period is the reporting period, both days included, as YYYY-MM-DD.
type Period struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Position is how far one topic partition had been read when a report was computed.
type Position struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"` // the next offset to read: every event below it is included
}

// Kind is how a measure is reported.
type Kind string

// The kinds of measure.
const (
	Proportion Kind = "proportion" // numerator / denominator
	YesNo      Kind = "yes-no"     // an attestation
)

// Measure is one measure of a report: what was reported and what the rule book made
// of it.
type Measure struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Objective string `json:"objective"`
	Kind      Kind   `json:"kind"`
	Role      string `json:"role"`

	// What was reported. Reported is false for a measure the entity did not send
	// (an optional one left out, or a required one missing). A claimed exclusion
	// replaces the measure.
	Reported    bool       `json:"reported"`
	Numerator   int64      `json:"numerator"`
	Denominator int64      `json:"denominator"`
	Answer      *bool      `json:"answer,omitempty"`
	Exclusion   string     `json:"exclusion,omitempty"`
	Volume      *int64     `json:"volume,omitempty"` // the count a volume-based exclusion is judged on
	Engagement  Engagement `json:"engagement,omitempty"`

	// The rule book's verdict.
	Status    rulebook.Status `json:"status"`
	Reason    string          `json:"reason"`
	Percent   string          `json:"percent,omitempty"` // the portal percentage, "40.01"
	Threshold string          `json:"threshold"`
	MaxPoints string          `json:"max_points,omitempty"`
	Points    int64           `json:"points"`
	Formula   string          `json:"formula,omitempty"`

	// Members are the patients (or counted objects) behind the numbers, with the
	// reason each is in or out. When present their counts equal the numbers.
	Members []Member `json:"members,omitempty"`
}

// Engagement is a public health registry measure's active-engagement level.
type Engagement string

// The engagement levels (QPP 2023+: measure IDs suffixed _PRE and _PROD).
const (
	PreProduction Engagement = "pre-production" // pre-production and validation
	Production    Engagement = "production"     // validated data production
)

// Member is one patient (or counted object) a measure considered.
type Member struct {
	PatientID     string `json:"patient_id"`
	Object        string `json:"object,omitempty"` // the counted object's ID; "" for unique-patient measures
	InDenominator bool   `json:"in_denominator"`
	InNumerator   bool   `json:"in_numerator"`
	Denominator   Reason `json:"denominator"`        // why it is, or is not, in the denominator
	Numerator     Reason `json:"numerator,omitzero"` // why it is, or is not, in the numerator
	Via           string `json:"via,omitempty"`      // for a group: the clinician whose evaluation decided it
}

// Reason explains one decision about a member: which input and which rule. Notes
// carry IDs, dates and rule names only, never PHI.
type Reason struct {
	Code string    `json:"code"`          // counted, out-of-period, not-eligible, met, missing, late, …
	Ref  string    `json:"ref,omitempty"` // the ID of the input that decided it
	At   time.Time `json:"at,omitzero"`   // when that input happened
	Note string    `json:"note,omitempty"`
}

// Money is what the outcome earns or costs, with how it was computed (package money).
type Money struct {
	Kind        string            `json:"kind"`         // incentive, adjustment or mips
	PaymentYear int               `json:"payment_year"` // the year the payment or adjustment applies to
	Outcome     string            `json:"outcome"`      // in words: "incentive earned", "2% adjustment avoided", …
	Amount      *money.Cents      `json:"amount,omitempty"`
	Percent     string            `json:"percent,omitempty"`
	Explanation money.Explanation `json:"explanation"`
}

// Measure returns the report's measure with the given ID.
func (r Report) Measure(id string) (Measure, bool) {
	i := slices.IndexFunc(r.Measures, func(m Measure) bool { return m.ID == id })
	if i < 0 {
		return Measure{}, false
	}
	return r.Measures[i], true
}

// MemberCount is how many members the report's lists hold, over all measures.
func (r Report) MemberCount() int {
	n := 0
	for _, m := range r.Measures {
		n += len(m.Members)
	}
	return n
}
