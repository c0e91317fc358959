package measure

// Medicare Promoting Interoperability for hospitals (2019–2026) and MIPS ACI/PI for
// clinicians (2017–2026). MIPS IDs, titles and required/bonus flags are CMS's
// qpp-measures-data (checked against testdata/qpp-pi-measures.json for 2017–2022);
// hospital IDs are ours (EHPI_*, no official ones exist). From 2019 numerator and
// denominator are constrained to the period, except the security risk analysis,
// which may be done any time in the calendar year (ONC general notes).

const (
	seenEC       = "unique patients seen by the MIPS eligible clinician during the performance period"
	rxEC         = "permissible prescriptions written by the MIPS eligible clinician during the performance period"
	transOutEC   = "transitions of care and referrals during the performance period in which the MIPS eligible clinician was the transferring or referring clinician"
	transInEC    = "transitions of care or referrals received, and encounters with patients never before encountered, during the performance period"
	recordsEC    = "electronic summary of care records received for transitions, referrals or new patients of the performance period"
	reconcileAll = "records in the denominator for which medications, medication allergies and current problems were all reconciled"
	sentConfirm  = "transitions and referrals in the denominator for which a summary of care record was created with CEHRT, exchanged electronically and its receipt confirmed"
	peaNum       = "patients in the denominator given timely access to view online, download and transmit, and whose information is available through an API to an application of their choice"
	confirmNote  = "receipt confirmation is required by the ONC RT7 test (scenario 1: sent but unconfirmed transitions are not counted), not by CMS's measure text"
	formularyOff = "formulary query dropped from the calculation in 2021 (ONC RT1 note 3, 2023 deck)"
	piWindow     = "CMS: from 2019 the numerator is constrained to the performance period (ONC general notes)"
)

