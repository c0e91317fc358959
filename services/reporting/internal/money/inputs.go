package money

import (
	"fmt"
	"math/big"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
)

// Payee is who an incentive is paid to; it picks the formula.
type Payee string

// The payees.
const (
	Professional Payee = "ep"  // Medicare EP (42 CFR 495.102) or Medicaid EP (495.310)
	Hospital     Payee = "eh"  // Medicare hospital formula (SSA §1886(n))
	CriticalCare Payee = "cah" // CAH cost-based payment (SSA §1814(l)(3))
)

// IncentiveRequest is an incentive to compute for a payment year from the entity's
// owner-entered payment inputs (records.payment-inputs.v1).
type IncentiveRequest struct {
	Payee Payee
	Year  int // the payment year: the EHR reporting year (calendar for EPs, fiscal for hospitals)
	// PeriodEnd is the EHR reporting period's last day (decides sequestration).
	PeriodEnd time.Time
	Inputs    *contract.PaymentInputs // nil: none entered
}

// Incentive is a computed incentive payment and its program.
type Incentive struct {
	Program string // "Medicare EP", "Medicaid EP", "Medicare hospital", "CAH"
	Payment Payment
}

// Missing says that an incentive cannot be computed and which inputs it lacks (the
// JSON names of records.payment-inputs.v1), so the report can say what to enter.
type Missing struct {
	Program string
	Fields  []string
}

func (m *Missing) Error() string {
	return fmt.Sprintf("the %s incentive needs payment inputs: %v", m.Program, m.Fields)
}

// The last payment year of each incentive program.
const (
	lastMedicareEPYear       = 2016
	lastMedicaidEPYear       = 2021
	lastMedicareHospitalYear = 2016
	lastCAHYear              = 2015
)

// IncentiveFor computes the incentive of r from its payment inputs. It returns nil,
// nil when no incentive program pays for the year (after its last payment year), a
// *Missing error when inputs are absent, and an errs.Invalid error when the inputs
// contradict the payment year (e.g. a first payment year after it).
func IncentiveFor(r IncentiveRequest) (*Incentive, error) {
	in := r.Inputs
	program := contract.IncentiveMedicare
	if in != nil {
		program = in.Program
	}
	switch {
	case r.Payee == Professional && program == contract.IncentiveMedicaid:
		if r.Year > lastMedicaidEPYear {
			return nil, nil
		}
		return medicaidFromInputs(r)
	case r.Payee == Professional:
		if r.Year > lastMedicareEPYear {
			return nil, nil
		}
		return medicareEPFromInputs(r)
	case r.Payee == Hospital:
		if r.Year > lastMedicareHospitalYear {
			return nil, nil
		}
		return hospitalFromInputs(r)
	case r.Payee == CriticalCare:
		if r.Year > lastCAHYear {
			return nil, nil
		}
		return cahFromInputs(r)
	}
	return nil, nil
}

// need lists the required fields that are absent.
func need(fields ...any) []string {
	var out []string
	for i := 0; i+1 < len(fields); i += 2 {
		name := fields[i].(string)
		switch v := fields[i+1].(type) {
		case *int64:
			if v == nil {
				out = append(out, name)
			}
		case int:
			if v == 0 {
				out = append(out, name)
			}
		}
	}
	return out
}

func missing(program string, in *contract.PaymentInputs, fields ...any) error {
	if in == nil {
		return &Missing{Program: program, Fields: []string{"payment inputs for the year"}}
	}
	if m := need(fields...); len(m) > 0 {
		return &Missing{Program: program, Fields: m}
	}
	return nil
}

func medicareEPFromInputs(r IncentiveRequest) (*Incentive, error) {
	const program = "Medicare EP"
	in := r.Inputs
	if in == nil {
		return nil, missing(program, nil)
	}
	if err := missing(program, in, "first_payment_year", in.FirstPaymentYear, "allowed_charges_cents", in.AllowedChargesCents); err != nil {
		return nil, err
	}
	charges := Cents(*in.AllowedChargesCents)
	hpsa := in.HPSA != nil && *in.HPSA
	p, err := MedicareEP(MedicareEPInput{FirstPaymentYear: in.FirstPaymentYear, PaymentYear: r.Year,
		AllowedCharges: &charges, HPSA: hpsa, ReportingPeriodEnd: r.PeriodEnd})
	if err != nil {
		return nil, err
	}
	if in.HPSA == nil {
		p.Explanation.step("HPSA not given: taken as not in a HPSA")
	}
	return &Incentive{Program: program, Payment: p}, nil
}

// Medicaid patient volume (42 CFR 495.306): at least 30% Medicaid encounters over a
// continuous 90-day period; pediatricians qualify at 20% and are paid two-thirds
// below 30% (495.310(a)).
const srcVolume = "42 CFR 495.304(c) and 495.306 (Medicaid patient volume: at least 30%, pediatricians at least 20%; two-thirds payment for pediatricians from 20% to under 30%)"

