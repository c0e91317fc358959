package money

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
)

func i64(v int64) *int64 { return &v }
func yes() *bool         { b := true; return &b }

// hospitalInputs are cost-report figures whose Medicare share is exactly 7/18:
// 35,000 / (100,000 × (1,000,000 − 100,000) / 1,000,000).
func hospitalInputs(first int) *contract.PaymentInputs {
	return &contract.PaymentInputs{PaymentInputsID: "pay-1", Entity: contract.Entity{Kind: contract.EntityCCN, ID: "123456"},
		PaymentFigures: contract.PaymentFigures{Program: contract.IncentiveMedicare, FirstPaymentYear: first,
			Discharges: i64(10000), MedicarePartADays: i64(35000), TotalInpatientDays: i64(100000),
			TotalChargesCents: i64(100_000_000), CharityChargesCents: i64(10_000_000), ReasonableCostsCents: i64(50_000_000)}}
}

func professional(program string, f contract.PaymentFigures) *contract.PaymentInputs {
	f.Program = program
	return &contract.PaymentInputs{PaymentInputsID: "pay-2", Entity: contract.Entity{Kind: contract.EntityNPI, ID: "1234567893"},
		PaymentFigures: f}
}

// TestIncentiveFromInputs checks golden amounts computed from payment inputs: each
// formula, its edges (the Medicaid volume thresholds), and the programs' last years.
func TestIncentiveFromInputs(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	medicaid := func(enc int64, pediatrician bool) *contract.PaymentInputs {
		f := contract.PaymentFigures{FirstPaymentYear: 2014, ParticipationYear: 1, MedicaidEncounters: i64(enc), TotalEncounters: i64(1000)}
		if pediatrician {
			f.Pediatrician = yes()
		}
		return professional(contract.IncentiveMedicaid, f)
	}
	cases := []struct {
		name    string
		req     IncentiveRequest
		program string
		want    Cents
		none    bool // no incentive program pays for the year
	}{
		// The docs/payments.md hospital example: 10,000 discharges, share 7/18, FY2012.
		{"hospital FY2012 first year", IncentiveRequest{Payee: Hospital, Year: 2012, PeriodEnd: day(2012, 9, 30), Inputs: hospitalInputs(2012)},
			"Medicare hospital", 146618889, false},
		{"hospital FY2015 first year 2014: ½, sequestered", IncentiveRequest{Payee: Hospital, Year: 2015, PeriodEnd: day(2015, 9, 30), Inputs: hospitalInputs(2014)},
			"Medicare hospital", 71843256, false},
		{"hospital FY2017: no incentive", IncentiveRequest{Payee: Hospital, Year: 2017, Inputs: hospitalInputs(2014)}, "", 0, true},
		// 500,000 × min(100%, 7/18 + 20%) × 98% = 288,555.56.
		{"CAH FY2013", IncentiveRequest{Payee: CriticalCare, Year: 2013, PeriodEnd: day(2013, 9, 30), Inputs: hospitalInputs(2013)},
			"CAH", 28855556, false},
		{"CAH FY2016: no incentive", IncentiveRequest{Payee: CriticalCare, Year: 2016, Inputs: hospitalInputs(2013)}, "", 0, true},
		// 75% × $10,000 = $7,500 below the $12,000 cap; 2014 is sequestered: $7,350.
		{"Medicare EP below the cap", IncentiveRequest{Payee: Professional, Year: 2014, PeriodEnd: day(2014, 12, 31),
			Inputs: professional(contract.IncentiveMedicare, contract.PaymentFigures{FirstPaymentYear: 2014, AllowedChargesCents: i64(1_000_000)})},
			"Medicare EP", 735000, false},
		// HPSA raises the cap: $15,000 × 110% × 98% = $16,170.
		{"Medicare EP HPSA at the cap", IncentiveRequest{Payee: Professional, Year: 2013, PeriodEnd: day(2013, 12, 31),
			Inputs: professional(contract.IncentiveMedicare, contract.PaymentFigures{FirstPaymentYear: 2013, AllowedChargesCents: i64(10_000_000), HPSA: yes()})},
			"Medicare EP", 1617000, false},
		{"Medicare EP 2017: no incentive", IncentiveRequest{Payee: Professional, Year: 2017,
			Inputs: professional(contract.IncentiveMedicare, contract.PaymentFigures{FirstPaymentYear: 2013})}, "", 0, true},
		{"Medicaid EP at 30%", IncentiveRequest{Payee: Professional, Year: 2014, Inputs: medicaid(300, false)}, "Medicaid EP", Dollars(21250), false},
		{"Medicaid EP at 29.9%: not eligible", IncentiveRequest{Payee: Professional, Year: 2014, Inputs: medicaid(299, false)}, "Medicaid EP", 0, false},
		{"Medicaid pediatrician at 20%: two-thirds", IncentiveRequest{Payee: Professional, Year: 2014, Inputs: medicaid(200, true)}, "Medicaid EP", Dollars(14167), false},
		{"Medicaid pediatrician at 19.9%: not eligible", IncentiveRequest{Payee: Professional, Year: 2014, Inputs: medicaid(199, true)}, "Medicaid EP", 0, false},
		{"Medicaid pediatrician at 30%: full", IncentiveRequest{Payee: Professional, Year: 2014, Inputs: medicaid(300, true)}, "Medicaid EP", Dollars(21250), false},
		{"Medicaid EP 2022: no incentive", IncentiveRequest{Payee: Professional, Year: 2022, Inputs: medicaid(300, false)}, "", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := IncentiveFor(c.req)
			if err != nil {
				t.Fatal(err)
			}
			if c.none {
				if got != nil {
					t.Fatalf("got %+v, want no incentive", got)
				}
				return
			}
			if got == nil || got.Program != c.program || got.Payment.Amount != c.want {
				t.Fatalf("got %+v, want %s %s", got, c.program, c.want)
			}
			e := got.Payment.Explanation
			if e.Formula == "" || len(e.Inputs) == 0 || len(e.Steps) == 0 || len(e.Sources) == 0 {
				t.Errorf("explanation incomplete: %+v", e)
			}
		})
	}
}