func hospitalPI() []Measure {
	ys := Years{2019, 2026}
	rx := "new and changed permissible discharge prescriptions for patients discharged during the EHR reporting period"
	return in(HospitalPI,
		ratio("EHPI_EP_1", "e-Prescribing", Years{2019, 2020}, eh(), Prescriptions, rx,
			"prescriptions in the denominator queried for a drug formulary and transmitted electronically using CEHRT",
			Prescribed{Discharge: true, Changes: []Change{NewRx, ChangedRx}, Formulary: true}, InPeriod, Threshold{Op: AtLeastOne},
			"CYPRESS-PI EH_RT1", "HITANS-2019").variants(both()...).required().
			excludedBy("no internal pharmacy accepting eRx and none within 10 miles"),
		ratio("EHPI_EP_1", "e-Prescribing", Years{2021, 2026}, eh(), Prescriptions, rx,
			"prescriptions in the denominator transmitted electronically using CEHRT",
			Prescribed{Discharge: true, Changes: []Change{NewRx, ChangedRx}}, InPeriod, Threshold{Op: AtLeastOne},
			"CYPRESS-PI EH_RT1", "MEDISOLV-2025").variants(both()...).required().
			excludedBy("no internal pharmacy accepting eRx and none within 10 miles").caveat(formularyOff),
		yesNo("EHPI_EP_2", "Query of the Prescription Drug Monitoring Program (PDMP)", Years{2019, 2022}, eh(), Attest{},
			"HITANS-2022").bonus().caveat("2019 may have been numerator/denominator for hospitals (spec §3.6 ⚠); answered yes/no here"),
		yesNo("EHPI_EP_2", "Query of the Prescription Drug Monitoring Program (PDMP)", Years{2023, 2026}, eh(), Attest{},
			"HITANS-2022", "MEDISOLV-2025").required(),
		ratio("EHPI_EP_3", "Verify Opioid Treatment Agreement", Years{2019, 2019}, eh(), UniquePatients,
			"unique patients with a Schedule II opioid electronically prescribed for at least 30 cumulative days in a 6-month look-back",
			"patients in the denominator with a signed opioid treatment agreement identified and incorporated into CEHRT",
			nil, InPeriod, Threshold{Op: AtLeastOne}, "FACS-2019").bonus().
			caveat("not evaluated: a 2019-only bonus (removed 2020) needing prescription durations the timeline does not carry"),
		ratio("EHPI_HIE_1", "Support Electronic Referral Loops by Sending Health Information", ys, eh(), TransitionsOut, transOut,
			sentConfirm, SentSummary{Electronic: true, Confirmed: true}, InPeriod, Threshold{Op: AtLeastOne},
			"CYPRESS-PI EH_RT7", "PALTC-2023", "MEDISOLV-2025").required().caveat(confirmNote),
		ratio("EHPI_HIE_4", "Support Electronic Referral Loops by Receiving and Incorporating Health Information", Years{2019, 2020}, eh(),
			SummariesReceived, recordsEC, reconcileAll, ReceivedRecords{}, InPeriod, Threshold{Op: AtLeastOne},
			"CYPRESS-PI EH_RT15", "HITANS-2019").required().
			caveat("2019–2020 title says incorporating; computed as the 2021+ reconciliation of all three sets (ONC RT15)"),
		ratio("EHPI_HIE_4", "Support Electronic Referral Loops by Receiving and Reconciling Health Information", Years{2021, 2026}, eh(),
			SummariesReceived, recordsEC, reconcileAll, ReceivedRecords{}, InPeriod, Threshold{Op: AtLeastOne},
			"CYPRESS-PI EH_RT15", "MEDISOLV-2025").required(),
		yesNo("EHPI_HIE_5", "Health Information Exchange Bi-Directional Exchange", Years{2022, 2026}, eh(), Attest{},
			"HITANS-2022", "MEDISOLV-2025"),
		yesNo("EHPI_HIE_6", "Enabling Exchange under TEFCA", Years{2023, 2026}, eh(), Attest{}, "MEDISOLV-2025"),
		ratio("EHPI_PEA_1", "Provide Patients Electronic Access to Their Health Information", ys, eh(), UniquePatients, dischargedEH,
			"patients in the denominator given access within 36 hours of discharge to view online, download and transmit, and whose information is available through an API",
			TimelyAccess{Population: Discharged, Channels: []Channel{VDT, API}, Timely: HoursAfter(36, FromDischarge)},
			InPeriod, Threshold{Op: AtLeastOne}, "CYPRESS-PI EH_RT2a", "PALTC-2023").required().caveat(piWindow),
		yesNo("EHPI_PH_SS", "Syndromic Surveillance Reporting", ys, eh(), Attest{}, "HITANS-2022", "MEDISOLV-2025"),
		yesNo("EHPI_PH_IMM", "Immunization Registry Reporting", ys, eh(), Attest{}, "HITANS-2022", "MEDISOLV-2025"),
		yesNo("EHPI_PH_ECR", "Electronic Case Reporting", ys, eh(), Attest{}, "HITANS-2022", "MEDISOLV-2025"),
		yesNo("EHPI_PH_ELR", "Electronic Reportable Laboratory Result Reporting", ys, eh(), Attest{}, "HITANS-2022", "MEDISOLV-2025"),
		yesNo("EHPI_PH_PHR", "Public Health Registry Reporting", ys, eh(), Attest{}, "HITANS-2022").
			caveat("a bonus option from 2022 (spec §3.6)"),
		yesNo("EHPI_PH_CDR", "Clinical Data Registry Reporting", ys, eh(), Attest{}, "HITANS-2022").
			caveat("a bonus option from 2022 (spec §3.6)"),
		yesNo("EHPI_PH_AUR", "Antimicrobial Use and Resistance Surveillance", Years{2024, 2024}, eh(), Attest{}, "PALTC-2023").required(),
		yesNo("EHPI_PH_AU", "Antimicrobial Use Surveillance", Years{2025, 2026}, eh(), Attest{}, "MEDISOLV-2025", "CHIME-FY25P").required(),
		yesNo("EHPI_PH_AR", "Antimicrobial Resistance Surveillance", Years{2025, 2026}, eh(), Attest{}, "MEDISOLV-2025", "CHIME-FY25P").required(),
		yesNo("EHPI_PPHI_1", "Security Risk Analysis", ys, eh(), DoneInYear{}, "CYPRESS-PI EH notes", "HITANS-2019").required(),
		yesNo("EHPI_PPHI_2", "SAFER Guides annual self-assessment", Years{2022, 2026}, eh(), Attest{}, "HITANS-2022", "NRDR-2023").
			required().caveat("whether the answer must be yes (not only attested) from 2024 is not confirmed (spec §3.6 ⚠)"),
		yesNo("EHPI_INFBLO_1", "Actions to limit or restrict the compatibility or interoperability of CEHRT", ys, eh(), Attest{},
			"HITANS-2019").required(),
		yesNo("EHPI_ONCDIR_1", "ONC Direct Review Attestation", ys, eh(), Attest{}, "HITANS-2019").required(),
	)
}

