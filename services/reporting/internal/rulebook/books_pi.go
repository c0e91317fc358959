package rulebook

import "fmt"

// The performance-scored books: the Medicare PI Program for hospitals (2019+) and
// the MIPS PI category (ACI 2017–2018, PI 2019+). Sources per line are in
// docs/scoring.md; MIPS IDs and roles for 2017–2022 were checked against the npm
// package qpp-measures-data@5.5.4 (measures/<year>/measures-data.json).

// since is a value in force from a year on.
type since[T any] struct {
	year  int
	value T
}

// pick is the value in force in year: the last step, in ascending order, whose
// year is not after it.
func pick[T any](year int, steps ...since[T]) T {
	var v T
	for _, s := range steps {
		if year >= s.year {
			v = s.value
		}
	}
	return v
}

// Objective IDs shared by the PI books.
const (
	objEP      = "electronicPrescribing"
	objHIE     = "healthInformationExchange"
	objPEA     = "providerToPatientExchange"
	objPH      = "publicHealthAndClinicalDataExchange"
	objProtect = "protectPatientHealthInformation"
)

func piObjectives(phRule ObjectiveRule, n, phPoints, phBonus int) []Objective {
	return []Objective{
		{ID: objProtect, Title: "Protect Patient Health Information and attestations", Rule: ScoredObjective},
		{ID: objEP, Title: "e-Prescribing", Rule: ScoredObjective},
		{ID: objHIE, Title: "Health Information Exchange", Rule: ScoredObjective},
		{ID: objPEA, Title: "Provider to Patient Exchange", Rule: ScoredObjective},
		{ID: objPH, Title: "Public Health and Clinical Data Exchange", Rule: phRule, N: n, Points: phPoints, BonusPoints: phBonus},
	}
}

func attestation(id, title string, rule Rule) Measure {
	return Measure{ID: id, Title: title, Objective: objProtect, Kind: YesNo, Role: Prerequisite, Threshold: Threshold{Rule: rule}}
}

// phExclusions are the three standard public health exclusions (per measure).
func phExclusions(id string, n int) []Exclusion {
	conds := []string{
		"does not administer, collect or treat what the registry covers during the period",
		"operates in a jurisdiction where no public health agency or registry is capable of receiving the data",
		"operates in a jurisdiction where no agency or registry has declared readiness to receive the data at the start of the period",
		"operates in a jurisdiction where no agency has declared readiness for eCR certified-EHR exchange at the start of the period",
	}
	xs := make([]Exclusion, n)
	for i := range xs {
		xs[i] = Exclusion{ID: fmt.Sprintf("%s_EX_%d", id, i+1), Condition: conds[i]}
	}
	return xs
}

func phMeasure(id, title string, role Role, exclusions int) Measure {
	return Measure{ID: id, Title: title, Objective: objPH, Kind: YesNo, Role: role, Threshold: Threshold{Rule: Yes},
		Exclusions: phExclusions(id, exclusions)}
}

