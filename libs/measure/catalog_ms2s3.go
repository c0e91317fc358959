package measure

// Modified Stage 2 (2015–2018) and Stage 3 (Medicare hospitals 2017–2018, Medicaid
// 2017–2021). Sources: the 2015 final rule [FR2015] and 42 CFR 495.22/495.24
// [CFR495.22], vendor and state pages quoting CMS's specification sheets, and the ONC
// (g)(2) test decks [CYPRESS-PI], whose 2023 edition still carries the Medicaid
// Stage 3 tests (RT1–RT12, "for 2021 only").

const (
	medOrdersEP  = "medication orders created by the EP during the EHR reporting period"
	labOrdersEP  = "laboratory orders created by the EP during the EHR reporting period"
	radOrdersEP  = "radiology orders created by the EP during the EHR reporting period"
	medOrdersEH  = "medication orders created by authorized providers of the inpatient or emergency department (POS 21 or 23) during the EHR reporting period"
	labOrdersEH  = "laboratory orders created by authorized providers of the inpatient or emergency department (POS 21 or 23) during the EHR reporting period"
	radOrdersEH  = "radiology orders created by authorized providers of the inpatient or emergency department (POS 21 or 23) during the EHR reporting period"
	byCPOE       = "orders in the denominator recorded using CPOE"
	transInS3    = "transitions or referrals received and patient encounters in which the provider has never before encountered the patient, during the EHR reporting period"
	ms2Window    = "[SCDHHS-TIME] (a state agency relaying CMS FAQs) puts patient-action numerators in the calendar year; secondary source ⚠"
	s3TimelyNote = "\"timely\" for Medicaid Stage 3 is 48 hours in the ONC 2021 deck (RT2: \"within 48 hours (Medicaid) or 4 business days (MIPS)\"); one REC page says 4 business days for 2020–2021 (spec §8.8 ⚠)"
)

// allIn is every kind of incoming transition Stage 3 and PI count.
func allIn() []InKind { return []InKind{TransitionedIn, ReferredIn, NewPatient} }

