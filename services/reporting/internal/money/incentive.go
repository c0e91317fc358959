package money

import (
	"fmt"
	"math/big"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
)

// Medicare EP incentive (42 CFR 495.102): 75% of the EP's Medicare Part B allowed
// charges for covered professional services in the payment year, limited by a cap
// that depends on the first payment year.

// medicareEPCaps is the annual cap in dollars by first payment year, then payment
// year (42 CFR 495.102(b); starting after 2014 earns nothing).
func medicareEPCap(first, year int) (int64, bool) {
	caps := map[int][]int64{
		2011: {18000, 12000, 8000, 4000, 2000},
		2012: {18000, 12000, 8000, 4000, 2000},
		2013: {15000, 12000, 8000, 4000},
		2014: {12000, 8000, 4000},
	}
	c, ok := caps[first]
	i := year - first
	if !ok || i < 0 || i >= len(c) {
		return 0, false
	}
	return c[i], true
}

// MedicareEPInput is what one Medicare EP incentive payment depends on.
type MedicareEPInput struct {
	FirstPaymentYear int // 2011–2014
	PaymentYear      int // first payment year … 2016
	// AllowedCharges is the EP's estimated Part B allowed charges for covered
	// professional services in the payment year; nil means enough to reach the cap.
	AllowedCharges *Cents
	// HPSA: the EP furnished more than 50% of covered services in a geographic HPSA
	// (designated as of Dec 31 of the year before the payment year): cap + 10%.
	HPSA bool
	// ReportingPeriodEnd decides sequestration; zero means Dec 31 of the payment year.
	ReportingPeriodEnd time.Time
	Nominal            bool // statutory amount, sequestration not applied
}

const (
	srcEP   = "42 CFR 495.102 (Medicare EP incentive: 75% of allowed charges, annual caps by first payment year, HPSA +10%)"
	srcHPSA = "42 CFR 495.102(c) and 495.100 (geographic HPSA as of December 31 of the prior year)"
)

// MedicareEP is one year's Medicare EP incentive payment.
func MedicareEP(in MedicareEPInput) (Payment, error) {
	if in.FirstPaymentYear < 2011 || in.FirstPaymentYear > 2016 {
		return Payment{}, errs.Field(errs.Invalid, "first_payment_year", "must be 2011–2016")
	}
	if in.PaymentYear < in.FirstPaymentYear || in.PaymentYear > 2016 {
		return Payment{}, errs.Field(errs.Invalid, "payment_year", "must be from the first payment year to 2016")
	}
	if in.AllowedCharges != nil && *in.AllowedCharges < 0 {
		return Payment{}, errs.Field(errs.Invalid, "allowed_charges", "must not be negative")
	}
	p := Payment{Year: in.PaymentYear}
	e := &p.Explanation
	e.Formula = "min(75% × allowed charges, cap(first year, payment year) × (110% if HPSA)) × (98% if sequestered)"
	e.Sources = []string{srcEP}
	e.input("first payment year", in.FirstPaymentYear)
	e.input("payment year", in.PaymentYear)
	e.input("HPSA", in.HPSA)
	capDollars, ok := medicareEPCap(in.FirstPaymentYear, in.PaymentYear)
	if !ok {
		e.step("no cap for first payment year %d in payment year %d: no payment (schedules end in 2016; starting after 2014 earns nothing)", in.FirstPaymentYear, in.PaymentYear)
		return p, nil
	}
	limit := big.NewRat(capDollars, 1)
	e.step("cap for first payment year %d, payment year %d (year %d of the schedule) = %s", in.FirstPaymentYear, in.PaymentYear, in.PaymentYear-in.FirstPaymentYear+1, Dollars(capDollars))
	if in.HPSA {
		limit.Mul(limit, big.NewRat(110, 100))
		e.step("HPSA: cap × 110%% = %s", dollars(limit))
		e.Sources = append(e.Sources, srcHPSA)
	}
	amount := limit
	if in.AllowedCharges != nil {
		e.input("allowed charges", *in.AllowedCharges)
		share := new(big.Rat).Mul(in.AllowedCharges.rat(), big.NewRat(75, 100))
		e.step("75%% × allowed charges %s = %s", *in.AllowedCharges, dollars(share))
		if share.Cmp(limit) < 0 {
			amount = share
		}
		e.step("min(%s, %s) = %s", dollars(share), dollars(limit), dollars(amount))
	} else {
		e.step("allowed charges not given: taken as enough to reach the cap (≥ %s)", dollars(new(big.Rat).Quo(limit, big.NewRat(3, 4))))
	}
	p.Amount = settle(e, amount, in.ReportingPeriodEnd, time.Date(in.PaymentYear, time.December, 31, 0, 0, 0, 0, time.UTC), in.Nominal)
	return p, nil
}

