package translate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// fact is what an entry describes, read from the meaning of its title.
type fact int

const (
	factSeen             fact = iota + 1 // a visit with the clinician (value: first/second encounter, not seen)
	factDischarged                       // a hospital stay ending in a discharge (first/second discharge)
	factAdmitted                         // a hospital admission
	factAccessVDT                        // online access to view, download and transmit given in time
	factAccessAPI                        // the information available through the API in time
	factRxKind                           // the prescriptions are new or changed ones
	factRxWritten                        // how many prescriptions were written (qualified by controlled or not)
	factRxSent                           // how many of them were sent electronically
	factFormulary                        // the prescriptions were checked against a drug formulary
	factTransitionOut                    // a transition or referral to another provider
	factSummarySent                      // its summary of care created and sent electronically
	factReceiptConfirmed                 // the receiver confirmed receipt of it
	factTransitionIn                     // the patient came by transition, referral, or as new
	factRecordsReceived                  // how many electronic summaries of care arrived
	factReconciled                       // how many of them had one list reconciled (qualified by the list)
	factListReconciled                   // one list reconciled for the transition in (yes/no)
	factRequested                        // a summary of care requested: available or unavailable
	factReceived                         // a summary of care received through the request
	factIncorporated                     // the summary of care incorporated into the record
	factOrdersCreated                    // how many orders were placed (qualified by category)
	factOrdersCPOE                       // how many of them were entered through CPOE
	factOrdersWithin                     // the orders were placed within the period (always so here)
	factViewed                           // the patient or a representative viewed, downloaded or transmitted
	factAccessedAPI                      // the patient accessed their information through the API
	factPGHD                             // data from a non-clinical setting incorporated
	factEduIdentified                    // certified technology identified patient-specific education
	factEduProvided                      // electronic access given to the education it identified
	factMsgFromPatient                   // the patient (or representative) sent a secure message
	factMsgReply                         // the clinician (hospital) replied to it
	factMsgToPatient                     // the clinician (hospital) sent a secure message to the patient
	factMsgCopying                       // a secure message to another provider including the patient
)

// ErrNotReplayable is an entry understood but not replayable through the public APIs.
// No entry of the published decks is refused so today: secure messages and education
// provisions of a past day are recorded by import (messaging's POST
// /v1/threads/import, education's dated provisions), as an integration would.
var ErrNotReplayable = errors.New("not replayable through the public APIs")

// controlled qualifies prescription counts.
type controlled int

const (
	rxAll controlled = iota // every prescription
	rxNotControlled
	rxControlled
)

// list is which list a reconciliation is of.
type list int

const (
	listMedications list = iota + 1
	listAllergies
	listProblems
)

// meaning is an entry title understood.
type meaning struct {
	fact       fact
	controlled controlled
	list       list
	category   string // orders: medication, laboratory, imaging
}