func medicaidFromInputs(r IncentiveRequest) (*Incentive, error) {
	const program = "Medicaid EP"
	in := r.Inputs
	if in == nil {
		return nil, missing(program, nil)
	}
	if err := missing(program, in, "first_payment_year", in.FirstPaymentYear, "participation_year", in.ParticipationYear,
		"medicaid_encounters", in.MedicaidEncounters, "total_encounters", in.TotalEncounters); err != nil {
		return nil, err
	}
	pediatrician := in.Pediatrician != nil && *in.Pediatrician
	var volume *big.Rat
	if *in.TotalEncounters > 0 {
		volume = big.NewRat(*in.MedicaidEncounters, *in.TotalEncounters)
	}
	volumeStep := fmt.Sprintf("Medicaid patient volume = %d / %d encounters", *in.MedicaidEncounters, *in.TotalEncounters)
	if volume != nil {
		volumeStep += " = " + pct(new(big.Rat).Mul(volume, big.NewRat(100, 1))) + "%"
	}
	thirty, twenty := big.NewRat(30, 100), big.NewRat(20, 100)
	eligible := volume != nil && (volume.Cmp(thirty) >= 0 || pediatrician && volume.Cmp(twenty) >= 0)
	if !eligible {
		p := Payment{Year: r.Year}
		e := &p.Explanation
		e.Formula = "eligible when Medicaid patient volume ≥ 30% (pediatricians ≥ 20%)"
		e.Sources = []string{srcVolume}
		e.input("medicaid encounters", *in.MedicaidEncounters)
		e.input("total encounters", *in.TotalEncounters)
		e.input("pediatrician", pediatrician)
		e.Steps = append(e.Steps, volumeStep)
		e.step("below the %s threshold: not eligible for a Medicaid EP payment", map[bool]string{true: "20%", false: "30%"}[pediatrician])
		return &Incentive{Program: program, Payment: p}, nil
	}
	mi := MedicaidEPInput{ParticipationYear: in.ParticipationYear, FirstPaymentYear: in.FirstPaymentYear,
		PaymentYear: r.Year, Pediatric: pediatrician && volume.Cmp(thirty) < 0}
	if in.NetAllowableCostCents != nil {
		c := Cents(*in.NetAllowableCostCents)
		mi.NetAllowableCost = &c
	}
	if in.PaidBeforeCents != nil {
		mi.PaidBefore = Cents(*in.PaidBeforeCents)
	}
	p, err := MedicaidEP(mi)
	if err != nil {
		return nil, err
	}
	e := &p.Explanation
	e.input("medicaid encounters", *in.MedicaidEncounters)
	e.input("total encounters", *in.TotalEncounters)
	e.input("pediatrician", pediatrician)
	e.Steps = append([]string{volumeStep}, e.Steps...)
	e.Sources = append(e.Sources, srcVolume)
	if in.PaidBeforeCents == nil {
		e.step("paid before not given: taken as $0.00")
	}
	return &Incentive{Program: program, Payment: p}, nil
}

// share is the Medicare share inputs from payment inputs (Part C days default to 0).
func share(in *contract.PaymentInputs) MedicareShareInput {
	s := MedicareShareInput{PartADays: *in.MedicarePartADays, TotalDays: *in.TotalInpatientDays,
		TotalCharges: Cents(*in.TotalChargesCents), CharityCharges: Cents(*in.CharityChargesCents)}
	if in.MedicarePartCDays != nil {
		s.PartCDays = *in.MedicarePartCDays
	}
	return s
}

func shareFields(in *contract.PaymentInputs) []any {
	return []any{"medicare_part_a_days", in.MedicarePartADays, "total_inpatient_days", in.TotalInpatientDays,
		"total_charges_cents", in.TotalChargesCents, "charity_charges_cents", in.CharityChargesCents}
}

func hospitalFromInputs(r IncentiveRequest) (*Incentive, error) {
	const program = "Medicare hospital"
	in := r.Inputs
	if in == nil {
		return nil, missing(program, nil)
	}
	fields := append([]any{"first_payment_year", in.FirstPaymentYear, "discharges", in.Discharges}, shareFields(in)...)
	if err := missing(program, in, fields...); err != nil {
		return nil, err
	}
	p, err := MedicareHospital(HospitalInput{Discharges: *in.Discharges, Share: share(in), FirstPaymentYear: in.FirstPaymentYear,
		PaymentYear: r.Year, ReportingPeriodEnd: r.PeriodEnd})
	if err != nil {
		return nil, err
	}
	return &Incentive{Program: program, Payment: p}, nil
}

func cahFromInputs(r IncentiveRequest) (*Incentive, error) {
	const program = "CAH"
	in := r.Inputs
	if in == nil {
		return nil, missing(program, nil)
	}
	fields := append([]any{"first_payment_year", in.FirstPaymentYear, "reasonable_costs_cents", in.ReasonableCostsCents}, shareFields(in)...)
	if err := missing(program, in, fields...); err != nil {
		return nil, err
	}
	p, err := CAH(CAHInput{ReasonableCosts: Cents(*in.ReasonableCostsCents), Share: share(in),
		FirstPaymentYear: in.FirstPaymentYear, PaymentYear: r.Year, ReportingPeriodEnd: r.PeriodEnd})
	if err != nil {
		return nil, err
	}
	return &Incentive{Program: program, Payment: p}, nil
}
