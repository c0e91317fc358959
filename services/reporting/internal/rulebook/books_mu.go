package rulebook

// The Meaningful Use books: Modified Stage 2 (2015–2018) and Stage 3 (2017–2021),
// pass/fail, every objective met or excluded. Thresholds are the spec's (§3.3–3.5);
// sources and ⚠ items are in docs/scoring.md.

// Exclusions shared by several MU measures.
var (
	// alt2015 is the 2015 "alternate exclusion" for providers scheduled to be in
	// Stage 1 in 2015 (80 FR 62761).
	alt2015         = Exclusion{ID: "ALT_2015", Condition: "scheduled for Stage 1 in 2015 (alternate exclusion, 2015 only)"}
	broadband       = Exclusion{ID: "BROADBAND", Condition: "50% or more of encounters in a county where fewer than 50% of housing units have 4 Mbps broadband (FCC, first day of the period)"}
	noOfficeVisits  = Exclusion{ID: "NO_OFFICE_VISITS", Condition: "no office visits during the period"}
	noPharmacyEP    = Exclusion{ID: "NO_PHARMACY_10MI", Condition: "no pharmacy that accepts electronic prescriptions within 10 miles of the practice at the start of the period"}
	noPharmacyEH    = Exclusion{ID: "NO_PHARMACY_10MI", Condition: "no internal pharmacy that accepts electronic prescriptions and none within 10 miles at the start of the period"}
	noInfoCreated   = Exclusion{ID: "NO_INFO_CREATED", Condition: "neither orders nor creates any of the information to be made available (except patient name and provider contact information)"}
	notRecipient    = Exclusion{ID: "NOT_RECIPIENT", Condition: "was not the recipient of any transition of care during the period"}
	fewRx           = fewer("LT100_RX", "fewer than 100 permissible prescriptions during the period")
	fewMedOrders    = fewer("LT100_MED_ORDERS", "fewer than 100 medication orders during the period")
	fewLabOrders    = fewer("LT100_LAB_ORDERS", "fewer than 100 laboratory orders during the period")
	fewRadOrders    = fewer("LT100_RAD_ORDERS", "fewer than 100 radiology (diagnostic imaging) orders during the period")
	fewTransOut     = fewer("LT100_TRANSITIONS_OUT", "fewer than 100 transitions of care or referrals out during the period")
	fewTransIn      = fewer("LT100_TRANSITIONS_IN", "fewer than 100 transitions or referrals received and new-patient encounters during the period")
	muRegistryExcls = []Exclusion{
		{ID: "NOT_APPLICABLE", Condition: "does not administer, collect or treat what the registry covers"},
		{ID: "NO_CAPABLE_AGENCY", Condition: "no public health agency or registry in the jurisdiction is capable of receiving the data"},
		{ID: "NO_READY_AGENCY", Condition: "no agency or registry in the jurisdiction has declared readiness at the start of the period"},
	}
)

func fewer(id, cond string) Exclusion { return Exclusion{ID: id, Condition: cond, FewerThan: 100} }

func pct(id, title, objective string, percent int, ex ...Exclusion) Measure {
	return Measure{ID: id, Title: title, Objective: objective, Kind: Proportion, Role: Required,
		Threshold: Threshold{Rule: MoreThan, Percent: percent}, Exclusions: ex}
}

func atLeastOne(id, title, objective string, ex ...Exclusion) Measure {
	return Measure{ID: id, Title: title, Objective: objective, Kind: Proportion, Role: Required,
		Threshold: Threshold{Rule: AtLeastOne}, Exclusions: ex}
}

func yes(id, title, objective string, ex ...Exclusion) Measure {
	return Measure{ID: id, Title: title, Objective: objective, Kind: YesNo, Role: Required, Threshold: Threshold{Rule: Yes}, Exclusions: ex}
}

func registry(id, title, objective string) Measure {
	return Measure{ID: id, Title: title, Objective: objective, Kind: YesNo, Role: Optional, Threshold: Threshold{Rule: Yes}, Exclusions: muRegistryExcls}
}

