package record

import (
	"fmt"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// PaymentInputs are a reporting entity's owner-entered incentive-payment figures for
// one payment year (cost report, claims and patient-volume figures no event yields);
// reporting computes the incentive amounts from them (docs/payments.md).
type PaymentInputs struct {
	resource.Meta
	Entity contract.Entity `json:"entity"`
	Year   int             `json:"year"`
	contract.PaymentFigures
}

// The payment years an incentive can be paid in: the first Medicare and Medicaid
// payments were for 2011, the last Medicaid EP payments for 2021.
const (
	firstPaymentYear = 2011
	lastPaymentYear  = 2021
)

func (p *PaymentInputs) validate() error {
	f := p.PaymentFigures
	err := first(
		entity("entity", p.Entity),
		paymentEntity("entity", p.Entity),
		yearIn("year", p.Year, firstPaymentYear, lastPaymentYear),
		oneOf("program", f.Program, contract.IncentiveMedicare, contract.IncentiveMedicaid),
	)
	if err != nil {
		return err
	}
	if p.Entity.Kind == contract.EntityCCN && f.Program != contract.IncentiveMedicare {
		return invalid("program", "a hospital's figures are for the Medicare formula (medicare)")
	}
	if f.FirstPaymentYear != 0 {
		if err := yearIn("first_payment_year", f.FirstPaymentYear, firstPaymentYear, p.Year); err != nil {
			return err
		}
	}
	if f.ParticipationYear != 0 && (f.ParticipationYear < 1 || f.ParticipationYear > 6) {
		return invalid("participation_year", "must be 1–6")
	}
	for _, g := range figures(f) {
		switch {
		case g.count != nil && *g.count < 0:
			return invalid(g.field, "must not be negative")
		case g.given && g.hospital && p.Entity.Kind != contract.EntityCCN:
			return invalid(g.field, "a hospital figure: give it on a hospital's (ccn) inputs")
		case g.given && !g.hospital && p.Entity.Kind == contract.EntityCCN:
			return invalid(g.field, "a professional's figure: give it on a clinician's (npi) inputs")
		}
	}
	switch {
	case f.MedicaidEncounters != nil && f.TotalEncounters != nil && *f.MedicaidEncounters > *f.TotalEncounters:
		return invalid("medicaid_encounters", "more than total_encounters")
	case f.TotalInpatientDays != nil && deref64(f.MedicarePartADays)+deref64(f.MedicarePartCDays) > *f.TotalInpatientDays:
		return invalid("medicare_part_a_days", "Part A and Part C days together exceed total_inpatient_days")
	case f.TotalChargesCents != nil && f.CharityChargesCents != nil && *f.CharityChargesCents >= *f.TotalChargesCents:
		return invalid("charity_charges_cents", "must be below total_charges_cents")
	}
	return nil
}

// figure is one payment figure as validation sees it: its JSON field, whether it was
// given, its value when it is a count or amount, and whose it is.
type figure struct {
	field    string
	given    bool
	count    *int64
	hospital bool // a hospital's (cost report) figure, else a professional's
}

// figures lists the figures of f in field order.
func figures(f contract.PaymentFigures) []figure {
	pro := func(field string, v *int64) figure { return figure{field: field, given: v != nil, count: v} }
	hosp := func(field string, v *int64) figure {
		return figure{field: field, given: v != nil, count: v, hospital: true}
	}
	return []figure{
		pro("allowed_charges_cents", f.AllowedChargesCents),
		{field: "hpsa", given: f.HPSA != nil},
		{field: "participation_year", given: f.ParticipationYear != 0},
		pro("medicaid_encounters", f.MedicaidEncounters),
		pro("total_encounters", f.TotalEncounters),
		{field: "pediatrician", given: f.Pediatrician != nil},
		pro("net_allowable_cost_cents", f.NetAllowableCostCents),
		pro("paid_before_cents", f.PaidBeforeCents),
		hosp("discharges", f.Discharges),
		hosp("medicare_part_a_days", f.MedicarePartADays),
		hosp("medicare_part_c_days", f.MedicarePartCDays),
		hosp("total_inpatient_days", f.TotalInpatientDays),
		hosp("total_charges_cents", f.TotalChargesCents),
		hosp("charity_charges_cents", f.CharityChargesCents),
		hosp("reasonable_costs_cents", f.ReasonableCostsCents),
	}
}

// paymentEntity admits the entities incentives are paid to: a professional (npi) or a
// hospital or CAH (ccn). A group's clinicians are paid one by one.
func paymentEntity(field string, e contract.Entity) error {
	if e.Kind != contract.EntityNPI && e.Kind != contract.EntityCCN {
		return invalid(field, "incentives are paid to a clinician (npi) or a hospital (ccn)")
	}
	return nil
}

func yearIn(field string, y, lo, hi int) error {
	if y < lo || y > hi {
		return invalid(field, "must be %d–%d", lo, hi)
	}
	return nil
}

func deref64(v *int64) int64 {
	if v == nil {
		return 0
	}
	return *v
}

// definePayment defines the payment inputs: one entry per entity and payment year
// (the natural key), keyed on the topic by the entity, "kind:id"; list them with
// ?entity=kind:id.
func (s *Service) definePayment() {
	s.PaymentInputs = resource.New(s.store, resource.Def[PaymentInputs]{
		Name: "payment inputs", Path: "payment-inputs", Table: "payment_inputs", Topic: contract.TopicPaymentInputs,
		Recorded: contract.PaymentInputsRecorded, Corrected: contract.PaymentInputsCorrected,
		Deleted: contract.PaymentInputsDeleted,
		Subject: func(p *PaymentInputs) string { return p.Entity.String() }, SubjectField: "entity",
		// Clinical time: the start of the payment year the figures are for.
		At:       func(p *PaymentInputs) time.Time { return time.Date(p.Year, time.January, 1, 0, 0, 0, 0, time.UTC) },
		Key:      func(p *PaymentInputs) string { return fmt.Sprintf("%s/%d", p.Entity, p.Year) },
		KeyField: "year",
		Validate: (*PaymentInputs).validate,
		Payload: func(p *PaymentInputs) any {
			return contract.PaymentInputs{PaymentInputsID: p.ID, Entity: p.Entity, Year: p.Year, PaymentFigures: p.PaymentFigures}
		},
		Ref: func(p *PaymentInputs) any { return contract.PaymentInputsRef{PaymentInputsID: p.ID, Entity: p.Entity} },
	})
}
