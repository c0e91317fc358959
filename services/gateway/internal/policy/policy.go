// Package policy is the one table that decides every request the gateway serves —
// console pages, the gateway's own API and every /<service>/… API route — by
// service, method and route pattern, and for each principal kind how far its
// permission reaches (the organization, its clinics, itself, or only under a
// time-boxed grant). What the table does not name is denied.
//
// Patterns are the services' own ServeMux patterns, matched by a ServeMux built from
// the table, so the gateway and the service agree on which route a request is.
package policy

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
)

// Scope is how far a principal kind's permission on a rule reaches.
type Scope int

// The scopes. Deny is the zero value: a kind a rule does not name is denied.
const (
	Deny    Scope = iota
	Org           // the whole organization
	Clinic        // targets in the principal's clinics; a clinician's own NPI too
	Self          // the principal's own record (a proxy: the patient they act for)
	Granted       // an auditor, only while a compliance officer's PHI grant is active
)

func (s Scope) String() string {
	return [...]string{"deny", "organization", "clinic", "self", "granted"}[s]
}

// TargetKind says what a request's target is.
type TargetKind int

// The target kinds.
const (
	None     TargetKind = iota // the route names nothing scoped; the service filters by principal
	Patient                    // an opaque patient ID
	Entity                     // a reporting entity: npi:…, tin:…, tin_npi:…/…, ccn:…
	ClinicID                   // a clinic (care-team pool) ID
)

// Target says where a request names what it touches: Param is a path wildcard of the
// pattern when the pattern has {Param}, else a query parameter.
type Target struct {
	Kind  TargetKind
	Param string
}

// Rule is one row of the table.
type Rule struct {
	Service string // "console", "gateway", or a routed service ("records", …)
	Pattern string // the ServeMux pattern, relative to the service's mount point
	Action  string // the action's name, as audited and as the matrix test knows it
	Target  Target
	PHI     bool                     // the route reads or writes PHI: every call is audited
	Export  bool                     // the route exports data: every call is audited
	Public  bool                     // needs no session (sign-in, health)
	Roles   map[principal.Kind]Scope // who may, and how far; absent kinds are denied
}

// Directory answers the questions scope checks need, from the gateway's own data.
type Directory interface {
	// PatientClinic returns the clinic (organization) a patient belongs to; an
	// unknown patient is errs.NotFound.
	PatientClinic(ctx context.Context, patientID string) (string, error)
	// EntityClinics returns the clinics a reporting entity reports for.
	EntityClinics(ctx context.Context, entity string) ([]string, error)
	// Granted reports whether p holds an active PHI grant.
	Granted(ctx context.Context, p principal.Principal) (bool, error)
}

// Table is the policy table with a matcher per service.
type Table struct {
	rules []Rule
	muxes map[string]*http.ServeMux
	dir   Directory
}

// New builds the table; conflicting or malformed patterns are errors.
func New(rules []Rule, dir Directory) (t *Table, err error) {
	t = &Table{rules: rules, muxes: map[string]*http.ServeMux{}, dir: dir}
	defer func() {
		// ServeMux.Handle panics on a malformed or conflicting pattern; for a table
		// built at start that is a configuration error, reported as one.
		if p := recover(); p != nil {
			t, err = nil, fmt.Errorf("policy: %v", p)
		}
	}()
	for i := range rules {
		r := &rules[i]
		mux, ok := t.muxes[r.Service]
		if !ok {
			mux = http.NewServeMux()
			t.muxes[r.Service] = mux
		}
		mux.Handle(r.Pattern, matcher{r})
	}
	return t, nil
}

// Rules returns the table's rules.
func (t *Table) Rules() []Rule { return t.rules }

// Services returns the services the table names.
func (t *Table) Services() []string {
	var s []string
	for name := range t.muxes {
		s = append(s, name)
	}
	slices.Sort(s)
	return s
}

// Match is a request matched to its rule, with its target read from the request.
type Match struct {
	Rule   *Rule
	Target string // the patient ID or entity the request names, "" when none
}

type matchKey struct{}

// matcher is the handler registered for a rule: "serving" a request through the
// table's mux records the rule and reads the path wildcards the mux has set.
type matcher struct{ rule *Rule }

