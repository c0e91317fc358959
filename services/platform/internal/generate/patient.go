package generate

import (
	"strconv"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
)

// patientGen writes one patient's facts; every ID is the patient's ID and a sequence
// number, so a fact's ID depends only on the seed and the patient.
type patientGen struct {
	g      *generator
	id     string
	clinic *clinic
	doctor *doctor
	seq    int
	access bool // given portal access by the clinic already
	viewed bool
}

func (p *patientGen) next(tag string) string {
	p.seq++
	return p.id + "-" + tag + strconv.Itoa(p.seq)
}

// visit writes an office or telehealth visit and what follows it: the visit's note
// available, portal access on the first visit, prescriptions, lab orders and results,
// referrals out and transitions in.
func (p *patientGen) visit(start time.Time, first, newPatient bool) error {
	g, c, d := p.g, p.clinic, p.doctor
	q := c.quality(g, start)
	class := contract.ClassOffice
	if g.chance(g.cfg.Rates.Telehealth) {
		class = contract.ClassTelehealth
	}
	enc := encounter{ID: p.next("e"), PatientID: p.id, Class: class, Start: start, End: ptr(start.Add(g.minutes(15, 40))),
		RenderingNPI: d.npi, BillingTIN: c.tin, LocationID: c.location, NewPatient: newPatient}
	if err := g.emit("encounters", enc); err != nil {
		return err
	}
	available := enc.End.Add(g.minutes(10, 600))
	if g.done(available) {
		if err := g.emit("availabilities", availability{ID: p.next("a"), PatientID: p.id, Kind: contract.AvailableEncounter,
			Available: available, EncounterID: enc.ID, NPI: d.npi, TIN: c.tin}); err != nil {
			return err
		}
	}
	if first && !p.access {
		p.access = true
		if err := p.grant(available, q, enc.ID, contract.Party{NPI: d.npi, TIN: c.tin}); err != nil {
			return err
		}
	}
	for range g.poisson(g.cfg.Rates.Prescriptions) {
		if err := p.prescribe(enc, q, contract.Party{NPI: d.npi, TIN: c.tin}, false); err != nil {
			return err
		}
	}
	for range g.poisson(g.cfg.Rates.LabOrders) {
		if err := p.labOrder(enc, q, d, c.tin); err != nil {
			return err
		}
	}
	if g.chance(g.cfg.Rates.ReferralsOut) {
		if err := p.transitionOut(enc, q, contract.TransitionReferral,
			contract.Party{NPI: d.npi, TIN: c.tin}, contract.Party{NPI: pick(g, g.external)}); err != nil {
			return err
		}
	}
	if g.chance(g.cfg.Rates.ReferralsIn) {
		if err := p.transitionIn(enc, q, d); err != nil {
			return err
		}
	}
	if class == contract.ClassOffice && g.chance(g.cfg.Rates.Tablet) {
		if err := p.tablet(enc, q); err != nil {
			return err
		}
	}
	for range g.poisson(g.cfg.Rates.Messages) {
		if err := p.thread(enc, q); err != nil {
			return err
		}
	}
	for range g.poisson(g.cfg.Rates.Education) {
		if err := p.educate(enc, q); err != nil {
			return err
		}
	}
	return nil
}

// tablet writes the blood pressure the patient entered on the clinic's shared tablet
// at check-in, and, more often where quality is high, the clinician incorporating it
// into the record during the visit.
func (p *patientGen) tablet(enc encounter, q float64) error {
	g := p.g
	loinc := func(code string) contract.Code { return contract.Code{System: contract.SystemLOINC, Code: code} }
	sys := 100 + g.rnd.IntN(60)
	v := vitalSign{ID: p.next("vs"), PatientID: p.id, Code: loinc("85354-9"),
		Components: []component{{loinc("8480-6"), quantity{float64(sys), "mm[Hg]"}},
			{loinc("8462-4"), quantity{float64(sys*2/3 - g.rnd.IntN(15)), "mm[Hg]"}}},
		Effective: enc.Start.Add(-g.minutes(2, 15)), Performer: contract.PerformerPatient, EncounterID: enc.ID}
	if err := g.emit("vital-signs", v); err != nil {
		return err
	}
	if !g.chance(q) {
		return nil
	}
	return g.emit("pghd", pghd{ID: p.next("pg"), PatientID: p.id, Source: contract.PGHDPatient,
		Incorporated: enc.Start.Add(g.minutes(1, 15)), VitalSignID: v.ID, NPI: enc.RenderingNPI, TIN: enc.BillingTIN})
}

// The secure messages' subjects and bodies: fixed phrases, never anything about a
// real person.
var (
	questions = []string{"Question about my medication", "Follow-up question after my visit", "Side effects",
		"Refill question", "Question about my results"}
	answers = []string{"Thank you for your message; please continue as discussed.",
		"Your results are in the portal; nothing needs to change.", "Please call the office to schedule a visit."}
	notes = []string{"Your lab results are available in the portal.", "A reminder about your follow-up visit.",
		"Your referral has been sent."}
)

