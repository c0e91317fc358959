// Package money computes the EHR incentive payments and the payment adjustments
// that meaningful use (or its absence) brings: the Medicare EP schedule, Medicaid EP
// payments, the Medicare hospital formula, CAH cost-based payments, the EP, hospital
// and CAH payment adjustments, the MIPS final score with PI's contribution and the
// resulting adjustment band, and hardship exceptions.
//
// Every amount comes with an Explanation: the formula, its inputs, each step with
// numbers and the sources, so a compliance officer can check it by hand
// (docs/payments.md). Money is integer cents; rates and fractions are exact
// rationals (math/big); an amount is rounded once, at the end, half up to the cent,
// unless the rule itself rounds (Medicaid pediatric amounts are whole dollars).
//
// The package is pure: no I/O, no clock.
package money

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
)

// Cents is an amount of US money in cents.
type Cents int64

// Dollars is d whole dollars.
func Dollars(d int64) Cents { return Cents(d * 100) }

// String writes the amount as "$43,720.00" ("-$1.50" when negative).
func (c Cents) String() string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	d := fmt.Sprint(int64(c) / 100)
	var b strings.Builder
	for i, r := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("%s$%s.%02d", sign, b.String(), int64(c)%100)
}

// Input is one named input of a computation, as written in its explanation.
type Input struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Explanation shows how an amount was reached.
type Explanation struct {
	Formula string   `json:"formula"`
	Inputs  []Input  `json:"inputs"`
	Steps   []string `json:"steps"`
	Sources []string `json:"sources"`
}

func (e *Explanation) input(name string, value any) {
	e.Inputs = append(e.Inputs, Input{Name: name, Value: fmt.Sprint(value)})
}

func (e *Explanation) step(format string, args ...any) {
	e.Steps = append(e.Steps, fmt.Sprintf(format, args...))
}

// Payment is an incentive payment for one payment year.
type Payment struct {
	Year        int         `json:"year"` // the payment year (calendar year for EPs, fiscal year for hospitals)
	Amount      Cents       `json:"amount"`
	Explanation Explanation `json:"explanation"`
}

// Schedule is a run of payments and their total.
type Schedule struct {
	Payments []Payment `json:"payments"`
	Total    Cents     `json:"total"`
}

func (s *Schedule) add(p Payment) {
	s.Payments = append(s.Payments, p)
	s.Total += p.Amount
}

// rat is the exact value of c in dollars.
func (c Cents) rat() *big.Rat { return big.NewRat(int64(c), 100) }

// roundCents rounds a non-negative dollar amount half up to the cent.
func roundCents(dollars *big.Rat) Cents {
	x := new(big.Rat).Mul(dollars, big.NewRat(100, 1))
	n, d := x.Num(), x.Denom()
	q := new(big.Int).Add(new(big.Int).Lsh(n, 1), d)
	q.Quo(q, new(big.Int).Lsh(d, 1))
	return Cents(q.Int64())
}

func minCents(a, b Cents) Cents {
	if a < b {
		return a
	}
	return b
}

// Percent parses a percentage written in decimal ("3.4", "-0.5", "100.66") exactly.
// field names the input in the error.
func Percent(field, s string) (*big.Rat, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok || strings.ContainsAny(s, "/eE") {
		return nil, errs.Field(errs.Invalid, field, "must be a decimal percentage such as 3.4")
	}
	return r, nil
}

// pct writes a rational percentage with up to three decimals ("2.55", "0.125").
func pct(r *big.Rat) string {
	s := r.FloatString(3)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// frac writes a rational as "3/4", or an integer as "1".
func frac(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return r.String()
}

// sequestrationStart is the first day a Medicare EHR incentive payment's reporting
// period may end and be reduced by 2% (CMS: "any Medicare EHR incentive payment for
// a reporting period that ends on or after April 1, 2013").
var sequestrationStart = time.Date(2013, time.April, 1, 0, 0, 0, 0, time.UTC)

const sequestrationSource = "CMS FAQ (Mar 2013) under the Budget Control Act of 2011 sequestration order: Medicare EHR incentive payments for reporting periods ending on or after April 1, 2013 are reduced by 2%; Medicaid payments are exempt"

// sequester applies the 2% sequestration to amount when the reporting period ended
// on or after April 1, 2013, and writes the step.
func sequester(e *Explanation, amount *big.Rat, periodEnd time.Time, nominal bool) *big.Rat {
	switch {
	case nominal:
		e.step("nominal amount: sequestration not applied")
		return amount
	case periodEnd.Before(sequestrationStart):
		e.step("reporting period ended %s, before April 1, 2013: no sequestration", periodEnd.Format(time.DateOnly))
		return amount
	}
	out := new(big.Rat).Mul(amount, big.NewRat(98, 100))
	e.step("sequestration: reporting period ended %s (on or after April 1, 2013): %s × 98%% = %s",
		periodEnd.Format(time.DateOnly), dollars(amount), dollars(out))
	e.Sources = append(e.Sources, sequestrationSource)
	return out
}

// settle finishes a Medicare incentive: sequestration by the reporting period's
// end (defaultEnd when periodEnd is zero), then the one rounding to the cent.
func settle(e *Explanation, amount *big.Rat, periodEnd, defaultEnd time.Time, nominal bool) Cents {
	if periodEnd.IsZero() {
		periodEnd = defaultEnd
	}
	c := roundCents(sequester(e, amount, periodEnd, nominal))
	e.step("payment = %s (rounded once, half up to the cent)", c)
	return c
}

// dollars writes an exact dollar amount with cents, rounding for display only.
func dollars(r *big.Rat) string {
	if r.Sign() < 0 {
		return "-" + dollars(new(big.Rat).Neg(r))
	}
	return roundCents(r).String()
}
