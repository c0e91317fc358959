// Package translate turns an ONC test deck into the requests that record the facts its
// entries describe, through the platform's public JSON APIs (records under /records).
//
// It works from the meaning of each entry — what its title says happened, and to whom
// — not from a table of the decks' exact titles (see understand), so a future edition
// needs little change. An entry it does not understand is an error naming the deck,
// scenario and entry; nothing is skipped silently.
//
// Every fact is dated in the performance year the deck is checked for: scenario n happens on the Monday of
// week 2n of the year, so later scenarios come after earlier ones and a "second
// encounter" after the first; the information of a visit is available an hour after it
// ends, and access "within" the timeliness window is given an hour after that (inside
// both the hospitals' 36 hours and the clinicians' 4 business days). A "No" is the
// absence of the action; a count is that many facts.
package translate

import (
	"fmt"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/platform/internal/conformance/deck"
)

// Request is one call to the platform's public API.
type Request struct {
	Method string
	Path   string // below the platform's base URL, e.g. /records/v1/encounters
	Body   any
	// Settle: wait until the pipeline has consumed everything written before sending
	// this request. A service that learns patients from records' events (education)
	// knows a patient registered in the same scenario only then.
	Settle bool
	// Key is the Idempotency-Key when the body has no "id" of its own to serve as one.
	Key string
}

// Replay is a deck translated: the directory to create once, then each scenario's
// requests in order.
type Replay struct {
	Deck      deck.Deck
	Automated string // "" as the deck is written; else the automated step replayed as automatic, or "All"
	Year      int
	Entities  Entities
	Setup     []Request
	Scenarios [][]Request
}

// soleClinician is who a clinicians' deck without providers (the (g)(1) decks) is
// about: one clinician in one group.
var soleClinician = Unit{TIN: "A", Provider: "1"}

// Automations are the ways a deck is replayed: as written ("") and, for each automated
// numerator title its expected values use, with those steps automatic.
func Automations(d deck.Deck) []string {
	out := []string{""}
	seen := map[string]bool{}
	for _, sc := range d.Scenarios {
		for _, g := range sc.Segments {
			for _, e := range g.Expected {
				if t, ok := strings.CutPrefix(e.Metric, "automated: "); ok && !seen[t] {
					seen[t] = true
					out = append(out, t)
				}
			}
		}
	}
	return out
}

// Translate translates d, replayed as automated says, with the entities of replay
// number seq, every fact dated in the performance year.
func Translate(d deck.Deck, automated string, seq, year int) (Replay, error) {
	t := &translator{
		r:        Replay{Deck: d, Automated: automated, Year: year, Entities: NewEntities(seq)},
		hospital: d.Kind == "EH",
		patients: map[string]string{},
		units:    map[string]*unitState{},
	}
	if err := t.survey(); err != nil {
		return Replay{}, fmt.Errorf("deck %s: %w", d.File, err)
	}
	t.r.Setup = t.setup()
	for _, sc := range d.Scenarios {
		reqs, err := t.scenario(sc)
		if err != nil {
			return Replay{}, fmt.Errorf("deck %s scenario %d (%s): %w", d.File, sc.Index, sc.Title, err)
		}
		t.r.Scenarios = append(t.r.Scenarios, reqs)
	}
	return t.r, nil
}

type translator struct {
	r        Replay
	hospital bool
	patients map[string]string // deck name → patient ID
	units    map[string]*unitState
	seq      int

	// What the deck as a whole leaves out (survey).
	otherChannel  string // the access channel a deck testing only one channel never mentions
	noTransition  bool   // the deck names no transition in: records received came by one
	countsRecords bool   // the deck counts summaries of care received, one transition each
}

