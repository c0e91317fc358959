package money_test

import (
	"strings"
	"testing"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/reporting/internal/money"
)

func TestEPAdjustment(t *testing.T) {
	tests := []struct {
		name      string
		in        money.EPAdjustmentInput
		applies   bool
		percent   string
		reduction money.Cents
	}{
		{"2015: 1%", money.EPAdjustmentInput{Year: 2015, FeeScheduleAmount: cents(money.Dollars(100000))}, true, "1", money.Dollars(1000)},
		{"2015 with the 2014 eRx adjustment: 2%", money.EPAdjustmentInput{Year: 2015, ERxPenalty2014: true}, true, "2", 0},
		{"2016: 2%", money.EPAdjustmentInput{Year: 2016}, true, "2", 0},
		{"2017: 3%", money.EPAdjustmentInput{Year: 2017, FeeScheduleAmount: cents(12345)}, true, "3", 370},
		{"2018: 3%", money.EPAdjustmentInput{Year: 2018}, true, "3", 0},
		{"2018 below 75% meaningful users: 4%", money.EPAdjustmentInput{Year: 2018, BelowThreeQuarters: true}, true, "4", 0},
		{"meaningful user", money.EPAdjustmentInput{Year: 2017, MeaningfulUser: true}, false, "0", 0},
		{"hospital-based", money.EPAdjustmentInput{Year: 2017, HospitalBased: true}, false, "0", 0},
		{"hardship for the year", money.EPAdjustmentInput{Year: 2017, Hardship: &money.Hardship{Category: money.NoFaceToFace, Year: 2017}}, false, "0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := money.EPAdjustment(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if a.Applies != tt.applies || a.Percent != tt.percent || a.Reduction != tt.reduction {
				t.Errorf("got applies=%v %s%% %s, want %v %s%% %s\n%s", a.Applies, a.Percent, a.Reduction, tt.applies, tt.percent, tt.reduction, strings.Join(a.Explanation.Steps, "\n"))
			}
		})
	}
	bad := []struct {
		name  string
		in    money.EPAdjustmentInput
		kind  errs.Kind
		field string
	}{
		{"before 2015", money.EPAdjustmentInput{Year: 2014}, errs.Invalid, "year"},
		{"after 2018 is MIPS", money.EPAdjustmentInput{Year: 2019}, errs.Invalid, "year"},
		{"hardship granted for another year", money.EPAdjustmentInput{Year: 2017, Hardship: &money.Hardship{Category: money.NewProvider, Year: 2016}}, errs.Unprocessable, "hardship.year"},
		{"unknown hardship category", money.EPAdjustmentInput{Year: 2017, Hardship: &money.Hardship{Category: "bored", Year: 2017}}, errs.Invalid, "hardship.category"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := money.EPAdjustment(tt.in); !errs.Is(tt.kind, err) || errs.FieldOf(err) != tt.field {
				t.Errorf("err = %v, want %v on %s", err, tt.kind, tt.field)
			}
		})
	}
}

func TestHospitalAdjustment(t *testing.T) {
	tests := []struct {
		name   string
		in     money.HospitalUpdateInput
		full   string
		update string
		cut    string
	}{
		// CMS FY2025 PSF update factors: 1.029, 1.0205 (no IQR), 1.0035 (EHR), 0.995 (both).
		{"FY2025 meaningful user", money.HospitalUpdateInput{FiscalYear: 2025, MarketBasket: "3.4", Productivity: "0.5", MeaningfulUser: true}, "2.9", "2.9", "0"},
		{"FY2025 not a meaningful user", money.HospitalUpdateInput{FiscalYear: 2025, MarketBasket: "3.4", Productivity: "0.5"}, "2.9", "0.35", "2.55"},
		{"FY2025 neither", money.HospitalUpdateInput{FiscalYear: 2025, MarketBasket: "3.4", Productivity: "0.5", QualityDataMissing: true}, "2.9", "-0.5", "2.55"},
		{"FY2025 no quality data only", money.HospitalUpdateInput{FiscalYear: 2025, MarketBasket: "3.4", Productivity: "0.5", MeaningfulUser: true, QualityDataMissing: true}, "2.9", "2.05", "0"},
		// FY2026 PSF: 1.026 and 1.00125.
		{"FY2026 not a meaningful user", money.HospitalUpdateInput{FiscalYear: 2026, MarketBasket: "3.3", Productivity: "0.7"}, "2.6", "0.125", "2.475"},
		{"FY2015: a quarter of the market basket", money.HospitalUpdateInput{FiscalYear: 2015, MarketBasket: "2.9"}, "2.9", "2.175", "0.725"},
		{"FY2016: half", money.HospitalUpdateInput{FiscalYear: 2016, MarketBasket: "2.4"}, "2.4", "1.2", "1.2"},
		{"FY2017: three quarters", money.HospitalUpdateInput{FiscalYear: 2017, MarketBasket: "2.7"}, "2.7", "0.675", "2.025"},
		{"hardship", money.HospitalUpdateInput{FiscalYear: 2020, MarketBasket: "3", Hardship: &money.Hardship{Category: money.ExtremeCircumstances, Year: 2020}}, "3", "3", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := money.HospitalAdjustment(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if u.Full != tt.full || u.Update != tt.update || u.Percent != tt.cut {
				t.Errorf("full %s update %s cut %s, want %s %s %s\n%s", u.Full, u.Update, u.Percent, tt.full, tt.update, tt.cut, strings.Join(u.Explanation.Steps, "\n"))
			}
		})
	}
	if _, err := money.HospitalAdjustment(money.HospitalUpdateInput{FiscalYear: 2025, MarketBasket: "3,4"}); !errs.Is(errs.Invalid, err) || errs.FieldOf(err) != "market_basket" {
		t.Errorf("bad market basket: %v", err)
	}
	if _, err := money.HospitalAdjustment(money.HospitalUpdateInput{FiscalYear: 2025, MarketBasket: "1/3"}); !errs.Is(errs.Invalid, err) {
		t.Errorf("fraction market basket: %v", err)
	}
	if _, err := money.HospitalAdjustment(money.HospitalUpdateInput{FiscalYear: 2020, MarketBasket: "3", Hardship: &money.Hardship{Category: money.NoFaceToFace, Year: 2020}}); !errs.Is(errs.Invalid, err) {
		t.Errorf("an EP-only hardship for a hospital: %v", err)
	}
}

