package policy_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/gateway/internal/policy"
)

// kinds are the matrix's columns, in order.
var kinds = []principal.Kind{principal.Officer, principal.ClinicAdmin, principal.Auditor, principal.Clinician,
	principal.Patient, principal.Proxy, principal.Service, principal.Staff}

// expected is the access matrix written out by hand — the specification the table is
// checked against, so a change to the table that is not also made here fails. Cells,
// per kind in the order of kinds (officer, clinic admin, auditor, clinician, patient,
// proxy, service account, staff): A allowed organization-wide, S allowed in scope
// only, G allowed only under an active PHI grant, D denied; P for public routes.
var expected = map[string]string{
	"console.home":                    "A S A S D D D D",
	"console.compliance":              "A D D D D D D D",
	"console.panel":                   "A D D D D D D D",
	"console.members":                 "A A G D D D D D",
	"console.attestation.freeze":      "A D D D D D D D",
	"console.attestations":            "A D A D D D D D",
	"console.attestation":             "A D A D D D D D",
	"console.engagement":              "A S A D D D D D",
	"console.engagement.kpis":         "A S A D D D D D",
	"console.audit":                   "A D A D D D D D",
	"console.audit.export":            "A D A D D D D D",
	"console.static":                  "P",
	"signin.form":                     "P",
	"signin":                          "P",
	"signin.oidc":                     "P",
	"signin.oidc.callback":            "P",
	"signout":                         "P",
	"gateway.health":                  "P",
	"gateway.ready":                   "P",
	"audit.export":                    "A D A D D D D D",
	"audit.verify":                    "A D A D D D D D",
	"gateway.account.create":          "A S D D D D D D",
	"gateway.grant.create":            "A D D D D D D D",
	"gateway.clinic.entity.add":       "A D D D D D D D",
	"records.patients.read":           "D D G S S S A D",
	"records.tablet.checkout":         "D D D D D D A S",
	"records.tablet.read":             "D D D D D D A S",
	"records.tablet.upload":           "D D D D D D A S",
	"records.tablet.wipe":             "D D D D D D A S",
	"records.device.audit":            "A A A D D D A D",
	"records.openapi":                 "A A A A D D A D",
	"records.fhir.metadata":           "A A A A D D A D",
	"records.fhir.bundle":             "D D D D D D A D",
	"records.fhir.create":             "D D D D D D A D",
	"records.fhir.search":             "D D D D D D A D",
	"records.fhir.read":               "D D D D D D A D",
	"records.fhir.update":             "D D D D D D A D",
	"records.fhir.delete":             "D D D D D D A D",
	"records.import.fhir":             "D D D D D D A D",
	"records.import.fhir_status":      "D D D D D D A D",
	"records.import.fhir_cancel":      "D D D D D D A D",
	"records.import.fhir_errors":      "D D D D D D A D",
	"records.import.json":             "D D D D D D A D",
	"records.import.json_status":      "D D D D D D A D",
	"records.import.json_cancel":      "D D D D D D A D",
	"records.import.json_errors":      "D D D D D D A D",
	"messaging.openapi":               "A A A A A A A A",
	"messaging.request.answer":        "D D D S D D A S",
	"messaging.proxy_grant.read":      "D D D D S D A S",
	"messaging.proxy_grant.set":       "D D D D S D A S",
	"messaging.proxy_grant.revoke":    "D D D D S D A S",
	"messaging.clinic.response_times": "A S A D D D D D",
	"messaging.clinic.overdue":        "A S D S D D D S",
	"messaging.keys.reencrypt":        "D D D D D D A D",
	"messaging.thread.import":         "D D D D D D A D",
	"messaging.patient.lookup":        "D D D S S S A D",
	"education.openapi":               "A A A A A A A A",
	"education.material.list":         "A A A A A A A A",
	"education.material.read":         "A A A A A A A A",
	"education.material.version":      "A A A A A A A A",
	"education.medlineplus":           "A A A A A A A A",
	"education.material.create":       "A D D D D D A D",
	"education.material.update":       "A D D D D D A D",
	"education.material.retire":       "A D D D D D A D",
	"education.material.import":       "A D D D D D A D",
	"education.preferences.set":       "D D D S S S A S",
	"education.chart.read":            "D D D S D D A D",
	"education.matches.read":          "D D D S S S A S",
	"education.suggestions.read":      "D D D S D D A S",
	"education.provision.create":      "D D D S D D A S",
	"education.provision.open":        "D D D D S S A D",
	"education.patient.lookup":        "D D D S S S A D",
	"metrics.patient.facts":           "A S G S D D A D",
	"metrics.patient.explanation":     "A S G S D D A D",
	"metrics.members.read":            "A S G S D D A D",
	"metrics.numbers.read":            "A S A S D D A D",
	"metrics.measures.read":           "A A A A D D A D",
	"metrics.openapi":                 "A A A A D D A D",
	"metrics.kpis.read":               "A A A D D D A D",
	"metrics.kpis.stream":             "A A A D D D A D",
	"reporting.patients_seen.read":    "A S A S D D A D",
	"reporting.attestation.freeze":    "A D D D D D D D",
	"reporting.attestation.list":      "A D A D D D D D",
	"reporting.attestation.read":      "A D A D D D D D",
	"reporting.attestation.export":    "A D G D D D D D",
	"reporting.best_window.read":      "A S A D D D A D",
	"reporting.forecast.read":         "A S A D D D A D",
	"reporting.worklist.read":         "A S G D D D D D",
	"reporting.attestation.recompute": "A D A D D D D D",
	"reporting.attestation.diff":      "A D A D D D D D",
	"reporting.report.read":           "A D A D D D A D",
	"reporting.report.export":         "A D G D D D A D",
	"reporting.report.members":        "A D G D D D A D",
}

