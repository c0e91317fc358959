package money

import (
	"fmt"
	"math/big"

	"github.com/attest-ehr/attest/libs/errs"
)

// MIPS: PI is one of four performance categories. The final score needs the other
// three categories' scores as inputs (Quality and Cost come from claims and
// registries, Improvement Activities from attestation — none of them is computed by
// Attest); the final score then sets the payment adjustment two years later.

// Category is a MIPS performance category.
type Category string

// The categories.
const (
	Quality                   Category = "quality"
	Cost                      Category = "cost"
	ImprovementActivities     Category = "improvement_activities"
	PromotingInteroperability Category = "promoting_interoperability"
)

var categories = []Category{Quality, Cost, ImprovementActivities, PromotingInteroperability}

// mipsWeights are the category weights in percent by performance year.
func mipsWeights(year int) map[Category]int64 {
	w := map[Category]int64{Quality: 30, Cost: 30, ImprovementActivities: 15, PromotingInteroperability: 25}
	switch {
	case year == 2017:
		w[Quality], w[Cost] = 60, 0
	case year == 2018:
		w[Quality], w[Cost] = 50, 10
	case year == 2019 || year == 2020:
		w[Quality], w[Cost] = 45, 15
	case year == 2021:
		w[Quality], w[Cost] = 40, 20
	}
	return w
}

// mipsYear is a performance year's adjustment parameters.
type mipsYear struct {
	threshold   int64 // performance threshold (points)
	maxPercent  int64 // the statutory maximum adjustment, ± percent
	exceptional int64 // additional (exceptional performance) threshold; 0 after 2022
}

func mipsParams(year int) (mipsYear, bool) {
	ps := map[int]mipsYear{
		2017: {3, 4, 70}, 2018: {15, 5, 70}, 2019: {30, 7, 75}, 2020: {45, 9, 85}, 2021: {60, 9, 85}, 2022: {75, 9, 89},
		2023: {75, 9, 0}, 2024: {75, 9, 0}, 2025: {75, 9, 0}, 2026: {75, 9, 0},
	}
	p, ok := ps[year]
	return p, ok
}

// MIPSInput is what the final score depends on. Scores are category scores in
// percent of the category ("85.5"); PI's is the rule book's category score.
type MIPSInput struct {
	PerformanceYear int
	Scores          map[Category]string
	// Reweighted categories count 0%: PI reweighted (hardship, special status) moves
	// its weight to Quality, the usual single-category rule. For any other
	// combination pass Weights.
	Reweighted []Category
	Weights    map[Category]int64 // explicit weights in percent, summing to 100
	// Bonus points added to the final score (complex patient, small practice).
	BonusPoints string
	// ScalingFactor for positive adjustments (budget neutrality, set by CMS after
	// the year, at most 3); "" leaves the positive adjustment as a range.
	ScalingFactor string
}

// MIPSResult is the final score and the resulting adjustment band.
type MIPSResult struct {
	PerformanceYear int    `json:"performance_year"`
	PaymentYear     int    `json:"payment_year"`
	PIContribution  string `json:"pi_contribution"` // PI category score × PI weight, in final-score points
	FinalScore      string `json:"final_score"`
	Threshold       int64  `json:"threshold"`
	Band            string `json:"band"`       // maximum negative, negative, neutral, positive, positive+exceptional
	Adjustment      string `json:"adjustment"` // percent, or a range for positive scores without a scaling factor
	Explanation     Explanation
}

const srcMIPS = "SSA §1848(q)(6) (MACRA): adjustment two years after the performance year; −max at scores ≤ ¼ of the threshold, linear to 0 at the threshold, positive scaled for budget neutrality; weights, thresholds and maxima by year from the QPP final rules (docs/payments.md)"

// MIPS computes the final score from the category scores and places it in the
// adjustment band of its payment year.
func MIPS(in MIPSInput) (MIPSResult, error) {
	params, ok := mipsParams(in.PerformanceYear)
	if !ok {
		return MIPSResult{}, errs.Field(errs.Invalid, "performance_year", "must be 2017–2026")
	}
	res := MIPSResult{PerformanceYear: in.PerformanceYear, PaymentYear: in.PerformanceYear + 2, Threshold: params.threshold}
	e := &res.Explanation
	e.Formula = "final = min(100, Σ category score × weight + bonus); adjustment by band of the final score against the performance threshold"
	e.Sources = []string{srcMIPS}
	weights, err := mipsWeightsFor(e, in)
	if err != nil {
		return MIPSResult{}, err
	}
	final := new(big.Rat)
	for _, c := range categories {
		if weights[c] == 0 {
			continue
		}
		s, ok := in.Scores[c]
		if !ok {
			return MIPSResult{}, errs.Field(errs.Invalid, "scores."+string(c), "is required: the category carries %d%% of the final score (reweight it if it does not apply)", weights[c])
		}
		score, err := Percent("scores."+string(c), s)
		if err != nil {
			return MIPSResult{}, err
		}
		if score.Sign() < 0 || score.Cmp(big.NewRat(100, 1)) > 0 {
			return MIPSResult{}, errs.Field(errs.Invalid, "scores."+string(c), "must be 0–100")
		}
		e.input(string(c)+" score %", s)
		pts := new(big.Rat).Mul(score, big.NewRat(weights[c], 100))
		if c == PromotingInteroperability {
			res.PIContribution = pct(pts)
		}
		e.step("%s: %s%% × %d%% = %s points", c, pct(score), weights[c], pct(pts))
		final.Add(final, pts)
	}
	if in.BonusPoints != "" {
		b, err := Percent("bonus_points", in.BonusPoints)
		if err != nil {
			return MIPSResult{}, err
		}
		final.Add(final, b)
		e.step("bonus points + %s", pct(b))
	}
	if final.Cmp(big.NewRat(100, 1)) > 0 {
		final = big.NewRat(100, 1)
		e.step("capped at 100")
	}
	res.FinalScore = pct(final)
	e.step("final score = %s; performance threshold %d; payment year %d", res.FinalScore, params.threshold, res.PaymentYear)
	if err := band(&res, final, params, in.ScalingFactor); err != nil {
		return MIPSResult{}, err
	}
	return res, nil
}