func mips() []Measure {
	aci := Years{2017, 2017}
	pi18 := Years{2018, 2018}
	ys := Years{2019, 2026}
	one := Threshold{Op: AtLeastOne}
	none := Threshold{}
	// eRx, access, education, engagement and exchange: the same rules under the 2017
	// ACI_* and 2018 PI_* IDs, the numerator window being the calendar year.
	aciRows := func(prefix string, ys Years, src string) []Measure {
		id := func(s string) string { return prefix + s }
		return []Measure{
			ratio(id("EP_1"), "e-Prescribing", ys, ec(), Prescriptions, rxEC,
				"prescriptions in the denominator queried for a drug formulary and transmitted electronically using CEHRT",
				Prescribed{Formulary: true}, InCalendarYear, one, src, "CYPRESS-PI EP_RT1").variants(both()...).required().
				excludedBy(id("LVPP_1")),
			ratio(id("PEA_1"), "Provide Patient Access", ys, ec(), UniquePatients, seenEC, peaNum,
				TimelyAccess{Population: Seen, Channels: []Channel{VDT, API}, Timely: BusinessDaysAfter(4, FromInfo)},
				InCalendarYear, one, src, "CYPRESS-PI EP_RT2a").required(),
			ratio(id("PEA_2"), "Patient-Specific Education", ys, ec(), UniquePatients, seenEC,
				"patients in the denominator given electronic access to patient-specific education identified by CEHRT",
				PatientActed{Population: Seen, Actions: []ActionKind{EducationElectronic}}, InCalendarYear, none,
				src, "CYPRESS-PI EP_RT3").transitive(),
			ratio(id("CCTPE_1"), "View, Download and Transmit (VDT)", ys, ec(), UniquePatients, seenEC,
				"patients in the denominator (or representatives) who viewed, downloaded or transmitted their information, or accessed it through an API",
				PatientActed{Population: Seen, Actions: []ActionKind{ViewedDownloadedTransmitted, AccessedAPI}}, InCalendarYear, none,
				src, "CYPRESS-PI EP_RT4a").transitive(),
			ratio(id("CCTPE_2"), "Secure Messaging", ys, ec(), UniquePatients, seenEC,
				"patients in the denominator for whom a secure message was sent to the patient (or representative), or in reply to one",
				PatientActed{Population: Seen, Actions: []ActionKind{MessageToPatient}}, InCalendarYear, none,
				src, "CYPRESS-PI EP_RT5").transitive(),
			ratio(id("CCTPE_3"), "Patient-Generated Health Data", ys, ec(), UniquePatients, seenEC,
				"patients in the denominator for whom patient-generated health data or data from a non-clinical setting was incorporated into CEHRT",
				PatientActed{Population: Seen, Actions: []ActionKind{PatientDataIncorporated}}, InPeriod, none,
				src, "CYPRESS-PI EP_RT6").transitive(),
			ratio(id("HIE_1"), "Send a Summary of Care", ys, ec(), TransitionsOut, transOutEC, sentConfirm,
				SentSummary{Electronic: true, Confirmed: true}, InCalendarYear, one, src, "CYPRESS-PI EP_RT7").required().
				excludedBy(id("LVOTC_1")).caveat(confirmNote),
			ratio(id("HIE_2"), "Request/Accept Summary of Care", ys, ec(), TransitionsIn,
				transInEC+", less those whose summary was requested and unavailable",
				"transitions and new patients in the denominator for which an electronic summary of care was received and incorporated",
				ReceivedSummary{Kinds: allIn(), Test: SummaryIncorporated}, InCalendarYear, one, src, "CYPRESS-PI EP_RT8").
				required().excludedBy(id("LVITC_1")),
			ratio(id("HIE_3"), "Clinical Information Reconciliation", ys, ec(), TransitionsIn, transInEC,
				"transitions and new patients in the denominator for which medications, medication allergies and current problems were all reconciled",
				ReceivedSummary{Kinds: allIn(), Test: AllReconciled}, InCalendarYear, none, src, "CYPRESS-PI EP_RT9"),
		}
	}
	rows := append(aciRows("ACI_", aci, "QPPDATA 2017"), aciRows("PI_", pi18, "QPPDATA 2018")...)
	rows = append(rows,
		ratio("PI_EP_1", "e-Prescribing", Years{2019, 2020}, ec(), Prescriptions, rxEC,
			"prescriptions in the denominator queried for a drug formulary and transmitted electronically using CEHRT",
			Prescribed{Formulary: true}, InPeriod, one, "QPPDATA 2019", "CYPRESS-PI EP_RT1").variants(both()...).required().
			excludedBy("PI_LVPP_1"),
		ratio("PI_EP_1", "e-Prescribing", Years{2021, 2026}, ec(), Prescriptions, rxEC,
			"prescriptions in the denominator transmitted electronically using CEHRT",
			Prescribed{}, InPeriod, one, "QPPDATA 2021", "CYPRESS-PI EP_RT1").variants(both()...).required().
			excludedBy("PI_LVPP_1").caveat(formularyOff),
		ratio("PI_EP_3", "Verify Opioid Treatment Agreement", Years{2019, 2019}, ec(), UniquePatients,
			"unique patients with a Schedule II opioid electronically prescribed for at least 30 cumulative days in a 6-month look-back",
			"patients in the denominator with a signed opioid treatment agreement identified and incorporated into CEHRT",
			nil, InPeriod, one, "QPPDATA 2019", "FACS-2019").bonus().
			caveat("not evaluated: a 2019-only bonus needing prescription durations the timeline does not carry"),
		ratio("PI_HIE_1", "Support Electronic Referral Loops By Sending Health Information", ys, ec(), TransitionsOut, transOutEC,
			sentConfirm, SentSummary{Electronic: true, Confirmed: true}, InPeriod, one, "QPPDATA 2019", "CYPRESS-PI EP_RT7").
			required().excludedBy("PI_LVOTC_1").caveat(confirmNote),
		ratio("PI_HIE_4", "Support Electronic Referral Loops By Receiving and Incorporating Health Information", Years{2019, 2020}, ec(),
			SummariesReceived, recordsEC, reconcileAll, ReceivedRecords{}, InPeriod, one, "QPPDATA 2019", "CYPRESS-PI EP_RT15").
			required().excludedBy("PI_LVITC_2", "PI_CUITC_1 (2019)").
			caveat("2019–2020 title says incorporating; computed as the 2021+ reconciliation of all three sets (ONC RT15)"),
		ratio("PI_HIE_4", "Support Electronic Referral Loops By Receiving and Reconciling Health Information", Years{2021, 2026}, ec(),
			SummariesReceived, recordsEC, reconcileAll, ReceivedRecords{}, InPeriod, one, "QPPDATA 2021", "CYPRESS-PI EP_RT15").
			required().excludedBy("PI_LVITC_2"),
		ratio("PI_PEA_1", "Provide Patients Electronic Access to Their Health Information", ys, ec(), UniquePatients, seenEC, peaNum,
			TimelyAccess{Population: Seen, Channels: []Channel{VDT, API}, Timely: BusinessDaysAfter(4, FromInfo)},
			InPeriod, one, "QPPDATA 2019", "CYPRESS-PI EP_RT2a").required().caveat(piWindow),
	)
	return in(MIPS, append(rows, mipsYesNo()...)...)
}