// survey reads what the deck leaves out, which the facts it describes still need.
//
// A deck testing a module certified for one access channel only (RT2b: view, download
// and transmit; RT2c: the API) never mentions the other; the measure needs both, and
// the test takes the other module's part as done. So each visit gets the other channel
// in time. A deck that counts summaries of care received without saying how the
// patient came (the (g)(1) decks) has every one come with a transition or referral in.
func (t *translator) survey() error {
	has := map[fact]bool{}
	for _, sc := range t.r.Deck.Scenarios {
		for _, g := range sc.Segments {
			for _, e := range g.Entries {
				m, err := understand(e.Title)
				if err != nil {
					return fmt.Errorf("scenario %d: %w", sc.Index, err)
				}
				has[m.fact] = true
			}
		}
	}
	switch {
	case has[factAccessVDT] && !has[factAccessAPI]:
		t.otherChannel = contract.AccessAPI
	case has[factAccessAPI] && !has[factAccessVDT]:
		t.otherChannel = contract.AccessVDT
	}
	inbound := has[factRecordsReceived] || has[factRequested] || has[factReceived] || has[factIncorporated] || has[factListReconciled]
	t.noTransition = inbound && !has[factTransitionIn]
	t.countsRecords = has[factRecordsReceived]
	return nil
}

// unitState is what earlier scenarios left for one patient and unit.
type unitState struct {
	encounter string    // the latest encounter's ID
	available time.Time // when its information became available
	visits    int
}

// facts are what one scenario's entries say about one patient and unit.
type facts struct {
	patient string
	unit    Unit
	order   int

	visit                int // ordinal of the visit in this scenario; 0 none
	vdt, api             bool
	autoAccess           bool // access given automatically: to whoever was seen
	rxKind               string
	written, sent        [3]*int // by controlled
	sentAuto             bool
	formulary            bool
	transOut             bool
	summarySent          bool
	confirmed            bool
	transIn              string
	received             int    // summaries of care received (a count)
	reconciled           [4]int // by list: how many of them reconciled
	requested            bool
	unavailable          bool
	receivedYes          bool
	incorporated         bool
	incorporateOnReceipt bool               // incorporation is automatic upon receipt
	orders               map[string]*[2]int // category → created, entered through CPOE
	viewed, usedAPI      bool
	pghd                 bool
	eduIdentified        bool // certified technology identified education for the patient
	eduProvided          bool // and electronic access to it was given
	msgFromPatient       bool // secure messages: the patient's, the reply to it,
	msgReply             bool // one to the patient,
	msgToPatient         bool // and one to another provider including the patient
	msgCopying           bool
}

func (t *translator) id(tag string) string {
	t.seq++
	return fmt.Sprintf("%s-%s%d", t.r.Entities.Prefix, tag, t.seq)
}

// setup is the directory: the practice, its two groups, two clinicians billing under
// both, an office with certified EHR technology per group, and the hospital.
func (t *translator) setup() []Request {
	e, p := t.r.Entities, t.r.Entities.Prefix
	org := p + "-org"
	reqs := []Request{post("organizations", map[string]any{"id": org, "name": "Conformance practice " + p, "kind": contract.OrganizationPractice})}
	var tins []string
	for _, l := range []string{"A", "B"} {
		tins = append(tins, e.TIN[l])
		reqs = append(reqs, post("groups", map[string]any{"id": p + "-group-" + l, "organization_id": org, "name": "TIN " + l, "tin": e.TIN[l]}))
		reqs = append(reqs, post("locations", map[string]any{"id": p + "-office-" + l, "organization_id": org, "name": "Office " + l,
			"pos": "11", "cehrt": true, "tin": e.TIN[l]}))
	}
	for _, n := range []string{"1", "2"} {
		reqs = append(reqs, post("clinicians", map[string]any{"id": p + "-provider-" + n, "npi": e.NPI[n],
			"name": map[string]any{"given": []string{"Provider"}, "family": n}, "credential": contract.CredentialMD, "tins": tins}))
	}
	reqs = append(reqs,
		post("hospitals", map[string]any{"id": p + "-hospital", "organization_id": org, "name": "Conformance hospital " + p, "ccn": e.CCN}),
		post("locations", map[string]any{"id": p + "-ward", "organization_id": org, "name": "Ward", "pos": "21", "cehrt": true,
			"hospital_id": p + "-hospital"}))
	return reqs
}