func TestCAHAdjustment(t *testing.T) {
	tests := []struct {
		year      int
		mu        bool
		percent   string
		reduction money.Cents
	}{
		{2015, false, "0.34", money.Dollars(3400)},
		{2016, false, "0.67", money.Dollars(6700)},
		{2017, false, "1", money.Dollars(10000)},
		{2024, false, "1", money.Dollars(10000)},
		{2024, true, "0", 0},
	}
	for _, tt := range tests {
		a, err := money.CAHAdjustment(money.CAHAdjustmentInput{FiscalYear: tt.year, MeaningfulUser: tt.mu, ReasonableCosts: cents(money.Dollars(1_000_000))})
		if err != nil {
			t.Fatal(err)
		}
		if a.Percent != tt.percent || a.Reduction != tt.reduction {
			t.Errorf("FY%d mu=%v: %s%% %s, want %s%% %s", tt.year, tt.mu, a.Percent, a.Reduction, tt.percent, tt.reduction)
		}
	}
}

func TestMIPS(t *testing.T) {
	scores := func(q, c, ia, pi string) map[money.Category]string {
		return map[money.Category]string{money.Quality: q, money.Cost: c, money.ImprovementActivities: ia, money.PromotingInteroperability: pi}
	}
	tests := []struct {
		name       string
		in         money.MIPSInput
		final      string
		pi         string
		band       string
		adjustment string
	}{
		{"2024 at the threshold", money.MIPSInput{PerformanceYear: 2024, Scores: scores("100", "50", "100", "60")}, "75", "15", "neutral", "0"},
		{"2024 18.75 is the maximum negative", money.MIPSInput{PerformanceYear: 2024, Scores: scores("0", "0", "25", "60")}, "18.75", "15", "maximum negative", "-9"},
		{"2024 score 50: −9 × 25 / 56.25", money.MIPSInput{PerformanceYear: 2024, Scores: scores("50", "50", "50", "50")}, "50", "12.5", "negative", "-4"},
		{"2024 positive without scaling", money.MIPSInput{PerformanceYear: 2024, Scores: scores("100", "100", "100", "100")}, "100", "25", "positive", "+9% × scaling factor (0 < factor ≤ 3)"},
		{"2024 positive with scaling", money.MIPSInput{PerformanceYear: 2024, Scores: scores("100", "75", "100", "80"), ScalingFactor: "0.5"}, "87.5", "20", "positive", "+2.25"},
		{"2019 PI reweighted to quality", money.MIPSInput{PerformanceYear: 2019, Scores: map[money.Category]string{money.Quality: "80", money.Cost: "50", money.ImprovementActivities: "100"}, Reweighted: []money.Category{money.PromotingInteroperability}}, "78.5", "", "positive+exceptional", "+4.85% × scaling factor (0 < factor ≤ 3)"},
		{"2017 three points avoids the penalty", money.MIPSInput{PerformanceYear: 2017, Scores: scores("0", "0", "20", "0")}, "3", "0", "neutral", "0"},
		{"bonus points capped at 100", money.MIPSInput{PerformanceYear: 2023, Scores: scores("100", "100", "100", "100"), BonusPoints: "6"}, "100", "25", "positive", "+9% × scaling factor (0 < factor ≤ 3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := money.MIPS(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.FinalScore != tt.final || r.PIContribution != tt.pi || r.Band != tt.band || r.Adjustment != tt.adjustment || r.PaymentYear != tt.in.PerformanceYear+2 {
				t.Errorf("final %s pi %s band %s adj %s, want %s %s %s %s\n%s", r.FinalScore, r.PIContribution, r.Band, r.Adjustment,
					tt.final, tt.pi, tt.band, tt.adjustment, strings.Join(r.Explanation.Steps, "\n"))
			}
		})
	}
	bad := []struct {
		name  string
		in    money.MIPSInput
		field string
	}{
		{"missing category", money.MIPSInput{PerformanceYear: 2024, Scores: map[money.Category]string{money.Quality: "1"}}, "scores.cost"},
		{"score above 100", money.MIPSInput{PerformanceYear: 2024, Scores: scores("101", "0", "0", "0")}, "scores.quality"},
		{"weights not summing to 100", money.MIPSInput{PerformanceYear: 2024, Scores: scores("1", "1", "1", "1"), Weights: map[money.Category]int64{money.Quality: 50}}, "weights"},
		{"unknown year", money.MIPSInput{PerformanceYear: 2016}, "performance_year"},
		{"scaling above 3", money.MIPSInput{PerformanceYear: 2024, Scores: scores("100", "100", "100", "100"), ScalingFactor: "3.5"}, "scaling_factor"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := money.MIPS(tt.in); !errs.Is(errs.Invalid, err) || errs.FieldOf(err) != tt.field {
				t.Errorf("err = %v, want invalid %s", err, tt.field)
			}
		})
	}
}