// TestIncentiveMissingInputs checks that absent inputs are named, not guessed.
func TestIncentiveMissingInputs(t *testing.T) {
	noDischarges := hospitalInputs(2012)
	noDischarges.Discharges, noDischarges.CharityChargesCents = nil, nil
	cases := []struct {
		name string
		req  IncentiveRequest
		want []string
	}{
		{"no inputs at all", IncentiveRequest{Payee: Hospital, Year: 2012}, []string{"payment inputs for the year"}},
		{"hospital without discharges and charity", IncentiveRequest{Payee: Hospital, Year: 2012, Inputs: noDischarges},
			[]string{"discharges", "charity_charges_cents"}},
		{"CAH without costs", IncentiveRequest{Payee: CriticalCare, Year: 2013, Inputs: func() *contract.PaymentInputs {
			in := hospitalInputs(2013)
			in.ReasonableCostsCents = nil
			return in
		}()}, []string{"reasonable_costs_cents"}},
		{"Medicare EP without charges", IncentiveRequest{Payee: Professional, Year: 2014,
			Inputs: professional(contract.IncentiveMedicare, contract.PaymentFigures{FirstPaymentYear: 2014})}, []string{"allowed_charges_cents"}},
		{"Medicaid EP without volume", IncentiveRequest{Payee: Professional, Year: 2014,
			Inputs: professional(contract.IncentiveMedicaid, contract.PaymentFigures{ParticipationYear: 1})},
			[]string{"first_payment_year", "medicaid_encounters", "total_encounters"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := IncentiveFor(c.req)
			var m *Missing
			if !errors.As(err, &m) || got != nil {
				t.Fatalf("got %+v, %v; want missing %v", got, err, c.want)
			}
			if !slices.Equal(m.Fields, c.want) {
				t.Errorf("missing %v, want %v", m.Fields, c.want)
			}
		})
	}
}