// with2015 adds the 2015 alternate exclusion in 2015.
func with2015(year int, ex ...Exclusion) []Exclusion {
	if year == 2015 {
		return append(ex, alt2015)
	}
	return ex
}

func all(id, title string) Objective { return Objective{ID: id, Title: title, Rule: AllMeasures} }

// modifiedStage2 builds the Modified Stage 2 book for EPs (10 objectives) or
// hospitals (9 objectives), 2015–2018.
func modifiedStage2(year int, e EntityType) *Book {
	if year < 2015 || year > 2018 || e == Group {
		return nil
	}
	period, _ := ReportingPeriod(ModifiedStage2, year, e, false)
	b := &Book{Program: ModifiedStage2, Year: year, Entity: e, Scoring: MeetAll, Period: period}
	if e == EP {
		b.Objectives, b.Measures = ms2EP(year)
	} else {
		b.Objectives, b.Measures = ms2EH(year)
	}
	b.Notes = []string{"⚠ 2015 alternate specifications (lower thresholds for Stage 1 providers) are not modelled; the alternate exclusions are"}
	if year >= 2017 {
		b.Notes = append(b.Notes, "⚠ 2017–2018 patient-action measure (…-08.2) taken as \"at least one\" (CY2017 OPPS change); the 2015 rule text said more than 5%")
	}
	return b
}

func ms2EP(year int) ([]Objective, []Measure) {
	os := []Objective{
		all("MS2-EP-01", "Protect Patient Health Information"),
		all("MS2-EP-02", "Clinical Decision Support"),
		all("MS2-EP-03", "Computerized Provider Order Entry"),
		all("MS2-EP-04", "Electronic Prescribing"),
		all("MS2-EP-05", "Health Information Exchange"),
		all("MS2-EP-06", "Patient-Specific Education"),
		all("MS2-EP-07", "Medication Reconciliation"),
		all("MS2-EP-08", "Patient Electronic Access"),
		all("MS2-EP-09", "Secure Electronic Messaging"),
		{ID: "MS2-EP-10", Title: "Public Health Reporting", Rule: MeetN, N: 2},
	}
	sm := pct("MS2-EP-09", "Secure messaging: a message sent to more than 5% of patients", "MS2-EP-09", 5, noOfficeVisits, broadband)
	switch year {
	case 2015:
		sm = yes("MS2-EP-09", "Secure messaging capability fully enabled", "MS2-EP-09", noOfficeVisits, broadband)
	case 2016:
		sm = atLeastOne("MS2-EP-09", "Secure messaging: a message sent to at least one patient", "MS2-EP-09", noOfficeVisits, broadband)
	}
	ms := []Measure{
		yes("MS2-EP-01", "Security risk analysis conducted or reviewed", "MS2-EP-01"),
		yes("MS2-EP-02.1", "Five CDS interventions related to four or more CQMs", "MS2-EP-02"),
		yes("MS2-EP-02.2", "Drug-drug and drug-allergy interaction checks enabled", "MS2-EP-02", fewMedOrders),
		pct("MS2-EP-03.1", "CPOE: medication orders", "MS2-EP-03", 60, fewMedOrders),
		pct("MS2-EP-03.2", "CPOE: laboratory orders", "MS2-EP-03", 30, with2015(year, fewLabOrders)...),
		pct("MS2-EP-03.3", "CPOE: radiology orders", "MS2-EP-03", 30, with2015(year, fewRadOrders)...),
		pct("MS2-EP-04", "e-Prescribing", "MS2-EP-04", 50, fewRx, noPharmacyEP),
		pct("MS2-EP-05", "Summary of care sent electronically", "MS2-EP-05", 10, with2015(year, fewTransOut)...),
		pct("MS2-EP-06", "Patient-specific education (patients with office visits)", "MS2-EP-06", 10, with2015(year, noOfficeVisits)...),
		pct("MS2-EP-07", "Medication reconciliation", "MS2-EP-07", 50, with2015(year, notRecipient)...),
		pct("MS2-EP-08.1", "Timely access to view, download and transmit (4 business days)", "MS2-EP-08", 50, noInfoCreated),
		atLeastOne("MS2-EP-08.2", "Patient views, downloads or transmits", "MS2-EP-08", noInfoCreated, broadband),
		sm,
		registry("MS2-EP-10.1", "Immunization registry reporting", "MS2-EP-10"),
		registry("MS2-EP-10.2", "Syndromic surveillance reporting", "MS2-EP-10"),
		registry("MS2-EP-10.3", "Specialized registry reporting", "MS2-EP-10"),
		registry("MS2-EP-10.4", "Specialized registry reporting, a second registry (it may count twice)", "MS2-EP-10"),
	}
	return os, ms
}

