package money_test

import (
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/reporting/internal/money"
)

func cents(c money.Cents) *money.Cents { return &c }

func TestCentsString(t *testing.T) {
	tests := []struct {
		c    money.Cents
		want string
	}{
		{0, "$0.00"}, {5, "$0.05"}, {money.Dollars(43720), "$43,720.00"}, {637020000, "$6,370,200.00"}, {-150, "-$1.50"}, {money.Dollars(1000000), "$1,000,000.00"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Cents(%d) = %q, want %q", int64(tt.c), got, tt.want)
		}
	}
}

func TestMedicareEPSchedule(t *testing.T) {
	tests := []struct {
		name    string
		first   int
		hpsa    bool
		nominal bool
		years   []money.Cents
		total   money.Cents
	}{
		{"2011 nominal", 2011, false, true, []money.Cents{money.Dollars(18000), money.Dollars(12000), money.Dollars(8000), money.Dollars(4000), money.Dollars(2000)}, money.Dollars(44000)},
		{"2012 nominal", 2012, false, true, []money.Cents{money.Dollars(18000), money.Dollars(12000), money.Dollars(8000), money.Dollars(4000), money.Dollars(2000)}, money.Dollars(44000)},
		{"2013 nominal", 2013, false, true, []money.Cents{money.Dollars(15000), money.Dollars(12000), money.Dollars(8000), money.Dollars(4000)}, money.Dollars(39000)},
		{"2014 nominal", 2014, false, true, []money.Cents{money.Dollars(12000), money.Dollars(8000), money.Dollars(4000)}, money.Dollars(24000)},
		{"2015 earns nothing", 2015, false, true, nil, 0},
		// CMS: $43,720 for 2011 starters (2011 and 2012 periods ended before April 2013).
		{"2011 sequestered", 2011, false, false, []money.Cents{money.Dollars(18000), money.Dollars(12000), money.Dollars(7840), money.Dollars(3920), money.Dollars(1960)}, money.Dollars(43720)},
		{"2012 sequestered", 2012, false, false, []money.Cents{money.Dollars(18000), money.Dollars(11760), money.Dollars(7840), money.Dollars(3920), money.Dollars(1960)}, money.Dollars(43480)},
		{"2013 sequestered", 2013, false, false, []money.Cents{money.Dollars(14700), money.Dollars(11760), money.Dollars(7840), money.Dollars(3920)}, money.Dollars(38220)},
		{"2014 sequestered", 2014, false, false, []money.Cents{money.Dollars(11760), money.Dollars(7840), money.Dollars(3920)}, money.Dollars(23520)},
		{"2011 HPSA nominal: caps + 10%", 2011, true, true, []money.Cents{money.Dollars(19800), money.Dollars(13200), money.Dollars(8800), money.Dollars(4400), money.Dollars(2200)}, money.Dollars(48400)},
		{"2013 HPSA nominal", 2013, true, true, []money.Cents{money.Dollars(16500), money.Dollars(13200), money.Dollars(8800), money.Dollars(4400)}, money.Dollars(42900)},
		{"2014 HPSA nominal", 2014, true, true, []money.Cents{money.Dollars(13200), money.Dollars(8800), money.Dollars(4400)}, money.Dollars(26400)},
		{"2011 HPSA sequestered", 2011, true, false, []money.Cents{money.Dollars(19800), money.Dollars(13200), money.Dollars(8624), money.Dollars(4312), money.Dollars(2156)}, money.Dollars(48092)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := money.MedicareEPSchedule(tt.first, tt.hpsa, tt.nominal)
			if err != nil {
				t.Fatal(err)
			}
			if s.Total != tt.total || len(s.Payments) != len(tt.years) {
				t.Fatalf("total %s in %d payments, want %s in %d", s.Total, len(s.Payments), tt.total, len(tt.years))
			}
			for i, p := range s.Payments {
				if p.Amount != tt.years[i] || p.Year != tt.first+i {
					t.Errorf("payment %d = %s in %d, want %s in %d\n%s", i, p.Amount, p.Year, tt.years[i], tt.first+i, strings.Join(p.Explanation.Steps, "\n"))
				}
			}
		})
	}
}

