package rulebook_test

import (
	"math/big"
	"testing"

	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

func TestRoundHalfUp(t *testing.T) {
	tests := []struct {
		name     string
		num, den int64
		want     int64
	}{
		{"zero", 0, 1, 0},
		{"4.5 rounds up", 9, 2, 5},
		{"0.5 rounds up", 1, 2, 1},
		{"2.5 rounds up (not to even)", 5, 2, 3},
		{"4.49 rounds down", 449, 100, 4},
		{"4.5000001 rounds up", 45000001, 10000000, 5},
		{"4.4999999 rounds down", 44999999, 10000000, 4},
		{"QPP example 49/115 × 10 = 4.26", 490, 115, 4},
		{"QPP example 1123/1951 × 20 = 11.51", 1123 * 20, 1951, 12},
		{"exact integer", 40, 1, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rulebook.RoundHalfUp(big.NewRat(tt.num, tt.den)); got != tt.want {
				t.Errorf("RoundHalfUp(%d/%d) = %d, want %d", tt.num, tt.den, got, tt.want)
			}
		})
	}
}

func TestPortalThreshold(t *testing.T) {
	tests := []struct {
		name     string
		num, den int64
		pct      int
		percent  string
		want     bool
	}{
		{"exactly 40.00% fails more than 40%", 40, 100, 40, "40.00", false},
		{"40.01% passes", 4001, 10000, 40, "40.01", true},
		{"40.004% shows 40.00% and fails (exact rate would pass)", 40004, 100000, 40, "40.00", false},
		{"40.005% rounds half up to 40.01% and passes", 40005, 100000, 40, "40.01", true},
		{"39.999% rounds to 40.00% and fails", 39999, 100000, 40, "40.00", false},
		{"2/5 = 40% fails", 2, 5, 40, "40.00", false},
		{"1/3 = 33.33% passes 30%", 1, 3, 30, "33.33", true},
		{"2/3 = 66.67% (half up of 66.666…)", 2, 3, 60, "66.67", true},
		{"80.00% fails more than 80%", 4, 5, 80, "80.00", false},
		{"large counts do not overflow", 900_000_000_001, 1_000_000_000_000, 90, "90.00", false},
		{"zero denominator never passes", 0, 0, 10, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rulebook.MoreThanPercent(tt.num, tt.den, tt.pct); got != tt.want {
				t.Errorf("MoreThanPercent(%d, %d, %d) = %v, want %v", tt.num, tt.den, tt.pct, got, tt.want)
			}
			if tt.den == 0 {
				return
			}
			if got := rulebook.FormatHundredths(rulebook.PortalPercent(tt.num, tt.den)); got != tt.percent {
				t.Errorf("portal percent of %d/%d = %s, want %s", tt.num, tt.den, got, tt.percent)
			}
		})
	}
}
