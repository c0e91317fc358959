package fhir

import (
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/services/records/internal/record"
)

// FHIR code systems of the clinical mappings.
const (
	SystemConditionClinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	SystemConditionCategory = "http://terminology.hl7.org/CodeSystem/condition-category"
	SystemAllergyClinical   = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	SystemObsCategory       = "http://terminology.hl7.org/CodeSystem/observation-category"
	SystemInterpretation    = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	// LOINCSmokingStatus is the code of a smoking status Observation.
	LOINCSmokingStatus = "72166-2"
)

// observationCategory is an Observation's first category code (of any system).
func observationCategory(r *reader) (system, code string) {
	cats, _ := r.m["category"].([]any)
	for _, c := range cats {
		cc, _ := c.(obj)
		codings, _ := cc["coding"].([]any)
		for _, cd := range codings {
			m, _ := cd.(obj)
			s, _ := m["system"].(string)
			k, _ := m["code"].(string)
			return s, k
		}
	}
	return "", ""
}

func observationCode(r *reader) string {
	cc, _ := r.m["code"].(obj)
	codings, _ := cc["coding"].([]any)
	for _, cd := range codings {
		m, _ := cd.(obj)
		if m["system"] == contract.SystemLOINC {
			k, _ := m["code"].(string)
			return k
		}
	}
	return ""
}