// mipsYesNo is the MIPS attestations, public health and other yes/no measures, with
// the years qpp-measures-data lists them.
func mipsYesNo() []Measure {
	aci, pi18, ys := Years{2017, 2017}, Years{2018, 2018}, Years{2019, 2026}
	y := func(id, title string, span Years, c Check, src string) Measure {
		return yesNo(id, title, span, ec(), c, src)
	}
	rows := []Measure{
		y("ACI_PPHI_1", "Security Risk Analysis", aci, DoneInYear{}, "QPPDATA 2017").required(),
		y("ACI_INFBLO_1", "Prevention of Information Blocking Attestation", aci, Attest{}, "QPPDATA 2017").required(),
		y("ACI_ONCDIR_1", "ONC Direct Review Attestation", aci, Attest{}, "QPPDATA 2017").required(),
		y("ACI_ONCACB_1", "ONC-ACB Surveillance Attestation (Optional)", aci, Attest{}, "QPPDATA 2017"),
		y("ACI_IACEHRT_1", "CEHRT Used", aci, Attest{}, "QPPDATA 2017").bonus(),
		y("ACI_PHCDRR_1", "Immunization Registry Reporting", aci, Attest{}, "QPPDATA 2017"),
		y("ACI_PHCDRR_2", "Syndromic Surveillance Reporting", aci, Attest{}, "QPPDATA 2017").bonus(),
		y("ACI_PHCDRR_3", "Electronic Case Reporting", aci, Attest{}, "QPPDATA 2017").bonus(),
		y("ACI_PHCDRR_4", "Public Health Registry Reporting", aci, Attest{}, "QPPDATA 2017").bonus(),
		y("ACI_PHCDRR_5", "Clinical Data Registry Reporting", aci, Attest{}, "QPPDATA 2017").bonus(),
		y("PI_PPHI_1", "Security Risk Analysis", Years{2018, 2026}, DoneInYear{}, "QPPDATA 2018").required(),
		y("PI_PPHI_2", "High Priority Practices Guide of the SAFER Guides", Years{2022, 2026}, Attest{}, "QPPDATA 2022").required(),
		y("PI_INFBLO_1", "Prevention of Information Blocking Attestation", Years{2018, 2021}, Attest{}, "QPPDATA 2018").required(),
		y("PI_INFBLO_1", "Actions to Limit or Restrict the Compatibility of CEHRT", Years{2022, 2026}, Attest{}, "QPPDATA 2022").required(),
		y("PI_ONCDIR_1", "ONC Direct Review Attestation", Years{2018, 2026}, Attest{}, "QPPDATA 2018").required(),
		y("PI_ONCACB_1", "ONC-ACB Surveillance Attestation", Years{2018, 2026}, Attest{}, "QPPDATA 2018"),
		y("PI_IACEHRT_1", "PI bonus for submission of eligible Improvement Activities using CEHRT", pi18, Attest{}, "QPPDATA 2018").bonus(),
		y("PI_EP_2", "Query of the Prescription Drug Monitoring Program (PDMP)", Years{2019, 2022}, Attest{}, "QPPDATA 2019").bonus(),
		y("PI_EP_2", "Query of the Prescription Drug Monitoring Program (PDMP)", Years{2023, 2026}, Attest{}, "QPPDATA 2023 (spec §3.7.1)").
			required().excludedBy("PI_EP_2_EX_1", "PI_EP_2_EX_2", "PI_EP_2_EX_3"),
		y("PI_HIE_5", "Health Information Exchange (HIE) Bi-Directional Exchange", Years{2021, 2026}, Attest{}, "QPPDATA 2021"),
		y("PI_HIE_6", "Enabling Exchange under TEFCA", Years{2023, 2026}, Attest{}, "QPPDATA 2023 (spec §3.7.1)"),
		y("PI_PHCDRR_1", "Immunization Registry Reporting", pi18, Attest{}, "QPPDATA 2018"),
		y("PI_PHCDRR_2", "Syndromic Surveillance Reporting", pi18, Attest{}, "QPPDATA 2018"),
		y("PI_PHCDRR_3", "Electronic Case Reporting", pi18, Attest{}, "QPPDATA 2018"),
		y("PI_PHCDRR_4", "Public Health Registry Reporting", pi18, Attest{}, "QPPDATA 2018"),
		y("PI_PHCDRR_5", "Clinical Data Registry Reporting", pi18, Attest{}, "QPPDATA 2018"),
		y("PI_PHCDRR_1", "Immunization Registry Reporting", ys, Attest{}, "QPPDATA 2019").required(),
		y("PI_PHCDRR_2", "Syndromic Surveillance Reporting", Years{2019, 2021}, Attest{}, "QPPDATA 2019").required(),
		y("PI_PHCDRR_2", "Syndromic Surveillance Reporting", Years{2022, 2026}, Attest{}, "QPPDATA 2022").bonus(),
		y("PI_PHCDRR_3", "Electronic Case Reporting", ys, Attest{}, "QPPDATA 2019").required(),
		y("PI_PHCDRR_4", "Public Health Registry Reporting", Years{2019, 2021}, Attest{}, "QPPDATA 2019").required(),
		y("PI_PHCDRR_4", "Public Health Registry Reporting", Years{2022, 2026}, Attest{}, "QPPDATA 2022").bonus(),
		y("PI_PHCDRR_5", "Clinical Data Registry Reporting", Years{2019, 2021}, Attest{}, "QPPDATA 2019").required(),
		y("PI_PHCDRR_5", "Clinical Data Registry Reporting", Years{2022, 2026}, Attest{}, "QPPDATA 2022").bonus(),
		y("PI_PHCDRR_6", "Public Health Reporting Using TEFCA", Years{2026, 2026}, Attest{}, "QPPDATA 2026 (spec §3.7.1)").bonus(),
	}
	// Reporting to more than one registry: 2018 (bonus) to 2021.
	for _, m := range []struct{ n, title string }{
		{"1", "Immunization Registry Reporting"}, {"2", "Syndromic Surveillance Reporting"},
		{"3", "Electronic Case Reporting"}, {"4", "Public Health Registry Reporting"}, {"5", "Clinical Data Registry Reporting"},
	} {
		rows = append(rows, y("PI_PHCDRR_"+m.n+"_MULTI", m.title+" for Multiple Registry Engagement", Years{2018, 2021}, Attest{}, "QPPDATA 2018"))
	}
	// Active engagement level, from 2023: pre-production (validation) or production.
	for _, n := range []string{"1", "2", "3", "4", "5"} {
		rows = append(rows,
			y("PI_PHCDRR_"+n+"_PRE", "Active engagement: pre-production and validation", Years{2023, 2026}, Attest{}, "QPPDATA 2023 (spec §3.7.1)"),
			y("PI_PHCDRR_"+n+"_PROD", "Active engagement: validated data production", Years{2023, 2026}, Attest{}, "QPPDATA 2023 (spec §3.7.1)"))
	}
	return rows
}

