package money_test

import (
	"testing"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/reporting/internal/money"
)

func BenchmarkMedicareHospital(b *testing.B) {
	in := money.HospitalInput{Discharges: 10000, Share: share718, FirstPaymentYear: 2012, PaymentYear: 2013}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := money.MedicareHospital(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMIPS(b *testing.B) {
	in := money.MIPSInput{PerformanceYear: 2024, Scores: map[money.Category]string{
		money.Quality: "82.5", money.Cost: "61", money.ImprovementActivities: "100", money.PromotingInteroperability: "88"}, ScalingFactor: "0.9"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := money.MIPS(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIncentiveFromInputs is the incentive a Meaningful Use report computes from
// payment inputs (a Medicaid pediatrician: volume, eligibility, two-thirds cap).
func BenchmarkIncentiveFromInputs(b *testing.B) {
	n := func(v int64) *int64 { return &v }
	yes := true
	in := &contract.PaymentInputs{PaymentInputsID: "pay-1", Entity: contract.Entity{Kind: contract.EntityNPI, ID: "1234567893"},
		Year: 2014, PaymentFigures: contract.PaymentFigures{Program: contract.IncentiveMedicaid, FirstPaymentYear: 2014,
			ParticipationYear: 1, MedicaidEncounters: n(240), TotalEncounters: n(1000), Pediatrician: &yes}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := money.IncentiveFor(money.IncentiveRequest{Payee: money.Professional, Year: 2014, Inputs: in}); err != nil {
			b.Fatal(err)
		}
	}
}