func modifiedStage2() []Measure {
	ys := Years{2015, 2018}
	y2015 := Years{2015, 2015}
	early := Years{2015, 2016}
	late := Years{2017, 2018}
	vdt := []ActionKind{ViewedDownloadedTransmitted, AccessedAPI}
	return in(ModifiedStage2,
		// Eligible professionals.
		yesNo("MS2-EP-01", "Protect patient health information: security risk analysis", ys, ep(), DoneInYear{}, "FR2015").
			caveat("the analysis may be done any time in the calendar year (CMS; ONC general notes for 2019+); for 2015–2018 not re-verified"),
		yesNo("MS2-EP-02.1", "Clinical decision support: five interventions related to four or more CQMs", ys, ep(),
			EnabledThroughout{}, "FR2015"),
		yesNo("MS2-EP-02.2", "Drug-drug and drug-allergy interaction checks", ys, ep(), EnabledThroughout{}, "FR2015"),
		ratio("MS2-EP-03.1", "CPOE: medication orders", ys, ep(), Orders, medOrdersEP, byCPOE,
			Ordered{Kind: MedicationOrder, Test: ByCPOE}, YearToAttestation, Over(60), "FR2015", "ANNFAMMED-S2").
			excludedBy("fewer than 100 medication orders"),
		ratio("MS2-EP-03.1-ALT", "CPOE: medication orders (alternate specification for Stage 1 providers)", y2015, ep(), UniquePatients,
			"unique patients with at least one medication in their medication list seen by the EP during the EHR reporting period",
			"patients in the denominator with at least one medication order entered using CPOE",
			PatientOrdered{Population: Seen}, YearToAttestation, Over(30), "FR2015", "ANNFAMMED-S2"),
		ratio("MS2-EP-03.2", "CPOE: laboratory orders", ys, ep(), Orders, labOrdersEP, byCPOE,
			Ordered{Kind: LabOrder, Test: ByCPOE}, YearToAttestation, Over(30), "FR2015"),
		ratio("MS2-EP-03.3", "CPOE: radiology orders", ys, ep(), Orders, radOrdersEP, byCPOE,
			Ordered{Kind: ImagingOrder, Test: ByCPOE}, YearToAttestation, Over(30), "FR2015"),
		ratio("MS2-EP-04", "e-Prescribing", ys, ep(), Prescriptions, rxEP,
			"prescriptions in the denominator generated, queried for a drug formulary and transmitted electronically using CEHRT",
			Prescribed{Formulary: true}, YearToAttestation, Over(50), "HIMSS-ERX-EP", "FR2015").variants(both()...).
			excludedBy("fewer than 100 permissible prescriptions", "no pharmacy accepting eRx within 10 miles"),
		ratio("MS2-EP-04-ALT", "e-Prescribing (alternate specification for Stage 1 providers)", y2015, ep(), Prescriptions, rxEP,
			"prescriptions in the denominator transmitted electronically using CEHRT",
			Prescribed{}, YearToAttestation, Over(40), "FR2015").variants(both()...),
		ratio("MS2-EP-05", "Health information exchange: summary of care", ys, ep(), TransitionsOut, transOut,
			"transitions and referrals in the denominator for which a summary of care record was created with CEHRT and exchanged electronically",
			SentSummary{Electronic: true}, YearToAttestation, Over(10), "HIMSS-HIE", "FR2015").
			excludedBy("fewer than 100 transitions or referrals"),
		ratio("MS2-EP-06", "Patient-specific education", ys, ep(), UniquePatients, officeEP,
			"patients in the denominator provided patient-specific education resources identified by CEHRT",
			PatientActed{Population: WithOfficeVisit, Actions: []ActionKind{EducationElectronic, EducationOther}},
			YearToAttestation, Over(10), "SCDHHS-DENOM", "FR2015").excludedBy("no office visits").
			caveat("[SCDHHS-TIME]: education from 1 January to the attestation ⚠"),
		ratio("MS2-EP-07", "Medication reconciliation", ys, ep(), TransitionsIn, transInMR,
			"transitions in the denominator for which medication reconciliation was performed",
			ReceivedSummary{Kinds: []InKind{TransitionedIn}, Test: MedicationsReconciled}, YearToAttestation, Over(50),
			"HIMSS-MEDREC", "FR2015").excludedBy("not the recipient of any transition of care").
			caveat("whether referrals and first encounters with new patients count as transitions in is not settled in the sources; only transitions count"),
		ratio("MS2-EP-08.1", "Patient electronic access: timely access", ys, ep(), UniquePatients, seenEP,
			"patients in the denominator with timely access to view online, download and transmit (within 4 business days after the information is available to the EP)",
			TimelyAccess{Population: Seen, Channels: []Channel{VDT}, Timely: BusinessDaysAfter(4, FromInfo)},
			YearToAttestation, Over(50), "CHARM-PEA", "TEXMED-PEA", "ELATION-PEA"),
		ratio("MS2-EP-08.2", "Patient electronic access: view, download or transmit", early, ep(), UniquePatients, seenEP,
			"patients in the denominator (or their authorized representatives) who view, download or transmit their health information",
			PatientActed{Population: Seen, Actions: vdt}, InCalendarYear, Threshold{Op: AtLeastOne}, "ELATION-PEA", "FR2015").
			excludedBy("broadband: 50% or more of encounters in a county where under 50% of housing units have 4 Mbps").caveat(ms2Window),
		ratio("MS2-EP-08.2", "Patient electronic access: view, download or transmit", late, ep(), UniquePatients, seenEP,
			"patients in the denominator (or their authorized representatives) who view, download or transmit their health information",
			PatientActed{Population: Seen, Actions: vdt}, InCalendarYear, Over(5), "CHARM-PEA", "FR2015").
			excludedBy("broadband: 50% or more of encounters in a county where under 50% of housing units have 4 Mbps").
			caveat("2017: rule text says more than 5%, some vendor pages show \"at least one\" (spec §3.3 ⚠). "+ms2Window),
		yesNo("MS2-EP-09", "Secure electronic messaging: capability fully enabled", y2015, ep(), EnabledThroughout{}, "CHARM-SM", "FR2015"),
		ratio("MS2-EP-09", "Secure electronic messaging", Years{2016, 2016}, ep(), UniquePatients, seenEP,
			"patients in the denominator for whom a secure message was sent to the patient (or representative), or in response to one",
			PatientActed{Population: Seen, Actions: []ActionKind{MessageToPatient}}, InCalendarYear, Threshold{Op: AtLeastOne},
			"CHARM-SM", "ILHITREC-O9", "FR2015").excludedBy("no office visits", "broadband").caveat(ms2Window),
		ratio("MS2-EP-09", "Secure electronic messaging", late, ep(), UniquePatients, seenEP,
			"patients in the denominator for whom a secure message was sent to the patient (or representative), or in response to one",
			PatientActed{Population: Seen, Actions: []ActionKind{MessageToPatient}}, InCalendarYear, Over(5),
			"CHARM-SM", "ILHITREC-O9", "FR2015").excludedBy("no office visits", "broadband").caveat(ms2Window),
		yesNo("MS2-EP-10.1", "Public health: immunization registry reporting", ys, ep(), Attest{}, "FR2015", "MS2-OVERVIEW"),
		yesNo("MS2-EP-10.2", "Public health: syndromic surveillance reporting", ys, ep(), Attest{}, "FR2015", "MS2-OVERVIEW"),
		yesNo("MS2-EP-10.3", "Public health: specialized registry reporting", ys, ep(), Attest{}, "FR2015", "MS2-OVERVIEW"),

		// Eligible hospitals and CAHs.
		yesNo("MS2-EH-01", "Protect patient health information: security risk analysis", ys, eh(), DoneInYear{}, "FR2015"),
		yesNo("MS2-EH-02.1", "Clinical decision support: five interventions related to four or more CQMs", ys, eh(),
			EnabledThroughout{}, "FR2015"),
		yesNo("MS2-EH-02.2", "Drug-drug and drug-allergy interaction checks", ys, eh(), EnabledThroughout{}, "FR2015"),
		ratio("MS2-EH-03.1", "CPOE: medication orders", ys, eh(), Orders, medOrdersEH, byCPOE,
			Ordered{Kind: MedicationOrder, Test: ByCPOE}, YearToAttestation, Over(60), "CFR-GSHEET-S2", "FR2015"),
		ratio("MS2-EH-03.1-ALT", "CPOE: medication orders (alternate specification for Stage 1 hospitals)", y2015, eh(), UniquePatients,
			"unique patients with at least one medication in their medication list admitted to the inpatient or emergency department (POS 21 or 23)",
			"patients in the denominator with at least one medication order entered using CPOE",
			PatientOrdered{Population: Admitted}, YearToAttestation, Over(30), "FR2015"),
		ratio("MS2-EH-03.2", "CPOE: laboratory orders", ys, eh(), Orders, labOrdersEH, byCPOE,
			Ordered{Kind: LabOrder, Test: ByCPOE}, YearToAttestation, Over(30), "FR2015"),
		ratio("MS2-EH-03.3", "CPOE: radiology orders", ys, eh(), Orders, radOrdersEH, byCPOE,
			Ordered{Kind: ImagingOrder, Test: ByCPOE}, YearToAttestation, Over(30), "FR2015"),
		ratio("MS2-EH-04", "Discharge e-Prescribing", ys, eh(), Prescriptions,
			"new, changed or refill prescriptions for drugs requiring a prescription, other than controlled substances, for patients discharged during the EHR reporting period",
			"prescriptions in the denominator generated, queried for a drug formulary and transmitted electronically using CEHRT",
			Prescribed{Discharge: true, Formulary: true}, YearToAttestation, Over(10), "HIMSS-ERX-EH", "FR2015").
			variants(ControlledExcluded).excludedBy("no internal pharmacy accepting eRx and none within 10 miles"),
		ratio("MS2-EH-05", "Health information exchange: summary of care", ys, eh(), TransitionsOut, transOut,
			"transitions and referrals in the denominator for which a summary of care record was created with CEHRT and exchanged electronically",
			SentSummary{Electronic: true}, YearToAttestation, Over(10), "HIMSS-HIE", "FR2015"),
		ratio("MS2-EH-06", "Patient-specific education", ys, eh(), UniquePatients, admittedEH,
			"patients in the denominator provided patient-specific education resources identified by CEHRT",
			PatientActed{Population: Admitted, Actions: []ActionKind{EducationElectronic, EducationOther}},
			YearToAttestation, Over(10), "FR2015"),
		ratio("MS2-EH-07", "Medication reconciliation", ys, eh(), TransitionsIn,
			"transitions of care during the EHR reporting period in which the patient was admitted to the inpatient or emergency department",
			"transitions in the denominator for which medication reconciliation was performed",
			ReceivedSummary{Kinds: []InKind{TransitionedIn}, Test: MedicationsReconciled}, YearToAttestation, Over(50), "FR2015"),
		ratio("MS2-EH-08.1", "Patient electronic access: information online within 36 hours of discharge", ys, eh(), UniquePatients,
			dischargedEH, "patients in the denominator with timely access to view online, download and transmit (within 36 hours of discharge)",
			TimelyAccess{Population: Discharged, Channels: []Channel{VDT}, Timely: HoursAfter(36, FromDischarge)},
			YearToAttestation, Over(50), "FR2015", "CYPRESS-PI EH_RT2a"),
		ratio("MS2-EH-08.2", "Patient electronic access: view, download or transmit", early, eh(), UniquePatients, dischargedEH,
			"patients in the denominator (or their authorized representatives) who view, download or transmit their information",
			PatientActed{Population: Discharged, Actions: vdt}, InCalendarYear, Threshold{Op: AtLeastOne}, "FR2015", "CMS-FAQ-9824").
			caveat(ms2Window),
		ratio("MS2-EH-08.2", "Patient electronic access: view, download or transmit", late, eh(), UniquePatients, dischargedEH,
			"patients in the denominator (or their authorized representatives) who view, download or transmit their information",
			PatientActed{Population: Discharged, Actions: vdt}, InCalendarYear, Over(5), "FR2015").
			caveat("2017: more than 5% in the rule text, \"at least one\" in some sources (spec §3.4 ⚠). "+ms2Window),
		yesNo("MS2-EH-09.1", "Public health: immunization registry reporting", ys, eh(), Attest{}, "FR2015"),
		yesNo("MS2-EH-09.2", "Public health: syndromic surveillance reporting", ys, eh(), Attest{}, "FR2015"),
		yesNo("MS2-EH-09.3", "Public health: specialized registry reporting", ys, eh(), Attest{}, "FR2015"),
		yesNo("MS2-EH-09.4", "Public health: electronic reportable laboratory results", ys, eh(), Attest{}, "FR2015"),
	)
}