func (c *Codec) registerClinical() {
	s := c.svc
	patient := func(r *reader, set func(string)) { r.ref("subject", "patient_id", true, "Patient", set) }
	encounter := func(r *reader, set func(string)) { r.ref("encounter", "encounter_id", false, "Encounter", set) }

	bind(c, "Condition", s.Problems, nil,
		func(r *reader, p *record.Problem) {
			patient(r, func(id string) { p.PatientID = id })
			p.Code = r.concept("code", "code", true, contract.SystemICD10CM, contract.SystemSNOMED)
			p.Status = r.concept("clinicalStatus", "status", true, SystemConditionClinical).Code
			p.Onset = r.whenPtr("onsetDateTime", "onset")
			p.Abatement = r.whenPtr("abatementDateTime", "abatement")
			if p.Onset != nil && p.Abatement != nil && p.Abatement.Before(*p.Onset) {
				r.d.fail(CodeInvariant, r.at("abatementDateTime"), "before onsetDateTime")
			}
			p.Recorded = r.when("recordedDate", "recorded", true)
			p.NPI = r.byIdentifier("recorder", "npi", SystemNPI, false)
			encounter(r, func(id string) { p.EncounterID = id })
			if n := r.first("note", false); n != nil {
				p.Note = phi.Text(n.str("text", "note", true))
			}
		},
		func(p *record.Problem) obj {
			o := obj{"subject": reference("Patient", p.PatientID), "code": concept(p.Code),
				"clinicalStatus": concept(codeOf(SystemConditionClinical, p.Status)),
				"category":       []any{concept(codeOf(SystemConditionCategory, "problem-list-item"))},
				"recordedDate":   dateTime(p.Recorded)}
			setTime(o, "onsetDateTime", p.Onset)
			setTime(o, "abatementDateTime", p.Abatement)
			setNPI(o, "recorder", p.NPI)
			setRef(o, "encounter", "Encounter", p.EncounterID)
			if p.Note != "" {
				o["note"] = []any{obj{"text": p.Note.Reveal()}}
			}
			return o
		})

	bind(c, "AllergyIntolerance", s.Allergies, nil,
		func(r *reader, a *record.Allergy) {
			r.ref("patient", "patient_id", true, "Patient", func(id string) { a.PatientID = id })
			a.Code = r.concept("code", "code", true, contract.SystemRxNorm, contract.SystemSNOMED)
			a.Status = r.concept("clinicalStatus", "status", true, SystemAllergyClinical).Code
			cats := r.strings("category", "category")
			if len(cats) != 1 {
				r.d.fail(CodeValue, r.at("category"), "exactly one category is required")
			} else {
				a.Category = cats[0]
			}
			a.Recorded = r.when("recordedDate", "recorded", true)
			a.NPI = r.byIdentifier("recorder", "npi", SystemNPI, false)
			encounter(r, func(id string) { a.EncounterID = id })
			if n := r.first("note", false); n != nil {
				a.Reaction = phi.Text(n.str("text", "reaction", true))
			}
		},
		func(a *record.Allergy) obj {
			o := obj{"patient": reference("Patient", a.PatientID), "code": concept(a.Code),
				"clinicalStatus": concept(codeOf(SystemAllergyClinical, a.Status)),
				"category":       []any{a.Category}, "recordedDate": dateTime(a.Recorded)}
			setNPI(o, "recorder", a.NPI)
			setRef(o, "encounter", "Encounter", a.EncounterID)
			if a.Reaction != "" {
				o["note"] = []any{obj{"text": a.Reaction.Reveal()}}
			}
			return o
		})

	bind(c, "MedicationStatement", s.Medications, nil,
		func(r *reader, m *record.Medication) {
			patient(r, func(id string) { m.PatientID = id })
			m.Code = r.concept("medicationCodeableConcept", "code", true, contract.SystemRxNorm)
			m.Status = r.code("status", "status", true)
			if p := r.child("effectivePeriod"); p != nil {
				m.Start = p.whenPtr("start", "start")
				m.End = p.whenPtr("end", "end")
				if m.Start != nil && m.End != nil && m.End.Before(*m.Start) {
					r.d.fail(CodeInvariant, p.at("end"), "before start")
				}
			}
			m.Recorded = r.when("dateAsserted", "recorded", true)
			m.NPI = r.byIdentifier("informationSource", "npi", SystemNPI, false)
			r.ref("context", "encounter_id", false, "Encounter", func(id string) { m.EncounterID = id })
		},
		func(m *record.Medication) obj {
			o := obj{"subject": reference("Patient", m.PatientID), "medicationCodeableConcept": concept(m.Code),
				"status": m.Status, "dateAsserted": dateTime(m.Recorded)}
			if m.Start != nil || m.End != nil {
				p := obj{}
				setTime(p, "start", m.Start)
				setTime(p, "end", m.End)
				o["effectivePeriod"] = p
			}
			setNPI(o, "informationSource", m.NPI)
			setRef(o, "context", "Encounter", m.EncounterID)
			return o
		})

	// Observations: vital signs by category, smoking status by code, any other a result.
	bind(c, "Observation", s.VitalSigns,
		func(r *reader) bool { _, k := observationCategory(r); return k == "vital-signs" },
		func(r *reader, v *record.VitalSign) {
			patient(r, func(id string) { v.PatientID = id })
			v.Code = r.concept("code", "code", true, contract.SystemLOINC)
			if q := r.child("valueQuantity"); q != nil {
				v.Value = readQuantity(q, "value")
			}
			for i, comp := range r.list("component") {
				f := "components[" + itoa(i) + "]"
				cp := record.Component{Code: comp.concept("code", f+".code", true, contract.SystemLOINC)}
				if q := comp.child("valueQuantity"); q != nil {
					cp.Value = *readQuantity(q, f+".value")
				} else {
					r.d.fail(CodeRequired, comp.at("valueQuantity"), "required")
				}
				r.d.note(f, comp.path)
				v.Components = append(v.Components, cp)
			}
			r.d.note("components", r.at("component"))
			v.Effective = r.when("effectiveDateTime", "effective", true)
			readPerformer(r, v)
			r.ref("device", "device_id", false, "Device", func(id string) { v.DeviceID = id })
			v.SessionID = r.extString("tablet-session", "session_id")
			encounter(r, func(id string) { v.EncounterID = id })
		},
		func(v *record.VitalSign) obj {
			o := observation(v.PatientID, "final", codeOf(SystemObsCategory, "vital-signs"), v.Code, v.EncounterID)
			o["effectiveDateTime"] = dateTime(v.Effective)
			if v.Value != nil {
				o["valueQuantity"] = quantity(v.Value.Value, v.Value.Unit)
			}
			var comps []any
			for _, cp := range v.Components {
				comps = append(comps, obj{"code": concept(cp.Code), "valueQuantity": quantity(cp.Value.Value, cp.Value.Unit)})
			}
			if len(comps) > 0 {
				o["component"] = comps
			}
			switch {
			case v.Performer == contract.PerformerPatient:
				o["performer"] = []any{reference("Patient", v.PatientID)}
			case v.NPI != "":
				o["performer"] = []any{byIdentifier(SystemNPI, v.NPI)}
			default:
				o["performer"] = []any{obj{"type": "Practitioner"}}
			}
			setRef(o, "device", "Device", v.DeviceID)
			var e exts
			e.str("tablet-session", v.SessionID)
			e.set(o)
			return o
		})
	bind(c, "Observation", s.SmokingStatuses,
		func(r *reader) bool { return observationCode(r) == LOINCSmokingStatus },
		func(r *reader, m *record.SmokingStatus) {
			patient(r, func(id string) { m.PatientID = id })
			m.Code = r.concept("valueCodeableConcept", "code", true, contract.SystemSNOMED)
			m.Effective = r.when("effectiveDateTime", "effective", true)
			if p := r.first("performer", false); p != nil {
				m.NPI = p.identifierValueOf("npi")
			}
			encounter(r, func(id string) { m.EncounterID = id })
		},
		func(m *record.SmokingStatus) obj {
			o := observation(m.PatientID, "final", codeOf(SystemObsCategory, "social-history"),
				codeOf(contract.SystemLOINC, LOINCSmokingStatus), m.EncounterID)
			o["effectiveDateTime"] = dateTime(m.Effective)
			o["valueCodeableConcept"] = concept(m.Code)
			if m.NPI != "" {
				o["performer"] = []any{byIdentifier(SystemNPI, m.NPI)}
			}
			return o
		})
	bind(c, "Observation", s.Results, nil,
		func(r *reader, x *record.Result) {
			patient(r, func(id string) { x.PatientID = id })
			x.Code = r.concept("code", "code", true, contract.SystemLOINC)
			x.Status = r.code("status", "status", true)
			if sys, k := observationCategory(r); k != "" {
				r.d.note("category", r.at("category"))
				switch {
				case sys == SystemObsCategory && (k == "laboratory" || k == "imaging"):
					x.Category = k
				case sys == CodeSystemBase+"result-category":
					x.Category = k
				default:
					r.d.fail(CodeValue, r.at("category[0]"), "must be laboratory or imaging (%s), or a result category of ours", SystemObsCategory)
				}
			}
			x.Effective = r.when("effectiveDateTime", "effective", true)
			x.Issued = r.when("issued", "issued", true)
			if q := r.child("valueQuantity"); q != nil {
				x.Value = readQuantity(q, "value")
			}
			x.ValueText = phi.Text(r.str("valueString", "value_text", false))
			if i := r.first("interpretation", false); i != nil {
				x.Interpretation = i.conceptOf("interpretation", true, []string{SystemInterpretation}).Code
				r.d.note("interpretation", i.path)
			}
			if b := r.first("basedOn", false); b != nil {
				b.reference("order_id", "ServiceRequest", func(id string) { x.OrderID = id })
			}
			if p := r.first("performer", false); p != nil {
				x.NPI = p.identifierValueOf("npi")
			}
			encounter(r, func(id string) { x.EncounterID = id })
		},
		func(x *record.Result) obj {
			var cat contract.Code
			switch x.Category {
			case "":
			case contract.ResultCategoryLaboratory, contract.ResultCategoryImaging:
				cat = codeOf(SystemObsCategory, x.Category)
			default:
				cat = codeOf(CodeSystemBase+"result-category", x.Category)
			}
			o := observation(x.PatientID, x.Status, cat, x.Code, x.EncounterID)
			o["effectiveDateTime"] = dateTime(x.Effective)
			o["issued"] = dateTime(x.Issued)
			if x.Value != nil {
				o["valueQuantity"] = quantity(x.Value.Value, x.Value.Unit)
			}
			setStr(o, "valueString", x.ValueText.Reveal())
			if x.Interpretation != "" {
				o["interpretation"] = []any{concept(codeOf(SystemInterpretation, x.Interpretation))}
			}
			if x.OrderID != "" {
				o["basedOn"] = []any{reference("ServiceRequest", x.OrderID)}
			}
			if x.NPI != "" {
				o["performer"] = []any{byIdentifier(SystemNPI, x.NPI)}
			}
			return o
		})
}