func ms2EH(year int) ([]Objective, []Measure) {
	os := []Objective{
		all("MS2-EH-01", "Protect Patient Health Information"),
		all("MS2-EH-02", "Clinical Decision Support"),
		all("MS2-EH-03", "Computerized Provider Order Entry"),
		all("MS2-EH-04", "Electronic Prescribing (discharge)"),
		all("MS2-EH-05", "Health Information Exchange"),
		all("MS2-EH-06", "Patient-Specific Education"),
		all("MS2-EH-07", "Medication Reconciliation"),
		all("MS2-EH-08", "Patient Electronic Access"),
		{ID: "MS2-EH-09", Title: "Public Health Reporting", Rule: MeetN, N: 3},
	}
	ms := []Measure{
		yes("MS2-EH-01", "Security risk analysis conducted or reviewed", "MS2-EH-01"),
		yes("MS2-EH-02.1", "Five CDS interventions related to four or more CQMs", "MS2-EH-02"),
		yes("MS2-EH-02.2", "Drug-drug and drug-allergy interaction checks enabled", "MS2-EH-02"),
		pct("MS2-EH-03.1", "CPOE: medication orders", "MS2-EH-03", 60),
		pct("MS2-EH-03.2", "CPOE: laboratory orders", "MS2-EH-03", 30, with2015(year)...),
		pct("MS2-EH-03.3", "CPOE: radiology orders", "MS2-EH-03", 30, with2015(year)...),
		pct("MS2-EH-04", "Discharge e-Prescribing", "MS2-EH-04", 10, with2015(year, noPharmacyEH)...),
		pct("MS2-EH-05", "Summary of care sent electronically", "MS2-EH-05", 10, with2015(year)...),
		pct("MS2-EH-06", "Patient-specific education", "MS2-EH-06", 10, with2015(year)...),
		pct("MS2-EH-07", "Medication reconciliation", "MS2-EH-07", 50, with2015(year)...),
		pct("MS2-EH-08.1", "Timely access within 36 hours of discharge", "MS2-EH-08", 50),
		atLeastOne("MS2-EH-08.2", "Discharged patient views, downloads or transmits", "MS2-EH-08", broadband),
		registry("MS2-EH-09.1", "Immunization registry reporting", "MS2-EH-09"),
		registry("MS2-EH-09.2", "Syndromic surveillance reporting", "MS2-EH-09"),
		registry("MS2-EH-09.3", "Specialized registry reporting", "MS2-EH-09"),
		registry("MS2-EH-09.4", "Electronic reportable laboratory results", "MS2-EH-09"),
	}
	return os, ms
}

