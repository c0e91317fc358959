package membership

import (
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
)

// FromContract is a published fact as a membership fact, so that a consumer of the
// fact topic can count any period with membership.Count.
func FromContract(mf contract.MeasureFact) Fact {
	val := func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return t.UTC()
	}
	return Fact{Entity: mf.Entity, Program: measure.Program(mf.Program), Measure: mf.Measure, Year: mf.Year,
		Patient: mf.PatientID, Object: mf.Object, Role: Role(mf.Role), Ref: mf.Ref, For: mf.For,
		Channel: measure.Channel(mf.Channel), At: mf.At.UTC(), Until: val(mf.Until), Start: val(mf.Start),
		Deadline: val(mf.Deadline), Controlled: mf.Controlled, Anytime: mf.Anytime, Out: mf.Out, Because: mf.Because}
}