// thread writes a secure-message conversation after an ambulatory visit, dated in the
// days that follow: usually the patient's question and, more often where quality is
// high, the clinician's answer (a reply) hours later; otherwise a message from the
// clinician to the patient; now and then the clinician consulting a colleague of the
// clinic with the patient included. Conversations that would end after the year are
// not written (messaging refuses messages dated in the future).
func (p *patientGen) thread(enc encounter, q float64) error {
	g, c, d := p.g, p.clinic, p.doctor
	clinician := participant{Role: contract.RoleClinician, ID: d.npi}
	first := addBusinessDays(*enc.End, 1+g.rnd.IntN(10)).Truncate(24 * time.Hour).
		Add(time.Duration(13+g.rnd.IntN(9))*time.Hour + g.minutes(0, 59))
	t := thread{PatientID: p.id, Kind: "clinician", ClinicID: c.org, Clinicians: []string{d.npi}, TIN: c.tin}
	switch x := g.rnd.Float64(); {
	case x < 0.65:
		t.Subject = pick(g, questions)
		t.Messages = []message{{Sender: participant{Role: contract.RolePatient, ID: p.id}, Body: t.Subject, Sent: first}}
		if g.chance(min(q+0.1, 0.98)) {
			t.Messages = append(t.Messages, message{Sender: clinician, Body: pick(g, answers), ReplyTo: ptr(0),
				Sent: first.Add(g.minutes(20, 3*24*60))})
		}
	case x < 0.95 || len(c.doctors) < 2:
		t.Subject = "A message from your care team"
		if g.chance(q) {
			t.Messages = []message{{Sender: clinician, Body: pick(g, notes), Sent: first}}
		}
	default:
		other := pick(g, c.doctors)
		if other == d {
			return nil
		}
		t.Kind, t.Clinicians, t.Subject = "consult", []string{d.npi, other.npi}, "Consult about our patient"
		t.Messages = []message{{Sender: clinician, Body: "Could you review this patient's plan?", Sent: first}}
	}
	if len(t.Messages) == 0 || !t.Messages[len(t.Messages)-1].Sent.Before(g.end) {
		return nil
	}
	return g.emit("threads", t)
}

// materials are starter-catalog education materials (services/education).
var materials = []string{"type-2-diabetes", "prediabetes", "high-blood-pressure", "high-cholesterol", "asthma",
	"copd", "flu", "heart-failure", "chronic-kidney-disease", "allergic-rhinitis"}

// educate writes education the visit's clinician gave: through the portal more often
// where quality is high (else printed), identified by the EHR's certified technology
// nine times in ten.
func (p *patientGen) educate(enc encounter, q float64) error {
	g := p.g
	channel := contract.ChannelPortal
	switch {
	case !g.chance(q):
		channel = contract.ChannelPrint
	case g.chance(0.2):
		channel = contract.ChannelEmailLink
	}
	provided := enc.End.Add(g.minutes(0, 240))
	if !provided.Before(g.end) {
		return nil
	}
	return g.emit("education", provision{ID: p.next("ed"), PatientID: p.id, MaterialID: pick(g, materials),
		Channel: channel, Provided: provided, NPI: p.doctor.npi, TIN: p.clinic.tin, IdentifiedBySystem: g.chance(0.9)})
}

// stay writes an admission or an ED visit at one of the hospitals, with its discharge:
// the discharge summary available, access given by the hospital, discharge
// prescriptions and, for an admission, the transition back to the patient's doctor.
func (p *patientGen) stay(class string) error {
	g := p.g
	h := pick(g, g.hospitals)
	d := pick(g, h.doctors)
	start := g.anyTime()
	q := h.quality(g, start)
	loc, length := h.ed, g.minutes(120, 600)
	if class == contract.ClassInpatient {
		loc, length = h.inpatient, time.Duration(1+g.rnd.IntN(6))*24*time.Hour+g.minutes(0, 600)
	}
	enc := encounter{ID: p.next("e"), PatientID: p.id, Class: class, Start: start, End: ptr(start.Add(length)),
		CCN: h.ccn, LocationID: loc}
	if !g.done(*enc.End) {
		return nil // still admitted: its record is written at discharge
	}
	if err := g.emit("encounters", enc); err != nil {
		return err
	}
	kind := contract.AvailableEncounter
	if class == contract.ClassInpatient {
		kind = contract.AvailableDischarge
	}
	available := enc.End.Add(g.minutes(0, 240))
	if g.done(available) {
		if err := g.emit("availabilities", availability{ID: p.next("a"), PatientID: p.id, Kind: kind,
			Available: available, EncounterID: enc.ID, CCN: h.ccn}); err != nil {
			return err
		}
	}
	hospital := contract.Party{NPI: d.npi, CCN: h.ccn}
	if err := p.grant(available, q, enc.ID, contract.Party{CCN: h.ccn}); err != nil {
		return err
	}
	for range g.poisson(g.cfg.Rates.Prescriptions * 1.5) {
		if err := p.prescribe(enc, q, hospital, class == contract.ClassInpatient); err != nil {
			return err
		}
	}
	if class == contract.ClassInpatient {
		return p.transitionOut(enc, q, contract.TransitionOfCare, contract.Party{CCN: h.ccn},
			contract.Party{NPI: p.doctor.npi, TIN: p.clinic.tin})
	}
	return nil
}