func post(kind string, body any) Request {
	return Request{Method: "POST", Path: "/records/v1/" + kind, Body: body}
}

// day is scenario n's day: the Monday of week 2n of the year, at 10:00 UTC.
func (t *translator) day(n int) time.Time {
	d := time.Date(t.r.Year, 1, 1, 10, 0, 0, 0, time.UTC)
	for d.Weekday() != time.Monday {
		d = d.AddDate(0, 0, 1)
	}
	return d.AddDate(0, 0, 14*n-7)
}

// automatic reports whether e is replayed as automatic.
func (t *translator) automatic(e deck.Entry) bool {
	return e.Automatable != "" && t.r.Automated != "" && (t.r.Automated == "All" || strings.EqualFold(t.r.Automated, e.Automatable))
}

// scenario reads every entry of sc into facts per patient and unit, then writes them.
// Segments describe the same facts from different sides (with and without controlled
// substances), so an entry meaning what an earlier segment's entry meant is not read
// again.
func (t *translator) scenario(sc deck.Scenario) ([]Request, error) {
	byKey := map[string]*facts{}
	var order []*facts
	read := map[meaning]bool{}
	for _, g := range sc.Segments {
		for _, e := range g.Entries {
			m, err := understand(e.Title)
			if err != nil {
				return nil, err
			}
			if (m.fact == factRxWritten || m.fact == factRxSent) && m.controlled == rxAll &&
				strings.Contains(strings.ToLower(g.Title), "exclud") {
				// "Prescriptions written" in a segment that excludes controlled
				// substances counts the ones not controlled.
				m.controlled = rxNotControlled
			}
			if read[m] {
				continue
			}
			read[m] = true
			auto := t.automatic(e)
			for _, v := range e.Values {
				u, err := ParseUnit(v.Provider)
				if err != nil {
					return nil, fmt.Errorf("entry %q patient %q: %w", e.Title, v.Patient, err)
				}
				if !t.hospital && u == (Unit{}) {
					u = soleClinician
				}
				if t.hospital != (u == Unit{}) {
					return nil, fmt.Errorf("entry %q patient %q: provider %q in a %s deck", e.Title, v.Patient, v.Provider, t.r.Deck.Kind)
				}
				k := v.Patient + "\x00" + u.TIN + u.Provider
				f := byKey[k]
				if f == nil {
					f = &facts{patient: v.Patient, unit: u, order: len(order)}
					byKey[k] = f
					order = append(order, f)
				}
				if err := f.read(m, v.Value, auto); err != nil {
					return nil, fmt.Errorf("entry %q patient %q provider %q: %w", e.Title, v.Patient, v.Provider, err)
				}
			}
		}
	}
	var reqs, later []Request
	for _, f := range order {
		rs, err := t.write(sc.Index, f)
		if err != nil {
			return nil, fmt.Errorf("patient %q provider %q: %w", f.patient, f.unit.TIN+f.unit.Provider, err)
		}
		reqs = append(reqs, rs...)
		later = append(later, t.education(sc.Index, f)...)
		msgs, err := t.messages(sc.Index, f)
		if err != nil {
			return nil, fmt.Errorf("patient %q provider %q: %w", f.patient, f.unit.TIN+f.unit.Provider, err)
		}
		later = append(later, msgs...)
	}
	if len(later) > 0 {
		later[0].Settle = true
	}
	return append(reqs, later...), nil
}

