package fhir

import (
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/services/records/internal/record"
)

// SystemActCode is HL7 v3 ActCode, Encounter.class's code system.
const SystemActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

// encounterClasses maps our encounter classes to v3 ActCode; "other" has no ActCode
// and is coded in our own system.
var encounterClasses = map[string]string{
	contract.ClassOffice: "AMB", contract.ClassTelehealth: "VR", contract.ClassInpatient: "IMP",
	contract.ClassEmergency: "EMER", contract.ClassObservation: "OBSENC",
}

func (c *Codec) registerPatients() {
	s := c.svc
	bind(c, "Patient", s.Patients, nil,
		func(r *reader, p *record.Patient) {
			r.ref("managingOrganization", "organization_id", false, "Organization", func(id string) { p.OrganizationID = id })
			if id := r.first("identifier", true); id != nil {
				p.MRN.System = id.str("system", "mrn.system", true)
				p.MRN.Value = phi.Identifier(id.str("value", "mrn.value", true))
				r.d.note("mrn", id.path)
			}
			if n := r.first("name", true); n != nil {
				p.Name = humanName(n, "name")
			}
			p.BirthDate = phi.Date(r.str("birthDate", "birth_date", true))
			p.Sex = r.code("gender", "sex", true)
			p.Deceased = r.boolean("deceasedBoolean", "deceased")
			for i, ct := range r.list("contact") {
				f := "representatives[" + itoa(i) + "]"
				rep := record.Representative{}
				if e := ct.ext("representative-id"); e != nil {
					rep.ID = e.str("valueString", f+".id", true)
				} else {
					r.d.fail(CodeRequired, ct.at("extension"), "the representative-id extension is required")
				}
				if rel := ct.first("relationship", true); rel != nil {
					rep.Relationship = rel.conceptOf(f+".relationship", true, []string{CodeSystemBase + "relationship"}).Code
				}
				if n := ct.child("name"); n != nil {
					rep.Name = humanName(n, f+".name")
				} else {
					r.d.fail(CodeRequired, ct.at("name"), "required")
				}
				if t := ct.first("telecom", false); t != nil {
					rep.Contact = phi.Contact(t.str("value", f+".contact", true))
				}
				if per := ct.child("period"); per != nil {
					rep.From = per.whenPtr("start", f+".from")
					rep.To = per.whenPtr("end", f+".to")
				}
				p.Representatives = append(p.Representatives, rep)
			}
			for i, e := range r.exts("opt-out") {
				f := "opt_outs[" + itoa(i) + "]"
				o := contract.OptOut{}
				if k := e.ext("kind"); k != nil {
					o.Kind = k.code("valueCode", f+".kind", true)
				}
				if t := e.ext("since"); t != nil {
					o.Since = t.when("valueDateTime", f+".since", true)
				}
				r.d.note(f, e.path)
				p.OptOuts = append(p.OptOuts, o)
			}
		},
		func(p *record.Patient) obj {
			o := obj{"identifier": []any{obj{"system": p.MRN.System, "value": p.MRN.Value.Reveal()}},
				"name": []any{encodeName(p.Name)}, "birthDate": p.BirthDate.Reveal(), "gender": p.Sex}
			setRef(o, "managingOrganization", "Organization", p.OrganizationID)
			if p.Deceased {
				o["deceasedBoolean"] = true
			}
			var contacts []any
			for _, rep := range p.Representatives {
				ct := obj{"relationship": []any{ours("relationship", rep.Relationship)}, "name": encodeName(rep.Name)}
				if rep.Contact != "" {
					ct["telecom"] = []any{obj{"system": "other", "value": rep.Contact.Reveal()}}
				}
				if rep.From != nil || rep.To != nil {
					per := obj{}
					setTime(per, "start", rep.From)
					setTime(per, "end", rep.To)
					ct["period"] = per
				}
				var e exts
				e.str("representative-id", rep.ID)
				e.set(ct)
				contacts = append(contacts, ct)
			}
			if len(contacts) > 0 {
				o["contact"] = contacts
			}
			var e exts
			for _, oo := range p.OptOuts {
				e = append(e, obj{"url": ExtensionBase + "opt-out", "extension": []any{
					obj{"url": "kind", "valueCode": oo.Kind}, obj{"url": "since", "valueDateTime": dateTime(oo.Since)}}})
			}
			e.set(o)
			return o
		})

	bind(c, "Encounter", s.Encounters, nil,
		func(r *reader, e *record.Encounter) {
			r.ref("subject", "patient_id", true, "Patient", func(id string) { e.PatientID = id })
			if cl := r.child("class"); cl != nil {
				sys := cl.str("system", "", true)
				code := cl.str("code", "class", true)
				r.d.note("class", cl.path)
				switch sys {
				case SystemActCode:
					for ours, act := range encounterClasses {
						if act == code {
							e.Class = ours
						}
					}
					if e.Class == "" {
						r.d.fail(CodeValue, cl.at("code"), "must be one of AMB, VR, IMP, EMER, OBSENC")
					}
				case CodeSystemBase + "encounter-class":
					e.Class = code
				default:
					r.d.fail(CodeValue, cl.at("system"), "must be %s or %s", SystemActCode, CodeSystemBase+"encounter-class")
				}
			} else {
				r.d.fail(CodeRequired, r.at("class"), "required")
			}
			if per := r.child("period"); per != nil {
				e.Start = per.when("start", "start", true)
				e.End = per.whenPtr("end", "end")
				if e.End != nil && e.End.Before(e.Start) {
					r.d.fail(CodeInvariant, per.at("end"), "before period.start")
				}
			} else {
				r.d.fail(CodeRequired, r.at("period"), "required")
			}
			if p := r.first("participant", false); p != nil {
				e.RenderingNPI = p.byIdentifier("individual", "rendering_npi", SystemNPI, true)
			}
			if sp := r.child("serviceProvider"); sp != nil {
				e.CCN = sp.identifier("identifier", "ccn", SystemCCN, true)
			}
			if l := r.first("location", false); l != nil {
				l.ref("location", "location_id", true, "Location", func(id string) { e.LocationID = id })
			}
			e.BillingTIN = r.extString("billing-tin", "billing_tin")
			if e.BillingTIN != "" {
				checkIdent(r.d, r.d.paths["billing_tin"], SystemTIN, e.BillingTIN)
			}
			e.POS = r.extString("place-of-service", "pos")
			e.NewPatient = r.extBool("new-patient", "new_patient")
			// cehrt is derived from the location when stored; what a client sends is ignored.
		},
		func(e *record.Encounter) obj {
			status := "in-progress"
			if e.End != nil {
				status = "finished"
			}
			class := coding(CodeSystemBase+"encounter-class", e.Class)
			if act, ok := encounterClasses[e.Class]; ok {
				class = coding(SystemActCode, act)
			}
			per := obj{"start": dateTime(e.Start)}
			setTime(per, "end", e.End)
			o := obj{"status": status, "class": class, "subject": reference("Patient", e.PatientID), "period": per}
			if e.RenderingNPI != "" {
				o["participant"] = []any{obj{"individual": byIdentifier(SystemNPI, e.RenderingNPI)}}
			}
			if e.CCN != "" {
				o["serviceProvider"] = byIdentifier(SystemCCN, e.CCN)
			}
			if e.LocationID != "" {
				o["location"] = []any{obj{"location": reference("Location", e.LocationID)}}
			}
			var x exts
			x.str("billing-tin", e.BillingTIN)
			x.code("place-of-service", e.POS)
			x.flag("new-patient", e.NewPatient)
			if e.CEHRT != nil {
				x.add("cehrt", "valueBoolean", *e.CEHRT)
			}
			x.set(o)
			return o
		})
}

func humanName(n *reader, our string) record.HumanName {
	return record.HumanName{Family: phi.Name(n.str("family", our+".family", true)), Given: names(n.strings("given", our+".given"))}
}

func encodeName(n record.HumanName) obj {
	o := obj{"family": n.Family.Reveal()}
	if len(n.Given) > 0 {
		o["given"] = toAny(n.Given)
	}
	return o
}