// observation is the common part of an Observation.
func observation(patientID, status string, category, code contract.Code, encounterID string) obj {
	o := obj{"status": status, "subject": reference("Patient", patientID), "code": concept(code)}
	if category.Code != "" {
		o["category"] = []any{concept(category)}
	}
	setRef(o, "encounter", "Encounter", encounterID)
	return o
}

func readQuantity(q *reader, our string) *record.Quantity {
	v := q.number("value", our+".value", true)
	unit := q.str("code", our+".unit", true)
	if sys := q.str("system", "", true); sys != "" && sys != "http://unitsofmeasure.org" {
		q.d.fail(CodeValue, q.at("system"), "must be UCUM (http://unitsofmeasure.org)")
	}
	return &record.Quantity{Value: v, Unit: unit}
}

// identifierValueOf reads a logical Reference by NPI (Reference.identifier).
func (r *reader) identifierValueOf(our string) string {
	return r.identifier("identifier", our, SystemNPI, true)
}

// readPerformer reads a vital sign's performer: the patient (self-reported), a
// clinician by NPI, or a practitioner not named.
func readPerformer(r *reader, v *record.VitalSign) {
	p := r.first("performer", true)
	r.d.note("performer", r.at("performer"))
	if p == nil {
		return
	}
	switch {
	case p.has("reference"):
		v.Performer = contract.PerformerPatient
		p.reference("performer", "Patient", func(id string) {
			if id != v.PatientID && v.PatientID != "" {
				r.d.fail(CodeValue, p.at("reference"), "a self-reported vital sign's performer is its subject")
			}
		})
	case p.has("identifier"):
		v.Performer = contract.PerformerPractitioner
		v.NPI = p.identifierValueOf("npi")
	default:
		v.Performer = contract.PerformerPractitioner
		if t, _ := p.m["type"].(string); t != "Practitioner" {
			r.d.fail(CodeValue, p.path, "a Patient reference, a Reference.identifier with an NPI, or type Practitioner")
		}
	}
}
