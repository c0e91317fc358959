package policy

import (
	"strings"

	"github.com/attest-ehr/attest/libs/principal"
)

// Short names for the kinds, so the table reads as a matrix.
const (
	co  = principal.Officer
	ca  = principal.ClinicAdmin
	au  = principal.Auditor
	cl  = principal.Clinician
	pt  = principal.Patient
	px  = principal.Proxy
	st  = principal.Staff
	svc = principal.Service
)

// roles is a rule's Roles.
type roles = map[principal.Kind]Scope

var (
	patientInPath = Target{Kind: Patient, Param: "id"}
	clinicInPath  = Target{Kind: ClinicID, Param: "id"}
	entityInQuery = Target{Kind: Entity, Param: "entity"}

	// integration: only service accounts (the EHR feeds and exports).
	integration = roles{svc: Org}
	// everyoneSignedIn: any principal, for what holds no patient data.
	everyoneSignedIn = roles{co: Org, ca: Org, au: Org, cl: Org, pt: Org, px: Org, st: Org, svc: Org}
	// careTeam: the patient and their proxies for themselves, clinicians and staff in
	// the patient's clinic, integrations. With no target in the route, the service
	// scopes by the forwarded principal (messaging's threads, education's provisions).
	careTeam = roles{pt: Self, px: Self, cl: Clinic, st: Clinic, svc: Org}
)

// health is the rule pair every service answers; operators and service accounts may
// read a service's health through the gateway (the gateway's own is public).
func health(service string) []Rule {
	r := roles{co: Org, svc: Org}
	return []Rule{
		{Service: service, Pattern: "GET /healthz", Action: service + ".health", Roles: r},
		{Service: service, Pattern: "GET /readyz", Action: service + ".ready", Roles: r},
	}
}

// kind is the rules for one of records' resource kinds (records' internal/resource:
// create, list, read, correct, delete, and named actions), given to service accounts
// only: the clinical record is written and read by integrations; people see it
// through the console and the portal, whose pages call records as them through the
// console's own guarded client. Kinds created by a flow of their own (orders) have
// no create route here.
func kind(path string, phi, create bool, actions ...string) []Rule {
	base := "/v1/" + path
	name := "records." + strings.ReplaceAll(path, "-", "_")
	rules := []Rule{
		{Service: "records", Pattern: "GET " + base, Action: name + ".list", PHI: phi, Roles: integration},
		{Service: "records", Pattern: "GET " + base + "/{id}", Action: name + ".read", PHI: phi, Roles: integration},
		{Service: "records", Pattern: "PUT " + base + "/{id}", Action: name + ".correct", PHI: phi, Roles: integration},
		{Service: "records", Pattern: "DELETE " + base + "/{id}", Action: name + ".delete", PHI: phi, Roles: integration},
	}
	if create {
		rules = append(rules, Rule{Service: "records", Pattern: "POST " + base, Action: name + ".create", PHI: phi, Roles: integration})
	}
	for _, a := range actions {
		rules = append(rules, Rule{Service: "records", Pattern: "POST " + base + "/{id}/" + a,
			Action: name + "." + strings.ReplaceAll(a, "-", "_"), PHI: phi, Roles: integration})
	}
	return rules
}