// hospitalPI builds the Medicare PI Program book for hospitals and CAHs, 2019–2026.
func hospitalPI(year int, e EntityType) *Book {
	if (e != EH && e != CAH) || year < 2019 || year > 2026 {
		return nil
	}
	period, _ := ReportingPeriod(HospitalPI, year, e, false)
	b := &Book{Program: HospitalPI, Year: year, Entity: e, Scoring: Performance, Period: period, MaxScore: 100,
		MinScore: pick(year, since[int]{2019, 50}, since[int]{2022, 60}, since[int]{2025, 70}, since[int]{2026, 80})}
	safer := pick(year, since[Rule]{2019, AnyAnswer}, since[Rule]{2024, Yes})

	ms := []Measure{
		attestation("EHPI_PPHI_1", "Security Risk Analysis", Yes),
		attestation("EHPI_INFBLO_1", "Actions to limit or restrict the compatibility or interoperability of CEHRT (information blocking)", Yes),
		attestation("EHPI_ONCDIR_1", "ONC direct review", Yes),
	}
	if year >= 2022 {
		ms = append(ms, attestation("EHPI_PPHI_2", "SAFER Guides annual self-assessment", safer))
	}
	ms = append(ms, Measure{ID: "EHPI_EP_1", Title: "e-Prescribing (discharge prescriptions)", Objective: objEP, Kind: Proportion, Role: Required,
		Threshold: Threshold{Rule: AtLeastOne}, Points: 10,
		Exclusions: []Exclusion{{ID: "EHPI_EP_1_EX_1", Condition: "no internal pharmacy that can accept electronic prescriptions and no pharmacy that accepts them within 10 miles at the start of the period"}}})
	pdmp := Measure{ID: "EHPI_EP_2", Title: "Query of Prescription Drug Monitoring Program (PDMP)", Objective: objEP, Kind: YesNo,
		Role: Bonus, Threshold: Threshold{Rule: Yes}, Points: pick(year, since[int]{2019, 5}, since[int]{2022, 10})}
	if year >= 2023 {
		pdmp.Role = Required
		pdmp.Exclusions = []Exclusion{
			{ID: "EHPI_EP_2_EX_1", Condition: "unable to electronically prescribe Schedule II opioids and Schedule III and IV drugs in accordance with applicable law"},
			{ID: "EHPI_EP_2_EX_2", Condition: "no internal pharmacy that can accept electronic prescriptions for controlled substances and none within 10 miles"},
		}
	}
	ms = append(ms, pdmp)
	if year == 2019 {
		ms = append(ms, Measure{ID: "EHPI_EP_3", Title: "Verify Opioid Treatment Agreement", Objective: objEP, Kind: YesNo, Role: Bonus,
			Threshold: Threshold{Rule: Yes}, Points: 5})
	}
	ms = append(ms, exchangeMeasures(year, "EHPI_", 2022, nil, nil)...)

	// Public health: 2019–2021 any two of six for 10 points; 2022+ a required set
	// (SS, IMM, eCR, ELR; + AUR 2024; AUR split into AU and AR 2025) and a 5-point
	// bonus for a public health or clinical data registry.
	var ph []Measure
	if year <= 2021 {
		b.Objectives = piObjectives(PublicHealth, 2, 10, 0)
		for _, m := range hospitalRegistries(year) {
			ph = append(ph, phMeasure(m[0], m[1], Optional, 3))
		}
	} else {
		b.Objectives = piObjectives(PublicHealth, 0, pick(year, since[int]{2022, 10}, since[int]{2023, 25}), 5)
		for _, m := range hospitalRegistries(year) {
			role := Required
			if m[0] == "EHPI_PH_PHR" || m[0] == "EHPI_PH_CDR" {
				role = Bonus
			}
			ph = append(ph, phMeasure(m[0], m[1], role, 3))
		}
	}
	b.Measures = append(ms, ph...)

	if year >= 2023 {
		b.Redistributions = append(b.Redistributions, Redistribution{From: "EHPI_EP_2", To: []string{"EHPI_EP_1"}})
	}
	b.Redistributions = append(b.Redistributions,
		Redistribution{From: "EHPI_EP_1", To: []string{"EHPI_HIE_1", "EHPI_HIE_4", "EHPI_HIE_5", "EHPI_HIE_6"}},
		Redistribution{From: objPH, To: []string{"EHPI_PEA_1"}})
	b.Notes = []string{
		"⚠ hospital measure score rounding assumed identical to MIPS (round half up of rate × points)",
		"⚠ e-Prescribing exclusion points split equally over the reported HIE measures; public health all-excluded points to EHPI_PEA_1 (verified for 2025 only; see docs/scoring.md)",
	}
	if year >= 2026 {
		b.Notes = append(b.Notes, "⚠ minimum score 80 for 2026 reported, not verified against the FY2026 IPPS rule")
	}
	return b
}

// exchangeMeasures are the HIE and Provider to Patient Exchange measures, alike in
// MIPS and the hospital program but for the ID prefix, the year bi-directional
// exchange arrived and the (MIPS-only) exclusions.
func exchangeMeasures(year int, prefix string, biDirectional int, sendEx, receiveEx []Exclusion) []Measure {
	hie := pick(year, since[int]{2019, 20}, since[int]{2023, 15})
	ms := []Measure{
		{ID: prefix + "HIE_1", Title: "Support Electronic Referral Loops by Sending Health Information", Objective: objHIE, Kind: Proportion,
			Role: Required, Threshold: Threshold{Rule: AtLeastOne}, Points: hie, Exclusions: sendEx},
		{ID: prefix + "HIE_4", Title: "Support Electronic Referral Loops by Receiving and Reconciling Health Information", Objective: objHIE,
			Kind: Proportion, Role: Required, Threshold: Threshold{Rule: AtLeastOne}, Points: hie, Exclusions: receiveEx},
	}
	if year >= biDirectional {
		ms = append(ms, Measure{ID: prefix + "HIE_5", Title: "Health Information Exchange Bi-Directional Exchange", Objective: objHIE, Kind: YesNo,
			Role: Alternative, Threshold: Threshold{Rule: Yes}, Points: 2 * hie, Substitutes: []string{prefix + "HIE_1", prefix + "HIE_4"}})
	}
	if year >= 2023 {
		ms = append(ms, Measure{ID: prefix + "HIE_6", Title: "Enabling Exchange under TEFCA", Objective: objHIE, Kind: YesNo,
			Role: Alternative, Threshold: Threshold{Rule: Yes}, Points: 2 * hie, Substitutes: []string{prefix + "HIE_1", prefix + "HIE_4", prefix + "HIE_5"}})
	}
	return append(ms, Measure{ID: prefix + "PEA_1", Title: "Provide Patients Electronic Access to Their Health Information", Objective: objPEA,
		Kind: Proportion, Role: Required, Threshold: Threshold{Rule: AtLeastOne}, Points: pick(year, since[int]{2019, 40}, since[int]{2023, 25})})
}

