package rulebook

import (
	"fmt"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
)

// Active engagement with a public health agency or clinical data registry (the public
// health measures of Modified Stage 2 from 2015, Stage 3, MIPS ACI/PI and hospital PI;
// 80 FR 62862, CMS's measure specifications):
//
//   - 2015–2022, three options: (1) completed registration to submit data — the
//     registration was completed within 60 days after the start of the reporting
//     period (registering in an earlier year counts: no new registration is needed
//     each period) and the entity awaits an invitation to test; (2) testing and
//     validation; (3) production.
//   - 2023 on, two levels: pre-production and validation (options 1 and 2 combined:
//     "must first register … within 60 days after the start of the performance
//     period") and validated data production.
//
// So a registered entity (and from 2023 one in testing) is in active engagement only
// when it registered by day 60 after the period's first day; production never
// depends on the registration date.

// RegistrationDays is how many days after the period's first day registration may be
// completed: registration on the period's first day plus RegistrationDays counts.
const RegistrationDays = 60

// Engagement is a registry engagement as recorded: the current status, since when it
// holds, and when registration was completed (contract.RegistryEngagement).
type Engagement struct {
	Status     string // a contract.Engagement* status
	Registered time.Time
	Since      time.Time
}

// EngagementVerdict is whether an engagement is active engagement for a period.
type EngagementVerdict struct {
	Active bool
	// Level is the status in effect at the end of the period: the recorded status if
	// it began by then, otherwise "registered" (a later status replaced it); "" when
	// registration itself came after the period.
	Level    string
	Deadline time.Time // the last day registration could be completed
	Reason   string    // in words, with the dates; no PHI
}

// CheckEngagement decides whether engagement e is active engagement for the period
// (From and To civil days, both included) of a program year.
func CheckEngagement(year int, period Period, e Engagement) EngagementVerdict {
	from, to := civilDay(period.From), civilDay(period.To)
	registered, since := civilDay(e.Registered), civilDay(e.Since)
	v := EngagementVerdict{Deadline: from.AddDate(0, 0, RegistrationDays)}
	switch {
	case registered.After(to):
		v.Reason = fmt.Sprintf("registered on %s, after the period ended on %s", isoDay(registered), isoDay(to))
		return v
	case since.After(to):
		// The current status began after the period: during it the entity was
		// registered (the record keeps no earlier level, so none higher is assumed).
		v.Level = contract.EngagementRegistered
	default:
		v.Level = e.Status
	}
	needsRegistration := v.Level == contract.EngagementRegistered || year >= 2023 && v.Level == contract.EngagementTesting
	if needsRegistration && registered.After(v.Deadline) {
		v.Reason = fmt.Sprintf("%s: registration completed on %s, more than %d days after the period start %s (deadline %s)",
			v.Level, isoDay(registered), RegistrationDays, isoDay(from), isoDay(v.Deadline))
		return v
	}
	v.Active = true
	switch {
	case !needsRegistration:
		v.Reason = fmt.Sprintf("%s since %s", v.Level, isoDay(since))
	case registered.Before(from):
		v.Reason = fmt.Sprintf("%s: registered on %s, before the period (no new registration is needed)", v.Level, isoDay(registered))
	default:
		v.Reason = fmt.Sprintf("%s: registered on %s, within %d days of the period start %s (deadline %s)",
			v.Level, isoDay(registered), RegistrationDays, isoDay(from), isoDay(v.Deadline))
	}
	return v
}

func isoDay(t time.Time) string { return t.Format(time.DateOnly) }