func mipsWeightsFor(e *Explanation, in MIPSInput) (map[Category]int64, error) {
	if in.Weights != nil {
		var sum int64
		for _, c := range categories {
			sum += in.Weights[c]
		}
		if sum != 100 {
			return nil, errs.Field(errs.Invalid, "weights", "must sum to 100, not %d", sum)
		}
		e.step("explicit weights %v", in.Weights)
		return in.Weights, nil
	}
	w := mipsWeights(in.PerformanceYear)
	for _, c := range in.Reweighted {
		switch c {
		case PromotingInteroperability:
			e.step("PI reweighted to 0%%: its %d%% moves to Quality", w[c])
			w[Quality] += w[c]
			w[c] = 0
		default:
			return nil, errs.Field(errs.Invalid, "reweighted", "only PI reweighting is built in; pass weights for %s", c)
		}
	}
	e.step("weights %d: quality %d%%, cost %d%%, improvement activities %d%%, PI %d%%", in.PerformanceYear,
		w[Quality], w[Cost], w[ImprovementActivities], w[PromotingInteroperability])
	return w, nil
}

func band(res *MIPSResult, final *big.Rat, p mipsYear, scaling string) error {
	e := &res.Explanation
	threshold := big.NewRat(p.threshold, 1)
	quarter := big.NewRat(p.threshold, 4)
	maxPct := big.NewRat(p.maxPercent, 1)
	switch final.Cmp(threshold) {
	case 0:
		res.Band, res.Adjustment = "neutral", "0"
		e.step("final score equals the threshold: no adjustment")
		return nil
	case -1:
		if final.Cmp(quarter) <= 0 {
			res.Band, res.Adjustment = "maximum negative", "-"+pct(maxPct)
			e.step("final score ≤ threshold/4 = %s: the maximum negative adjustment −%d%%", pct(quarter), p.maxPercent)
			return nil
		}
		// −max × (threshold − score) / (threshold − threshold/4)
		adj := new(big.Rat).Mul(maxPct, new(big.Rat).Sub(threshold, final))
		adj.Quo(adj, new(big.Rat).Sub(threshold, quarter))
		res.Band, res.Adjustment = "negative", "-"+pct(adj)
		e.step("negative, linear between threshold/4 (−%d%%) and the threshold (0): −%d × (%d − %s) / (%d − %s) = −%s%%",
			p.maxPercent, p.maxPercent, p.threshold, pct(final), p.threshold, pct(quarter), pct(adj))
		return nil
	}
	res.Band = "positive"
	if p.exceptional > 0 && final.Cmp(big.NewRat(p.exceptional, 1)) >= 0 {
		res.Band = "positive+exceptional"
		e.step("at or above the additional performance threshold %d: also eligible for the exceptional performance adjustment (up to +10%%, through the 2022 performance year)", p.exceptional)
	}
	// +max × scaling × (score − threshold) / (100 − threshold)
	slope := new(big.Rat).Quo(new(big.Rat).Sub(final, threshold), big.NewRat(100-p.threshold, 1))
	base := new(big.Rat).Mul(maxPct, slope)
	if scaling == "" {
		res.Adjustment = fmt.Sprintf("+%s%% × scaling factor (0 < factor ≤ 3)", pct(base))
		e.step("positive: +%d%% × (%s − %d) / (100 − %d) = +%s%% × the year's scaling factor (not given)", p.maxPercent, pct(final), p.threshold, p.threshold, pct(base))
		return nil
	}
	f, err := Percent("scaling_factor", scaling)
	if err != nil {
		return err
	}
	if f.Sign() <= 0 || f.Cmp(big.NewRat(3, 1)) > 0 {
		return errs.Field(errs.Invalid, "scaling_factor", "must be above 0 and at most 3")
	}
	adj := new(big.Rat).Mul(base, f)
	res.Adjustment = "+" + pct(adj)
	e.step("positive: +%s%% × scaling factor %s = +%s%%", pct(base), pct(f), pct(adj))
	return nil
}