// grant gives the patient portal access (and, half the time, API access) by the
// entity named in by, in time with probability q; then the patient may use it.
func (p *patientGen) grant(available time.Time, q float64, encounterID string, by contract.Party) error {
	g := p.g
	granted := g.accessDelay(available, q)
	if !g.done(granted) {
		return nil // access not given yet: the worklists' patients
	}
	kinds := []string{contract.AccessVDT}
	if g.chance(0.5) {
		kinds = append(kinds, contract.AccessAPI)
	}
	for _, k := range kinds {
		if err := g.emit("access-grants", accessGrant{ID: p.next("g"), PatientID: p.id, Kind: k, Granted: granted,
			NPI: by.NPI, TIN: by.TIN, CCN: by.CCN, EncounterID: encounterID}); err != nil {
			return err
		}
	}
	if p.viewed || !g.chance(g.cfg.Rates.PortalUse) {
		return nil
	}
	p.viewed = true
	occurred := granted.Add(time.Duration(1+g.rnd.IntN(60*24)) * time.Minute * 30)
	action, app := pick(g, []string{contract.VDTView, contract.VDTView, contract.VDTDownload, contract.VDTTransmit}), ""
	if len(kinds) > 1 && g.chance(0.3) {
		action, app = contract.VDTAPI, "app-"+strconv.Itoa(1+g.rnd.IntN(5))
	}
	if !g.done(occurred) {
		return nil
	}
	return g.emit("vdt", vdt{ID: p.next("v"), PatientID: p.id, Action: action, Actor: contract.ActorPatient,
		Occurred: occurred, AppID: app})
}

// prescribe writes a prescription: controlled at the configured share, the formulary
// queried and the prescription sent electronically more often where quality is high.
func (p *patientGen) prescribe(enc encounter, q float64, by contract.Party, discharge bool) error {
	g := p.g
	written := enc.Start.Add(g.minutes(5, 30))
	rx := prescription{ID: p.next("rx"), PatientID: p.id, Kind: contract.PrescriptionNew, Permissible: true,
		Written: written, NPI: by.NPI, TIN: by.TIN, EncounterID: enc.ID, Discharge: discharge,
		Code: contract.Code{System: contract.SystemRxNorm, Code: pick(g, drugs)}}
	if discharge {
		rx.CCN, rx.Written = by.CCN, enc.End.Add(-g.minutes(30, 120))
	}
	electronic := min(q+0.15, 0.98)
	if g.chance(g.cfg.Rates.Controlled) {
		c := pick(g, controlled)
		rx.Code.Code, rx.Schedule = c.code, c.schedule
		electronic = q - 0.1
	}
	if g.chance(0.2) {
		rx.Kind = contract.PrescriptionRefill
	}
	if g.chance(q) {
		rx.Formulary = &contract.FormularyQuery{Queried: rx.Written.Add(time.Minute),
			Result: pick(g, []string{contract.FormularyCovered, contract.FormularyCovered, contract.FormularyNotCovered})}
	}
	t := &contract.Transmission{Transmitted: rx.Written.Add(g.minutes(1, 10)), Method: contract.TransmitElectronic,
		Outcome: contract.TransmitSucceeded, PharmacyID: pick(g, g.pharmacies)}
	switch {
	case !g.chance(electronic):
		t.Method, t.PharmacyID = pick(g, []string{contract.TransmitPrint, contract.TransmitFax, contract.TransmitPhone}), ""
	case g.chance(0.03):
		t.Outcome = contract.TransmitFailed
	}
	rx.Transmission = t
	return g.emit("prescriptions", rx)
}