// mipsTransition is the 2017 ACI and 2018 PI transition set, for clinicians on 2014
// Edition CEHRT: the Modified Stage 2 measures under MIPS IDs, "at least one" for the
// base measures, numerator in the calendar year.
func mipsTransition() []Measure {
	rows := func(prefix string, ys Years, src string) []Measure {
		id := func(s string) string { return prefix + s }
		one, none := Threshold{Op: AtLeastOne}, Threshold{}
		return []Measure{
			ratio(id("EP_1"), "e-Prescribing", ys, ec(), Prescriptions, rxEC,
				"prescriptions in the denominator queried for a drug formulary and transmitted electronically using CEHRT",
				Prescribed{Formulary: true}, InCalendarYear, one, src).variants(both()...).required().excludedBy(id("LVPP_1")),
			ratio(id("PEA_1"), "Provide Patient Access", ys, ec(), UniquePatients, seenEC,
				"patients in the denominator given timely access (4 business days) to view online, download and transmit",
				TimelyAccess{Population: Seen, Channels: []Channel{VDT}, Timely: BusinessDaysAfter(4, FromInfo)},
				InCalendarYear, one, src).required(),
			ratio(id("PEA_2"), "View, Download, or Transmit (VDT)", ys, ec(), UniquePatients, seenEC,
				"patients in the denominator (or representatives) who viewed, downloaded or transmitted their information (API allowed, ONC v1.2)",
				PatientActed{Population: Seen, Actions: []ActionKind{ViewedDownloadedTransmitted, AccessedAPI}}, InCalendarYear, none,
				src, "CYPRESS-PI EP_RT4a").transitive(),
			ratio(id("PSE_1"), "Patient-Specific Education", ys, ec(), UniquePatients, seenEC,
				"patients in the denominator provided patient-specific education resources identified by CEHRT",
				PatientActed{Population: Seen, Actions: []ActionKind{EducationElectronic, EducationOther}}, InCalendarYear, none,
				src).transitive(),
			ratio(id("SM_1"), "Secure Messaging", ys, ec(), UniquePatients, seenEC,
				"patients in the denominator for whom a secure message was sent to the patient (or representative), or in reply to one",
				PatientActed{Population: Seen, Actions: []ActionKind{MessageToPatient}}, InCalendarYear, none, src).transitive(),
			ratio(id("HIE_1"), "Health Information Exchange", ys, ec(), TransitionsOut, transOutEC,
				"transitions and referrals in the denominator for which a summary of care record was created with CEHRT and exchanged electronically",
				SentSummary{Electronic: true}, InCalendarYear, one, src).required().excludedBy(id("LVOTC_1")),
			ratio(id("MR_1"), "Medication Reconciliation", ys, ec(), TransitionsIn,
				"transitions of care during the performance period in which the clinician was the receiving party",
				"transitions in the denominator for which medication reconciliation was performed",
				ReceivedSummary{Kinds: []InKind{TransitionedIn}, Test: MedicationsReconciled}, InCalendarYear, none, src),
			yesNo(id("PPHI_1"), "Security Risk Analysis", ys, ec(), DoneInYear{}, src).required(),
			yesNo(id("PHCDRR_1"), "Immunization Registry Reporting", ys, ec(), Attest{}, src),
			yesNo(id("PHCDRR_2"), "Syndromic Surveillance Reporting", ys, ec(), Attest{}, src).bonus(),
			yesNo(id("PHCDRR_3"), "Specialized Registry Reporting", ys, ec(), Attest{}, src).bonus(),
		}
	}
	all := append(rows("ACI_TRANS_", Years{2017, 2017}, "QPPDATA 2017"), rows("PI_TRANS_", Years{2018, 2018}, "QPPDATA 2018")...)
	for _, n := range []string{"1", "2", "3"} {
		all = append(all, yesNo("PI_TRANS_PHCDRR_"+n+"_MULTI", "Registry reporting for Multiple Registry Engagement",
			Years{2018, 2018}, ec(), Attest{}, "QPPDATA 2018").bonus())
	}
	return in(MIPSTransition, all...)
}
