package measure_test

import (
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/phi"
)

// TestGroupAndTransitiveCredit: a TIN is its clinicians added together with patients
// de-duplicated; education (a transitive measure, ONC RT3) given by NPI 1 under TIN B
// counts for NPI 1 under TIN A, never for NPI 2.
func TestGroupAndTransitiveCredit(t *testing.T) {
	edu := find(t, measure.MIPS, "PI_PEA_2", 2018, measure.TINNPI)
	pea := find(t, measure.MIPS, "PI_PEA_1", 2025, measure.TINNPI)
	seenBy := func(prov ...measure.Provider) []measure.Encounter {
		var es []measure.Encounter
		for i, p := range prov {
			es = append(es, measure.Encounter{ID: "e" + string(rune('1'+i)), Provider: p, Setting: measure.Office, Start: at("2018-05-02 10:00")})
		}
		return es
	}
	a2, b1 := measure.Provider{NPI: npi2, TIN: tinA}, measure.Provider{NPI: npi1, TIN: tinB}
	patients := []measure.Patient{
		// Seen by both clinicians of TIN A: one patient for the group.
		{ID: "both", Encounters: seenBy(a1(), a2), Actions: []measure.Action{
			{ID: "x1", Kind: measure.EducationElectronic, Provider: a2, At: at("2018-05-02 10:30")}}},
		// Seen by NPI 1 under TIN A, educated by NPI 1 under TIN B.
		{ID: "cross", Encounters: seenBy(a1()), Actions: []measure.Action{
			{ID: "x2", Kind: measure.EducationElectronic, Provider: b1, At: at("2018-06-01 10:00")}}},
		// Seen by NPI 2 under TIN A, educated by NPI 1 under TIN B: no credit.
		{ID: "other", Encounters: seenBy(a2), Actions: []measure.Action{
			{ID: "x3", Kind: measure.EducationElectronic, Provider: b1, At: at("2018-06-01 10:00")}}},
	}
	tests := []struct {
		name     string
		m        measure.Measure
		e        contract.Entity
		num, den int
	}{
		{"TIN A / NPI 1: own patients, credit from TIN B", edu, tinNPI(tinA, npi1), 1, 2},
		{"TIN A / NPI 2", edu, tinNPI(tinA, npi2), 1, 2},
		{"TIN B / NPI 1: saw nobody under TIN B", edu, tinNPI(tinB, npi1), 0, 0},
		{"group TIN A: three unique patients", edu, contract.Entity{Kind: contract.EntityTIN, ID: tinA}, 2, 3},
		{"group TIN A, PI_PEA_1: no access anywhere", pea, contract.Entity{Kind: contract.EntityTIN, ID: tinA}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := 2018
			if tt.m.ID == "PI_PEA_1" {
				y = 2025
			}
			r := evaluate(t, tt.m, tt.e, year(y), opts(), patients...)
			if r.Numerator != tt.num || r.Denominator != tt.den {
				t.Errorf("%d/%d, want %d/%d: %+v", r.Numerator, r.Denominator, tt.num, tt.den, r.Members)
			}
		})
	}
	r := evaluate(t, edu, tinNPI(tinA, npi1), year(2018), opts(), patients...)
	for _, m := range r.Members {
		if m.PatientID == "cross" && (m.Numerator.Ref != "x2" || m.Numerator.Note == "") {
			t.Errorf("transitive credit should name action x2 and its TIN: %+v", m.Numerator)
		}
	}
	g := evaluate(t, edu, contract.Entity{Kind: contract.EntityTIN, ID: tinA}, year(2018), opts(), patients...)
	for _, m := range g.Members {
		if m.PatientID == "both" && m.Via != "tin_npi:"+tinA+"/"+npi2 {
			t.Errorf("group member should name the clinician whose numerator it came from: %q", m.Via)
		}
	}
}