func TestMedicareEP(t *testing.T) {
	tests := []struct {
		name string
		in   money.MedicareEPInput
		want money.Cents
		step string
	}{
		{"75% of allowed charges below the cap", money.MedicareEPInput{FirstPaymentYear: 2012, PaymentYear: 2012, AllowedCharges: cents(money.Dollars(20000))}, money.Dollars(15000), "75% × allowed charges $20,000.00 = $15,000.00"},
		{"allowed charges above the cap", money.MedicareEPInput{FirstPaymentYear: 2012, PaymentYear: 2012, AllowedCharges: cents(money.Dollars(30000))}, money.Dollars(18000), "min($22,500.00, $18,000.00)"},
		{"cents rounded half up after sequestration", money.MedicareEPInput{FirstPaymentYear: 2014, PaymentYear: 2015, AllowedCharges: cents(123457)}, 90741, "$925.93 × 98% = $907.41"},
		{"a first-year 90-day period ending March 2013 is not sequestered", money.MedicareEPInput{FirstPaymentYear: 2013, PaymentYear: 2013, ReportingPeriodEnd: time.Date(2013, 3, 31, 0, 0, 0, 0, time.UTC)}, money.Dollars(15000), "before April 1, 2013"},
		{"a period ending April 1 2013 is sequestered", money.MedicareEPInput{FirstPaymentYear: 2013, PaymentYear: 2013, ReportingPeriodEnd: time.Date(2013, 4, 1, 0, 0, 0, 0, time.UTC)}, money.Dollars(14700), "× 98%"},
		{"HPSA raises the cap, not the 75%", money.MedicareEPInput{FirstPaymentYear: 2011, PaymentYear: 2011, HPSA: true, AllowedCharges: cents(money.Dollars(40000))}, money.Dollars(19800), "HPSA: cap × 110% = $19,800.00"},
		{"past the schedule", money.MedicareEPInput{FirstPaymentYear: 2014, PaymentYear: 2016 + 0, Nominal: true}, money.Dollars(4000), "year 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := money.MedicareEP(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			steps := strings.Join(p.Explanation.Steps, "\n")
			if p.Amount != tt.want || !strings.Contains(steps, tt.step) {
				t.Errorf("amount %s, want %s; steps should mention %q:\n%s", p.Amount, tt.want, tt.step, steps)
			}
		})
	}
	if _, err := money.MedicareEP(money.MedicareEPInput{FirstPaymentYear: 2012, PaymentYear: 2011}); !errs.Is(errs.Invalid, err) || errs.FieldOf(err) != "payment_year" {
		t.Errorf("payment before first year: %v", err)
	}
}

func TestMedicaidEPSchedule(t *testing.T) {
	tests := []struct {
		name      string
		pediatric bool
		years     []money.Cents
		total     money.Cents
	}{
		{"standard", false, []money.Cents{money.Dollars(21250), money.Dollars(8500), money.Dollars(8500), money.Dollars(8500), money.Dollars(8500), money.Dollars(8500)}, money.Dollars(63750)},
		{"pediatric two-thirds", true, []money.Cents{money.Dollars(14167), money.Dollars(5667), money.Dollars(5667), money.Dollars(5667), money.Dollars(5667), money.Dollars(5665)}, money.Dollars(42500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := money.MedicaidEPSchedule(tt.pediatric)
			if err != nil {
				t.Fatal(err)
			}
			if s.Total != tt.total {
				t.Errorf("total %s, want %s", s.Total, tt.total)
			}
			for i, p := range s.Payments {
				if p.Amount != tt.years[i] {
					t.Errorf("year %d = %s, want %s", i+1, p.Amount, tt.years[i])
				}
			}
		})
	}
}