// MedicareEPSchedule is every payment of an EP who starts in firstYear and
// qualifies every year at the cap: the golden totals 44,000 / 44,000 / 39,000 /
// 24,000 nominal by first year 2011–2014.
func MedicareEPSchedule(firstYear int, hpsa, nominal bool) (Schedule, error) {
	var s Schedule
	for y := firstYear; y <= 2016; y++ {
		p, err := MedicareEP(MedicareEPInput{FirstPaymentYear: firstYear, PaymentYear: y, HPSA: hpsa, Nominal: nominal})
		if err != nil {
			return Schedule{}, err
		}
		if p.Amount > 0 {
			s.add(p)
		}
	}
	return s, nil
}

// Medicaid EP incentive (42 CFR 495.310): 85% of the net average allowable cost,
// capped at $25,000 in the first year and $10,000 after ($21,250 / $8,500 paid);
// pediatricians with 20–30% Medicaid volume get two-thirds ($14,167 / $5,667, at
// most $42,500 in all); at most six years, not necessarily consecutive.

// MedicaidEPInput is what one Medicaid EP payment depends on.
type MedicaidEPInput struct {
	ParticipationYear int  // 1–6
	FirstPaymentYear  int  // 2011–2016
	PaymentYear       int  // first payment year … 2021
	Pediatric         bool // pediatrician qualifying with 20–30% Medicaid patient volume
	// NetAllowableCost is the net average allowable cost of CEHRT for the year; nil
	// means at or above the maximum ($25,000 / $10,000), as states paid in practice.
	NetAllowableCost *Cents
	PaidBefore       Cents // Medicaid EHR incentive payments already received
}

const srcMedicaid = "42 CFR 495.310(a) and 495.308 (85% of net average allowable cost; $25,000 / $10,000 maxima; pediatric two-thirds: $14,167 / $5,667, $42,500 in all; no payments after CY2021)"