// TestEPrescribingVariants: controlled substances counted or not per the variant;
// refills left out of the hospital measure; the formulary query needed where the
// year says so; over-the-counter drugs never counted.
func TestEPrescribingVariants(t *testing.T) {
	rx := func(id string, controlled, sent bool) measure.Prescription {
		p := measure.Prescription{ID: id, Provider: a1(), Written: at("2025-02-01 10:00"), Change: measure.NewRx,
			Permissible: true, Controlled: controlled}
		if sent {
			p.Transmitted = p.Written
		}
		return p
	}
	clinician := measure.Patient{ID: "p", Prescriptions: []measure.Prescription{
		rx("r1", false, true), rx("r2", false, false), rx("r3", true, false), rx("r4", true, true),
		{ID: "otc", Provider: a1(), Written: at("2025-02-01 10:00"), Change: measure.NewRx, Transmitted: at("2025-02-01 10:00")},
	}}
	discharge := func(id string, ch measure.Change, formulary bool) measure.Prescription {
		return measure.Prescription{ID: id, Provider: hosp(), Written: at("2020-03-01 10:00"), Change: ch, Permissible: true,
			Discharge: true, FormularyQueried: formulary, Transmitted: at("2020-03-01 10:05")}
	}
	hospital := measure.Patient{ID: "h", Prescriptions: []measure.Prescription{
		discharge("d1", measure.NewRx, true), discharge("d2", measure.ChangedRx, false), discharge("d3", measure.RefillRx, true),
	}}
	ec := find(t, measure.MIPS, "PI_EP_1", 2025, measure.TINNPI)
	eh2020 := find(t, measure.HospitalPI, "EHPI_EP_1", 2020, measure.CCN)
	eh2021 := find(t, measure.HospitalPI, "EHPI_EP_1", 2021, measure.CCN)
	ccnEntity := contract.Entity{Kind: contract.EntityCCN, ID: ccn}
	tests := []struct {
		name     string
		m        measure.Measure
		e        contract.Entity
		y        int
		v        measure.Variant
		p        measure.Patient
		num, den int
	}{
		{"controlled included", ec, tinNPI(tinA, npi1), 2025, measure.ControlledIncluded, clinician, 2, 4},
		{"controlled excluded", ec, tinNPI(tinA, npi1), 2025, measure.ControlledExcluded, clinician, 1, 2},
		{"hospital 2020 needs the formulary query; refills out", eh2020, ccnEntity, 2020, measure.ControlledIncluded, hospital, 1, 2},
		{"hospital 2021 dropped the formulary query", eh2021, ccnEntity, 2021, measure.ControlledIncluded, shift(hospital), 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts()
			o.Variant = tt.v
			r := evaluate(t, tt.m, tt.e, year(tt.y), o, tt.p)
			if r.Numerator != tt.num || r.Denominator != tt.den {
				t.Errorf("%d/%d, want %d/%d: %+v", r.Numerator, r.Denominator, tt.num, tt.den, r.Members)
			}
		})
	}
	// Modified Stage 2 hospital eRx has one variant (no controlled substances): it
	// needs no choice.
	ms2 := find(t, measure.ModifiedStage2, "MS2-EH-04", 2016, measure.CCN)
	if r := evaluate(t, ms2, ccnEntity, year(2016), opts()); r.Variant != measure.ControlledExcluded {
		t.Errorf("variant %q, want the measure's only one", r.Variant)
	}
}

// shift moves a timeline's prescriptions one year on.
func shift(p measure.Patient) measure.Patient {
	out := p
	out.Prescriptions = nil
	for _, rx := range p.Prescriptions {
		rx.Written, rx.Transmitted = rx.Written.AddDate(1, 0, 0), rx.Transmitted.AddDate(1, 0, 0)
		out.Prescriptions = append(out.Prescriptions, rx)
	}
	return out
}