// hospitalRegistries lists the hospital public health measures of a year.
func hospitalRegistries(year int) [][2]string {
	rs := [][2]string{
		{"EHPI_PH_SS", "Syndromic Surveillance Reporting"},
		{"EHPI_PH_IMM", "Immunization Registry Reporting"},
		{"EHPI_PH_ECR", "Electronic Case Reporting"},
		{"EHPI_PH_ELR", "Electronic Reportable Laboratory Result Reporting"},
	}
	switch {
	case year == 2024:
		rs = append(rs, [2]string{"EHPI_PH_AUR", "Antimicrobial Use and Resistance Surveillance"})
	case year >= 2025:
		rs = append(rs, [2]string{"EHPI_PH_AU", "Antimicrobial Use Surveillance"}, [2]string{"EHPI_PH_AR", "Antimicrobial Resistance Surveillance"})
	}
	return append(rs, [2]string{"EHPI_PH_PHR", "Public Health Registry Reporting"}, [2]string{"EHPI_PH_CDR", "Clinical Data Registry Reporting"})
}

// mips builds the MIPS ACI (2017–2018) or PI (2019–2026) book; individuals and
// groups are scored alike.
func mips(year int, e EntityType) *Book {
	if e != EP && e != Group {
		return nil
	}
	switch {
	case year == 2017 || year == 2018:
		return aci(year, e)
	case year >= 2019 && year <= 2026:
		return mipsPI(year, e)
	}
	return nil
}