// read adds one value of an entry to f.
func (f *facts) read(m meaning, v string, auto bool) error {
	var err error
	yes := func() bool {
		if auto {
			return true
		}
		var y bool
		y, _, err = yesNo(v)
		return y
	}
	n := func() int {
		var c int
		c, err = count(v)
		return c
	}
	switch m.fact {
	case factSeen, factDischarged, factAdmitted:
		var o int
		if o, err = visit(v); err == nil && o > 0 {
			f.visit = o
		}
	case factAccessVDT:
		f.vdt, f.autoAccess = yes(), f.autoAccess || auto
	case factAccessAPI:
		f.api, f.autoAccess = yes(), f.autoAccess || auto
	case factRxKind:
		switch s := strings.ToLower(v); {
		case strings.HasPrefix(s, "new"):
			f.rxKind = contract.PrescriptionNew
		case strings.HasPrefix(s, "chang"):
			f.rxKind = contract.PrescriptionChanged
		default:
			err = fmt.Errorf("value %q is neither new nor changed", v)
		}
	case factRxWritten:
		c := n()
		f.written[m.controlled] = &c
	case factRxSent:
		c := n()
		f.sent[m.controlled] = &c
		f.sentAuto = f.sentAuto || auto
	case factFormulary:
		f.formulary = yes()
	case factTransitionOut:
		f.transOut = yes()
	case factSummarySent:
		f.summarySent = yes()
	case factReceiptConfirmed:
		f.confirmed = yes()
	case factTransitionIn:
		f.transIn, err = transitionKind(v)
	case factRecordsReceived:
		f.received = n()
	case factReconciled:
		f.reconciled[m.list] = n()
	case factListReconciled:
		if yes() {
			f.reconciled[m.list] = 1
		}
	case factRequested:
		s := strings.ToLower(strings.TrimSpace(v))
		switch {
		case s == "n/a":
		case strings.HasPrefix(s, "unavailable"):
			f.requested, f.unavailable = true, true
		case strings.HasPrefix(s, "available"):
			f.requested = true
		default:
			err = fmt.Errorf("value %q is neither available nor unavailable", v)
		}
	case factReceived:
		f.receivedYes = yes()
	case factIncorporated:
		// Automatic incorporation happens upon receipt: it follows "received".
		f.incorporated, f.incorporateOnReceipt = yes(), auto
	case factOrdersCreated, factOrdersCPOE:
		if f.orders == nil {
			f.orders = map[string]*[2]int{}
		}
		o := f.orders[m.category]
		if o == nil {
			o = &[2]int{}
			f.orders[m.category] = o
		}
		i := 0
		if m.fact == factOrdersCPOE {
			i = 1
		}
		o[i] = n()
	case factOrdersWithin:
		// Every order is placed on the scenario's day, within the period.
		_, _, err = yesNo(v)
	case factViewed:
		f.viewed = yes()
	case factAccessedAPI:
		f.usedAPI = yes()
	case factPGHD:
		f.pghd = yes()
	case factEduIdentified:
		f.eduIdentified = yes()
	case factEduProvided:
		f.eduProvided = yes()
	case factMsgFromPatient:
		f.msgFromPatient = yes()
	case factMsgReply:
		f.msgReply = yes()
	case factMsgToPatient:
		f.msgToPatient = yes()
	case factMsgCopying:
		// RT5's automated numerator ("Steps for patients copied on a secure message
		// to provider") is the numerator without the patients only copied on a
		// message to a provider: the replay leaves those messages out.
		if auto {
			f.msgCopying = false
		} else {
			f.msgCopying = yes()
		}
	}
	return err
}

// split resolves the prescription counts: how many not controlled and controlled were
// written and sent, from whichever of the qualified and total counts the deck gives.
func split(c [3]*int) (notControlled, controlledN int, err error) {
	all, nc, cs := c[rxAll], c[rxNotControlled], c[rxControlled]
	switch {
	case nc != nil && cs != nil:
		if all != nil && *all != *nc+*cs {
			return 0, 0, fmt.Errorf("%d prescriptions in all, but %d not controlled and %d controlled", *all, *nc, *cs)
		}
		return *nc, *cs, nil
	case nc != nil && all != nil:
		if *all < *nc {
			return 0, 0, fmt.Errorf("%d prescriptions in all, fewer than the %d not controlled", *all, *nc)
		}
		return *nc, *all - *nc, nil
	case cs != nil && all != nil:
		if *all < *cs {
			return 0, 0, fmt.Errorf("%d prescriptions in all, fewer than the %d controlled", *all, *cs)
		}
		return *all - *cs, *cs, nil
	case nc != nil:
		return *nc, 0, nil
	case cs != nil:
		return 0, *cs, nil
	case all != nil:
		return *all, 0, nil
	}
	return 0, 0, nil
}