// recordsDefault is the row of every records action not listed above: records is
// read and written by integrations (service accounts) only.
const recordsDefault = "D D D D D D A D"

func init() {
	for _, s := range []string{"records", "messaging", "education", "metrics", "reporting"} {
		expected[s+".health"] = "A D D D D D A D"
		expected[s+".ready"] = "A D D D D D A D"
	}
	// The records directory holds no PHI: the people who run the programs read it.
	for _, k := range []string{"organizations", "hospitals", "groups", "clinicians", "locations", "devices"} {
		expected["records."+k+".list"] = "A A A A D D A D"
		expected["records."+k+".read"] = "A A A A D D A D"
	}
	// The care team: the patient and proxies for themselves, clinicians and staff in
	// the patient's clinic, integrations.
	for _, a := range []string{"messaging.thread.create", "messaging.thread.list", "messaging.thread.read",
		"messaging.thread.close", "messaging.message.list", "messaging.message.send", "messaging.message.read",
		"messaging.message.mark_read", "messaging.attachment.read", "messaging.request.list",
		"messaging.fhir.communication.search", "messaging.fhir.communication.read",
		"messaging.fhir.communication_request.search", "messaging.fhir.communication_request.read",
		"education.provisions.list", "education.provision.read", "education.fhir.communication.search",
		"education.fhir.communication.read"} {
		expected[a] = "D D D S S S A S"
	}
}

// row is the expected row of an action.
func row(action string) string {
	if r, ok := expected[action]; ok {
		return r
	}
	if strings.HasPrefix(action, "records.") {
		return recordsDefault
	}
	return ""
}

// dir is the fake world the matrix runs in: clinic north holds patient p-own and
// entity tin:111111111; south holds p-other and tin:222222222.
type dir struct{}

func (dir) PatientClinic(_ context.Context, id string) (string, error) {
	switch id {
	case "p-own":
		return "north", nil
	case "p-other":
		return "south", nil
	}
	return "", errs.E(errs.NotFound, "no such patient")
}

func (dir) EntityClinics(_ context.Context, entity string) ([]string, error) {
	switch entity {
	case "tin:111111111":
		return []string{"north"}, nil
	case "tin:222222222":
		return []string{"south"}, nil
	}
	return nil, nil
}

func (dir) Granted(_ context.Context, p principal.Principal) (bool, error) {
	return p.ID == "au-granted", nil
}

const ownNPI, otherNPI = "1234567893", "1245319599"

// caller is the principal of kind k for a variant: in scope ("own") or not ("other").
func caller(k principal.Kind, own bool) principal.Principal {
	p := principal.Principal{Kind: k, ID: "u-" + string(k)}
	switch k {
	case principal.ClinicAdmin, principal.Staff:
		p.Clinics = []string{"north"}
	case principal.Clinician:
		p.ID, p.Clinics = ownNPI, []string{"north"}
	case principal.Patient:
		p.ID = "p-own"
	case principal.Proxy:
		p.For = "p-own"
	case principal.Auditor:
		p.ID = "au-plain"
		if own {
			p.ID = "au-granted"
		}
	}
	return p
}

// target is the patient or entity a variant's request names.
func target(r policy.Rule, p principal.Principal, own bool) string {
	switch {
	case r.Target.Kind == policy.Patient && own:
		return "p-own"
	case r.Target.Kind == policy.Patient:
		return "p-other"
	case r.Target.Kind == policy.Entity && p.Kind == principal.Clinician && own:
		return "npi:" + ownNPI
	case r.Target.Kind == policy.Entity && p.Kind == principal.Clinician:
		return "npi:" + otherNPI
	case r.Target.Kind == policy.ClinicID && own:
		return "north"
	case r.Target.Kind == policy.ClinicID:
		return "south"
	case own:
		return "tin:111111111"
	}
	return "tin:222222222"
}

var wildcard = regexp.MustCompile(`\{([a-z_]+)(\.\.\.)?\}`)

// request builds a request for r's pattern with t as its target.
func request(r policy.Rule, t string) (method, path string) {
	method, path, _ = strings.Cut(r.Pattern, " ")
	path = strings.TrimSuffix(path, "{$}")
	path = wildcard.ReplaceAllStringFunc(path, func(w string) string {
		if name := wildcard.FindStringSubmatch(w)[1]; name == r.Target.Param {
			return url.PathEscape(t)
		}
		return "x1"
	})
	if r.Target.Kind != policy.None && !strings.Contains(r.Pattern, "{"+r.Target.Param+"}") {
		path += "?" + url.Values{r.Target.Param: {t}}.Encode()
	}
	return method, path
}