// Rules is Attest's policy: every route the gateway serves, and who may call it.
// A route a service adds must be added here, or the gateway refuses it (and
// TestEveryRouteHasAPolicy fails). Actions are named <service>.<thing>.<verb>.
func Rules() []Rule {
	var rules []Rule
	add := func(rs ...Rule) { rules = append(rules, rs...) }

	// The console's pages and the sign-in flow.
	add(
		Rule{Service: "console", Pattern: "GET /{$}", Action: "console.home", Roles: roles{co: Org, ca: Clinic, au: Org, cl: Clinic}},
		// The persona pages read through the guarded client as the signed-in user, so
		// each API call they make is decided (and audited) by its own rule too.
		Rule{Service: "console", Pattern: "GET /compliance", Action: "console.compliance", Roles: roles{co: Org}},
		Rule{Service: "console", Pattern: "GET /panels/{name}", Action: "console.panel", Roles: roles{co: Org}},
		Rule{Service: "console", Pattern: "GET /members", Action: "console.members", PHI: true,
			Roles: roles{co: Org, ca: Org, au: Granted}},
		Rule{Service: "console", Pattern: "POST /attestations", Action: "console.attestation.freeze", Roles: roles{co: Org}},
		Rule{Service: "console", Pattern: "GET /attestations", Action: "console.attestations", Roles: roles{co: Org, au: Org}},
		Rule{Service: "console", Pattern: "GET /attestations/{id}", Action: "console.attestation", Roles: roles{co: Org, au: Org}},
		Rule{Service: "console", Pattern: "GET /engagement", Action: "console.engagement", Roles: roles{co: Org, ca: Clinic, au: Org}},
		Rule{Service: "console", Pattern: "GET /engagement/kpis", Action: "console.engagement.kpis", Roles: roles{co: Org, ca: Clinic, au: Org}},
		Rule{Service: "console", Pattern: "GET /audit", Action: "console.audit", Roles: roles{co: Org, au: Org}},
		Rule{Service: "console", Pattern: "GET /audit/export", Action: "console.audit.export", Export: true, Roles: roles{co: Org, au: Org}},
		Rule{Service: "console", Pattern: "GET /static/{file}", Action: "console.static", Public: true},
		Rule{Service: "console", Pattern: "GET /signin", Action: "signin.form", Public: true},
		Rule{Service: "console", Pattern: "POST /signin", Action: "signin", Public: true},
		Rule{Service: "console", Pattern: "GET /signin/oidc", Action: "signin.oidc", Public: true},
		Rule{Service: "console", Pattern: "GET /signin/oidc/callback", Action: "signin.oidc.callback", Public: true},
		Rule{Service: "console", Pattern: "POST /signout", Action: "signout", Public: true},
		Rule{Service: "console", Pattern: "GET /healthz", Action: "gateway.health", Public: true},
		Rule{Service: "console", Pattern: "GET /readyz", Action: "gateway.ready", Public: true},
	)

	// The gateway's own API: the audit report and verification, accounts, grants.
	add(
		Rule{Service: "gateway", Pattern: "GET /v1/AuditEvent", Action: "audit.export", Export: true, Roles: roles{co: Org, au: Org}},
		Rule{Service: "gateway", Pattern: "GET /v1/audit/verify", Action: "audit.verify", Roles: roles{co: Org, au: Org}},
		// Clinic administrators manage their clinics' users; the handler checks that
		// the new account's clinics are theirs and its kind is not privileged.
		Rule{Service: "gateway", Pattern: "POST /v1/accounts", Action: "gateway.account.create", Roles: roles{co: Org, ca: Clinic}},
		Rule{Service: "gateway", Pattern: "POST /v1/grants", Action: "gateway.grant.create", Roles: roles{co: Org}},
		Rule{Service: "gateway", Pattern: "POST /v1/clinics/{clinic}/entities", Action: "gateway.clinic.entity.add", Roles: roles{co: Org}},
	)

	// records: the directory (no PHI) may be read by the people who run the programs.
	directoryReaders := roles{co: Org, ca: Org, au: Org, cl: Org, svc: Org}
	for _, path := range []string{"organizations", "hospitals", "groups", "clinicians", "locations", "devices"} {
		rs := kind(path, false, true)
		for i := range rs {
			if strings.HasPrefix(rs[i].Pattern, "GET ") {
				rs[i].Roles = directoryReaders
			}
		}
		add(rs...)
	}
	add(Rule{Service: "records", Pattern: "GET /v1/openapi.json", Action: "records.openapi", Roles: directoryReaders}) // no PHI
	// records' FHIR API (also at /fhir): written and read by integrations, as the JSON
	// API; the CapabilityStatement holds no PHI.
	add(
		Rule{Service: "records", Pattern: "GET /fhir/metadata", Action: "records.fhir.metadata", Roles: directoryReaders},
		Rule{Service: "records", Pattern: "POST /fhir", Action: "records.fhir.bundle", PHI: true, Roles: integration},
		Rule{Service: "records", Pattern: "POST /fhir/{type}", Action: "records.fhir.create", PHI: true, Roles: integration},
		Rule{Service: "records", Pattern: "GET /fhir/{type}", Action: "records.fhir.search", PHI: true, Roles: integration},
		Rule{Service: "records", Pattern: "GET /fhir/{type}/{id}", Action: "records.fhir.read", PHI: true, Roles: integration},
		Rule{Service: "records", Pattern: "PUT /fhir/{type}/{id}", Action: "records.fhir.update", PHI: true, Roles: integration},
		Rule{Service: "records", Pattern: "DELETE /fhir/{type}/{id}", Action: "records.fhir.delete", PHI: true, Roles: integration},
	)
	// records' bulk imports (FHIR $import and the JSON API's NDJSON): integrations
	// only. The errors files name lines and elements, never values, but an import is
	// PHI coming in.
	add(
		Rule{Service: "records", Pattern: "POST /fhir/$import", Action: "records.import.fhir", PHI: true, Roles: integration},
		Rule{Service: "records", Pattern: "GET /fhir/$import-status/{job}", Action: "records.import.fhir_status", Roles: integration},
		Rule{Service: "records", Pattern: "DELETE /fhir/$import-status/{job}", Action: "records.import.fhir_cancel", Roles: integration},
		Rule{Service: "records", Pattern: "GET /fhir/$import-status/{job}/errors", Action: "records.import.fhir_errors", Roles: integration},
		Rule{Service: "records", Pattern: "POST /v1/import", Action: "records.import.json", PHI: true, Roles: integration},
		Rule{Service: "records", Pattern: "GET /v1/import/{job}", Action: "records.import.json_status", Roles: integration},
		Rule{Service: "records", Pattern: "DELETE /v1/import/{job}", Action: "records.import.json_cancel", Roles: integration},
		Rule{Service: "records", Pattern: "GET /v1/import/{job}/errors", Action: "records.import.json_errors", Roles: integration},
	)
	// records: the patient. A patient reads themselves, a clinician their clinic's
	// patients, an auditor only under a PHI grant.
	for _, r := range kind("patients", true, true) {
		if r.Pattern == "GET /v1/patients/{id}" {
			r.Target, r.Roles = patientInPath, roles{cl: Clinic, pt: Self, px: Self, au: Granted, svc: Org}
		}
		if r.Pattern == "DELETE /v1/patients/{id}" {
			r.Target = patientInPath
		}
		add(r)
	}
	for _, path := range []string{"encounters", "problems", "allergies", "medications", "results", "vital-signs",
		"smoking-statuses", "pdmp-queries", "clinical-summaries", "reconciliations", "availabilities", "access-grants",
		"vdt", "pghd", "registry-submissions", "registry-engagements", "consents", "shared-records", "attestations"} {
		add(kind(path, true, true)...)
	}
	// Payment inputs (discharges, allowed charges, CAH costs …) are an entity's figures
	// from its cost report and claims, entered by its integrations; no patient in them.
	add(kind("payment-inputs", false, true)...)
	add(kind("prescriptions", true, true, "query-formulary", "transmit")...)
	add(kind("transitions", true, true, "summarize", "transmit", "confirm-receipt", "receive", "request", "incorporate")...)
	add(kind("orders", true, false)...)
	add(
		Rule{Service: "records", Pattern: "POST /v1/orders", Action: "records.orders.place", PHI: true, Roles: integration},
		// Shared tablets: staff check a tablet out to a patient and wipe it; the audit
		// of a device is for the people accountable for wipe compliance.
		Rule{Service: "records", Pattern: "POST /v1/tablet-sessions", Action: "records.tablet.checkout", PHI: true, Roles: roles{st: Clinic, svc: Org}},
		Rule{Service: "records", Pattern: "GET /v1/tablet-sessions/{id}", Action: "records.tablet.read", PHI: true, Roles: roles{st: Clinic, svc: Org}},
		Rule{Service: "records", Pattern: "POST /v1/tablet-sessions/{id}/uploads", Action: "records.tablet.upload", PHI: true, Roles: roles{st: Clinic, svc: Org}},
		Rule{Service: "records", Pattern: "POST /v1/tablet-sessions/{id}/wipe", Action: "records.tablet.wipe", Roles: roles{st: Clinic, svc: Org}},
		Rule{Service: "records", Pattern: "GET /v1/devices/{id}/audit", Action: "records.device.audit", Roles: roles{co: Org, ca: Org, au: Org, svc: Org}},
	)

	// messaging: secure messages and requests. Threads name no patient in the path;
	// messaging scopes them by the forwarded principal.
	msg := func(pattern, action string, r roles) Rule {
		return Rule{Service: "messaging", Pattern: pattern, Action: "messaging." + action, PHI: true, Roles: r}
	}
	add(
		Rule{Service: "messaging", Pattern: "GET /v1/openapi.json", Action: "messaging.openapi", Roles: everyoneSignedIn},
		msg("POST /v1/threads", "thread.create", careTeam),
		msg("POST /v1/threads/import", "thread.import", integration), // a conversation of the source EHR, dated then
		msg("GET /v1/threads", "thread.list", careTeam),
		msg("GET /v1/threads/{id}", "thread.read", careTeam),
		msg("POST /v1/threads/{id}/close", "thread.close", careTeam),
		msg("GET /v1/threads/{id}/messages", "message.list", careTeam),
		msg("POST /v1/threads/{id}/messages", "message.send", careTeam),
		msg("GET /v1/threads/{id}/messages/{mid}", "message.read", careTeam),
		msg("POST /v1/threads/{id}/messages/{mid}/read", "message.mark_read", careTeam),
		msg("GET /v1/threads/{id}/messages/{mid}/attachments/{aid}", "attachment.read", careTeam),
		msg("GET /v1/requests", "request.list", careTeam),
		msg("POST /v1/requests/{id}/answer", "request.answer", roles{cl: Clinic, st: Clinic, svc: Org}),
		msg("GET /v1/proxy-grants", "proxy_grant.read", roles{pt: Self, st: Clinic, svc: Org}),
		msg("PUT /v1/proxy-grants", "proxy_grant.set", roles{pt: Self, st: Clinic, svc: Org}),
		msg("DELETE /v1/proxy-grants", "proxy_grant.revoke", roles{pt: Self, st: Clinic, svc: Org}),
		Rule{Service: "messaging", Pattern: "GET /v1/clinics/{id}/response-times", Action: "messaging.clinic.response_times",
			Target: clinicInPath, Roles: roles{co: Org, ca: Clinic, au: Org}},
		Rule{Service: "messaging", Pattern: "GET /v1/clinics/{id}/overdue", Action: "messaging.clinic.overdue", PHI: true,
			Target: clinicInPath, Roles: roles{co: Org, ca: Clinic, cl: Clinic, st: Clinic}},
		Rule{Service: "messaging", Pattern: "POST /v1/keys/reencrypt", Action: "messaging.keys.reencrypt", Roles: integration},
		msg("GET /fhir/Communication", "fhir.communication.search", careTeam),
		msg("GET /fhir/Communication/{id}", "fhir.communication.read", careTeam),
		msg("GET /fhir/CommunicationRequest", "fhir.communication_request.search", careTeam),
		msg("GET /fhir/CommunicationRequest/{id}", "fhir.communication_request.read", careTeam),
		Rule{Service: "messaging", Pattern: "GET /v1/patients/{id}", Action: "messaging.patient.lookup",
			Target: patientInPath, Roles: roles{cl: Clinic, pt: Self, px: Self, svc: Org}},
	)

	// education: the catalog (no PHI) and what was matched to and provided to whom.
	edu := func(pattern, action string, target Target, r roles) Rule {
		return Rule{Service: "education", Pattern: pattern, Action: "education." + action, PHI: true, Target: target, Roles: r}
	}
	catalogEditors := roles{co: Org, svc: Org}
	add(
		Rule{Service: "education", Pattern: "GET /v1/openapi.json", Action: "education.openapi", Roles: everyoneSignedIn},
		Rule{Service: "education", Pattern: "GET /v1/materials", Action: "education.material.list", Roles: everyoneSignedIn},
		Rule{Service: "education", Pattern: "GET /v1/materials/{id}", Action: "education.material.read", Roles: everyoneSignedIn},
		Rule{Service: "education", Pattern: "GET /v1/materials/{id}/versions/{version}", Action: "education.material.version", Roles: everyoneSignedIn},
		Rule{Service: "education", Pattern: "POST /v1/materials", Action: "education.material.create", Roles: catalogEditors},
		Rule{Service: "education", Pattern: "PUT /v1/materials/{id}", Action: "education.material.update", Roles: catalogEditors},
		Rule{Service: "education", Pattern: "POST /v1/materials/{id}/retire", Action: "education.material.retire", Roles: catalogEditors},
		Rule{Service: "education", Pattern: "POST /v1/materials/import", Action: "education.material.import", Roles: catalogEditors},
		Rule{Service: "education", Pattern: "GET /v1/medlineplus", Action: "education.medlineplus", Roles: everyoneSignedIn},
		edu("PUT /v1/patients/{id}/preferences", "preferences.set", patientInPath, roles{pt: Self, px: Self, cl: Clinic, st: Clinic, svc: Org}),
		edu("GET /v1/patients/{id}/chart", "chart.read", patientInPath, roles{cl: Clinic, svc: Org}),
		edu("GET /v1/patients/{id}/matches", "matches.read", patientInPath, roles{pt: Self, px: Self, cl: Clinic, st: Clinic, svc: Org}),
		edu("GET /v1/patients/{id}/suggestions", "suggestions.read", patientInPath, roles{cl: Clinic, st: Clinic, svc: Org}),
		edu("GET /v1/patients/{id}/provisions", "provisions.list", patientInPath, careTeam),
		edu("POST /v1/provisions", "provision.create", Target{}, roles{cl: Clinic, st: Clinic, svc: Org}),
		edu("GET /v1/provisions/{id}", "provision.read", Target{}, careTeam),
		edu("POST /v1/provisions/{id}/open", "provision.open", Target{}, roles{pt: Self, px: Self, svc: Org}),
		edu("GET /fhir/Communication", "fhir.communication.search", Target{}, careTeam),
		edu("GET /fhir/Communication/{id}", "fhir.communication.read", Target{}, careTeam),
		Rule{Service: "education", Pattern: "GET /v1/patients/{id}", Action: "education.patient.lookup",
			Target: patientInPath, Roles: roles{cl: Clinic, pt: Self, px: Self, svc: Org}},
	)

	// metrics: a patient's measure facts and explanation, and the member lists behind a
	// number — patient-level, so PHI. The numbers themselves, the measure catalogue,
	// the API document and the engagement KPIs (aggregates by clinic, clinician and
	// week) carry no patient data.
	add(
		Rule{Service: "metrics", Pattern: "GET /v1/patients/{id}/facts", Action: "metrics.patient.facts", PHI: true,
			Target: patientInPath, Roles: roles{co: Org, ca: Clinic, cl: Clinic, au: Granted, svc: Org}},
		Rule{Service: "metrics", Pattern: "GET /v1/patients/{id}/explanation", Action: "metrics.patient.explanation", PHI: true,
			Target: patientInPath, Roles: roles{co: Org, ca: Clinic, cl: Clinic, au: Granted, svc: Org}},
		Rule{Service: "metrics", Pattern: "GET /v1/members", Action: "metrics.members.read", PHI: true,
			Target: entityInQuery, Roles: roles{co: Org, ca: Clinic, cl: Clinic, au: Granted, svc: Org}},
		Rule{Service: "metrics", Pattern: "GET /v1/numbers", Action: "metrics.numbers.read",
			Target: entityInQuery, Roles: roles{co: Org, ca: Clinic, au: Org, cl: Clinic, svc: Org}},
		Rule{Service: "metrics", Pattern: "GET /v1/measures", Action: "metrics.measures.read", Roles: directoryReaders},
		Rule{Service: "metrics", Pattern: "GET /v1/openapi.json", Action: "metrics.openapi", Roles: directoryReaders},
		Rule{Service: "metrics", Pattern: "GET /v1/kpis", Action: "metrics.kpis.read", Roles: roles{co: Org, ca: Org, au: Org, svc: Org}},
		Rule{Service: "metrics", Pattern: "GET /v1/kpis/stream", Action: "metrics.kpis.stream", Roles: roles{co: Org, ca: Org, au: Org, svc: Org}},
	)

	// reporting: aggregate counts by entity, and attestations. Service accounts may
	// read aggregates (a BI feed, the end-to-end tests); they carry no patient data.
	// Freezing an attestation is the compliance officer's alone; its export holds the
	// patient lists behind every number, so an auditor needs a PHI grant for it.
	add(
		Rule{Service: "reporting", Pattern: "GET /v1/patients-seen", Action: "reporting.patients_seen.read",
			Target: entityInQuery, Roles: roles{co: Org, ca: Clinic, au: Org, cl: Clinic, svc: Org}},
		Rule{Service: "reporting", Pattern: "POST /v1/attestations", Action: "reporting.attestation.freeze", Roles: roles{co: Org}},
		Rule{Service: "reporting", Pattern: "GET /v1/attestations", Action: "reporting.attestation.list", Roles: roles{co: Org, au: Org}},
		Rule{Service: "reporting", Pattern: "GET /v1/attestations/{id}", Action: "reporting.attestation.read", Roles: roles{co: Org, au: Org}},
		Rule{Service: "reporting", Pattern: "GET /v1/attestations/{id}/export", Action: "reporting.attestation.export",
			PHI: true, Export: true, Roles: roles{co: Org, au: Granted}},
		// Best window and forecast are aggregates (no patient data); a worklist names
		// patients (opaque IDs), so an auditor needs a PHI grant for it.
		Rule{Service: "reporting", Pattern: "GET /v1/best-window", Action: "reporting.best_window.read",
			Target: entityInQuery, Roles: roles{co: Org, ca: Clinic, au: Org, svc: Org}},
		Rule{Service: "reporting", Pattern: "GET /v1/forecast", Action: "reporting.forecast.read",
			Target: entityInQuery, Roles: roles{co: Org, ca: Clinic, au: Org, svc: Org}},
		Rule{Service: "reporting", Pattern: "GET /v1/worklists", Action: "reporting.worklist.read", PHI: true,
			Target: entityInQuery, Roles: roles{co: Org, ca: Clinic, au: Granted}},
		// Reports computed from reporting's facts. The report itself is aggregate (no
		// patient lists); its exports and the drill-down carry the lists behind each
		// number. Service accounts read and export them like metrics' numbers and
		// members (a BI feed, `attest report` with a service token).
		Rule{Service: "reporting", Pattern: "GET /v1/reports", Action: "reporting.report.read", Roles: roles{co: Org, au: Org, svc: Org}},
		Rule{Service: "reporting", Pattern: "GET /v1/reports/export", Action: "reporting.report.export",
			PHI: true, Export: true, Roles: roles{co: Org, au: Granted, svc: Org}},
		Rule{Service: "reporting", Pattern: "GET /v1/reports/members", Action: "reporting.report.members",
			PHI: true, Roles: roles{co: Org, au: Granted, svc: Org}},
		// Checking a frozen attestation against the log and against today: numbers only.
		Rule{Service: "reporting", Pattern: "GET /v1/attestations/{id}/recompute", Action: "reporting.attestation.recompute",
			Roles: roles{co: Org, au: Org}},
		Rule{Service: "reporting", Pattern: "GET /v1/attestations/{id}/diff", Action: "reporting.attestation.diff",
			Roles: roles{co: Org, au: Org}},
	)

	for _, s := range []string{"records", "messaging", "education", "metrics", "reporting"} {
		add(health(s)...)
	}
	return rules
}