// write turns one patient's and unit's facts into requests.
func (t *translator) write(scenario int, f *facts) ([]Request, error) {
	var reqs []Request
	pid, ok := t.patients[f.patient]
	if !ok {
		pid = t.id("patient")
		t.patients[f.patient] = pid
		reqs = append(reqs, post("patients", patientBody(pid, f.patient, t.r.Entities.Prefix)))
	}
	e := t.r.Entities
	npi, tin := e.NPI[f.unit.Provider], e.TIN[f.unit.TIN]
	who := map[string]any{"npi": npi, "tin": tin}
	party := contract.Party{NPI: npi, TIN: tin}
	if t.hospital {
		who = map[string]any{"ccn": e.CCN}
		party = contract.Party{CCN: e.CCN}
	}
	st := t.units[pid+"\x00"+f.unit.TIN+f.unit.Provider]
	if st == nil {
		st = &unitState{}
		t.units[pid+"\x00"+f.unit.TIN+f.unit.Provider] = st
	}
	day := t.day(scenario)
	// The scenario's patients follow one another five minutes apart on its day, all
	// well before the next scenario.
	at := day.Add(time.Duration(f.order%48) * 5 * time.Minute)

	if f.visit > 0 {
		st.visits++
		encID := t.id("enc")
		body := map[string]any{"id": encID, "patient_id": pid}
		kind := contract.AvailableEncounter
		var end time.Time
		if t.hospital {
			end = at
			body["class"], body["start"], body["end"] = contract.ClassInpatient, at.Add(-24*time.Hour), end
			body["ccn"], body["location_id"] = e.CCN, e.Prefix+"-ward"
			kind = contract.AvailableDischarge
		} else {
			end = at.Add(30 * time.Minute)
			body["class"], body["start"], body["end"] = contract.ClassOffice, at, end
			body["rendering_npi"], body["billing_tin"], body["location_id"] = npi, tin, e.Prefix+"-office-"+f.unit.TIN
		}
		reqs = append(reqs, post("encounters", body))
		avail := end.Add(time.Hour)
		ab := map[string]any{"id": t.id("avail"), "patient_id": pid, "kind": kind, "available": avail, "encounter_id": encID}
		for k, v := range who {
			ab[k] = v
		}
		reqs = append(reqs, post("availabilities", ab))
		st.encounter, st.available = encID, avail
	}
	for _, g := range []struct {
		on   bool
		kind string
	}{{f.vdt || f.visit > 0 && t.otherChannel == contract.AccessVDT, contract.AccessVDT},
		{f.api || f.visit > 0 && t.otherChannel == contract.AccessAPI, contract.AccessAPI}} {
		if !g.on {
			continue
		}
		if st.encounter == "" && f.autoAccess {
			continue
		}
		if st.encounter == "" {
			return nil, fmt.Errorf("access given (%s) but the patient was never seen", g.kind)
		}
		gb := map[string]any{"id": t.id("grant"), "patient_id": pid, "kind": g.kind, "granted": st.available.Add(time.Hour),
			"encounter_id": st.encounter}
		for k, v := range who {
			gb[k] = v
		}
		reqs = append(reqs, post("access-grants", gb))
	}

	rx, err := t.prescriptions(f, pid, npi, tin, at)
	if err != nil {
		return nil, err
	}
	reqs = append(reqs, rx...)

	if f.transOut {
		tb := map[string]any{"id": t.id("tout"), "patient_id": pid, "direction": contract.TransitionOut,
			"kind": contract.TransitionReferral, "occurred": at, "sender": party, "receiver": contract.Party{NPI: e.External}}
		if f.summarySent {
			tb["summary_created"] = at.Add(10 * time.Minute)
			tb["contents"] = contract.SummaryContents{Problems: contract.ContentPresent, Medications: contract.ContentPresent,
				Allergies: contract.ContentPresent}
			tb["sent"], tb["transport"] = at.Add(20*time.Minute), contract.TransportDirect
			if f.confirmed {
				tb["receipt_confirmed"] = at.Add(time.Hour)
			}
		} else if f.confirmed {
			return nil, fmt.Errorf("receipt of a summary of care confirmed that was never sent")
		}
		reqs = append(reqs, post("transitions", tb))
	} else if f.summarySent || f.confirmed {
		// A summary sent for a transition outside the period: the transition is not
		// in the denominator, so neither is what followed it.
		tb := map[string]any{"id": t.id("tout"), "patient_id": pid, "direction": contract.TransitionOut,
			"kind": contract.TransitionReferral, "occurred": time.Date(t.r.Year-1, 12, 1, 10, 0, 0, 0, time.UTC),
			"sender": party, "receiver": contract.Party{NPI: e.External}}
		reqs = append(reqs, post("transitions", tb))
	}

	if f.transIn == "" && t.noTransition && (f.received > 0 || f.visit > 0) {
		f.transIn = contract.TransitionReferral
		if t.hospital {
			f.transIn = contract.TransitionOfCare // the hospital decks name the admission
		}
	}
	if f.transIn != "" {
		kind := contract.TransitionReferral
		if f.transIn == "transition" {
			kind = contract.TransitionOfCare
		}
		n := f.received
		if !t.countsRecords {
			n = 1
		}
		for i := range n {
			tid := t.id("tin")
			occurred := at.Add(time.Duration(i) * time.Minute)
			tb := map[string]any{"id": tid, "patient_id": pid, "direction": contract.TransitionIn,
				"kind": kind, "occurred": occurred, "sender": contract.Party{NPI: e.External}, "receiver": party}
			if f.incorporateOnReceipt {
				f.incorporated = t.countsRecords || f.receivedYes
			}
			if f.requested {
				tb["requested"], tb["unavailable"] = occurred.Add(-2*time.Hour), f.unavailable
			}
			if t.countsRecords || f.receivedYes || f.incorporated {
				tb["received"] = occurred.Add(-time.Hour)
			}
			if f.incorporated {
				tb["incorporated"] = occurred.Add(time.Hour)
			}
			reqs = append(reqs, post("transitions", tb))
			rb := map[string]any{"id": t.id("rec"), "patient_id": pid, "transition_id": tid}
			some := false
			for l, name := range map[list]string{listMedications: "medications", listAllergies: "allergies", listProblems: "problems"} {
				if i < f.reconciled[l] {
					rb[name], some = occurred.Add(30*time.Minute), true
				}
			}
			if t.hospital {
				rb["ccn"] = e.CCN
			} else {
				rb["npi"] = npi
			}
			if some {
				reqs = append(reqs, post("reconciliations", rb))
			}
		}
	}
	// Summaries received for a patient not transitioned in within the period (the
	// deck's "No") are outside every denominator: nothing to record.

	for _, cat := range []string{contract.OrderMedication, contract.OrderLaboratory, contract.OrderImaging} {
		o := f.orders[cat]
		if o == nil {
			continue
		}
		if o[1] > o[0] {
			return nil, fmt.Errorf("%d %s orders entered through CPOE of %d created", o[1], cat, o[0])
		}
		for i := range o[0] {
			ob := map[string]any{"id": t.id("order"), "patient_id": pid, "category": cat, "ordered": at.Add(time.Duration(i+1) * time.Minute),
				"entry_method": contract.EntryCPOE, "entered_by": "clinician-" + npi, "entered_by_credential": contract.CredentialMD}
			if i >= o[1] {
				ob["entry_method"] = contract.EntryPaper
			}
			switch cat {
			case contract.OrderMedication:
				ob["code"] = contract.Code{System: contract.SystemRxNorm, Code: "197361"}
			case contract.OrderLaboratory:
				ob["code"] = contract.Code{System: contract.SystemLOINC, Code: "2345-7"} // glucose
			case contract.OrderImaging:
				ob["code"] = contract.Code{System: contract.SystemCPT, Code: "71250"} // CT thorax
				ob["modality"], ob["body_site"] = "CT", "51185008"
			}
			if t.hospital {
				ob["npi"], ob["ccn"] = e.NPI["1"], e.CCN
			} else {
				ob["npi"], ob["tin"] = npi, tin
			}
			reqs = append(reqs, post("orders", ob))
		}
	}
	// The patient's own use of their access, later in the year.
	for _, a := range []struct {
		on     bool
		action string
	}{{f.viewed, contract.VDTView}, {f.usedAPI, contract.VDTAPI}} {
		if a.on {
			vb := map[string]any{"id": t.id("vdt"), "patient_id": pid, "action": a.action, "actor": contract.ActorPatient,
				"occurred": at.Add(48 * time.Hour)}
			if a.action == contract.VDTAPI {
				vb["app_id"] = "conformance-app"
			}
			reqs = append(reqs, post("vdt", vb))
		}
	}
	if f.pghd {
		pb := map[string]any{"id": t.id("pghd"), "patient_id": pid, "source": contract.PGHDPatient, "incorporated": at.Add(2 * time.Hour)}
		for k, v := range who {
			pb[k] = v
		}
		reqs = append(reqs, post("pghd", pb))
	}
	return reqs, nil
}