// MedicaidEP is one year's Medicaid EP incentive payment (never sequestered).
func MedicaidEP(in MedicaidEPInput) (Payment, error) {
	switch {
	case in.ParticipationYear < 1 || in.ParticipationYear > 6:
		return Payment{}, errs.Field(errs.Invalid, "participation_year", "must be 1–6")
	case in.FirstPaymentYear < 2011 || in.FirstPaymentYear > 2016:
		return Payment{}, errs.Field(errs.Invalid, "first_payment_year", "must be 2011–2016 (no new Medicaid EPs after 2016)")
	case in.PaymentYear < in.FirstPaymentYear || in.PaymentYear > 2021:
		return Payment{}, errs.Field(errs.Invalid, "payment_year", "must be from the first payment year to 2021")
	case in.PaymentYear-in.FirstPaymentYear < in.ParticipationYear-1:
		return Payment{}, errs.Field(errs.Invalid, "participation_year", "cannot exceed the years since the first payment year")
	case in.PaidBefore < 0 || in.NetAllowableCost != nil && *in.NetAllowableCost < 0:
		return Payment{}, errs.Field(errs.Invalid, "paid_before", "amounts must not be negative")
	}
	p := Payment{Year: in.PaymentYear}
	e := &p.Explanation
	e.Formula = "min(85% × min(net average allowable cost, maximum), cap, aggregate cap − paid before)"
	e.Sources = []string{srcMedicaid}
	e.input("participation year", in.ParticipationYear)
	e.input("pediatric (20–30% volume)", in.Pediatric)
	e.input("paid before", in.PaidBefore)
	maximum, capped, aggregate := Dollars(10000), Dollars(8500), Dollars(63750)
	if in.ParticipationYear == 1 {
		maximum, capped = Dollars(25000), Dollars(21250)
	}
	if in.Pediatric {
		capped, aggregate = Dollars(5667), Dollars(42500)
		if in.ParticipationYear == 1 {
			capped = Dollars(14167)
		}
		e.step("pediatric: the payment cap is two-thirds, rounded to whole dollars by the rule: %s; aggregate %s", capped, aggregate)
	}
	amount := capped
	if in.NetAllowableCost != nil {
		e.input("net average allowable cost", *in.NetAllowableCost)
		base := minCents(*in.NetAllowableCost, maximum)
		share := roundCents(new(big.Rat).Mul(base.rat(), big.NewRat(85, 100)))
		amount = minCents(share, capped)
		e.step("85%% × min(%s, %s) = %s; capped at %s = %s", *in.NetAllowableCost, maximum, share, capped, amount)
	} else {
		e.step("net average allowable cost not given: taken as at least %s, so the payment is the cap %s", maximum, capped)
	}
	if left := aggregate - in.PaidBefore; amount > left {
		amount = max(left, 0)
		e.step("aggregate cap: %s − %s paid before leaves %s", aggregate, in.PaidBefore, amount)
	}
	p.Amount = amount
	e.step("payment = %s (Medicaid payments are not sequestered)", amount)
	return p, nil
}

// MedicaidEPSchedule is six years at the cap from a 2011 start: 63,750 in all
// (standard) or 42,500 (pediatric, the sixth year 5,665 by the aggregate cap).
func MedicaidEPSchedule(pediatric bool) (Schedule, error) {
	var s Schedule
	for year := 1; year <= 6; year++ {
		p, err := MedicaidEP(MedicaidEPInput{ParticipationYear: year, FirstPaymentYear: 2011, PaymentYear: 2010 + year, Pediatric: pediatric, PaidBefore: s.Total})
		if err != nil {
			return Schedule{}, err
		}
		s.add(p)
	}
	return s, nil
}

// Medicare hospital incentive (SSA §1886(n), 42 CFR 495.104):
// initial amount × Medicare share × transition factor.

// MedicareShareInput are the cost-report figures the Medicare share is built from.
type MedicareShareInput struct {
	PartADays      int64 // Medicare Part A acute inpatient bed-days
	PartCDays      int64 // Medicare Advantage (Part C) acute inpatient bed-days
	TotalDays      int64 // total acute inpatient bed-days
	TotalCharges   Cents // total charges
	CharityCharges Cents // charity care charges (or the uncompensated-care proxy CMS uses)
}

// MedicareShare is (Part A + Part C days) / (total days × (total charges − charity
// care charges) / total charges), exact.
func MedicareShare(in MedicareShareInput) (*big.Rat, []string, error) {
	switch {
	case in.TotalDays <= 0:
		return nil, nil, errs.Field(errs.Invalid, "share.total_days", "must be positive")
	case in.PartADays < 0 || in.PartCDays < 0 || in.PartADays+in.PartCDays > in.TotalDays:
		return nil, nil, errs.Field(errs.Invalid, "share.part_a_days", "Part A and Part C days must be non-negative and at most the total days")
	case in.TotalCharges <= 0:
		return nil, nil, errs.Field(errs.Invalid, "share.total_charges", "must be positive")
	case in.CharityCharges < 0 || in.CharityCharges >= in.TotalCharges:
		return nil, nil, errs.Field(errs.Invalid, "share.charity_charges", "must be at least 0 and below the total charges")
	}
	num := big.NewRat(in.PartADays+in.PartCDays, 1)
	nonCharity := big.NewRat(int64(in.TotalCharges-in.CharityCharges), int64(in.TotalCharges))
	den := new(big.Rat).Mul(big.NewRat(in.TotalDays, 1), nonCharity)
	share := new(big.Rat).Quo(num, den)
	steps := []string{fmt.Sprintf("Medicare share = (%d + %d) / (%d × (%s − %s) / %s) = %s ≈ %s",
		in.PartADays, in.PartCDays, in.TotalDays, in.TotalCharges, in.CharityCharges, in.TotalCharges, frac(share), share.FloatString(6))}
	return share, steps, nil
}

