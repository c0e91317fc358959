package money

import (
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
)

// Adjustment is a Medicare payment adjustment (a reduction) for one year.
type Adjustment struct {
	Year    int  `json:"year"`    // the payment adjustment year (CY for EPs, FY for hospitals)
	Applies bool `json:"applies"` // false when met, exempt or excepted
	// Percent is the reduction: of the fee schedule (EP), in percentage points of
	// the update (hospital), of reasonable cost (CAH).
	Percent     string      `json:"percent"`
	Reduction   Cents       `json:"reduction,omitempty"` // when the base amount is given
	Explanation Explanation `json:"explanation"`
}

// HardshipCategory is a reason CMS may grant a hardship exception.
type HardshipCategory string

// The hardship categories (Medicare EHR Incentive / PI Programs).
const (
	InsufficientInternet HardshipCategory = "insufficient-internet"     // lack of broadband or internet infrastructure
	NewProvider          HardshipCategory = "new-provider"              // newly practicing EP or new hospital
	ExtremeCircumstances HardshipCategory = "extreme-circumstances"     // disasters, closure, bankruptcy, vendor problems
	NoFaceToFace         HardshipCategory = "no-face-to-face"           // EPs: no face-to-face or telemedicine interaction, no follow-up need
	NoControlOverCEHRT   HardshipCategory = "no-control-over-cehrt"     // EPs: practicing at locations without control of CEHRT for >50% of encounters
	CEHRTVendorIssues    HardshipCategory = "cehrt-vendor-issues"       // 2014-Edition CEHRT availability problems
	DecertifiedEHR       HardshipCategory = "decertified-ehr"           // CEHRT decertified
	MIPSSignificantHard  HardshipCategory = "mips-significant-hardship" // MIPS PI reweighting application
)

func hardshipCategories(hospital bool) []HardshipCategory {
	if hospital {
		return []HardshipCategory{InsufficientInternet, NewProvider, ExtremeCircumstances, CEHRTVendorIssues, DecertifiedEHR}
	}
	return []HardshipCategory{InsufficientInternet, NewProvider, ExtremeCircumstances, NoFaceToFace, NoControlOverCEHRT, CEHRTVendorIssues, DecertifiedEHR}
}

// Hardship is an approved hardship exception: one category, one adjustment year.
type Hardship struct {
	Category HardshipCategory `json:"category"`
	Year     int              `json:"year"` // the adjustment year it was granted for
}

const srcHardship = "SSA §1848(a)(7)(B), §1886(b)(3)(B)(ix)(II); 42 CFR 495.102(d), 495.104(d); exceptions granted one year at a time, applications due July 1 of the year before the adjustment year (e.g. July 1 2016 for 2017) ⚠ hospital deadlines varied"

// HardshipDeadline is the date an application for the adjustment year was due.
func HardshipDeadline(adjustmentYear int) time.Time {
	return time.Date(adjustmentYear-1, time.July, 1, 0, 0, 0, 0, time.UTC)
}

// excepted checks a hardship and reports whether it exempts the year; a
// category not open to the entity, or a year it was not granted for, is an error.
func excepted(e *Explanation, h *Hardship, year int, hospital bool) (bool, error) {
	if h == nil {
		return false, nil
	}
	if !slices.Contains(hardshipCategories(hospital), h.Category) {
		return false, errs.Field(errs.Invalid, "hardship.category", "%q is not a hardship category for this provider", h.Category)
	}
	if h.Year != year {
		return false, errs.Field(errs.Unprocessable, "hardship.year", "an exception covers one adjustment year; it was granted for %d, not %d", h.Year, year)
	}
	e.input("hardship exception", fmt.Sprintf("%s for %d", h.Category, h.Year))
	e.step("approved hardship exception (%s) for %d: no adjustment (application was due %s)", h.Category, year, HardshipDeadline(year).Format(time.DateOnly))
	e.Sources = append(e.Sources, srcHardship)
	return true, nil
}

// EPAdjustmentInput is what an EP's Medicare payment adjustment depends on.
type EPAdjustmentInput struct {
	Year           int  // the adjustment year, 2015–2018
	MeaningfulUser bool // demonstrated MU for the applicable EHR reporting period
	HospitalBased  bool // hospital-based EPs are not adjusted
	// ERxPenalty2014: subject to the 2014 eRx Incentive Program adjustment (2015: 2%).
	ERxPenalty2014 bool
	// BelowThreeQuarters: the Secretary found fewer than 75% of EPs meaningful users
	// (2018: one point more, to at most 5%). ⚠ CMS' finding for 2018 is not verified.
	BelowThreeQuarters bool
	Hardship           *Hardship
	// FeeScheduleAmount, when given, is the PFS amount the reduction applies to.
	FeeScheduleAmount *Cents
}

