// Package bench runs `attest bench`: on one generated health system (same seed), the
// same Promoting Interoperability measures computed three ways — A. the way OpenEMR
// computes its automated measure reports (per patient and per measure indexed
// queries in batches of 100 patients, one INSERT per itemized row), B. set-based SQL
// at report time (one statement per measure, COUNT(DISTINCT …) FILTER grouped by
// entity) and C. Attest (records' API → metrics → numbers and member lists from
// metrics' API) — checking that the three agree exactly on every count and patient
// list, and measuring each (docs/benchmarks/three-way.md).
package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/measure"
)

// Spec is one measure computed for one entity kind: the catalog entry's program and
// ID, and its variant (controlled substances included or excluded) where it has them.
type Spec struct {
	Program measure.Program
	ID      string
	Variant measure.Variant
	Kind    measure.EntityKind
}

// Name is "PI_EP_1[controlled-substances-excluded]@tin_npi".
func (s Spec) Name() string {
	n := s.ID
	if s.Variant != measure.NoVariant {
		n += "[" + string(s.Variant) + "]"
	}
	return n + "@" + s.Kind
}

// Specs are the measures the bench computes for a performance year: MIPS PI for
// clinicians (TIN/NPI) and groups (TIN), hospital PI for hospitals (CCN), and the
// legacy Stage 3 secure messaging and patient education for eligible professionals
// (NPI). Year 2021 is the last year all of them apply (Stage 3 ends with Medicaid in
// 2021, and PI_EP_1 has no formulary query from 2021).
func Specs() []Spec {
	var out []Spec
	both := []measure.Variant{measure.ControlledIncluded, measure.ControlledExcluded}
	for _, k := range []measure.EntityKind{measure.TINNPI, measure.TIN} {
		out = append(out, Spec{measure.MIPS, "PI_PEA_1", "", k})
		for _, v := range both {
			out = append(out, Spec{measure.MIPS, "PI_EP_1", v, k})
		}
		out = append(out, Spec{measure.MIPS, "PI_HIE_1", "", k}, Spec{measure.MIPS, "PI_HIE_4", "", k})
	}
	out = append(out, Spec{measure.HospitalPI, "EHPI_PEA_1", "", measure.CCN})
	for _, v := range both {
		out = append(out, Spec{measure.HospitalPI, "EHPI_EP_1", v, measure.CCN})
	}
	out = append(out, Spec{measure.HospitalPI, "EHPI_HIE_1", "", measure.CCN}, Spec{measure.HospitalPI, "EHPI_HIE_4", "", measure.CCN})
	out = append(out, Spec{measure.Stage3, "S3-EP-06.2", "", measure.NPI}, Spec{measure.Stage3, "S3-EP-05.2", "", measure.NPI})
	return out
}

// Key is one number of a report: a measure for one entity ("tin_npi:123456789/1234567893").
type Key struct {
	Spec   Spec
	Entity string
}

// Tally is one measure for one entity: the denominator's and numerator's members,
// sorted: patient IDs for unique-patient measures, "patient/object" otherwise.
type Tally struct {
	Den, Num []string
}

// Results are every number of a run.
type Results map[Key]Tally

func (r Results) put(k Key, den, num []string) {
	slices.Sort(den)
	slices.Sort(num)
	if den == nil {
		den = []string{}
	}
	if num == nil {
		num = []string{}
	}
	r[k] = Tally{Den: den, Num: num}
}

// Period is the window a report covers: [From, To) in UTC days.
type Period struct{ From, To time.Time }

func (p Period) String() string {
	return p.From.Format(time.DateOnly) + ".." + p.To.AddDate(0, 0, -1).Format(time.DateOnly)
}

// Year is the whole calendar year.
func Year(y int) Period {
	from := time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC)
	return Period{from, from.AddDate(1, 0, 0)}
}

// Windows are every period of n days within the year, in order.
func Windows(y, n int) []Period {
	year := Year(y)
	var out []Period
	for d := year.From; !d.AddDate(0, 0, n).After(year.To); d = d.AddDate(0, 0, 1) {
		out = append(out, Period{d, d.AddDate(0, 0, n)})
	}
	return out
}

// Diff lists the first differences between two runs' results (at most max), or
// nothing when they agree exactly on every key, count and member.
func Diff(nameA string, a Results, nameB string, b Results, max int) []string {
	var keys []Key
	seen := map[Key]bool{}
	for k := range a {
		keys, seen[k] = append(keys, k), true
	}
	for k := range b {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y Key) int {
		return strings.Compare(x.Spec.Name()+" "+x.Entity, y.Spec.Name()+" "+y.Entity)
	})
	var out []string
	for _, k := range keys {
		if len(out) >= max {
			break
		}
		ta, okA := a[k]
		tb, okB := b[k]
		name := k.Spec.Name() + " " + k.Entity
		switch {
		case !okA:
			out = append(out, fmt.Sprintf("%s: missing from %s (%s: %d/%d)", name, nameA, nameB, len(tb.Num), len(tb.Den)))
		case !okB:
			out = append(out, fmt.Sprintf("%s: missing from %s (%s: %d/%d)", name, nameB, nameA, len(ta.Num), len(ta.Den)))
		default:
			if d := listDiff(ta.Den, tb.Den); d != "" {
				out = append(out, fmt.Sprintf("%s denominator: %s %d, %s %d; %s", name, nameA, len(ta.Den), nameB, len(tb.Den), d))
			}
			if d := listDiff(ta.Num, tb.Num); d != "" {
				out = append(out, fmt.Sprintf("%s numerator: %s %d, %s %d; %s", name, nameA, len(ta.Num), nameB, len(tb.Num), d))
			}
		}
	}
	return out
}

// listDiff names the first members only one of two sorted lists has.
func listDiff(a, b []string) string {
	var onlyA, onlyB []string
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j >= len(b) || i < len(a) && a[i] < b[j]:
			onlyA = append(onlyA, a[i])
			i++
		case i >= len(a) || b[j] < a[i]:
			onlyB = append(onlyB, b[j])
			j++
		default:
			i++
			j++
		}
	}
	if len(onlyA) == 0 && len(onlyB) == 0 {
		return ""
	}
	return fmt.Sprintf("only in the first: %v; only in the second: %v", head(onlyA, 5), head(onlyB, 5))
}

func head(s []string, n int) []string {
	if len(s) > n {
		return append(slices.Clone(s[:n]), fmt.Sprintf("…(+%d)", len(s)-n))
	}
	return s
}