// InitialAmount is $2,000,000 plus $200 for each discharge from the 1,150th to the
// 23,000th: $2,000,000 for 1–1,149 discharges, $6,370,200 at 23,000 and above.
func InitialAmount(discharges int64) Cents {
	extra := min(discharges, 23000) - 1149
	return Dollars(2_000_000 + 200*max(extra, 0))
}

// hospitalTransition is the transition factor by first payment fiscal year and
// payment fiscal year (SSA §1886(n)(2)(E); 42 CFR 495.104(b), (c)(5)).
func hospitalTransition(first, year int) (*big.Rat, bool) {
	var factors []*big.Rat
	switch {
	case first >= 2011 && first <= 2013:
		factors = []*big.Rat{big.NewRat(1, 1), big.NewRat(3, 4), big.NewRat(1, 2), big.NewRat(1, 4)}
	case first == 2014:
		factors = []*big.Rat{big.NewRat(3, 4), big.NewRat(1, 2), big.NewRat(1, 4)}
	case first == 2015:
		factors = []*big.Rat{big.NewRat(1, 2), big.NewRat(1, 4)}
	}
	i := year - first
	if i < 0 || i >= len(factors) {
		return nil, false
	}
	return factors[i], true
}

// HospitalInput is what one Medicare hospital incentive payment depends on.
type HospitalInput struct {
	Discharges       int64 // acute inpatient discharges (all payers) in the 12-month cost report
	Share            MedicareShareInput
	FirstPaymentYear int // fiscal year, 2011–2015
	PaymentYear      int // fiscal year
	// ReportingPeriodEnd decides sequestration; zero means Sep 30 of the payment FY.
	ReportingPeriodEnd time.Time
	Nominal            bool
}

const srcHospital = "SSA §1886(n)(2) and 42 CFR 495.104 (initial amount, Medicare share, transition factor; FY2014 starters paid FY2014–2016, FY2015 starters FY2015–2016)"

// MedicareHospital is one fiscal year's Medicare incentive payment to an eligible
// hospital.
func MedicareHospital(in HospitalInput) (Payment, error) {
	if in.Discharges < 0 {
		return Payment{}, errs.Field(errs.Invalid, "discharges", "must not be negative")
	}
	if in.FirstPaymentYear < 2011 || in.FirstPaymentYear > 2016 || in.PaymentYear < in.FirstPaymentYear {
		return Payment{}, errs.Field(errs.Invalid, "payment_year", "first payment year must be FY2011–2016 and not after the payment year")
	}
	share, shareSteps, err := MedicareShare(in.Share)
	if err != nil {
		return Payment{}, err
	}
	p := Payment{Year: in.PaymentYear}
	e := &p.Explanation
	e.Formula = "(2,000,000 + 200 × (min(discharges, 23,000) − 1,149)⁺) × Medicare share × transition factor × (98% if sequestered)"
	e.Sources = []string{srcHospital}
	e.input("discharges", in.Discharges)
	e.input("first payment year (FY)", in.FirstPaymentYear)
	e.input("payment year (FY)", in.PaymentYear)
	initial := InitialAmount(in.Discharges)
	e.step("initial amount = $2,000,000 + $200 × %d discharges counted = %s", max(min(in.Discharges, 23000)-1149, 0), initial)
	e.Steps = append(e.Steps, shareSteps...)
	tf, ok := hospitalTransition(in.FirstPaymentYear, in.PaymentYear)
	if !ok {
		e.step("no transition factor for first payment FY%d in FY%d: no payment", in.FirstPaymentYear, in.PaymentYear)
		return p, nil
	}
	amount := new(big.Rat).Mul(initial.rat(), share)
	amount.Mul(amount, tf)
	e.step("%s × %s × transition factor %s = %s", initial, share.FloatString(6), frac(tf), dollars(amount))
	p.Amount = settle(e, amount, in.ReportingPeriodEnd, time.Date(in.PaymentYear, time.September, 30, 0, 0, 0, 0, time.UTC), in.Nominal)
	return p, nil
}