// TestNumeratorWindows (§2.2): Stage 3 lets a numerator action fall outside a 90-day
// period within its calendar year; MIPS from 2019 does not; Stage 1 runs to the
// attestation.
func TestNumeratorWindows(t *testing.T) {
	s3 := find(t, measure.Stage3, "S3-EP-05.2", 2021, measure.NPI)
	pi := find(t, measure.MIPS, "PI_PEA_2", 2018, measure.TINNPI)
	s1 := find(t, measure.Stage1, "S1-EP-M05", 2013, measure.NPI)
	edu := func(prov measure.Provider, seen, given string) measure.Patient {
		return measure.Patient{ID: "p",
			Encounters: []measure.Encounter{{ID: "e", Provider: prov, Setting: measure.Office, Start: at(seen)}},
			Actions:    []measure.Action{{ID: "x", Kind: measure.EducationElectronic, Provider: prov, At: at(given)}}}
	}
	np := measure.Provider{NPI: npi1}
	tests := []struct {
		name string
		m    measure.Measure
		e    contract.Entity
		p    measure.Period
		pt   measure.Patient
		want measure.Code
	}{
		{"Stage 3: after the period, same year", s3, contract.Entity{Kind: contract.EntityNPI, ID: npi1},
			period(2021, "2021-04-01", "2021-06-29"), edu(np, "2021-05-01 10:00", "2021-11-30 10:00"), measure.Met},
		{"Stage 3: the next year", s3, contract.Entity{Kind: contract.EntityNPI, ID: npi1},
			period(2021, "2021-04-01", "2021-06-29"), edu(np, "2021-05-01 10:00", "2022-01-01 00:00"), measure.OutOfWindow},
		{"Stage 3: before the period, same year", s3, contract.Entity{Kind: contract.EntityNPI, ID: npi1},
			period(2021, "2021-04-01", "2021-06-29"), edu(np, "2021-05-01 10:00", "2021-01-01 00:00"), measure.Met},
		{"MIPS 2018: calendar year", pi, tinNPI(tinA, npi1),
			period(2018, "2018-04-01", "2018-06-29"), edu(a1(), "2018-05-01 10:00", "2018-12-31 23:59"), measure.Met},
		{"Stage 1: up to the attestation", s1, contract.Entity{Kind: contract.EntityNPI, ID: npi1},
			measure.Period{Year: 2013, First: at("2013-01-01"), Last: at("2013-12-31"), Attested: at("2014-02-10 12:00")},
			edu(np, "2013-05-01 10:00", "2014-02-10 11:00"), measure.Met},
		{"Stage 1: after the attestation", s1, contract.Entity{Kind: contract.EntityNPI, ID: npi1},
			measure.Period{Year: 2013, First: at("2013-01-01"), Last: at("2013-12-31"), Attested: at("2014-02-10 12:00")},
			edu(np, "2013-05-01 10:00", "2014-02-10 12:00:01"), measure.OutOfWindow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluate(t, tt.m, tt.e, tt.p, opts(), tt.pt)
			if len(r.Members) != 1 || r.Members[0].Numerator.Code != tt.want {
				t.Errorf("got %+v, want %s", r.Members, tt.want)
			}
		})
	}
	// MIPS 2019+: the period bounds the numerator.
	pea := find(t, measure.MIPS, "PI_PEA_1", 2025, measure.TINNPI)
	late := visit("p", a1(), at("2025-06-27 16:00"), map[measure.Channel]time.Time{
		measure.VDT: at("2025-06-30 09:00"), measure.API: at("2025-06-27 16:00")})
	r := evaluate(t, pea, tinNPI(tinA, npi1), period(2025, "2025-04-01", "2025-06-29"), opts(), late)
	if r.Numerator != 0 || r.Members[0].Numerator.Code != measure.OutOfWindow {
		t.Errorf("access after a 2025 period: %+v, want out of window", r.Members)
	}
}