const srcEPAdj = "SSA §1848(a)(7)(A): applicable percent 99% (98% if subject to the 2014 eRx adjustment) for 2015, 98% for 2016, 97% for 2017 and after, minus 1 point a year from 2018 if under 75% of EPs are meaningful users (not below 95%); MACRA ended it after 2018"

// EPAdjustment is an EP's Medicare physician fee schedule adjustment for a year.
// The adjustment year Y looks back to the EHR reporting period in Y−2 (a first-time
// EP could avoid Y by demonstrating MU in Y−1 and attesting by Oct 1 of Y−1).
func EPAdjustment(in EPAdjustmentInput) (Adjustment, error) {
	if in.Year < 2015 || in.Year > 2018 {
		return Adjustment{}, errs.Field(errs.Invalid, "year", "EP adjustments ran 2015–2018; later years are MIPS")
	}
	if in.FeeScheduleAmount != nil && *in.FeeScheduleAmount < 0 {
		return Adjustment{}, errs.Field(errs.Invalid, "fee_schedule_amount", "must not be negative")
	}
	a := Adjustment{Year: in.Year, Percent: "0"}
	e := &a.Explanation
	e.Formula = "fee schedule amount × (100% − applicable percent)"
	e.Sources = []string{srcEPAdj}
	e.input("adjustment year", in.Year)
	e.input("meaningful user", in.MeaningfulUser)
	e.step("looks back to the EHR reporting period in %d (or %d for a first-time EP attesting by Oct 1 %d)", in.Year-2, in.Year-1, in.Year-1)
	switch {
	case in.HospitalBased:
		e.step("hospital-based EP: not subject to the adjustment")
		return a, nil
	case in.MeaningfulUser:
		e.step("meaningful EHR user: no adjustment")
		return a, nil
	}
	if ok, err := excepted(e, in.Hardship, in.Year, false); ok || err != nil {
		return a, err
	}
	applicable := 97
	switch in.Year {
	case 2015:
		applicable = 99
		if in.ERxPenalty2014 {
			applicable = 98
			e.step("subject to the 2014 eRx adjustment: 2015 applicable percent 98%%")
		}
	case 2016:
		applicable = 98
	case 2018:
		if in.BelowThreeQuarters {
			applicable = 96 // 97 − 1; the floor of 95 is reached only from 2020
			e.step("fewer than 75%% of EPs meaningful users: one point more")
		}
	}
	reduction := 100 - applicable
	a.Applies, a.Percent = true, fmt.Sprint(reduction)
	e.step("applicable percent %d%%: the fee schedule amount is reduced by %d%%", applicable, reduction)
	if in.FeeScheduleAmount != nil {
		e.input("fee schedule amount", *in.FeeScheduleAmount)
		a.Reduction = roundCents(new(big.Rat).Mul(in.FeeScheduleAmount.rat(), big.NewRat(int64(reduction), 100)))
		e.step("%s × %d%% = %s", *in.FeeScheduleAmount, reduction, a.Reduction)
	}
	return a, nil
}

// HospitalUpdateInput is what a hospital's IPPS update depends on.
type HospitalUpdateInput struct {
	FiscalYear     int    // 2015 or later
	MarketBasket   string // the market-basket percentage increase, e.g. "3.4"
	Productivity   string // the productivity adjustment in points, e.g. "0.5"; "" = 0
	MeaningfulUser bool
	// QualityDataMissing: the hospital did not submit IQR quality data (one quarter
	// of the market basket off), shown so the update matches CMS' tables.
	QualityDataMissing bool
	Hardship           *Hardship
}

// HospitalUpdate is an update with the EHR reduction.
type HospitalUpdate struct {
	Adjustment
	Full   string `json:"full"`   // the update a compliant hospital gets, percent
	Update string `json:"update"` // this hospital's update, percent
}

const srcHospitalAdj = "SSA §1886(b)(3)(B)(ix): for a hospital that is not a meaningful EHR user, three-quarters of the market-basket increase is reduced by 33⅓% (FY2015), 66⅔% (FY2016), 100% (FY2017 and after) — i.e. 25%, 50%, 75% of the market basket; checked against CMS' FY2025 and FY2026 PSF update factors"