// CAHInput is what one CAH incentive payment depends on.
type CAHInput struct {
	// ReasonableCosts are the reasonable costs of purchasing CEHRT, expensed in the
	// year (including undepreciated costs of earlier years).
	ReasonableCosts    Cents
	Share              MedicareShareInput
	FirstPaymentYear   int // fiscal year 2011–2015
	PaymentYear        int // fiscal year, at most 4 consecutive years, not after FY2015
	ReportingPeriodEnd time.Time
	Nominal            bool
}

const srcCAH = "SSA §1814(l)(3) (ARRA §4102(a)(2)): reasonable CEHRT costs × min(100%, Medicare share + 20 points); at most 4 consecutive years; no cost reporting periods beginning after FY2015"

// CAH is one year's Medicare incentive payment to a critical access hospital.
func CAH(in CAHInput) (Payment, error) {
	if in.ReasonableCosts < 0 {
		return Payment{}, errs.Field(errs.Invalid, "reasonable_costs", "must not be negative")
	}
	if in.FirstPaymentYear < 2011 || in.FirstPaymentYear > 2015 || in.PaymentYear < in.FirstPaymentYear {
		return Payment{}, errs.Field(errs.Invalid, "payment_year", "first payment year must be FY2011–2015 and not after the payment year")
	}
	share, shareSteps, err := MedicareShare(in.Share)
	if err != nil {
		return Payment{}, err
	}
	p := Payment{Year: in.PaymentYear}
	e := &p.Explanation
	e.Formula = "reasonable CEHRT costs × min(100%, Medicare share + 20 percentage points) × (98% if sequestered)"
	e.Sources = []string{srcCAH}
	e.input("reasonable costs", in.ReasonableCosts)
	e.input("first payment year (FY)", in.FirstPaymentYear)
	e.input("payment year (FY)", in.PaymentYear)
	e.Steps = append(e.Steps, shareSteps...)
	if in.PaymentYear > 2015 || in.PaymentYear > in.FirstPaymentYear+3 {
		e.step("FY%d is past FY2015 or past four consecutive years from FY%d: no payment", in.PaymentYear, in.FirstPaymentYear)
		return p, nil
	}
	pctShare := new(big.Rat).Add(share, big.NewRat(20, 100))
	if pctShare.Cmp(big.NewRat(1, 1)) > 0 {
		pctShare = big.NewRat(1, 1)
	}
	e.step("payment percentage = min(100%%, %s%% + 20%%) = %s%%", pct(new(big.Rat).Mul(share, big.NewRat(100, 1))), pct(new(big.Rat).Mul(pctShare, big.NewRat(100, 1))))
	amount := new(big.Rat).Mul(in.ReasonableCosts.rat(), pctShare)
	e.step("%s × %s%% = %s", in.ReasonableCosts, pct(new(big.Rat).Mul(pctShare, big.NewRat(100, 1))), dollars(amount))
	p.Amount = settle(e, amount, in.ReportingPeriodEnd, time.Date(in.PaymentYear, time.September, 30, 0, 0, 0, 0, time.UTC), in.Nominal)
	return p, nil
}
