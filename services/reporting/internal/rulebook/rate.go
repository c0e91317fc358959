package rulebook

import (
	"fmt"
	"math/big"
)

// The roundings CMS applies, and nothing else. Every other step is exact.

// RoundHalfUp rounds a non-negative rational to the nearest integer, halves up:
// 4.5 → 5, 4.49 → 4. It is the MIPS scoring engine's rule for measure points
// ("1123/1951 × 20 = 11.51 → 12"); for non-negative values half-up and
// half-away-from-zero agree.
func RoundHalfUp(x *big.Rat) int64 {
	// floor(x + 1/2) = floor((2n + d) / 2d) for x = n/d, d > 0.
	n, d := x.Num(), x.Denom()
	q := new(big.Int).Add(new(big.Int).Lsh(n, 1), d)
	q.Quo(q, new(big.Int).Lsh(d, 1)) // n ≥ 0, so truncation is floor
	return q.Int64()
}

// PortalPercent is a rate as the CMS attestation portal showed and compared it: the
// percentage rounded to hundredths, returned in hundredths of a percent (4001 for
// 40.01%). The portal's rounding mode is not documented; we round half up, the
// rounding of its displayed figures (docs/scoring.md, "Thresholds"). den must be > 0.
func PortalPercent(num, den int64) int64 {
	return RoundHalfUp(new(big.Rat).Mul(big.NewRat(num, den), big.NewRat(10000, 1)))
}

// FormatHundredths writes hundredths of a percent as "40.01".
func FormatHundredths(h int64) string { return fmt.Sprintf("%d.%02d", h/100, h%100) }

// MoreThanPercent reports whether num/den passes a "more than pct percent" threshold
// the way the portal did: the percentage to hundredths, then strictly greater.
// 40.00% fails "> 40%", 40.01% passes; 40.004% (rounded to 40.00%) fails although
// the exact rate is above 40%.
func MoreThanPercent(num, den int64, pct int) bool {
	if den <= 0 {
		return false
	}
	return PortalPercent(num, den) > int64(pct)*100
}

// decimal writes a non-negative rational with the given number of decimals,
// truncated, for explanations ("4.2608").
func decimal(x *big.Rat, places int) string {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	v := new(big.Int).Mul(x.Num(), scale)
	v.Quo(v, x.Denom())
	s := v.String()
	if places == 0 {
		return s
	}
	for len(s) <= places {
		s = "0" + s
	}
	return s[:len(s)-places] + "." + s[len(s)-places:]
}

// ratString writes a rational as an integer when it is one, else as a decimal with
// up to four places ("7.5", "3.3333").
func ratString(x *big.Rat) string {
	if x.IsInt() {
		return x.Num().String()
	}
	s := decimal(x, 4)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	return s
}