// HospitalAdjustment is a subsection (d) hospital's IPPS update with the reduction
// for not being a meaningful EHR user. FY2025: market basket 3.4, productivity 0.5:
// 2.9 for a compliant hospital, 0.35 for one that is not a meaningful user.
func HospitalAdjustment(in HospitalUpdateInput) (HospitalUpdate, error) {
	if in.FiscalYear < 2015 {
		return HospitalUpdate{}, errs.Field(errs.Invalid, "fiscal_year", "hospital adjustments start in FY2015")
	}
	mb, err := Percent("market_basket", in.MarketBasket)
	if err != nil {
		return HospitalUpdate{}, err
	}
	prod := new(big.Rat)
	if in.Productivity != "" {
		if prod, err = Percent("productivity", in.Productivity); err != nil {
			return HospitalUpdate{}, err
		}
	}
	u := HospitalUpdate{Adjustment: Adjustment{Year: in.FiscalYear, Percent: "0"}}
	e := &u.Explanation
	e.Formula = "update = market basket − productivity − (share × market basket if not a meaningful user) − (¼ × market basket if no quality data)"
	e.Sources = []string{srcHospitalAdj}
	e.input("fiscal year", in.FiscalYear)
	e.input("market basket %", in.MarketBasket)
	e.input("productivity adjustment (points)", pct(prod))
	e.input("meaningful user", in.MeaningfulUser)
	full := new(big.Rat).Sub(mb, prod)
	update := new(big.Rat).Set(full)
	e.step("full update = %s − %s = %s%%", pct(mb), pct(prod), pct(full))
	if in.QualityDataMissing {
		q := new(big.Rat).Mul(mb, big.NewRat(1, 4))
		update.Sub(update, q)
		e.step("no quality data: − ¼ × %s = − %s points", pct(mb), pct(q))
	}
	if !in.MeaningfulUser {
		ok, err := excepted(e, in.Hardship, in.FiscalYear, true)
		if err != nil {
			return HospitalUpdate{}, err
		}
		if !ok {
			share := big.NewRat(3, 4)
			switch in.FiscalYear {
			case 2015:
				share = big.NewRat(1, 4)
			case 2016:
				share = big.NewRat(1, 2)
			}
			r := new(big.Rat).Mul(mb, share)
			update.Sub(update, r)
			u.Applies, u.Percent = true, pct(r)
			e.step("not a meaningful EHR user in FY%d: − %s × %s = − %s points (looks back to the EHR reporting period two years earlier)", in.FiscalYear, frac(share), pct(mb), pct(r))
		}
	}
	u.Full, u.Update = pct(full), pct(update)
	e.step("update = %s%%", u.Update)
	return u, nil
}

// CAHAdjustmentInput is what a CAH's reasonable-cost adjustment depends on.
type CAHAdjustmentInput struct {
	FiscalYear      int // cost reporting periods beginning in this FY, 2015 or later
	MeaningfulUser  bool
	Hardship        *Hardship
	ReasonableCosts *Cents // inpatient reasonable costs, when the reduction in dollars is wanted
}

const srcCAHAdj = "SSA §1814(l)(4): a CAH that is not a meaningful EHR user is paid 100.66% (FY2015), 100.33% (FY2016), 100% (FY2017 and after) of reasonable costs instead of 101%; CMS CAH fact sheet (2016): same-year look-back ⚠ percentages from the statute text as summarised in the spec"

// CAHAdjustment is a critical access hospital's reasonable-cost adjustment.
func CAHAdjustment(in CAHAdjustmentInput) (Adjustment, error) {
	if in.FiscalYear < 2015 {
		return Adjustment{}, errs.Field(errs.Invalid, "fiscal_year", "CAH adjustments start in FY2015")
	}
	a := Adjustment{Year: in.FiscalYear, Percent: "0"}
	e := &a.Explanation
	e.Formula = "reasonable costs × (101% − applicable percent)"
	e.Sources = []string{srcCAHAdj}
	e.input("fiscal year", in.FiscalYear)
	e.input("meaningful user", in.MeaningfulUser)
	e.step("looks back to the EHR reporting period in the same year (CY%d)", in.FiscalYear)
	if in.MeaningfulUser {
		e.step("meaningful EHR user: paid 101%% of reasonable costs")
		return a, nil
	}
	if ok, err := excepted(e, in.Hardship, in.FiscalYear, true); ok || err != nil {
		return a, err
	}
	applicable := big.NewRat(100, 1)
	switch in.FiscalYear {
	case 2015:
		applicable = big.NewRat(10066, 100)
	case 2016:
		applicable = big.NewRat(10033, 100)
	}
	r := new(big.Rat).Sub(big.NewRat(101, 1), applicable)
	a.Applies, a.Percent = true, pct(r)
	e.step("paid %s%% instead of 101%% of reasonable costs: − %s points", pct(applicable), pct(r))
	if in.ReasonableCosts != nil {
		e.input("reasonable costs", *in.ReasonableCosts)
		a.Reduction = roundCents(new(big.Rat).Mul(in.ReasonableCosts.rat(), new(big.Rat).Quo(r, big.NewRat(100, 1))))
		e.step("%s × %s%% = %s", *in.ReasonableCosts, pct(r), a.Reduction)
	}
	return a, nil
}