// TestAgesAndPopulations: Stage 1 smoking status counts patients 13 and over; Stage 2
// reminders count patients with two office visits in the 24 months before.
func TestAgesAndPopulations(t *testing.T) {
	smoke := find(t, measure.Stage1, "S1-EP-C09", 2012, measure.NPI)
	np := measure.Provider{NPI: npi1}
	kid := func(id, born string) measure.Patient {
		return measure.Patient{ID: id, Born: phiDate(born),
			Encounters: []measure.Encounter{{ID: "e", Provider: np, Setting: measure.Office, Start: at("2012-06-15 10:00")}}}
	}
	r := evaluate(t, smoke, contract.Entity{Kind: contract.EntityNPI, ID: npi1}, year(2012), opts(),
		kid("thirteen-today", "1999-06-15"), kid("twelve", "1999-06-16"), kid("unknown", ""))
	if r.Denominator != 1 || r.Members[0].PatientID != "thirteen-today" {
		t.Errorf("denominator %d: %+v", r.Denominator, r.Members)
	}

	rem := find(t, measure.Stage2, "S2-EP-C12", 2014, measure.NPI)
	visits := func(id string, days ...string) measure.Patient {
		p := measure.Patient{ID: id, Actions: []measure.Action{{ID: id + "-r", Kind: measure.ReminderSent, Provider: np, At: at("2014-03-01 10:00")}}}
		for i, d := range days {
			p.Encounters = append(p.Encounters, measure.Encounter{ID: id + string(rune('a'+i)), Provider: np, Setting: measure.Office, Start: at(d)})
		}
		return p
	}
	p := period(2014, "2014-01-01", "2014-03-31")
	r = evaluate(t, rem, contract.Entity{Kind: contract.EntityNPI, ID: npi1}, p, opts(),
		visits("two", "2012-01-01 09:00", "2013-12-31 09:00"), visits("one-too-old", "2011-12-31 09:00", "2013-12-31 09:00"))
	if r.Numerator != 1 || r.Denominator != 1 {
		t.Errorf("reminders %d/%d, want 1/1: %+v", r.Numerator, r.Denominator, r.Members)
	}
}

// TestSummaryOfCare: sending needs electronic exchange and, for the PI measure,
// confirmed receipt (ONC RT7 scenario 1); a transition to the same billing identity
// is not a transition; PI_HIE_4 counts each record received.
func TestSummaryOfCare(t *testing.T) {
	send := find(t, measure.MIPS, "PI_HIE_1", 2025, measure.TINNPI)
	ms2 := find(t, measure.ModifiedStage2, "MS2-EP-05", 2016, measure.NPI)
	out := func(id string, to measure.Provider, sent, confirmed string) measure.TransitionOut {
		t := measure.TransitionOut{ID: id, Provider: a1(), At: at("2025-03-03 10:00"), Receiver: to}
		if sent != "" {
			t.Sent = at(sent)
		}
		if confirmed != "" {
			t.Confirmed = at(confirmed)
		}
		return t
	}
	other := measure.Provider{NPI: "3333333333"}
	p := measure.Patient{ID: "p", TransitionsOut: []measure.TransitionOut{
		out("sent-confirmed", other, "2025-03-03 11:00", "2025-03-03 12:00"),
		out("sent-unconfirmed", other, "2025-03-03 11:00", ""),
		out("paper", other, "", ""),
		out("to-self", measure.Provider{NPI: npi1}, "2025-03-03 11:00", "2025-03-03 12:00"),
	}}
	r := evaluate(t, send, tinNPI(tinA, npi1), year(2025), opts(), p)
	if r.Numerator != 1 || r.Denominator != 3 {
		t.Errorf("PI_HIE_1 %d/%d, want 1/3: %+v", r.Numerator, r.Denominator, r.Members)
	}
	old := p
	old.TransitionsOut = nil
	for _, tr := range p.TransitionsOut {
		tr.Provider = measure.Provider{NPI: npi1}
		tr.At, tr.Sent, tr.Confirmed = tr.At.AddDate(-9, 0, 0), shiftYears(tr.Sent, -9), shiftYears(tr.Confirmed, -9)
		old.TransitionsOut = append(old.TransitionsOut, tr)
	}
	if r := evaluate(t, ms2, contract.Entity{Kind: contract.EntityNPI, ID: npi1}, year(2016), opts(), old); r.Numerator != 2 || r.Denominator != 3 {
		t.Errorf("MS2-EP-05 %d/%d, want 2/3 (no confirmation needed)", r.Numerator, r.Denominator)
	}

	recv := find(t, measure.MIPS, "PI_HIE_4", 2025, measure.TINNPI)
	all := measure.Reconciliation{Medications: at("2025-03-05 10:00"), Allergies: at("2025-03-05 10:00"), Problems: at("2025-03-05 10:00")}
	partial := measure.Reconciliation{Medications: at("2025-03-05 10:00"), Allergies: at("2025-03-05 10:00")}
	in := measure.Patient{ID: "p", TransitionsIn: []measure.TransitionIn{{ID: "t", Provider: a1(), At: at("2025-03-04 10:00"), Kind: measure.ReferredIn,
		Records: []measure.Record{
			{ID: "r1", Received: at("2025-03-04 09:00"), Reconciled: all},
			{ID: "r2", Received: at("2025-03-04 09:30"), Reconciled: partial},
			{ID: "r3", Received: at("2026-01-02 09:30"), Reconciled: all},
		}}}}
	r = evaluate(t, recv, tinNPI(tinA, npi1), year(2025), opts(), in)
	if r.Numerator != 1 || r.Denominator != 2 {
		t.Errorf("PI_HIE_4 %d/%d, want 1/2: %+v", r.Numerator, r.Denominator, r.Members)
	}
}