// stage3 builds the Stage 3 book for EPs or hospitals, 2017–2021.
func stage3(year int, e EntityType) *Book {
	if year < 2017 || year > 2021 || e == Group {
		return nil
	}
	period, _ := ReportingPeriod(Stage3, year, e, false)
	b := &Book{Program: Stage3, Year: year, Entity: e, Scoring: MeetAll, Period: period}
	ep := e == EP
	phN := 4 // hospitals: four of six registries
	if ep {
		phN = 2
	}
	b.Objectives = []Objective{
		all("S3-01", "Protect Patient Health Information"),
		all("S3-02", "Electronic Prescribing"),
		all("S3-03", "Clinical Decision Support"),
		all("S3-04", "Computerized Provider Order Entry"),
		all("S3-05", "Patient Electronic Access to Health Information"),
		{ID: "S3-06", Title: "Coordination of Care through Patient Engagement", Rule: MeetN, N: 2, ReportAll: true},
		{ID: "S3-07", Title: "Health Information Exchange", Rule: MeetN, N: 2, ReportAll: true},
		{ID: "S3-08", Title: "Public Health and Clinical Data Registry Reporting", Rule: MeetN, N: phN},
	}
	// EP-only exclusions; hospitals have none on these measures except broadband.
	epOnly := func(ex ...Exclusion) []Exclusion {
		if ep {
			return ex
		}
		return nil
	}
	erx := pct("S3-02", "e-Prescribing", "S3-02", 60, fewRx, noPharmacyEP)
	if !ep {
		erx = pct("S3-02", "Discharge e-Prescribing", "S3-02", 25, noPharmacyEH)
	}
	vdt, sm := 5, 5
	if !ep && year >= 2018 {
		vdt, sm = 10, 25
	}
	patient := append(epOnly(noOfficeVisits), broadband)
	b.Measures = []Measure{
		yes("S3-01", "Security risk analysis conducted or reviewed", "S3-01"),
		erx,
		yes("S3-03.1", "Five CDS interventions related to four or more CQMs", "S3-03"),
		yes("S3-03.2", "Drug-drug and drug-allergy interaction checks enabled", "S3-03", epOnly(fewMedOrders)...),
		pct("S3-04.1", "CPOE: medication orders", "S3-04", 60, epOnly(fewMedOrders)...),
		pct("S3-04.2", "CPOE: laboratory orders", "S3-04", 60, epOnly(fewLabOrders)...),
		pct("S3-04.3", "CPOE: diagnostic imaging orders", "S3-04", 60, epOnly(fewRadOrders)...),
		pct("S3-05.1", "Timely access to view, download, transmit and API", "S3-05", 80, patient...),
		pct("S3-05.2", "Patient-specific education provided electronically", "S3-05", 35, patient...),
		pct("S3-06.1", "Patients view, download, transmit or use the API", "S3-06", vdt, patient...),
		pct("S3-06.2", "Secure messaging", "S3-06", sm, patient...),
		pct("S3-06.3", "Patient-generated health data incorporated", "S3-06", 5, patient...),
		pct("S3-07.1", "Send a summary of care electronically", "S3-07", 50, append(epOnly(fewTransOut), broadband)...),
		pct("S3-07.2", "Request or receive and incorporate a summary of care", "S3-07", 40, append(epOnly(fewTransIn), broadband)...),
		pct("S3-07.3", "Clinical information reconciliation", "S3-07", 80, epOnly(fewTransIn)...),
		registry("S3-08.1", "Immunization registry reporting", "S3-08"),
		registry("S3-08.2", "Syndromic surveillance reporting", "S3-08"),
		registry("S3-08.3", "Electronic case reporting", "S3-08"),
		registry("S3-08.4", "Public health registry reporting", "S3-08"),
		registry("S3-08.5", "Clinical data registry reporting", "S3-08"),
	}
	if !ep {
		b.Measures = append(b.Measures, registry("S3-08.6", "Electronic reportable laboratory result reporting", "S3-08"))
	}
	b.Notes = []string{
		"⚠ objective 6 thresholds follow the 2019 Medicaid specification sheets for EPs (5/5/5); hospitals 5/5/5 in 2017 and 10/25/5 from 2018",
		"Stage 3 timeliness: 48 hours (EP) / 36 hours after discharge (EH) — applied by the metrics engine, not here",
	}
	return b
}