// TestMatrix checks every rule × principal kind × (own scope, other scope, no
// session) against the hand-written matrix.
func TestMatrix(t *testing.T) {
	table, err := policy.New(policy.Rules(), dir{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	cases := 0
	for _, rule := range table.Rules() {
		cells := strings.Fields(row(rule.Action))
		if len(cells) == 1 && cells[0] == "P" {
			cells = slicesRepeat("P", len(kinds))
		}
		if len(cells) != len(kinds) {
			t.Errorf("%s (%s %s): no row in the expected matrix", rule.Action, rule.Service, rule.Pattern)
			continue
		}
		if seen[rule.Action] {
			t.Errorf("%s: two rules share the action", rule.Action)
		}
		seen[rule.Action] = true
		for i, k := range kinds {
			for _, variant := range []string{"own", "other", "none"} {
				own := variant == "own"
				p := caller(k, own)
				method, path := request(rule, target(rule, p, own))
				req := httptest.NewRequest(method, path, nil)
				var pp *principal.Principal
				if variant != "none" {
					pp = &p
				}
				_, err := table.Decide(context.Background(), pp, rule.Service, req)
				want := outcome(cells[i], variant, rule.Target.Kind)
				if got := errs.KindOf(err); err == nil && want != allowed || err != nil && got != want {
					t.Errorf("%s as %s (%s scope) %s %s: got %v, want %s", rule.Action, k, variant, method, path, err, name(want))
				}
				cases++
			}
		}
	}
	for action := range expected {
		if !seen[action] {
			t.Errorf("%s: in the expected matrix but not in the table", action)
		}
	}
	t.Logf("%d generated cases", cases)
}

// allowed stands for "no error" in outcome's answers.
const allowed = errs.Kind(-1)

func outcome(cell, variant string, tk policy.TargetKind) errs.Kind {
	switch {
	case cell == "P":
		return allowed
	case variant == "none":
		return errs.Unauthenticated
	case cell == "A":
		return allowed
	case cell == "D":
		return errs.Forbidden
	case cell == "S" && tk == policy.None:
		return allowed
	case variant == "own":
		return allowed
	}
	return errs.Forbidden
}

// name prints an expected outcome.
func name(k errs.Kind) string {
	if k == allowed {
		return "allowed"
	}
	return k.String()
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestDecideEdges(t *testing.T) {
	table, err := policy.New(policy.Rules(), dir{})
	if err != nil {
		t.Fatal(err)
	}
	officer := caller(principal.Officer, true)
	clinician := caller(principal.Clinician, true)
	for _, tc := range []struct {
		name, service, method, path string
		p                           *principal.Principal
		want                        errs.Kind
	}{
		{"unknown route", "records", "GET", "/v1/secrets", &officer, errs.NotFound},
		{"unknown method", "records", "PATCH", "/v1/patients/p-own", &officer, errs.NotFound},
		{"unknown service", "billing", "GET", "/v1/x", &officer, errs.NotFound},
		{"scoped rule without its target", "reporting", "GET", "/v1/patients-seen", &clinician, errs.Invalid},
		{"unknown patient", "metrics", "GET", "/v1/patients/p-nobody/facts", &clinician, errs.Forbidden},
		{"clinician's tin/npi", "reporting", "GET", "/v1/patients-seen?entity=tin_npi:111111111/" + ownNPI, &clinician, allowed},
		{"path outside the pattern", "records", "GET", "/v1/patients/a/b", &officer, errs.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := table.Decide(context.Background(), tc.p, tc.service, httptest.NewRequest(tc.method, tc.path, nil))
			if got := errs.KindOf(err); err == nil && tc.want != allowed || err != nil && got != tc.want {
				t.Errorf("got %v, want %s", err, name(tc.want))
			}
		})
	}
}

func TestNewRefusesConflicts(t *testing.T) {
	_, err := policy.New([]policy.Rule{
		{Service: "x", Pattern: "GET /a/{id}", Action: "a"},
		{Service: "x", Pattern: "GET /a/{name}", Action: "b"},
	}, dir{})
	if err == nil {
		t.Fatal("conflicting patterns accepted")
	}
}

// TestKPIReadIsOrganizationWide: the console lets identical KPI reads in flight at
// once share one answer among callers of the same kind (console's api.kpis), which is
// right only while the rule's scope for every kind it admits is the organization, so
// that the decision depends on the kind alone. A narrower scope must change that.
func TestKPIReadIsOrganizationWide(t *testing.T) {
	for _, r := range policy.Rules() {
		if r.Action != "metrics.kpis.read" {
			continue
		}
		for kind, scope := range r.Roles {
			if scope != policy.Org {
				t.Errorf("metrics.kpis.read is %v for %s: console's shared KPI reads would cross scopes", scope, kind)
			}
		}
		return
	}
	t.Fatal("no metrics.kpis.read rule")
}