func shiftYears(t time.Time, n int) time.Time {
	if t.IsZero() {
		return t
	}
	return t.AddDate(n, 0, 0)
}

// TestThresholds: "more than" is strict and exact in integers; a rate within half a
// hundredth of a percent above the mark is flagged borderline (§2.3).
func TestThresholds(t *testing.T) {
	tests := []struct {
		th              measure.Threshold
		num, den        int
		met, borderline bool
	}{
		{measure.Over(40), 2, 5, false, false},
		{measure.Over(40), 401, 1000, true, false},
		{measure.Over(40), 40001, 100000, true, true},  // 40.001% shows as 40.00%
		{measure.Over(40), 40005, 100000, true, false}, // 40.005% shows as 40.01% when rounded
		{measure.Over(50), 1, 1, true, false},
		{measure.Over(5), 0, 0, false, false},
		{measure.Threshold{Op: measure.AtLeast, Percent: 10}, 1, 10, true, false},
		{measure.Threshold{Op: measure.AtLeastOne}, 1, 1000, true, false},
		{measure.Threshold{Op: measure.AtLeastOne}, 0, 1000, false, false},
		{measure.Threshold{}, 10, 10, false, false},
	}
	for _, tt := range tests {
		if got := tt.th.Met(tt.num, tt.den); got != tt.met {
			t.Errorf("%s: %d/%d met %v, want %v", tt.th, tt.num, tt.den, got, tt.met)
		}
		if got := tt.th.Borderline(tt.num, tt.den); got != tt.borderline {
			t.Errorf("%s: %d/%d borderline %v, want %v", tt.th, tt.num, tt.den, got, tt.borderline)
		}
	}
}

// TestYesNo: the security risk analysis may be done any time in the calendar year;
// decision support must be enabled for the whole period.
func TestYesNo(t *testing.T) {
	sra := find(t, measure.MIPS, "PI_PPHI_1", 2025, measure.TINNPI)
	cds := find(t, measure.Stage3, "S3-EP-03.1", 2020, measure.NPI)
	p90 := period(2025, "2025-04-01", "2025-06-29")
	tests := []struct {
		name string
		m    measure.Measure
		e    contract.Entity
		p    measure.Period
		atts []measure.Attestation
		want bool
	}{
		{"SRA after the period, same year", sra, tinNPI(tinA, npi1), p90,
			[]measure.Attestation{{ID: "a", MeasureID: "PI_PPHI_1", Yes: true, At: at("2025-12-31 23:00")}}, true},
		{"SRA the year before", sra, tinNPI(tinA, npi1), p90,
			[]measure.Attestation{{ID: "a", MeasureID: "PI_PPHI_1", Yes: true, At: at("2024-12-31 23:00")}}, false},
		{"CDS enabled throughout", cds, contract.Entity{Kind: contract.EntityNPI, ID: npi1}, period(2020, "2020-04-01", "2020-06-29"),
			[]measure.Attestation{{ID: "a", MeasureID: "S3-EP-03.1", Yes: true, At: at("2019-01-01")}}, true},
		{"CDS switched off before the period ended", cds, contract.Entity{Kind: contract.EntityNPI, ID: npi1}, period(2020, "2020-04-01", "2020-06-29"),
			[]measure.Attestation{{ID: "a", MeasureID: "S3-EP-03.1", Yes: true, At: at("2019-01-01"), Until: at("2020-06-29 12:00")}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := measure.Answer(tt.m, tt.e, tt.p, tt.atts, opts())
			if err != nil {
				t.Fatal(err)
			}
			if got.Yes != tt.want {
				t.Errorf("yes = %v (%s), want %v", got.Yes, got.Reason.Note, tt.want)
			}
		})
	}
}