func stage3() []Measure {
	ys := Years{2017, 2021}
	y2017 := Years{2017, 2017}
	from2018 := Years{2018, 2021}
	vdt := []ActionKind{ViewedDownloadedTransmitted, AccessedAPI}
	sm := []ActionKind{MessageToPatient, MessageCopyingPatient}
	return in(Stage3,
		yesNo("S3-EP-01", "Protect patient health information: security risk analysis", ys, ep(), DoneInYear{}, "FR2015"),
		yesNo("S3-EH-01", "Protect patient health information: security risk analysis", ys, eh(), DoneInYear{}, "FR2015"),
		ratio("S3-EP-02", "e-Prescribing", ys, ep(), Prescriptions, rxEP,
			"prescriptions in the denominator queried for a drug formulary and transmitted electronically using CEHRT",
			Prescribed{Formulary: true}, InCalendarYear, Over(60), "CYPRESS-PI EP_RT1", "ILHITREC-O2", "OP-KB-ERX").
			variants(both()...).excludedBy("fewer than 100 permissible prescriptions", "no pharmacy accepting eRx within 10 miles"),
		ratio("S3-EH-02", "e-Prescribing (discharge prescriptions)", ys, eh(), Prescriptions,
			"new and changed permissible discharge prescriptions for patients discharged during the EHR reporting period",
			"prescriptions in the denominator queried for a drug formulary and transmitted electronically using CEHRT",
			Prescribed{Discharge: true, Changes: []Change{NewRx, ChangedRx}, Formulary: true}, InCalendarYear, Over(25),
			"CYPRESS-PI EH_RT1", "SHM-ERX").variants(both()...).
			excludedBy("no internal pharmacy accepting eRx and none within 10 miles"),
		yesNo("S3-EP-03.1", "Clinical decision support: five interventions related to four or more CQMs", ys, ep(), EnabledThroughout{}, "THEGAP-S3"),
		yesNo("S3-EH-03.1", "Clinical decision support: five interventions related to four or more CQMs", ys, eh(), EnabledThroughout{}, "THEGAP-S3"),
		yesNo("S3-EP-03.2", "Drug-drug and drug-allergy interaction checks", ys, ep(), EnabledThroughout{}, "THEGAP-S3"),
		yesNo("S3-EH-03.2", "Drug-drug and drug-allergy interaction checks", ys, eh(), EnabledThroughout{}, "THEGAP-S3"),
		ratio("S3-EP-04.1", "CPOE: medication orders", ys, ep(), Orders, medOrdersEP, byCPOE,
			Ordered{Kind: MedicationOrder, Test: ByCPOE}, InPeriod, Over(60), "CYPRESS-PI EP_RT10").excludedBy("fewer than 100 orders"),
		ratio("S3-EH-04.1", "CPOE: medication orders", ys, eh(), Orders, medOrdersEH, byCPOE,
			Ordered{Kind: MedicationOrder, Test: ByCPOE}, InPeriod, Over(60), "CYPRESS-PI EH_RT10"),
		ratio("S3-EP-04.2", "CPOE: laboratory orders", ys, ep(), Orders, labOrdersEP, byCPOE,
			Ordered{Kind: LabOrder, Test: ByCPOE}, InPeriod, Over(60), "CYPRESS-PI EP_RT11").excludedBy("fewer than 100 orders"),
		ratio("S3-EH-04.2", "CPOE: laboratory orders", ys, eh(), Orders, labOrdersEH, byCPOE,
			Ordered{Kind: LabOrder, Test: ByCPOE}, InPeriod, Over(60), "CYPRESS-PI EH_RT11"),
		ratio("S3-EP-04.3", "CPOE: diagnostic imaging orders", ys, ep(), Orders,
			"diagnostic imaging orders created by the EP during the EHR reporting period", byCPOE,
			Ordered{Kind: ImagingOrder, Test: ByCPOE}, InPeriod, Over(60), "CYPRESS-PI EP_RT12").excludedBy("fewer than 100 orders"),
		ratio("S3-EH-04.3", "CPOE: diagnostic imaging orders", ys, eh(), Orders,
			"diagnostic imaging orders created by authorized providers of the inpatient or emergency department (POS 21 or 23) during the EHR reporting period",
			byCPOE, Ordered{Kind: ImagingOrder, Test: ByCPOE}, InPeriod, Over(60), "CYPRESS-PI EH_RT12"),
		ratio("S3-EP-05.1", "Provide patient access", ys, ep(), UniquePatients, seenEP,
			"patients in the denominator given timely (48 hours) access to view, download and transmit, and whose information is available through an API",
			TimelyAccess{Population: Seen, Channels: []Channel{VDT, API}, Timely: HoursAfter(48, FromInfo)},
			InCalendarYear, Over(80), "CYPRESS-PI EP_RT2a", "MACPRACTICE-O5").excludedBy("no office visits", "broadband").
			caveat(s3TimelyNote),
		ratio("S3-EH-05.1", "Provide patient access", ys, eh(), UniquePatients, dischargedEH,
			"patients in the denominator given timely (36 hours after discharge) access to view, download and transmit, and whose information is available through an API",
			TimelyAccess{Population: Discharged, Channels: []Channel{VDT, API}, Timely: HoursAfter(36, FromDischarge)},
			InPeriod, Over(80), "CYPRESS-PI EH_RT2a"),
		ratio("S3-EP-05.2", "Patient-specific education", ys, ep(), UniquePatients, seenEP,
			"patients in the denominator given electronic access to patient-specific education identified by CEHRT",
			PatientActed{Population: Seen, Actions: []ActionKind{EducationElectronic}}, InCalendarYear, Over(35),
			"CYPRESS-PI EP_RT3", "ILHITREC-O5"),
		ratio("S3-EH-05.2", "Patient-specific education", ys, eh(), UniquePatients, dischargedEH,
			"patients in the denominator given electronic access to patient-specific education identified by CEHRT",
			PatientActed{Population: Discharged, Actions: []ActionKind{EducationElectronic}}, InCalendarYear, Over(35),
			"CYPRESS-PI EH_RT3"),
		ratio("S3-EP-06.1", "View, download or transmit, or API access", ys, ep(), UniquePatients, seenEP,
			"patients in the denominator (or representatives) who viewed, downloaded or transmitted their information, or accessed it through an API",
			PatientActed{Population: Seen, Actions: vdt}, InCalendarYear, Over(5), "CYPRESS-PI EP_RT4a", "DOCUMENTINE-O6", "SEVOCITY-O6").
			caveat("2019 specification sheets and the ONC 2021 deck say more than 5%; the 2015 rule text and [MACPRACTICE-O6] say more than 10% from 2018 (spec §3.5 ⚠)"),
		ratio("S3-EH-06.1", "View, download or transmit, or API access", y2017, eh(), UniquePatients, dischargedEH,
			"patients in the denominator (or representatives) who viewed, downloaded or transmitted their information, or accessed it through an API",
			PatientActed{Population: Discharged, Actions: vdt}, InCalendarYear, Over(5), "FR2015", "MACPRACTICE-O6"),
		ratio("S3-EH-06.1", "View, download or transmit, or API access", from2018, eh(), UniquePatients, dischargedEH,
			"patients in the denominator (or representatives) who viewed, downloaded or transmitted their information, or accessed it through an API",
			PatientActed{Population: Discharged, Actions: vdt}, InCalendarYear, Over(10), "CYPRESS-PI EH_RT4a", "MACPRACTICE-O6"),
		ratio("S3-EP-06.2", "Secure messaging", ys, ep(), UniquePatients, seenEP,
			"patients in the denominator for whom a secure message was sent to the patient (or representative), in reply to one, or to another provider with the patient included",
			PatientActed{Population: Seen, Actions: sm}, InCalendarYear, Over(5), "CYPRESS-PI EP_RT5", "DOCUMENTINE-O6"),
		ratio("S3-EH-06.2", "Secure messaging", y2017, eh(), UniquePatients, dischargedEH,
			"patients in the denominator for whom a secure message was sent to the patient (or representative), in reply to one, or to another provider with the patient included",
			PatientActed{Population: Discharged, Actions: sm}, InCalendarYear, Over(5), "FR2015"),
		ratio("S3-EH-06.2", "Secure messaging", from2018, eh(), UniquePatients, dischargedEH,
			"patients in the denominator for whom a secure message was sent to the patient (or representative), in reply to one, or to another provider with the patient included",
			PatientActed{Population: Discharged, Actions: sm}, InCalendarYear, Over(25), "CYPRESS-PI EH_RT5"),
		ratio("S3-EP-06.3", "Patient-generated health data", ys, ep(), UniquePatients, seenEP,
			"patients in the denominator for whom patient-generated health data or data from a non-clinical setting was incorporated into CEHRT",
			PatientActed{Population: Seen, Actions: []ActionKind{PatientDataIncorporated}}, InPeriod, Over(5), "CYPRESS-PI EP_RT6"),
		ratio("S3-EH-06.3", "Patient-generated health data", ys, eh(), UniquePatients, dischargedEH,
			"patients in the denominator for whom patient-generated health data or data from a non-clinical setting was incorporated into CEHRT",
			PatientActed{Population: Discharged, Actions: []ActionKind{PatientDataIncorporated}}, InPeriod, Over(5), "CYPRESS-PI EH_RT6"),
		ratio("S3-EP-07.1", "Health information exchange: send a summary of care", ys, ep(), TransitionsOut, transOut,
			"transitions and referrals in the denominator for which a summary of care record was created with CEHRT, exchanged electronically and its receipt confirmed",
			SentSummary{Electronic: true, Confirmed: true}, InCalendarYear, Over(50), "CYPRESS-PI EP_RT7", "MDLAND-O7").
			excludedBy("fewer than 100 transitions or referrals", "broadband"),
		ratio("S3-EH-07.1", "Health information exchange: send a summary of care", ys, eh(), TransitionsOut, transOut,
			"transitions and referrals in the denominator for which a summary of care record was created with CEHRT, exchanged electronically and its receipt confirmed",
			SentSummary{Electronic: true, Confirmed: true}, InPeriod, Over(50), "CYPRESS-PI EH_RT7"),
		ratio("S3-EP-07.2", "Health information exchange: request or accept and incorporate a summary of care", ys, ep(), TransitionsIn,
			transInS3+", less those whose summary was requested and unavailable",
			"transitions and new patients in the denominator for which an electronic summary of care was received and incorporated",
			ReceivedSummary{Kinds: allIn(), Test: SummaryIncorporated}, InCalendarYear, Over(40), "CYPRESS-PI EP_RT8", "MDLAND-O7").
			excludedBy("fewer than 100 transitions in and new patients", "broadband"),
		ratio("S3-EH-07.2", "Health information exchange: request or accept and incorporate a summary of care", ys, eh(), TransitionsIn,
			transInS3+", less those whose summary was requested and unavailable",
			"transitions and new patients in the denominator for which an electronic summary of care was received and incorporated",
			ReceivedSummary{Kinds: allIn(), Test: SummaryIncorporated}, InCalendarYear, Over(40), "CYPRESS-PI EH_RT8"),
		ratio("S3-EP-07.3", "Health information exchange: clinical information reconciliation", ys, ep(), TransitionsIn, transInS3,
			"transitions and new patients in the denominator for which medications, medication allergies and current problems were all reconciled",
			ReceivedSummary{Kinds: allIn(), Test: AllReconciled}, InCalendarYear, Over(80), "CYPRESS-PI EP_RT9").
			excludedBy("fewer than 100 transitions in and new patients"),
		ratio("S3-EH-07.3", "Health information exchange: clinical information reconciliation", ys, eh(), TransitionsIn, transInS3,
			"transitions and new patients in the denominator for which medications, medication allergies and current problems were all reconciled",
			ReceivedSummary{Kinds: allIn(), Test: AllReconciled}, InCalendarYear, Over(80), "CYPRESS-PI EH_RT9"),
		yesNo("S3-EP-08.1", "Public health: immunization registry reporting", ys, ep(), Attest{}, "FR2015").caveat(s3PHCaveat),
		yesNo("S3-EP-08.2", "Public health: syndromic surveillance reporting", ys, ep(), Attest{}, "FR2015").caveat(s3PHCaveat),
		yesNo("S3-EP-08.3", "Public health: electronic case reporting", ys, ep(), Attest{}, "FR2015").caveat(s3PHCaveat),
		yesNo("S3-EP-08.4", "Public health: public health registry reporting", ys, ep(), Attest{}, "FR2015").caveat(s3PHCaveat),
		yesNo("S3-EP-08.5", "Public health: clinical data registry reporting", ys, ep(), Attest{}, "FR2015").caveat(s3PHCaveat),
		yesNo("S3-EH-08.1", "Public health: immunization registry reporting", ys, eh(), Attest{}, "FR2015").caveat(s3PHCaveat),
		yesNo("S3-EH-08.2", "Public health: syndromic surveillance reporting", ys, eh(), Attest{}, "FR2015").caveat(s3PHCaveat),
		yesNo("S3-EH-08.3", "Public health: electronic case reporting", ys, eh(), Attest{}, "FR2015").caveat(s3PHCaveat),
		yesNo("S3-EH-08.4", "Public health: public health registry reporting", ys, eh(), Attest{}, "FR2015").caveat(s3PHCaveat),
		yesNo("S3-EH-08.5", "Public health: clinical data registry reporting", ys, eh(), Attest{}, "FR2015").caveat(s3PHCaveat),
		yesNo("S3-EH-08.6", "Public health: electronic reportable laboratory results", ys, eh(), Attest{}, "FR2015").caveat(s3PHCaveat),
	)
}

// s3PHCaveat: EPs attest to 2 public health measures, hospitals to 4; the option list
// is the spec's recollection of the 2015 rule.
const s3PHCaveat = "options as recalled in spec §3.5 ⚠ (EP: any 2, hospital: any 4)"