func TestMedicaidEP(t *testing.T) {
	tests := []struct {
		name  string
		in    money.MedicaidEPInput
		want  money.Cents
		field string
	}{
		{"85% of a lower allowable cost", money.MedicaidEPInput{ParticipationYear: 1, FirstPaymentYear: 2016, PaymentYear: 2016, NetAllowableCost: cents(money.Dollars(20000))}, money.Dollars(17000), ""},
		{"allowable cost above the maximum", money.MedicaidEPInput{ParticipationYear: 2, FirstPaymentYear: 2016, PaymentYear: 2018, NetAllowableCost: cents(money.Dollars(50000))}, money.Dollars(8500), ""},
		{"pediatric with a lower cost is not reduced below 85%", money.MedicaidEPInput{ParticipationYear: 2, FirstPaymentYear: 2015, PaymentYear: 2016, Pediatric: true, NetAllowableCost: cents(money.Dollars(6000))}, money.Dollars(5100), ""},
		{"aggregate cap reached", money.MedicaidEPInput{ParticipationYear: 6, FirstPaymentYear: 2011, PaymentYear: 2021, PaidBefore: money.Dollars(63750)}, 0, ""},
		{"no payments after 2021", money.MedicaidEPInput{ParticipationYear: 6, FirstPaymentYear: 2016, PaymentYear: 2022}, 0, "payment_year"},
		{"no new starters after 2016", money.MedicaidEPInput{ParticipationYear: 1, FirstPaymentYear: 2017, PaymentYear: 2017}, 0, "first_payment_year"},
		{"seventh year", money.MedicaidEPInput{ParticipationYear: 7, FirstPaymentYear: 2011, PaymentYear: 2021}, 0, "participation_year"},
		{"more years than calendar years", money.MedicaidEPInput{ParticipationYear: 4, FirstPaymentYear: 2015, PaymentYear: 2016}, 0, "participation_year"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := money.MedicaidEP(tt.in)
			if tt.field != "" {
				if !errs.Is(errs.Invalid, err) || errs.FieldOf(err) != tt.field {
					t.Errorf("err = %v, want invalid %s", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Amount != tt.want {
				t.Errorf("amount %s, want %s\n%s", p.Amount, tt.want, strings.Join(p.Explanation.Steps, "\n"))
			}
		})
	}
}

func TestInitialAmountEdges(t *testing.T) {
	tests := []struct {
		discharges int64
		want       money.Cents
	}{
		{0, money.Dollars(2_000_000)},
		{1149, money.Dollars(2_000_000)},
		{1150, money.Dollars(2_000_200)},
		{1151, money.Dollars(2_000_400)},
		{23000, money.Dollars(6_370_200)},
		{23001, money.Dollars(6_370_200)},
		{100000, money.Dollars(6_370_200)},
	}
	for _, tt := range tests {
		if got := money.InitialAmount(tt.discharges); got != tt.want {
			t.Errorf("InitialAmount(%d) = %s, want %s", tt.discharges, got, tt.want)
		}
	}
}

// share718 is a Medicare share of 35,000 / (100,000 × 450/500) = 7/18.
var share718 = money.MedicareShareInput{PartADays: 30000, PartCDays: 5000, TotalDays: 100000, TotalCharges: money.Dollars(500_000_000), CharityCharges: money.Dollars(50_000_000)}

// shareAll is a Medicare share of exactly 1.
var shareAll = money.MedicareShareInput{PartADays: 1000, TotalDays: 1000, TotalCharges: money.Dollars(1000)}

func TestMedicareHospital(t *testing.T) {
	tests := []struct {
		name  string
		in    money.HospitalInput
		want  money.Cents
		field string
	}{
		{"1,149 discharges, share 1, first year", money.HospitalInput{Discharges: 1149, Share: shareAll, FirstPaymentYear: 2011, PaymentYear: 2011}, money.Dollars(2_000_000), ""},
		{"1,150 discharges", money.HospitalInput{Discharges: 1150, Share: shareAll, FirstPaymentYear: 2011, PaymentYear: 2011}, money.Dollars(2_000_200), ""},
		{"23,000 discharges", money.HospitalInput{Discharges: 23000, Share: shareAll, FirstPaymentYear: 2011, PaymentYear: 2011}, money.Dollars(6_370_200), ""},
		{"23,001 discharges", money.HospitalInput{Discharges: 23001, Share: shareAll, FirstPaymentYear: 2011, PaymentYear: 2011}, money.Dollars(6_370_200), ""},
		// 3,770,200 × 7/18 = 1,466,188.888… → 1,466,188.89
		{"share 7/18, FY2012 first year, before sequestration", money.HospitalInput{Discharges: 10000, Share: share718, FirstPaymentYear: 2012, PaymentYear: 2012}, 146618889, ""},
		// × 3/4 × 98% = 1,077,648.8333… → 1,077,648.83
		{"year 2 (FY2013) × 3/4, sequestered", money.HospitalInput{Discharges: 10000, Share: share718, FirstPaymentYear: 2012, PaymentYear: 2013}, 107764883, ""},
		{"year 4 (FY2015) × 1/4 nominal", money.HospitalInput{Discharges: 10000, Share: share718, FirstPaymentYear: 2012, PaymentYear: 2015, Nominal: true}, 36654722, ""},
		{"a fifth year earns nothing", money.HospitalInput{Discharges: 10000, Share: share718, FirstPaymentYear: 2012, PaymentYear: 2016}, 0, ""},
		{"FY2014 starter begins at 3/4", money.HospitalInput{Discharges: 1149, Share: shareAll, FirstPaymentYear: 2014, PaymentYear: 2014, Nominal: true}, money.Dollars(1_500_000), ""},
		{"FY2015 starter begins at 1/2", money.HospitalInput{Discharges: 1149, Share: shareAll, FirstPaymentYear: 2015, PaymentYear: 2015, Nominal: true}, money.Dollars(1_000_000), ""},
		{"FY2015 starter ends at FY2016 with 1/4", money.HospitalInput{Discharges: 1149, Share: shareAll, FirstPaymentYear: 2015, PaymentYear: 2016, Nominal: true}, money.Dollars(500_000), ""},
		{"FY2015 starter gets nothing in FY2017", money.HospitalInput{Discharges: 1149, Share: shareAll, FirstPaymentYear: 2015, PaymentYear: 2017, Nominal: true}, 0, ""},
		{"more Medicare days than days", money.HospitalInput{Discharges: 1, Share: money.MedicareShareInput{PartADays: 2, TotalDays: 1, TotalCharges: 100}, FirstPaymentYear: 2011, PaymentYear: 2011}, 0, "share.part_a_days"},
		{"charity care above charges", money.HospitalInput{Discharges: 1, Share: money.MedicareShareInput{PartADays: 1, TotalDays: 1, TotalCharges: 100, CharityCharges: 100}, FirstPaymentYear: 2011, PaymentYear: 2011}, 0, "share.charity_charges"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := money.MedicareHospital(tt.in)
			if tt.field != "" {
				if !errs.Is(errs.Invalid, err) || errs.FieldOf(err) != tt.field {
					t.Errorf("err = %v, want invalid %s", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Amount != tt.want {
				t.Errorf("amount %s, want %s\n%s", p.Amount, tt.want, strings.Join(p.Explanation.Steps, "\n"))
			}
		})
	}
}

func TestCAH(t *testing.T) {
	tests := []struct {
		name string
		in   money.CAHInput
		want money.Cents
	}{
		// share 7/18 ≈ 38.89% + 20 points = 58.888…% of $1,000,000 = 588,888.888… × 98%
		{"share plus 20 points, sequestered", money.CAHInput{ReasonableCosts: money.Dollars(1_000_000), Share: share718, FirstPaymentYear: 2014, PaymentYear: 2014}, 57711111},
		{"capped at 100%", money.CAHInput{ReasonableCosts: money.Dollars(1_000_000), Share: shareAll, FirstPaymentYear: 2012, PaymentYear: 2012}, money.Dollars(1_000_000)},
		{"no payment after FY2015", money.CAHInput{ReasonableCosts: money.Dollars(1_000_000), Share: shareAll, FirstPaymentYear: 2013, PaymentYear: 2016}, 0},
		{"no fifth year", money.CAHInput{ReasonableCosts: money.Dollars(1_000_000), Share: shareAll, FirstPaymentYear: 2011, PaymentYear: 2015}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := money.CAH(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if p.Amount != tt.want {
				t.Errorf("amount %s, want %s\n%s", p.Amount, tt.want, strings.Join(p.Explanation.Steps, "\n"))
			}
		})
	}
}