// labOrder writes a laboratory order, entered through CPOE more often where quality
// is high, and usually its result with the result's availability.
func (p *patientGen) labOrder(enc encounter, q float64, d *doctor, tin string) error {
	g := p.g
	lab := pick(g, labs)
	o := order{ID: p.next("o"), PatientID: p.id, Category: contract.OrderLaboratory,
		Code: contract.Code{System: contract.SystemLOINC, Code: lab.code}, Ordered: enc.Start.Add(g.minutes(5, 30)),
		NPI: d.npi, TIN: tin, EncounterID: enc.ID, EntryMethod: contract.EntryCPOE, EnteredBy: d.id,
		EnteredByCredential: d.credential}
	if !g.chance(min(q+0.2, 0.98)) {
		o.EntryMethod = pick(g, []string{contract.EntryPaper, contract.EntryVerbal, contract.EntryPhone})
	}
	if err := g.emit("orders", o); err != nil {
		return err
	}
	if !g.chance(0.9) {
		return nil
	}
	effective := o.Ordered.Add(g.minutes(30, 240))
	issued := effective.Add(g.minutes(60, 48*60))
	value := lab.low + (lab.high-lab.low)*g.rnd.Float64()
	if !g.done(issued) {
		return nil // not resulted yet
	}
	r := result{ID: p.next("r"), PatientID: p.id, Code: o.Code, Category: contract.ResultCategoryLaboratory,
		Status: "final", Effective: effective, Issued: issued, OrderID: o.ID, NPI: d.npi, EncounterID: enc.ID,
		Value: quantity{Value: float64(int(value*10)) / 10, Unit: lab.unit}}
	if err := g.emit("results", r); err != nil {
		return err
	}
	return g.emit("availabilities", availability{ID: p.next("a"), PatientID: p.id, Kind: contract.AvailableResult,
		Available: issued, ResultID: r.ID, NPI: d.npi, TIN: tin})
}

// transitionOut writes a referral or transition out with its summary of care: created
// (now and then with a section missing), sent electronically with probability q,
// receipt confirmed most of the time.
func (p *patientGen) transitionOut(enc encounter, q float64, kind string, sender, receiver contract.Party) error {
	g := p.g
	occurred := enc.Start.Add(g.minutes(10, 40))
	if enc.End != nil && kind == contract.TransitionOfCare {
		occurred = *enc.End
	}
	t := transition{ID: p.next("t"), PatientID: p.id, Direction: contract.TransitionOut, Kind: kind, Occurred: occurred,
		EncounterID: enc.ID, Sender: sender, Receiver: receiver}
	if g.chance(0.95) {
		t.SummaryCreated = ptr(occurred.Add(g.minutes(0, 60)))
		t.Contents = &contract.SummaryContents{Problems: contract.ContentPresent, Medications: contract.ContentPresent,
			Allergies: pick(g, []string{contract.ContentPresent, contract.ContentNone})}
		if g.chance(0.05) {
			t.Contents.Medications = contract.ContentMissing
		}
		switch {
		case g.chance(q):
			t.Sent, t.Transport = ptr(t.SummaryCreated.Add(g.minutes(1, 2*24*60))), pick(g, transports)
			if g.chance(0.8) {
				t.ReceiptConfirmed = ptr(t.Sent.Add(g.minutes(1, 600)))
			}
			if !g.done(*t.Sent) {
				t.Sent, t.Transport, t.ReceiptConfirmed = nil, "", nil
			} else if t.ReceiptConfirmed != nil && !g.done(*t.ReceiptConfirmed) {
				t.ReceiptConfirmed = nil
			}
		case g.chance(0.5):
			t.Sent, t.Transport = ptr(t.SummaryCreated.Add(g.minutes(1, 2*24*60))), contract.TransportFax
			if !g.done(*t.Sent) {
				t.Sent, t.Transport = nil, ""
			}
		}
	}
	return g.emit("transitions", t)
}

// transitionIn writes a patient referred in to the visit's doctor, the summary of
// care received and incorporated more often where quality is high, and the clinical
// information reconciliation that follows.
func (p *patientGen) transitionIn(enc encounter, q float64, d *doctor) error {
	g := p.g
	t := transition{ID: p.next("t"), PatientID: p.id, Direction: contract.TransitionIn, Kind: contract.TransitionReferral,
		Occurred: enc.Start, EncounterID: enc.ID, Sender: contract.Party{NPI: pick(g, g.external)},
		Receiver: contract.Party{NPI: d.npi, TIN: p.clinic.tin}}
	if g.chance(min(q+0.1, 0.98)) {
		t.Received = ptr(enc.Start.Add(-g.minutes(60, 3*24*60)))
		if g.chance(q) {
			t.Incorporated = ptr(enc.Start.Add(g.minutes(5, 60)))
		}
	}
	if err := g.emit("transitions", t); err != nil {
		return err
	}
	if !g.chance(q) {
		return nil
	}
	at := enc.Start.Add(g.minutes(10, 40))
	r := reconciliation{ID: p.next("rc"), PatientID: p.id, TransitionID: t.ID, Medications: &at, NPI: d.npi}
	if g.chance(q) {
		r.Allergies, r.Problems = &at, &at
	}
	return g.emit("reconciliations", r)
}
