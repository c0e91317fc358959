package fhir

import (
	"strings"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/services/records/internal/record"
)

// SystemDICOM is DICOM's code system, for ImagingStudy.modality.
const SystemDICOM = contract.SystemDICOM

// firstCode is the code of the first coding of the CodeableConcept (or list of them)
// at key whose system is system.
func firstCode(r *reader, key, system string) string {
	var concepts []any
	switch v := r.m[key].(type) {
	case obj:
		concepts = []any{v}
	case []any:
		concepts = v
	}
	for _, c := range concepts {
		cc, _ := c.(obj)
		codings, _ := cc["coding"].([]any)
		if cd, ok := cc["system"]; ok { // a bare Coding (AuditEvent.type)
			if cd == system {
				k, _ := cc["code"].(string)
				return k
			}
		}
		for _, cd := range codings {
			m, _ := cd.(obj)
			if m["system"] == system {
				k, _ := m["code"].(string)
				return k
			}
		}
	}
	return ""
}

func hasCode(key, name, code string) func(*reader) bool {
	return func(r *reader) bool { return firstCode(r, key, CodeSystemBase+name) == code }
}

// party is a sender, receiver or agent as a Reference: the organization by reference,
// the clinician (NPI) or hospital (CCN) by identifier (else the TIN), and the TIN in
// an extension when an NPI or CCN is the identifier.
func party(p contract.Party) obj {
	o := obj{}
	if p.OrganizationID != "" {
		o["reference"] = "Organization/" + p.OrganizationID
	}
	tinExt := false
	switch {
	case p.NPI != "":
		o["identifier"] = identifier(SystemNPI, p.NPI)
		tinExt = p.TIN != ""
	case p.CCN != "":
		o["identifier"] = identifier(SystemCCN, p.CCN)
		tinExt = p.TIN != ""
	case p.TIN != "":
		o["identifier"] = identifier(SystemTIN, p.TIN)
	}
	if tinExt {
		o["extension"] = []any{extension("billing-tin", "valueString", p.TIN)}
	}
	if len(o) == 0 {
		o["display"] = "not recorded"
	}
	return o
}

func readParty(r *reader, our string) contract.Party {
	var p contract.Party
	r.d.note(our, r.path)
	if r.has("reference") {
		r.reference(sub(our, "organization_id"), "Organization", func(id string) { p.OrganizationID = id })
	}
	if id := r.child("identifier"); id != nil {
		sys, _ := id.m["system"].(string)
		switch sys {
		case SystemNPI:
			p.NPI = id.identifierValue(sub(our, "npi"), SystemNPI)
		case SystemCCN:
			p.CCN = id.identifierValue(sub(our, "ccn"), SystemCCN)
		case SystemTIN:
			p.TIN = id.identifierValue(sub(our, "tin"), SystemTIN)
		default:
			r.d.fail(CodeValue, id.at("system"), "must be an NPI, CCN or TIN system")
		}
	}
	if t := r.extString("billing-tin", sub(our, "tin")); t != "" {
		p.TIN = t
	}
	return p
}