// understand reads an entry title by its meaning: the kind of fact it names, and the
// qualifiers that matter (controlled substances, which list). Titles differ between
// editions and decks in wording ("Reporting / Performance Period", "EP/EC", "within 48
// hours (Medicaid) or 4 business days (MIPS)"); the phrases looked for are the ones
// that carry the meaning, so a reworded title in a future edition still reads.
func understand(title string) (meaning, error) {
	t := strings.ToLower(strings.Join(strings.Fields(title), " "))
	has := func(words ...string) bool {
		for _, w := range words {
			if !strings.Contains(t, w) {
				return false
			}
		}
		return true
	}
	qualifier := func() controlled {
		switch {
		case has("not controlled"), has("non-controlled"):
			return rxNotControlled
		case has("controlled"):
			return rxControlled
		}
		return rxAll
	}
	switch {
	// Secure messages: a reply, one to another provider including the patient, the
	// patient's own, one to the patient.
	case has("secure", "message", "replies"):
		return meaning{fact: factMsgReply}, nil
	case has("secure", "message", "to provider"):
		return meaning{fact: factMsgCopying}, nil
	case has("secure", "message", "sends") && strings.HasPrefix(t, "patient"):
		return meaning{fact: factMsgFromPatient}, nil
	case has("secure", "message", "sends", "message to patient"):
		return meaning{fact: factMsgToPatient}, nil
	// Patient-specific education: identified by CEHRT, then provided (the provision's
	// title also says "identified by CEHRT", so it is read first).
	case has("education") && has("provides"), has("educational") && has("provides"):
		return meaning{fact: factEduProvided}, nil
	case has("education") && has("identifies"):
		return meaning{fact: factEduIdentified}, nil
	// Prescriptions first: their titles also say "during reporting period".
	case has("prescription", "new", "changed"):
		return meaning{fact: factRxKind}, nil
	case has("formulary"):
		return meaning{fact: factFormulary}, nil
	case has("transmitted electronically") && (has("prescription") || has("controlled substance")):
		return meaning{fact: factRxSent, controlled: qualifier()}, nil
	case has("prescriptions written"):
		return meaning{fact: factRxWritten, controlled: qualifier()}, nil
	// Summaries of care received and reconciled (before "transition": no title has both).
	case has("summary of care records received"):
		return meaning{fact: factRecordsReceived}, nil
	case has("summary of care records where", "reconciliation"):
		switch {
		case has("allergy"):
			return meaning{fact: factReconciled, list: listAllergies}, nil
		case has("problem"):
			return meaning{fact: factReconciled, list: listProblems}, nil
		case has("medication"):
			return meaning{fact: factReconciled, list: listMedications}, nil
		}
	case has("summary of care record", "requested"):
		return meaning{fact: factRequested}, nil
	case has("summary of care record", "received"):
		return meaning{fact: factReceived}, nil
	case has("summary of care record", "incorporated"):
		return meaning{fact: factIncorporated}, nil
	case has("orders"):
		var cat string
		switch {
		case has("medication"):
			cat = "medication"
		case has("laboratory"):
			cat = "laboratory"
		case has("imaging"):
			cat = "imaging"
		default:
			return meaning{}, fmt.Errorf("entry %q: orders of no known category (medication, laboratory, imaging)", title)
		}
		switch {
		case has("cpoe"):
			return meaning{fact: factOrdersCPOE, category: cat}, nil
		case has("within"):
			return meaning{fact: factOrdersWithin, category: cat}, nil
		case has("created"):
			return meaning{fact: factOrdersCreated, category: cat}, nil
		}
	case has("reconciliation") && !has("summary of care"):
		switch {
		case has("allergy"):
			return meaning{fact: factListReconciled, list: listAllergies}, nil
		case has("problem"):
			return meaning{fact: factListReconciled, list: listProblems}, nil
		case has("medication"):
			return meaning{fact: factListReconciled, list: listMedications}, nil
		}
	case has("non-clinical setting"):
		return meaning{fact: factPGHD}, nil
	case has("accessed", "through api"):
		return meaning{fact: factAccessedAPI}, nil
	case has("viewed"):
		return meaning{fact: factViewed}, nil
	case has("transitioned", "referred"):
		return meaning{fact: factTransitionIn}, nil
	case has("transition of care or referral"):
		return meaning{fact: factTransitionOut}, nil
	case has("receipt of summary of care", "confirmed"):
		return meaning{fact: factReceiptConfirmed}, nil
	case has("summary of care record", "created", "transmitted"):
		return meaning{fact: factSummarySent}, nil
	// Access to the patient's information.
	case has("provided access", "view"):
		return meaning{fact: factAccessVDT}, nil
	case has("available to access via api"):
		return meaning{fact: factAccessAPI}, nil
	// Visits and stays.
	case has("patient seen"):
		return meaning{fact: factSeen}, nil
	case has("patient discharged"):
		return meaning{fact: factDischarged}, nil
	case has("patient admitted"):
		return meaning{fact: factAdmitted}, nil
	}
	return meaning{}, fmt.Errorf("entry %q: its meaning is not understood", title)
}

// yesNo reads an affirmative or negative value: "Yes", "Provided", "Within", "Available"
// against "No", "Not provided", "Unavailable". na is "N/A" (does not apply).
func yesNo(v string) (yes, na bool, err error) {
	s := strings.ToLower(strings.TrimSpace(v))
	switch {
	case s == "n/a" || s == "na":
		return false, true, nil
	case s == "no" || strings.HasPrefix(s, "not ") || s == "unavailable" || s == "none":
		return false, false, nil
	case s == "yes" || s == "within" || s == "during" || s == "provided" || s == "identified" ||
		s == "available" || s == "received" || s == "incorporated" || strings.HasPrefix(s, "admitted"):
		return true, false, nil
	}
	return false, false, fmt.Errorf("value %q is neither yes nor no", v)
}

// count reads a number of things; "N/A" is none.
func count(v string) (int, error) {
	s := strings.TrimSpace(v)
	if strings.EqualFold(s, "n/a") {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("value %q is not a count", v)
	}
	return n, nil
}

// visit reads an encounter or discharge value: the ordinal of the visit ("First
// encounter", "Second discharge", "Admitted"), or 0 when the patient was not seen.
func visit(v string) (int, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	if yes, _, err := yesNo(s); err == nil {
		if yes {
			return 1, nil
		}
		return 0, nil
	}
	ordinals := []string{"first", "second", "third", "fourth", "fifth"}
	for i, o := range ordinals {
		if strings.HasPrefix(s, o+" ") {
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("value %q names no visit (first/second encounter or discharge, not seen)", v)
}

// transitionKind reads how the patient came: "Transitioned", "Referred", "New",
// "Existing"; "" when "No" (not within the period).
func transitionKind(v string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	switch {
	case strings.HasPrefix(s, "transition"):
		return "transition", nil
	case strings.HasPrefix(s, "referr"):
		return "referral", nil
	case s == "new" || s == "existing":
		return s, nil
	case s == "no" || s == "n/a" || strings.HasPrefix(s, "not "):
		return "", nil
	}
	return "", fmt.Errorf("value %q is not transitioned, referred, new or existing", v)
}