func mipsPI(year int, e EntityType) *Book {
	period, _ := ReportingPeriod(MIPS, year, e, false)
	b := &Book{Program: MIPS, Year: year, Entity: e, Scoring: Performance, Period: period, MaxScore: 100, CategoryWeight: 25}

	ms := []Measure{
		attestation("PI_PPHI_1", "Security Risk Analysis", Yes),
		attestation("PI_INFBLO_1", "Actions to limit or restrict compatibility or interoperability of CEHRT", Yes),
		attestation("PI_ONCDIR_1", "ONC Direct Review Attestation", Yes),
	}
	if year >= 2022 {
		ms = append(ms, attestation("PI_PPHI_2", "High Priority Practices SAFER Guide", pick(year, since[Rule]{2022, AnyAnswer}, since[Rule]{2024, Yes})))
	}
	ms = append(ms, Measure{ID: "PI_EP_1", Title: "e-Prescribing", Objective: objEP, Kind: Proportion, Role: Required,
		Threshold: Threshold{Rule: AtLeastOne}, Points: 10,
		Exclusions: []Exclusion{{ID: "PI_LVPP_1", Condition: "writes fewer than 100 permissible prescriptions during the performance period", FewerThan: 100}}})
	pdmp := Measure{ID: "PI_EP_2", Title: "Query of Prescription Drug Monitoring Program (PDMP)", Objective: objEP, Kind: YesNo, Role: Bonus,
		Threshold: Threshold{Rule: Yes}, Points: pick(year, since[int]{2019, 5}, since[int]{2021, 10})}
	if year >= 2023 {
		pdmp.Role = Required
		pdmp.Exclusions = []Exclusion{
			{ID: "PI_EP_2_EX_1", Condition: "unable to electronically prescribe Schedule II opioids and Schedule III and IV drugs in accordance with applicable law"},
			{ID: "PI_EP_2_EX_2", Condition: "writes fewer than 100 permissible prescriptions during the performance period", FewerThan: 100},
		}
		if year == 2023 {
			pdmp.Exclusions = append(pdmp.Exclusions, Exclusion{ID: "PI_EP_2_EX_3", Condition: "querying a PDMP would impose an excessive workflow or cost burden (2023 only)"})
		}
	}
	ms = append(ms, pdmp)
	if year == 2019 {
		ms = append(ms, Measure{ID: "PI_EP_3", Title: "Verify Opioid Treatment Agreement", Objective: objEP, Kind: Proportion, Role: Bonus,
			Threshold: Threshold{Rule: Scored}, Points: 5})
	}
	hie4 := []Exclusion{{ID: "PI_LVITC_2", Condition: "receives fewer than 100 transitions of care or referrals and has fewer than 100 encounters with patients never before encountered", FewerThan: 100}}
	if year == 2019 {
		hie4 = append(hie4, Exclusion{ID: "PI_CUITC_1", Condition: "unable to implement the measure for a 2019 performance period"})
	}
	lvotc := []Exclusion{{ID: "PI_LVOTC_1", Condition: "transfers or refers a patient fewer than 100 times during the performance period", FewerThan: 100}}
	ms = append(ms, exchangeMeasures(year, "PI_", 2021, lvotc, hie4)...)

	if year <= 2021 {
		// Any two of the five registries (a _MULTI variant counts as a second) for 10.
		b.Objectives = piObjectives(PublicHealth, 2, 10, 0)
		for _, r := range mipsRegistries() {
			ms = append(ms, phMeasure(r[0], r[1], Optional, 3), phMeasure(r[0]+"_MULTI", r[1]+" (more than one registry)", Optional, 0))
		}
	} else {
		b.Objectives = piObjectives(PublicHealth, 0, pick(year, since[int]{2022, 10}, since[int]{2023, 25}), 5)
		for _, r := range mipsRegistries() {
			switch r[0] {
			case "PI_PHCDRR_1":
				ms = append(ms, phMeasure(r[0], r[1], Required, 3))
			case "PI_PHCDRR_3":
				ms = append(ms, phMeasure(r[0], r[1], Required, 4))
			default:
				ms = append(ms, phMeasure(r[0], r[1], Bonus, 0))
			}
		}
		if year >= 2026 {
			ms = append(ms, phMeasure("PI_PHCDRR_6", "Public Health Reporting Using TEFCA", Bonus, 0))
		}
	}
	b.Measures = ms

	if year >= 2023 {
		b.Redistributions = append(b.Redistributions, Redistribution{From: "PI_EP_2", To: []string{"PI_EP_1"}})
	}
	b.Redistributions = append(b.Redistributions,
		Redistribution{From: "PI_EP_1", To: []string{"PI_HIE_1", "PI_HIE_4", "PI_HIE_5", "PI_HIE_6"}},
		Redistribution{From: "PI_HIE_1", To: []string{"PI_PEA_1"}},
		Redistribution{From: "PI_HIE_4", To: []string{"PI_PEA_1"}},
		Redistribution{From: objPH, To: []string{"PI_PEA_1"}})
	b.Notes = []string{
		"⚠ MIPS redistribution of e-Prescribing (to HIE, split equally) verified for 2023+; HIE and public-health redistribution to PI_PEA_1 from secondary sources (docs/scoring.md)",
		"the category score needs a CEHRT ID in the submission; this rule book does not see it",
	}
	if year == 2020 {
		b.Notes = append(b.Notes, "⚠ PDMP bonus 5 points in 2020 not verified (10 from 2021)")
	}
	return b
}

func mipsRegistries() [][2]string {
	return [][2]string{
		{"PI_PHCDRR_1", "Immunization Registry Reporting"},
		{"PI_PHCDRR_2", "Syndromic Surveillance Reporting"},
		{"PI_PHCDRR_3", "Electronic Case Reporting"},
		{"PI_PHCDRR_4", "Public Health Registry Reporting"},
		{"PI_PHCDRR_5", "Clinical Data Registry Reporting"},
	}
}