// educationMaterial is the starter catalog's material every replayed provision gives:
// the decks say only that education was identified and provided, not which.
const educationMaterial = "type-2-diabetes"

// education records the education the unit provided to the patient, as an integration
// importing it from the source EHR would: dated three hours into the patient's slot on
// the scenario's day, provided electronically (the portal), credited to the clinician
// in the group or to the hospital, and identified by certified technology as the deck
// says. Identified but not provided is nothing to record; provided without being
// identified is a provision that does not count.
func (t *translator) education(scenario int, f *facts) []Request {
	if !f.eduProvided {
		return nil
	}
	e := t.r.Entities
	at := t.day(scenario).Add(time.Duration(f.order%48)*5*time.Minute + 3*time.Hour)
	body := map[string]any{"id": t.id("edu"), "patient_id": t.patients[f.patient], "material_id": educationMaterial,
		"channel": contract.ChannelPortal, "provided": at, "identified_by_system": f.eduIdentified}
	if t.hospital {
		body["ccn"] = e.CCN
	} else {
		body["npi"], body["tin"] = e.NPI[f.unit.Provider], e.TIN[f.unit.TIN]
	}
	return []Request{{Method: "POST", Path: "/education/v1/provisions", Body: body}}
}

// messages records the unit's secure messages with the patient as an integration
// importing them from the source EHR would (messaging's POST /v1/threads/import),
// four hours into the patient's slot on the scenario's day: the patient's message and
// the clinician's reply to it, and a message to the patient, in one clinician thread;
// a message to another provider including the patient in a consult thread. The sender
// is the clinician, credited in the group (or, for a hospital, its first clinician
// credited to the hospital's CCN).
func (t *translator) messages(scenario int, f *facts) ([]Request, error) {
	if f.msgReply && !f.msgFromPatient {
		return nil, fmt.Errorf("a reply to a secure message the patient did not send")
	}
	e := t.r.Entities
	pid := t.patients[f.patient]
	at := t.day(scenario).Add(time.Duration(f.order%48)*5*time.Minute + 4*time.Hour)
	npi := e.NPI[f.unit.Provider]
	credit := map[string]any{"tin": e.TIN[f.unit.TIN]}
	if t.hospital {
		npi, credit = e.NPI["1"], map[string]any{"ccn": e.CCN}
	}
	clinician := map[string]any{"role": contract.RoleClinician, "id": npi}
	var msgs []map[string]any
	if f.msgFromPatient {
		msgs = append(msgs, map[string]any{"sender": map[string]any{"role": contract.RolePatient, "id": pid}, "body": "A question", "sent": at})
	}
	if f.msgReply {
		msgs = append(msgs, map[string]any{"sender": clinician, "body": "An answer", "reply_to": 0, "sent": at.Add(time.Hour)})
	}
	if f.msgToPatient {
		msgs = append(msgs, map[string]any{"sender": clinician, "body": "A message", "sent": at.Add(2 * time.Hour)})
	}
	var reqs []Request
	thread := func(kind string, clinicians []string, msgs []map[string]any) {
		body := map[string]any{"patient_id": pid, "kind": kind, "clinic_id": e.Prefix + "-clinic",
			"clinicians": clinicians, "subject": "Conformance", "messages": msgs}
		for k, v := range credit {
			body[k] = v
		}
		reqs = append(reqs, Request{Method: "POST", Path: "/messaging/v1/threads/import", Body: body, Key: t.id("thread")})
	}
	if len(msgs) > 0 {
		thread("clinician", []string{npi}, msgs)
	}
	if f.msgCopying {
		thread("consult", []string{npi, e.External}, []map[string]any{{"sender": clinician, "body": "About our patient", "sent": at.Add(3 * time.Hour)}})
	}
	return reqs, nil
}

