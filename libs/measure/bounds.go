package measure

import (
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/phi"
)

// Bounds are the instants and the variant one evaluation works with, exactly as
// Evaluate computes them. Code that evaluates a measure from stored per-patient facts
// instead of timelines (the metrics service's membership facts) uses them, so that
// its numbers agree with Evaluate to the nanosecond.
type Bounds struct {
	From, To time.Time // the period, [From, To)
	// WindowFrom and WindowTo are the numerator window, [WindowFrom, WindowTo); a
	// zero WindowFrom has no lower bound.
	WindowFrom, WindowTo time.Time
	Variant              Variant // the variant counted (NoVariant for a measure without any)
}

// Resolve checks the arguments of an evaluation of measure m for entity e and period p
// as Evaluate does (the same errs.Invalid errors) and returns its bounds.
func Resolve(m Measure, e contract.Entity, p Period, o Options) (Bounds, error) {
	s, err := newScope(m, e, p, o)
	if err != nil {
		return Bounds{}, err
	}
	return Bounds{From: s.from, To: s.to, WindowFrom: s.winFrom, WindowTo: s.winTo, Variant: s.variant}, nil
}

// ReportingYear is the span performance year y's periods lie in for entity kind k,
// [from, to), in loc: the federal fiscal year for hospitals through 2014, the 15
// months from October 2014 for hospitals in 2015, else the calendar year.
func ReportingYear(k EntityKind, y int, loc *time.Location) (time.Time, time.Time) {
	return reportingYear("", k, y, loc)
}

// PerformanceYear is the performance year whose reporting year (ReportingYear) holds
// t for entity kind k.
func PerformanceYear(k EntityKind, t time.Time, loc *time.Location) int {
	y := t.In(loc).Year()
	// A hospital's fiscal year starts in October of the year before.
	if from, to := ReportingYear(k, y+1, loc); !t.Before(from) && t.Before(to) {
		return y + 1
	}
	return y
}

// Admits reports whether a patient born on born qualifies for the age ranges on day
// on, and if not, why.
func (as Ages) Admits(born phi.Date, on time.Time) (bool, string) { return as.admits(born, on) }

// InfoAt is when the timely-access clock starts for a clinician: InfoAvailable, else
// End, else Start.
func (e Encounter) InfoAt() time.Time { return e.infoAt() }

// Hospital reports whether the setting is a hospital inpatient or emergency
// department one (POS 21 or 23), the only ones hospital denominators count.
func (s Setting) Hospital() bool { return s.hospital() }
