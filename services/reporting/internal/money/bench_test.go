package money_test

import (
	"testing"

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