// prescriptions writes the unit's prescriptions: the counts not controlled and
// controlled, the first so many of each sent electronically.
func (t *translator) prescriptions(f *facts, pid, npi, tin string, at time.Time) ([]Request, error) {
	wnc, wc, err := split(f.written)
	if err != nil {
		return nil, fmt.Errorf("prescriptions written: %w", err)
	}
	snc, sc, err := split(f.sent)
	if err != nil {
		return nil, fmt.Errorf("prescriptions sent: %w", err)
	}
	if f.sentAuto {
		snc, sc = wnc, wc
	}
	if f.sent[rxAll] != nil && f.sent[rxNotControlled] == nil && f.sent[rxControlled] == nil && wc > 0 && !f.sentAuto {
		// Only a total sent: the controlled ones are sent last.
		total := *f.sent[rxAll]
		snc, sc = min(total, wnc), max(0, total-wnc)
	}
	if snc > wnc || sc > wc {
		return nil, fmt.Errorf("more prescriptions sent electronically (%d, %d controlled) than written (%d, %d controlled)", snc, sc, wnc, wc)
	}
	kind := f.rxKind
	if kind == "" {
		kind = contract.PrescriptionNew
	}
	var reqs []Request
	for i := range wnc + wc {
		c := i >= wnc
		sent := (!c && i < snc) || (c && i-wnc < sc)
		written := at.Add(time.Duration(i+1) * time.Minute)
		code := "197361" // amlodipine 5 MG oral tablet
		body := map[string]any{"id": t.id("rx"), "patient_id": pid, "kind": kind, "permissible": true, "written": written}
		if c {
			code, body["schedule"] = "1049621", "II" // oxycodone 5 MG oral tablet
		}
		body["code"] = contract.Code{System: contract.SystemRxNorm, Code: code}
		if t.hospital {
			body["npi"], body["ccn"], body["discharge"] = t.r.Entities.NPI["1"], t.r.Entities.CCN, true
		} else {
			body["npi"], body["tin"] = npi, tin
		}
		if f.formulary {
			body["formulary"] = contract.FormularyQuery{Queried: written.Add(time.Minute), Result: contract.FormularyCovered}
		}
		method := contract.TransmitPrint
		if sent {
			method = contract.TransmitElectronic
		}
		body["transmission"] = contract.Transmission{Transmitted: written.Add(2 * time.Minute), Method: method, Outcome: contract.TransmitSucceeded}
		reqs = append(reqs, post("prescriptions", body))
	}
	return reqs, nil
}

// patientBody registers a deck patient under their name. The decks give names only;
// the birth date and sex are fixed so every run registers the same patient.
func patientBody(id, name, prefix string) map[string]any {
	parts := strings.Fields(name)
	given, family := parts[:len(parts)-1], parts[len(parts)-1]
	if len(parts) == 1 {
		given = nil
	}
	return map[string]any{"id": id, "mrn": map[string]string{"system": "urn:attest:conformance:" + prefix, "value": id},
		"name": map[string]any{"given": given, "family": family}, "birth_date": "1970-01-01", "sex": "unknown"}
}
