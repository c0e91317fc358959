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
	counts := []struct {
		field string
		v     *int64
	}{
		{"allowed_charges_cents", f.AllowedChargesCents}, {"medicaid_encounters", f.MedicaidEncounters},
		{"total_encounters", f.TotalEncounters}, {"net_allowable_cost_cents", f.NetAllowableCostCents},
		{"paid_before_cents", f.PaidBeforeCents}, {"discharges", f.Discharges},
		{"medicare_part_a_days", f.MedicarePartADays}, {"medicare_part_c_days", f.MedicarePartCDays},
		{"total_inpatient_days", f.TotalInpatientDays}, {"total_charges_cents", f.TotalChargesCents},
		{"charity_charges_cents", f.CharityChargesCents}, {"reasonable_costs_cents", f.ReasonableCostsCents},
	}
	for _, c := range counts {
		if c.v != nil && *c.v < 0 {
			return invalid(c.field, "must not be negative")
		}
	}
	switch {
	case f.MedicaidEncounters != nil && f.TotalEncounters != nil && *f.MedicaidEncounters > *f.TotalEncounters:
		return invalid("medicaid_encounters", "more than total_encounters")
	case f.TotalInpatientDays != nil && deref64(f.MedicarePartADays)+deref64(f.MedicarePartCDays) > *f.TotalInpatientDays:
		return invalid("medicare_part_a_days", "Part A and Part C days together exceed total_inpatient_days")
	case f.TotalChargesCents != nil && f.CharityChargesCents != nil && *f.CharityChargesCents >= *f.TotalChargesCents:
		return invalid("charity_charges_cents", "must be below total_charges_cents")
	case p.Entity.Kind != contract.EntityCCN && hospitalFigure(f) != "":
		return invalid(hospitalFigure(f), "a hospital figure: give it on a hospital's (ccn) inputs")
	case p.Entity.Kind == contract.EntityCCN && professionalFigure(f) != "":
		return invalid(professionalFigure(f), "a professional's figure: give it on a clinician's (npi) inputs")
	}
	return nil
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

// hospitalFigure names the first hospital-only figure given, or "".
func hospitalFigure(f contract.PaymentFigures) string {
	switch {
	case f.Discharges != nil:
		return "discharges"
	case f.MedicarePartADays != nil:
		return "medicare_part_a_days"
	case f.MedicarePartCDays != nil:
		return "medicare_part_c_days"
	case f.TotalInpatientDays != nil:
		return "total_inpatient_days"
	case f.TotalChargesCents != nil:
		return "total_charges_cents"
	case f.CharityChargesCents != nil:
		return "charity_charges_cents"
	case f.ReasonableCostsCents != nil:
		return "reasonable_costs_cents"
	}
	return ""
}

// professionalFigure names the first professional-only figure given, or "".
func professionalFigure(f contract.PaymentFigures) string {
	switch {
	case f.AllowedChargesCents != nil:
		return "allowed_charges_cents"
	case f.HPSA != nil:
		return "hpsa"
	case f.ParticipationYear != 0:
		return "participation_year"
	case f.MedicaidEncounters != nil:
		return "medicaid_encounters"
	case f.TotalEncounters != nil:
		return "total_encounters"
	case f.Pediatrician != nil:
		return "pediatrician"
	case f.NetAllowableCostCents != nil:
		return "net_allowable_cost_cents"
	case f.PaidBeforeCents != nil:
		return "paid_before_cents"
	}
	return ""
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