func phiDate(s string) phi.Date { return phi.Date(s) }

// TestVisitAndRequestDeadlines: Stage 2 clinical summaries within 1 business day,
// Stage 1 within 3; Stage 1 electronic copies within 3 business days of the request.
func TestVisitAndRequestDeadlines(t *testing.T) {
	np := measure.Provider{NPI: npi1}
	ep := contract.Entity{Kind: contract.EntityNPI, ID: npi1}
	s2 := find(t, measure.Stage2, "S2-EP-C08", 2014, measure.NPI)
	s1 := find(t, measure.Stage1, "S1-EP-C12", 2013, measure.NPI)
	copyRule := find(t, measure.Stage1, "S1-EP-C11", 2013, measure.NPI)
	office := func(visit, summary string) measure.Patient {
		p := measure.Patient{ID: "p", Encounters: []measure.Encounter{{ID: "v", Provider: np, Setting: measure.Office, Start: at(visit)}}}
		if summary != "" {
			p.Actions = []measure.Action{{ID: "s", Kind: measure.ClinicalSummaryProvided, Provider: np, At: at(summary), EncounterID: "v"}}
		}
		return p
	}
	request := func(asked, fulfilled string) measure.Patient {
		q := measure.Request{ID: "q", Kind: measure.CopyOfRecord, Provider: np, At: at(asked)}
		if fulfilled != "" {
			q.Fulfilled = at(fulfilled)
		}
		return measure.Patient{ID: "p", Requests: []measure.Request{q}}
	}
	tests := []struct {
		name string
		m    measure.Measure
		y    int
		p    measure.Patient
		asOf string
		want measure.Code
	}{
		{"Friday visit, summary Monday", s2, 2014, office("2014-03-07 16:00", "2014-03-10 23:59"), "", measure.Met},
		{"Friday visit, summary Tuesday", s2, 2014, office("2014-03-07 16:00", "2014-03-11 00:00"), "", measure.Late},
		{"Friday before Memorial Day, summary Tuesday", s2, 2014, office("2014-05-23 16:00", "2014-05-27 12:00"), "", measure.Met},
		{"no summary", s2, 2014, office("2014-03-07 16:00", ""), "", measure.Missing},
		{"no summary yet, due Monday", s2, 2014, office("2014-03-07 16:00", ""), "2014-03-08 12:00", measure.Pending},
		{"3 business days from Wednesday", s1, 2013, office("2013-03-06 10:00", "2013-03-11 18:00"), "", measure.Met},
		{"4 business days from Wednesday", s1, 2013, office("2013-03-06 10:00", "2013-03-12 09:00"), "", measure.Late},
		{"copy over New Year's Day: Monday + 3 is Friday", copyRule, 2013, request("2013-12-30 10:00", "2014-01-03 23:59"), "", measure.Met},
		{"copy on Saturday is late", copyRule, 2013, request("2013-12-30 10:00", "2014-01-04 00:00"), "", measure.Late},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts()
			if tt.asOf != "" {
				o.AsOf = at(tt.asOf)
			}
			r := evaluate(t, tt.m, ep, year(tt.y), o, tt.p)
			if r.Denominator != 1 || r.Members[0].Numerator.Code != tt.want {
				t.Errorf("%d/%d %+v, want %s", r.Numerator, r.Denominator, r.Members, tt.want)
			}
		})
	}
}