func (m matcher) ServeHTTP(_ http.ResponseWriter, r *http.Request) {
	out := r.Context().Value(matchKey{}).(*Match)
	out.Rule = m.rule
	if p := m.rule.Target.Param; p != "" {
		if strings.Contains(m.rule.Pattern, "{"+p+"}") || strings.Contains(m.rule.Pattern, "{"+p+"...}") {
			out.Target = r.PathValue(p)
		} else {
			out.Target = r.URL.Query().Get(p)
		}
	}
}

// discard is a ResponseWriter for matching: a mux answers an unmatched request with
// 404 or 405, which nobody reads.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (*discard) Write(b []byte) (int, error) { return len(b), nil }
func (*discard) WriteHeader(int)             {}

// Match finds the rule for a request to service (its path relative to the service's
// mount point); ok is false when the table has none.
func (t *Table) Match(service string, r *http.Request) (Match, bool) {
	mux, found := t.muxes[service]
	if !found {
		return Match{}, false
	}
	var m Match
	mux.ServeHTTP(&discard{}, r.WithContext(context.WithValue(r.Context(), matchKey{}, &m)))
	return m, m.Rule != nil
}

// Decide matches a request to service and decides it for p (nil: no session). It
// returns the match, and an error whose kind is the answer: NotFound for a route the
// table does not name, Unauthenticated without a session, Forbidden for a kind or
// target outside the rule, Invalid when a scoped rule's target is missing.
func (t *Table) Decide(ctx context.Context, p *principal.Principal, service string, r *http.Request) (Match, error) {
	m, ok := t.Match(service, r)
	if !ok {
		return Match{}, errs.E(errs.NotFound, "no such route")
	}
	if m.Rule.Public {
		return m, nil
	}
	if p == nil {
		return m, errs.E(errs.Unauthenticated, "sign-in required")
	}
	scope := m.Rule.Roles[p.Kind]
	if scope == Deny {
		return m, errs.E(errs.Forbidden, "a %s may not %s", p.Kind, m.Rule.Action)
	}
	return m, t.inScope(ctx, *p, scope, m)
}

func (t *Table) inScope(ctx context.Context, p principal.Principal, scope Scope, m Match) error {
	outside := errs.E(errs.Forbidden, "%s: outside your scope", m.Rule.Action)
	if m.Rule.Target.Kind != None && m.Target == "" && (scope == Self || scope == Clinic) {
		return errs.Field(errs.Invalid, m.Rule.Target.Param, "required")
	}
	switch scope {
	case Org:
		return nil
	case Granted:
		ok, err := t.dir.Granted(ctx, p)
		if err != nil {
			return fmt.Errorf("policy: check grant: %w", err)
		}
		if !ok {
			return errs.E(errs.Forbidden, "%s: needs an active PHI grant from a compliance officer", m.Rule.Action)
		}
		return nil
	case Self:
		if m.Rule.Target.Kind == None {
			return nil
		}
		if m.Rule.Target.Kind == Patient && (p.Kind == principal.Patient && m.Target == p.ID ||
			p.Kind == principal.Proxy && m.Target == p.For) {
			return nil
		}
		return outside
	case Clinic:
		clinics, err := t.targetClinics(ctx, p, m)
		if err != nil {
			return err
		}
		if clinics == nil || slices.ContainsFunc(clinics, func(c string) bool { return slices.Contains(p.Clinics, c) }) {
			return nil
		}
		return outside
	}
	return outside
}

// targetClinics returns the clinics the target belongs to; nil with no error means
// the target is the caller's own (no target, or a clinician's own NPI).
func (t *Table) targetClinics(ctx context.Context, p principal.Principal, m Match) ([]string, error) {
	switch m.Rule.Target.Kind {
	case ClinicID:
		return []string{m.Target}, nil
	case Patient:
		c, err := t.dir.PatientClinic(ctx, m.Target)
		if errs.Is(errs.NotFound, err) {
			return []string{}, nil // an unknown patient is in no one's clinic
		}
		if err != nil {
			return nil, fmt.Errorf("policy: patient's clinic: %w", err)
		}
		return []string{c}, nil
	case Entity:
		if p.Kind == principal.Clinician && (m.Target == "npi:"+p.ID ||
			strings.HasPrefix(m.Target, "tin_npi:") && strings.HasSuffix(m.Target, "/"+p.ID)) {
			return nil, nil
		}
		cs, err := t.dir.EntityClinics(ctx, m.Target)
		if err != nil {
			return nil, fmt.Errorf("policy: entity's clinics: %w", err)
		}
		if cs == nil {
			cs = []string{}
		}
		return cs, nil
	}
	return nil, nil
}
