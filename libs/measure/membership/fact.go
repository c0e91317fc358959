// Package membership derives, from one patient's timeline, the dated facts that decide
// their membership of every ratio measure for every entity (an NPI, a TIN/NPI, a CCN):
// the inputs that can put them in a denominator, the actions that can put them in a
// numerator, the shares of encounter information timely access needs. The facts do not
// depend on a reporting period: Count decides, from them alone, the numerator and
// denominator of any period of the performance year (a calendar year, any 90 or 180
// days, a custom range), with the members behind each number and the inputs that put
// them there, exactly as measure.Evaluate does from the timelines.
//
// Groups (TIN) have no facts of their own: a group is its clinicians' TIN/NPI facts,
// de-duplicated by Count as Evaluate does.
package membership

import (
	"strconv"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
)

// Role is what a fact says about its member.
type Role string

// The roles.
const (
	// Denominator: an input that puts the member in the denominator of any period
	// holding At — an encounter of the population for a unique-patient measure, the
	// counted object itself otherwise — unless Out says why it cannot.
	Denominator Role = contract.RoleDenominator
	// Numerator: an action that puts the member in the numerator of any period whose
	// numerator window holds At (and Until, when set), or of any period at all when
	// Anytime is set.
	Numerator Role = contract.RoleNumerator
	// Access: the first share of the information of denominator encounter For through
	// Channel, at At (timely access).
	Access Role = contract.RoleAccess
	// Gate: a condition of the denominator that holds from At on (Stage 1 CPOE: a
	// medication on the medication list before the period ends).
	Gate Role = contract.RoleGate
)

// Fact is one dated fact about a member of a measure: a patient (Object "") or a
// counted object of a patient, for one entity, measure and performance year.
type Fact struct {
	Entity  contract.Entity // npi, tin_npi or ccn
	Program measure.Program
	Measure string // the measure ID
	Year    int    // the performance year
	Patient string
	Object  string // the counted object's ID; "" for unique patients
	Role    Role
	Ref     string          // the ID of the input it comes from
	For     string          // Access: the denominator encounter whose information was shared
	Channel measure.Channel // Access: the channel
	At      time.Time
	Until   time.Time // Numerator: a second instant that must also fall in the window
	// Start is when a denominator encounter began, where At is its discharge.
	Start time.Time
	// Deadline is when the numerator action of a denominator input is due (timely
	// access, clinical summaries); zero when there is none.
	Deadline   time.Time
	Controlled bool   // Denominator: a controlled-substance prescription (variants)
	Anytime    bool   // Numerator: counts whatever the window
	Out        string // Denominator: the rule that keeps it out whatever the period; "" when it counts
	// Because is the event that recorded the input's version the fact was derived
	// from. It explains the fact and is not part of its identity.
	Because string
}

// Key is the fact's identity: every field but Because. Two facts with the same key
// are the same fact.
func (f Fact) Key() string {
	b := make([]byte, 0, 256)
	for _, s := range []string{f.Entity.Kind, f.Entity.ID, string(f.Program), f.Measure, f.Patient, f.Object,
		string(f.Role), f.Ref, f.For, string(f.Channel), f.Out} {
		b = append(append(b, s...), 0)
	}
	b = strconv.AppendInt(b, int64(f.Year), 10)
	for _, t := range []time.Time{f.At, f.Until, f.Start, f.Deadline} {
		b = append(b, 0)
		if !t.IsZero() {
			b = strconv.AppendInt(b, t.UnixNano(), 10)
		}
	}
	b = append(b, 0)
	b = strconv.AppendBool(b, f.Controlled)
	b = append(b, 0)
	b = strconv.AppendBool(b, f.Anytime)
	return string(b)
}

// member identifies the member a fact is about.
type member struct{ patient, object string }

func (f Fact) member() member { return member{f.Patient, f.Object} }

// Diff returns the facts of want that have is lacks (to assert) and those of have that
// want lacks (to retract), each in want's and have's order.
func Diff(have, want []Fact) (assert, retract []Fact) {
	held := make(map[string]bool, len(have))
	for _, f := range have {
		held[f.Key()] = true
	}
	wanted := make(map[string]bool, len(want))
	for _, f := range want {
		k := f.Key()
		if !held[k] && !wanted[k] {
			assert = append(assert, f)
		}
		wanted[k] = true
	}
	for _, f := range have {
		if !wanted[f.Key()] {
			retract = append(retract, f)
		}
	}
	return assert, retract
}

// Series names the facts of one entity, measure and performance year: what one count
// reads (a group reads its clinicians' series).
type Series struct {
	Entity  contract.Entity
	Program measure.Program
	Measure string
	Year    int
}

// Series is the series the fact belongs to.
func (f Fact) Series() Series { return Series{f.Entity, f.Program, f.Measure, f.Year} }
