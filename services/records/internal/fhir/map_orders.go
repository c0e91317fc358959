package fhir

import (
	"context"
	"fmt"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/services/records/internal/record"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// SystemMedReqCategory is MedicationRequest.category's code system.
const SystemMedReqCategory = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"

// taskKind is a Task's kind, of our task-kind code system: several kinds are Tasks.
func taskKind(r *reader) string {
	cc, _ := r.m["code"].(obj)
	codings, _ := cc["coding"].([]any)
	for _, cd := range codings {
		m, _ := cd.(obj)
		if m["system"] == CodeSystemBase+"task-kind" {
			k, _ := m["code"].(string)
			return k
		}
	}
	return ""
}

func isTask(kind string) func(*reader) bool {
	return func(r *reader) bool { return taskKind(r) == kind }
}

// task is the common part of the Tasks of ours.
func task(kind, patientID string) obj {
	return obj{"status": "completed", "intent": "order", "code": ours("task-kind", kind), "for": reference("Patient", patientID)}
}

// avoidedErr is an imaging order a shared study duplicates: not placed.
type avoidedErr struct{ a *record.Avoided }

func (e *avoidedErr) Error() string { return "duplicate study" }

func (e *avoidedErr) issue(root string) Issue {
	d := e.a.Duplicate
	return Issue{Severity: SeverityInformation, Code: CodeDuplicate, Expression: root,
		Diagnostics: fmt.Sprintf("not placed: ImagingStudy/%s (%s, body site %s) shared by Organization/%s was performed %s; "+
			"send the allow-duplicate extension to place it anyway", d.SharedRecordID, d.Modality, d.BodySite, d.SourceID,
			d.Performed.UTC().Format(time.RFC3339))}
}

func (c *Codec) registerOrders() {
	s := c.svc
	patient := func(r *reader, key string, set func(string)) { r.ref(key, "patient_id", true, "Patient", set) }

	bind(c, "MedicationRequest", s.Prescriptions, nil,
		func(r *reader, p *record.Prescription) {
			patient(r, "subject", func(id string) { p.PatientID = id })
			r.code("intent", "", true, "order")
			p.Code = r.concept("medicationCodeableConcept", "code", true, contract.SystemRxNorm)
			p.Written = r.when("authoredOn", "written", true)
			p.NPI = r.byIdentifier("requester", "npi", SystemNPI, true)
			r.ref("encounter", "encounter_id", false, "Encounter", func(id string) { p.EncounterID = id })
			r.ref("priorPrescription", "replaces_id", false, "MedicationRequest", func(id string) { p.ReplacesID = id })
			if d := r.first("dosageInstruction", false); d != nil {
				p.Instructions = phi.Text(d.str("text", "instructions", true))
			}
			if cat := r.first("category", false); cat != nil {
				k := cat.conceptOf("discharge", true, []string{SystemMedReqCategory}).Code
				p.Discharge = k == "discharge"
			}
			p.Kind = r.extString("prescription-kind", "kind")
			p.Schedule = r.extString("controlled-schedule", "schedule")
			p.Permissible = r.extBool("permissible", "permissible")
			p.TIN = r.extString("billing-tin", "tin")
			p.CCN = r.extString("ccn", "ccn")
			if f := r.ext("formulary"); f != nil {
				q := contract.FormularyQuery{}
				if x := f.ext("queried"); x != nil {
					q.Queried = x.when("valueDateTime", "formulary.queried", true)
				}
				if x := f.ext("result"); x != nil {
					q.Result = x.code("valueCode", "formulary.result", true)
				}
				r.d.note("formulary", f.path)
				p.Formulary = &q
			}
			if t := r.ext("transmission"); t != nil {
				x := contract.Transmission{}
				if e := t.ext("transmitted"); e != nil {
					x.Transmitted = e.when("valueDateTime", "transmission.transmitted", true)
				}
				if e := t.ext("method"); e != nil {
					x.Method = e.code("valueCode", "transmission.method", true)
				}
				if e := t.ext("outcome"); e != nil {
					x.Outcome = e.code("valueCode", "transmission.outcome", true)
				}
				if e := t.ext("pharmacy"); e != nil {
					e.ref("valueReference", "transmission.pharmacy_id", true, "Organization", func(id string) { x.PharmacyID = id })
				}
				r.d.note("transmission", t.path)
				p.Transmission = &x
			}
		},
		func(p *record.Prescription) obj {
			o := obj{"status": "active", "intent": "order", "subject": reference("Patient", p.PatientID),
				"medicationCodeableConcept": concept(p.Code), "authoredOn": dateTime(p.Written),
				"requester": byIdentifier(SystemNPI, p.NPI)}
			setRef(o, "encounter", "Encounter", p.EncounterID)
			setRef(o, "priorPrescription", "MedicationRequest", p.ReplacesID)
			if p.Instructions != "" {
				o["dosageInstruction"] = []any{obj{"text": p.Instructions.Reveal()}}
			}
			if p.Discharge {
				o["category"] = []any{concept(codeOf(SystemMedReqCategory, "discharge"))}
			}
			var e exts
			e.code("prescription-kind", p.Kind)
			e.code("controlled-schedule", p.Schedule)
			e.add("permissible", "valueBoolean", p.Permissible)
			e.str("billing-tin", p.TIN)
			e.str("ccn", p.CCN)
			if f := p.Formulary; f != nil {
				e = append(e, obj{"url": ExtensionBase + "formulary", "extension": []any{
					obj{"url": "queried", "valueDateTime": dateTime(f.Queried)}, obj{"url": "result", "valueCode": f.Result}}})
			}
			if t := p.Transmission; t != nil {
				sub := []any{obj{"url": "transmitted", "valueDateTime": dateTime(t.Transmitted)},
					obj{"url": "method", "valueCode": t.Method}, obj{"url": "outcome", "valueCode": t.Outcome}}
				if t.PharmacyID != "" {
					sub = append(sub, obj{"url": "pharmacy", "valueReference": reference("Organization", t.PharmacyID)})
				}
				e = append(e, obj{"url": ExtensionBase + "transmission", "extension": sub})
			}
			e.set(o)
			return o
		})

	orders := bind(c, "ServiceRequest", s.Orders, nil,
		func(r *reader, o *record.Order) {
			patient(r, "subject", func(id string) { o.PatientID = id })
			r.code("intent", "", true, "order")
			if cat := r.first("category", true); cat != nil {
				o.Category = cat.conceptOf("category", true, []string{CodeSystemBase + "order-category"}).Code
				r.d.note("category", cat.path)
			}
			o.Code = r.concept("code", "code", true)
			o.Ordered = r.when("authoredOn", "ordered", true)
			o.NPI = r.byIdentifier("requester", "npi", SystemNPI, true)
			r.ref("encounter", "encounter_id", false, "Encounter", func(id string) { o.EncounterID = id })
			if b := r.first("bodySite", false); b != nil {
				o.BodySite = b.conceptOf("body_site", true, []string{contract.SystemSNOMED}).Code
				r.d.note("body_site", b.path)
			}
			o.EntryMethod = r.extString("entry-method", "entry_method")
			o.EnteredBy = r.extString("entered-by", "entered_by")
			o.EnteredByCredential = r.extString("entered-by-credential", "entered_by_credential")
			o.Modality = r.extString("modality", "modality")
			o.TIN = r.extString("billing-tin", "tin")
			o.CCN = r.extString("ccn", "ccn")
			// duplicate-of is derived when the order is placed.
			r.d.allowDuplicate = r.extBool("allow-duplicate", "")
		},
		func(o *record.Order) obj {
			out := obj{"status": "active", "intent": "order", "subject": reference("Patient", o.PatientID),
				"category": []any{ours("order-category", o.Category)}, "code": concept(o.Code),
				"authoredOn": dateTime(o.Ordered), "requester": byIdentifier(SystemNPI, o.NPI)}
			setRef(out, "encounter", "Encounter", o.EncounterID)
			if o.BodySite != "" {
				out["bodySite"] = []any{concept(codeOf(contract.SystemSNOMED, o.BodySite))}
			}
			var e exts
			e.code("entry-method", o.EntryMethod)
			e.str("entered-by", o.EnteredBy)
			e.code("entered-by-credential", o.EnteredByCredential)
			e.code("modality", o.Modality)
			e.str("billing-tin", o.TIN)
			e.str("ccn", o.CCN)
			e.ref("duplicate-of", "ImagingStudy", o.DuplicateOf)
			e.set(out)
			return out
		})
	orders.place = func(ctx context.Context, tx *resource.Tx, o *record.Order) (record.Order, bool, error) {
		placed, avoided, created, err := s.PlaceOrderIn(ctx, tx, record.OrderRequest{Order: *o, AllowDuplicate: allowDuplicate(ctx)})
		if avoided != nil {
			return placed, false, &avoidedErr{avoided}
		}
		return placed, created, err
	}

	bind(c, "Task", s.PDMPQueries, isTask("pdmp-query"),
		func(r *reader, q *record.PDMPQuery) {
			patient(r, "for", func(id string) { q.PatientID = id })
			r.ref("focus", "prescription_id", false, "MedicationRequest", func(id string) { q.PrescriptionID = id })
			if p := r.child("executionPeriod"); p != nil {
				q.Queried = p.when("start", "queried", true)
			} else {
				r.d.fail(CodeRequired, r.at("executionPeriod"), "required")
			}
			q.Outcome = r.conceptCode("businessStatus", "outcome", CodeSystemBase+"pdmp-outcome", true)
			q.NPI = r.byIdentifier("owner", "npi", SystemNPI, true)
			q.Schedule = r.extString("controlled-schedule", "schedule")
			q.TIN = r.extString("billing-tin", "tin")
			q.CCN = r.extString("ccn", "ccn")
		},
		func(q *record.PDMPQuery) obj {
			o := task("pdmp-query", q.PatientID)
			setRef(o, "focus", "MedicationRequest", q.PrescriptionID)
			o["executionPeriod"] = obj{"start": dateTime(q.Queried)}
			o["businessStatus"] = ours("pdmp-outcome", q.Outcome)
			o["owner"] = byIdentifier(SystemNPI, q.NPI)
			var e exts
			e.code("controlled-schedule", q.Schedule)
			e.str("billing-tin", q.TIN)
			e.str("ccn", q.CCN)
			e.set(o)
			return o
		})

	bind(c, "Task", s.Reconciliations, isTask("reconciliation"),
		func(r *reader, x *record.Reconciliation) {
			patient(r, "for", func(id string) { x.PatientID = id })
			if f := r.child("focus"); f != nil {
				ref, _ := f.m["reference"].(string)
				if len(ref) > len("Communication/") && ref[:len("Communication/")] == "Communication/" {
					f.reference("transition_id", "Communication", func(id string) { x.TransitionID = id })
				} else {
					f.reference("encounter_id", "Encounter", func(id string) { x.EncounterID = id })
				}
			}
			for _, in := range r.list("input") {
				what := in.conceptCode("type", "", CodeSystemBase+"reconciliation", true, "medications", "allergies", "problems")
				t := in.when("valueDateTime", what, true)
				switch what {
				case "medications":
					x.Medications = &t
				case "allergies":
					x.Allergies = &t
				case "problems":
					x.Problems = &t
				}
			}
			x.NPI = r.byIdentifier("owner", "npi", SystemNPI, false)
			x.CCN = r.extString("ccn", "ccn")
		},
		func(x *record.Reconciliation) obj {
			o := task("reconciliation", x.PatientID)
			setRef(o, "focus", "Communication", x.TransitionID)
			setRef(o, "focus", "Encounter", x.EncounterID)
			var in []any
			for _, p := range []struct {
				name string
				t    *time.Time
			}{{"medications", x.Medications}, {"allergies", x.Allergies}, {"problems", x.Problems}} {
				if p.t != nil {
					in = append(in, obj{"type": ours("reconciliation", p.name), "valueDateTime": dateTime(*p.t)})
				}
			}
			if len(in) > 0 {
				o["input"] = in
			}
			setNPI(o, "owner", x.NPI)
			var e exts
			e.str("ccn", x.CCN)
			e.set(o)
			return o
		})

	bind(c, "Task", s.AccessGrants, isTask("access-grant"),
		func(r *reader, a *record.AccessGrant) {
			patient(r, "for", func(id string) { a.PatientID = id })
			r.ref("focus", "encounter_id", false, "Encounter", func(id string) { a.EncounterID = id })
			a.Kind = r.conceptCode("businessStatus", "kind", CodeSystemBase+"access-kind", true)
			if p := r.child("executionPeriod"); p != nil {
				a.Granted = p.when("start", "granted", true)
				a.Revoked = p.whenPtr("end", "revoked")
				if a.Revoked != nil && a.Revoked.Before(a.Granted) {
					r.d.fail(CodeInvariant, p.at("end"), "before start")
				}
			} else {
				r.d.fail(CodeRequired, r.at("executionPeriod"), "required")
			}
			a.NPI = r.byIdentifier("owner", "npi", SystemNPI, false)
			a.OptedOut = r.extBool("opted-out", "opted_out")
			a.TIN = r.extString("billing-tin", "tin")
			a.CCN = r.extString("ccn", "ccn")
		},
		func(a *record.AccessGrant) obj {
			o := task("access-grant", a.PatientID)
			setRef(o, "focus", "Encounter", a.EncounterID)
			o["businessStatus"] = ours("access-kind", a.Kind)
			p := obj{"start": dateTime(a.Granted)}
			setTime(p, "end", a.Revoked)
			o["executionPeriod"] = p
			setNPI(o, "owner", a.NPI)
			var e exts
			e.flag("opted-out", a.OptedOut)
			e.str("billing-tin", a.TIN)
			e.str("ccn", a.CCN)
			e.set(o)
			return o
		})
}

type allowDuplicateKey struct{}

// withAllowDuplicate marks ctx for an order whose allow-duplicate extension is true.
func withAllowDuplicate(ctx context.Context, allow bool) context.Context {
	return context.WithValue(ctx, allowDuplicateKey{}, allow)
}

func allowDuplicate(ctx context.Context) bool {
	b, _ := ctx.Value(allowDuplicateKey{}).(bool)
	return b
}