// aci builds the 2017 (ACI_*) or 2018 (PI_*) base/performance/bonus book: the ACI
// measure set only (not the 2014-Edition transition set).
func aci(year int, e EntityType) *Book {
	p := "ACI_"
	if year == 2018 {
		p = "PI_"
	}
	period, _ := ReportingPeriod(MIPS, year, e, false)
	b := &Book{Program: MIPS, Year: year, Entity: e, Scoring: BasePerformanceBonus, Period: period, MaxScore: 100, CategoryWeight: 25}
	prop := func(id, title, obj string, role Role, base bool, weight int, ex ...Exclusion) Measure {
		rule := Scored
		if role == Required {
			rule = AtLeastOne
		}
		return Measure{ID: p + id, Title: title, Objective: obj, Kind: Proportion, Role: role, Base: base,
			Threshold: Threshold{Rule: rule}, Points: weight, Exclusions: ex}
	}
	b.Measures = []Measure{
		{ID: p + "INFBLO_1", Title: "Prevention of Information Blocking Attestation", Objective: objProtect, Kind: YesNo, Role: Prerequisite, Threshold: Threshold{Rule: Yes}},
		{ID: p + "ONCDIR_1", Title: "ONC Direct Review Attestation", Objective: objProtect, Kind: YesNo, Role: Prerequisite, Threshold: Threshold{Rule: Yes}},
		{ID: p + "PPHI_1", Title: "Security Risk Analysis", Objective: objProtect, Kind: YesNo, Role: Required, Base: true, Threshold: Threshold{Rule: Yes}},
		prop("EP_1", "e-Prescribing", objEP, Required, true, 0,
			Exclusion{ID: p + "LVPP_1", Condition: "writes fewer than 100 permissible prescriptions during the performance period", FewerThan: 100}),
		prop("PEA_1", "Provide Patient Access", "patientElectronicAccess", Required, true, 10),
		prop("HIE_1", "Send a Summary of Care", objHIE, Required, true, 10,
			Exclusion{ID: p + "LVOTC_1", Condition: "transfers or refers a patient fewer than 100 times during the performance period", FewerThan: 100}),
		prop("HIE_2", "Request/Accept Summary of Care", objHIE, Required, true, 10,
			Exclusion{ID: p + "LVITC_1", Condition: "receives fewer than 100 transitions of care or referrals or has fewer than 100 encounters with new patients", FewerThan: 100}),
		prop("PEA_2", "Patient-Specific Education", "patientElectronicAccess", Optional, false, 10),
		prop("CCTPE_1", "View, Download, Transmit (VDT)", "coordinationOfCareThroughPatientEngagement", Optional, false, 10),
		prop("CCTPE_2", "Secure Messaging", "coordinationOfCareThroughPatientEngagement", Optional, false, 10),
		prop("CCTPE_3", "Patient-Generated Health Data", "coordinationOfCareThroughPatientEngagement", Optional, false, 10),
		prop("HIE_3", "Clinical Information Reconciliation", objHIE, Optional, false, 10),
		{ID: p + "IACEHRT_1", Title: "Improvement activity using CEHRT (bonus)", Objective: objProtect, Kind: YesNo, Role: Bonus, Threshold: Threshold{Rule: Yes}, Points: 10},
	}
	b.Objectives = []Objective{
		{ID: objProtect, Title: "Protect Patient Health Information and attestations", Rule: ScoredObjective},
		{ID: objEP, Title: "Electronic Prescribing", Rule: ScoredObjective},
		{ID: "patientElectronicAccess", Title: "Patient Electronic Access", Rule: ScoredObjective},
		{ID: "coordinationOfCareThroughPatientEngagement", Title: "Coordination of Care Through Patient Engagement", Rule: ScoredObjective},
		{ID: objHIE, Title: "Health Information Exchange", Rule: ScoredObjective},
		{ID: "publicHealthAndClinicalDataRegistryReporting", Title: "Public Health and Clinical Data Registry Reporting", Rule: PublicHealth, BonusPoints: 5},
	}
	const ph = "publicHealthAndClinicalDataRegistryReporting"
	imm := Measure{ID: p + "PHCDRR_1", Title: "Immunization Registry Reporting", Objective: ph, Kind: YesNo, Role: Optional, Threshold: Threshold{Rule: Yes}, Points: 10}
	b.Measures = append(b.Measures, imm)
	for _, r := range mipsRegistries()[1:] {
		b.Measures = append(b.Measures, Measure{ID: p + r[0][len("PI_"):], Title: r[1], Objective: ph, Kind: YesNo, Role: Bonus, Threshold: Threshold{Rule: Yes}})
	}
	b.Notes = []string{
		"⚠ performance points by decile of the rate (1–10% → 1 … 91–100% → 10, × weight/10) from secondary sources",
		"the 2014-Edition transition measure set (ACI_TRANS_*) is not in this book",
	}
	if year == 2018 {
		b.Notes = append(b.Notes, "⚠ 2018: the 10% bonus for exclusive use of 2015-Edition CEHRT and the 10% performance credit for any one registry are not modelled")
	}
	return b
}