func (c *Codec) registerExchange() {
	s := c.svc
	patient := func(r *reader, key string, set func(string)) { r.ref(key, "patient_id", true, "Patient", set) }

	bind(c, "DocumentReference", s.ClinicalSummaries, hasCode("category", "document-kind", "clinical-summary"),
		func(r *reader, x *record.ClinicalSummary) {
			patient(r, "subject", func(id string) { x.PatientID = id })
			x.Provided = r.when("date", "provided", true)
			if a := r.first("author", false); a != nil {
				x.NPI = a.identifierValueOf("npi")
			}
			if ctx := r.child("context"); ctx != nil {
				if e := ctx.first("encounter", true); e != nil {
					e.reference("encounter_id", "Encounter", func(id string) { x.EncounterID = id })
				}
			} else {
				r.d.fail(CodeRequired, r.at("context.encounter"), "required")
			}
			x.Method = r.extString("summary-method", "method")
		},
		func(x *record.ClinicalSummary) obj {
			o := obj{"status": "current", "category": []any{ours("document-kind", "clinical-summary")},
				"subject": reference("Patient", x.PatientID), "date": dateTime(x.Provided),
				"context": obj{"encounter": []any{reference("Encounter", x.EncounterID)}},
				"content": []any{obj{"attachment": obj{"title": "clinical summary"}}}}
			if x.NPI != "" {
				o["author"] = []any{byIdentifier(SystemNPI, x.NPI)}
			}
			var e exts
			e.code("summary-method", x.Method)
			e.set(o)
			return o
		})

	bind(c, "Communication", s.Transitions, func(r *reader) bool {
		k := firstCode(r, "category", CodeSystemBase+"communication-kind")
		return k == contract.TransitionReferral || k == "transition"
	},
		func(r *reader, t *record.Transition) {
			patient(r, "subject", func(id string) { t.PatientID = id })
			if cat := r.first("category", true); cat != nil {
				t.Kind = cat.conceptOf("kind", true, []string{CodeSystemBase + "communication-kind"}).Code
				r.d.note("kind", cat.path)
			}
			r.ref("encounter", "encounter_id", false, "Encounter", func(id string) { t.EncounterID = id })
			if snd := r.child("sender"); snd != nil {
				t.Sender = readParty(snd, "sender")
			}
			if rcv := r.first("recipient", false); rcv != nil {
				t.Receiver = readParty(rcv, "receiver")
			}
			t.Sent = r.whenPtr("sent", "sent")
			t.Received = r.whenPtr("received", "received")
			t.Direction = r.extString("direction", "direction")
			if o := r.extTime("occurred", "occurred"); o != nil {
				t.Occurred = *o
			}
			t.SummaryCreated = r.extTime("summary-created", "summary_created")
			if x := r.ext("summary-contents"); x != nil {
				sc := contract.SummaryContents{}
				if e := x.ext("problems"); e != nil {
					sc.Problems = e.code("valueCode", "contents.problems", true)
				}
				if e := x.ext("medications"); e != nil {
					sc.Medications = e.code("valueCode", "contents.medications", true)
				}
				if e := x.ext("allergies"); e != nil {
					sc.Allergies = e.code("valueCode", "contents.allergies", true)
				}
				r.d.note("contents", x.path)
				t.Contents = &sc
			}
			t.Transport = r.extString("transport", "transport")
			t.ReceiptConfirmed = r.extTime("receipt-confirmed", "receipt_confirmed")
			t.Requested = r.extTime("requested", "requested")
			t.Unavailable = r.extBool("unavailable", "unavailable")
			t.Incorporated = r.extTime("incorporated", "incorporated")
		},
		func(t *record.Transition) obj {
			status := "in-progress"
			if t.Sent != nil || t.Received != nil {
				status = "completed"
			}
			o := obj{"status": status, "category": []any{ours("communication-kind", t.Kind)},
				"subject": reference("Patient", t.PatientID), "sender": party(t.Sender),
				"recipient": []any{party(t.Receiver)}}
			setRef(o, "encounter", "Encounter", t.EncounterID)
			setTime(o, "sent", t.Sent)
			setTime(o, "received", t.Received)
			var e exts
			e.code("direction", t.Direction)
			e.time("occurred", &t.Occurred)
			e.time("summary-created", t.SummaryCreated)
			if sc := t.Contents; sc != nil {
				e = append(e, obj{"url": ExtensionBase + "summary-contents", "extension": []any{
					obj{"url": "problems", "valueCode": sc.Problems}, obj{"url": "medications", "valueCode": sc.Medications},
					obj{"url": "allergies", "valueCode": sc.Allergies}}})
			}
			e.code("transport", t.Transport)
			e.time("receipt-confirmed", t.ReceiptConfirmed)
			e.time("requested", t.Requested)
			e.flag("unavailable", t.Unavailable)
			e.time("incorporated", t.Incorporated)
			e.set(o)
			return o
		})

	bind(c, "Communication", s.RegistrySubmissions, hasCode("category", "communication-kind", "registry-submission"),
		func(r *reader, x *record.RegistrySubmission) {
			patient(r, "subject", func(id string) { x.PatientID = id })
			r.ref("encounter", "encounter_id", false, "Encounter", func(id string) { x.EncounterID = id })
			if rcv := r.first("recipient", true); rcv != nil {
				rcv.reference("registry_id", "Organization", func(id string) { x.RegistryID = id })
			}
			x.Submitted = r.when("sent", "submitted", true)
			if rc := r.first("reasonCode", false); rc != nil {
				c := rc.conceptOf("code", true, nil)
				x.Code = &c
			}
			if snd := r.child("sender"); snd != nil {
				p := readParty(snd, "")
				x.NPI, x.CCN, x.TIN = p.NPI, p.CCN, p.TIN
				r.d.note("npi", snd.path)
				r.d.note("ccn", snd.path)
				r.d.note("tin", snd.path)
			}
			x.Measure = r.extString("registry-measure", "measure")
			x.Outcome = r.extString("submission-outcome", "outcome")
		},
		func(x *record.RegistrySubmission) obj {
			o := obj{"status": "completed", "category": []any{ours("communication-kind", "registry-submission")},
				"subject": reference("Patient", x.PatientID), "recipient": []any{reference("Organization", x.RegistryID)},
				"sent": dateTime(x.Submitted)}
			setRef(o, "encounter", "Encounter", x.EncounterID)
			if x.Code != nil {
				o["reasonCode"] = []any{concept(*x.Code)}
			}
			if x.NPI != "" || x.CCN != "" || x.TIN != "" {
				o["sender"] = party(contract.Party{NPI: x.NPI, CCN: x.CCN, TIN: x.TIN})
			}
			var e exts
			e.code("registry-measure", x.Measure)
			e.code("submission-outcome", x.Outcome)
			e.set(o)
			return o
		})

	// Provenance: information available to the provider, and patient-generated data
	// incorporated.
	bind(c, "Provenance", s.Availabilities, hasCode("activity", "provenance-activity", "available"),
		func(r *reader, a *record.Availability) {
			readTargets(r, func(typ, id string, tr *reader) {
				switch typ {
				case "Patient":
					a.PatientID = id
					r.d.note("patient_id", tr.path)
				case "Encounter":
					a.EncounterID = id
					r.d.note("encounter_id", tr.path)
				case "Observation":
					a.ResultID = id
					r.d.note("result_id", tr.path)
				default:
					r.d.fail(CodeValue, tr.path, "must refer to a Patient, an Encounter or an Observation")
				}
			})
			a.Available = r.when("recorded", "available", true)
			a.Kind = r.extString("availability-kind", "kind")
			if ag := r.first("agent", true); ag != nil {
				if who := ag.child("who"); who != nil {
					p := readParty(who, "")
					a.NPI, a.CCN, a.TIN = p.NPI, p.CCN, p.TIN
					for _, f := range []string{"npi", "ccn", "tin"} {
						r.d.note(f, who.path)
					}
				}
			}
		},
		func(a *record.Availability) obj {
			targets := []any{reference("Patient", a.PatientID)}
			if a.EncounterID != "" {
				targets = append(targets, reference("Encounter", a.EncounterID))
			}
			if a.ResultID != "" {
				targets = append(targets, reference("Observation", a.ResultID))
			}
			o := obj{"target": targets, "recorded": dateTime(a.Available),
				"activity": ours("provenance-activity", "available"),
				"agent":    []any{obj{"who": party(contract.Party{NPI: a.NPI, CCN: a.CCN, TIN: a.TIN})}}}
			var e exts
			e.code("availability-kind", a.Kind)
			e.set(o)
			return o
		})
	bind(c, "Provenance", s.PGHD, hasCode("activity", "provenance-activity", "pghd-incorporated"),
		func(r *reader, p *record.PGHD) {
			readTargets(r, func(typ, id string, tr *reader) {
				switch typ {
				case "Patient":
					p.PatientID = id
					r.d.note("patient_id", tr.path)
				case "Observation":
					p.VitalSignID = id
					r.d.note("vital_sign_id", tr.path)
				default:
					r.d.fail(CodeValue, tr.path, "must refer to a Patient or an Observation")
				}
			})
			p.Incorporated = r.when("recorded", "incorporated", true)
			p.Source = r.extString("pghd-source", "source")
			if e := r.ext("pghd-code"); e != nil {
				c := e.coding("valueCoding", "code", true)
				p.Code = &c
			}
			if ag := r.first("agent", true); ag != nil {
				if who := ag.child("who"); who != nil {
					pt := readParty(who, "")
					p.NPI, p.CCN, p.TIN = pt.NPI, pt.CCN, pt.TIN
					for _, f := range []string{"npi", "ccn", "tin"} {
						r.d.note(f, who.path)
					}
				}
			}
		},
		func(p *record.PGHD) obj {
			targets := []any{reference("Patient", p.PatientID)}
			if p.VitalSignID != "" {
				targets = append(targets, reference("Observation", p.VitalSignID))
			}
			o := obj{"target": targets, "recorded": dateTime(p.Incorporated),
				"activity": ours("provenance-activity", "pghd-incorporated"),
				"agent":    []any{obj{"who": party(contract.Party{NPI: p.NPI, CCN: p.CCN, TIN: p.TIN})}}}
			var e exts
			e.code("pghd-source", p.Source)
			if p.Code != nil {
				e.add("pghd-code", "valueCoding", coding(p.Code.System, p.Code.Code))
			}
			e.set(o)
			return o
		})

	bind(c, "AuditEvent", s.VDTs, nil,
		func(r *reader, v *record.VDT) {
			if t := r.child("type"); t != nil {
				v.Action = t.asCoding("action", []string{CodeSystemBase + "vdt-action"}).Code
				r.d.note("action", t.path)
			}
			v.Occurred = r.when("recorded", "occurred", true)
			if e := r.first("entity", true); e != nil {
				e.ref("what", "patient_id", true, "Patient", func(id string) { v.PatientID = id })
			}
			agents := r.list("agent")
			if len(agents) == 0 {
				r.d.fail(CodeRequired, r.at("agent"), "required")
			}
			for i, ag := range agents {
				who := ag.child("who")
				if who == nil {
					r.d.fail(CodeRequired, ag.at("who"), "required")
					continue
				}
				if i > 0 { // the app the patient used
					v.AppID = who.identifierOf("app_id", CodeSystemBase+"app")
					continue
				}
				r.d.note("actor", ag.path)
				if who.has("reference") {
					v.Actor = contract.ActorPatient
					who.reference("actor", "Patient", func(string) {})
				} else {
					v.Actor = contract.ActorProxy
					v.RepresentativeID = who.identifierOf("representative_id", SystemUser)
				}
			}
		},
		func(v *record.VDT) obj {
			who := reference("Patient", v.PatientID)
			if v.Actor == contract.ActorProxy {
				who = byIdentifier(SystemUser, v.RepresentativeID)
			}
			agents := []any{obj{"who": who, "requestor": true}}
			if v.AppID != "" {
				agents = append(agents, obj{"who": byIdentifier(CodeSystemBase+"app", v.AppID), "requestor": false})
			}
			return obj{"type": coding(CodeSystemBase+"vdt-action", v.Action), "recorded": dateTime(v.Occurred),
				"agent": agents, "source": obj{"observer": obj{"display": "Attest records"}},
				"entity": []any{obj{"what": reference("Patient", v.PatientID)}}}
		})
}

// identifierOf reads a Reference.identifier of any value, of the given system.
func (r *reader) identifierOf(our, system string) string {
	return r.identifier("identifier", our, system, true)
}

// readTargets reads Provenance.target: each reference's type and id.
func readTargets(r *reader, fn func(typ, id string, tr *reader)) {
	ts := r.list("target")
	if len(ts) == 0 {
		r.d.fail(CodeRequired, r.at("target"), "required")
	}
	for _, t := range ts {
		ref := t.str("reference", "", true)
		typ, _, ok := strings.Cut(ref, "/")
		if !ok {
			t.d.fail(CodeValue, t.at("reference"), "must be <Type>/<id>")
			continue
		}
		t.reference("", typ, func(id string) { fn(typ, id, t) })
	}
}

func (c *Codec) registerSharing() {
	s := c.svc
	bind(c, "Consent", s.Consents, nil,
		func(r *reader, x *record.Consent) {
			r.ref("patient", "patient_id", true, "Patient", func(id string) { x.PatientID = id })
			if cat := r.first("category", true); cat != nil {
				x.Scope = cat.conceptOf("scope", true, []string{CodeSystemBase + "consent-scope"}).Code
				r.d.note("scope", cat.path)
			}
			p := r.child("provision")
			if p == nil {
				r.d.fail(CodeRequired, r.at("provision"), "required")
				return
			}
			x.Decision = p.code("type", "decision", true, contract.ConsentPermit, contract.ConsentDeny)
			if per := p.child("period"); per != nil {
				x.From = per.when("start", "from", true)
				x.To = per.whenPtr("end", "to")
				if x.To != nil && x.To.Before(x.From) {
					r.d.fail(CodeInvariant, per.at("end"), "before start")
				}
			} else {
				r.d.fail(CodeRequired, p.at("period"), "required")
			}
			for i, a := range p.list("actor") {
				a.ref("reference", "organization_ids["+itoa(i)+"]", true, "Organization", func(id string) {
					x.OrganizationIDs = append(x.OrganizationIDs, id)
				})
			}
		},
		func(x *record.Consent) obj {
			per := obj{"start": dateTime(x.From)}
			setTime(per, "end", x.To)
			prov := obj{"type": x.Decision, "period": per}
			var actors []any
			for _, id := range x.OrganizationIDs {
				actors = append(actors, obj{"role": ours("consent-actor-role", "source"), "reference": reference("Organization", id)})
			}
			if len(actors) > 0 {
				prov["actor"] = actors
			}
			return obj{"status": "active",
				"scope":     concept(codeOf("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy")),
				"category":  []any{ours("consent-scope", x.Scope)},
				"patient":   reference("Patient", x.PatientID),
				"provision": prov}
		})

	docs := bind(c, "DocumentReference", s.SharedRecords, hasCode("category", "document-kind", "shared-document"),
		func(r *reader, x *record.SharedRecord) {
			x.Kind = contract.SharedDocument
			r.ref("subject", "patient_id", true, "Patient", func(id string) { x.PatientID = id })
			r.ref("custodian", "source_id", true, "Organization", func(id string) { x.SourceID = id })
			x.Code = r.conceptPtr("type", "code")
			x.Received = r.when("date", "received", true)
			if ctx := r.child("context"); ctx != nil {
				if per := ctx.child("period"); per != nil {
					x.Performed = per.when("start", "performed", true)
				}
			}
			if x.Performed.IsZero() && !r.d.hasIssueAt(r.at("context")) {
				r.d.fail(CodeRequired, r.at("context.period.start"), "required")
			}
			if ct := r.first("content", true); ct != nil {
				if a := ct.child("attachment"); a != nil {
					x.Endpoint = a.str("url", "endpoint", true)
					x.Title = phi.Text(a.str("title", "title", false))
				}
			}
		},
		func(x *record.SharedRecord) obj {
			att := obj{"url": x.Endpoint}
			setStr(att, "title", x.Title.Reveal())
			o := obj{"status": "current", "category": []any{ours("document-kind", "shared-document")},
				"subject": reference("Patient", x.PatientID), "custodian": reference("Organization", x.SourceID),
				"date": dateTime(x.Received), "context": obj{"period": obj{"start": dateTime(x.Performed)}},
				"content": []any{obj{"attachment": att}}}
			if x.Code != nil {
				o["type"] = concept(*x.Code)
			}
			var e exts
			e.ref("consent", "Consent", x.ConsentID)
			e.set(o)
			return o
		})

	docs.own = func(x *record.SharedRecord) bool { return x.Kind == contract.SharedDocument }
	studies := bind(c, "ImagingStudy", s.SharedRecords, nil,
		func(r *reader, x *record.SharedRecord) {
			x.Kind = contract.SharedImagingStudy
			r.ref("subject", "patient_id", true, "Patient", func(id string) { x.PatientID = id })
			x.Performed = r.when("started", "performed", true)
			if m := r.first("modality", true); m != nil {
				x.Modality = m.asCoding("modality", []string{SystemDICOM}).Code
				r.d.note("modality", m.path)
			}
			if pc := r.first("procedureCode", false); pc != nil {
				c := pc.conceptOf("code", true, nil)
				x.Code = &c
			}
			x.Title = phi.Text(r.str("description", "title", false))
			x.Endpoint = readEndpoint(r)
			r.extRef("source", "source_id", "Organization", func(id string) { x.SourceID = id })
			if t := r.extTime("received", "received"); t != nil {
				x.Received = *t
			}
			x.BodySite = r.extString("body-site", "body_site")
		},
		func(x *record.SharedRecord) obj {
			o := obj{"status": "available", "subject": reference("Patient", x.PatientID), "started": dateTime(x.Performed),
				"modality": []any{coding(SystemDICOM, x.Modality)},
				"contained": []any{obj{"resourceType": "Endpoint", "id": "endpoint", "status": "active",
					"connectionType": coding("http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "dicom-wado-rs"),
					"payloadType":    []any{obj{"text": "DICOM"}}, "address": x.Endpoint}},
				"endpoint": []any{obj{"reference": "#endpoint"}}}
			if x.Code != nil {
				o["procedureCode"] = []any{concept(*x.Code)}
			}
			setStr(o, "description", x.Title.Reveal())
			var e exts
			e.ref("source", "Organization", x.SourceID)
			e.time("received", &x.Received)
			e.code("body-site", x.BodySite)
			e.ref("consent", "Consent", x.ConsentID)
			e.set(o)
			return o
		})
	studies.own = func(x *record.SharedRecord) bool { return x.Kind == contract.SharedImagingStudy }
}

// readEndpoint is an ImagingStudy's WADO-RS base URL: the address of the Endpoint its
// endpoint reference names among the contained resources.
func readEndpoint(r *reader) string {
	ep := r.first("endpoint", true)
	r.d.note("endpoint", r.at("endpoint"))
	if ep == nil {
		return ""
	}
	ref := ep.str("reference", "endpoint", true)
	if !strings.HasPrefix(ref, "#") {
		r.d.fail(CodeValue, ep.at("reference"), "must name a contained Endpoint (#id)")
		return ""
	}
	for _, c := range r.list("contained") {
		if c.m["resourceType"] == "Endpoint" && c.m["id"] == ref[1:] {
			return c.str("address", "endpoint", true)
		}
	}
	r.d.fail(CodeNotFound, ep.at("reference"), "no contained Endpoint has this id")
	return ""
}

func (d *decoding) hasIssueAt(prefix string) bool {
	for _, is := range d.issues {
		if strings.HasPrefix(is.Expression, prefix) {
			return true
		}
	}
	return false
}
