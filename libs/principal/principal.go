// Package principal carries who is calling from the gateway to the services. The
// gateway signs people in, enforces roles, and forwards each request with the
// caller's Principal in the X-Attest-Principal header; services read it to decide
// what the caller may see (a patient their own thread, a proxy within their grant).
//
// Trust boundary: services accept the header only from the gateway. The gateway
// always removes any X-Attest-Principal a client sent before setting its own, and in
// production the services are reachable only from the gateway's network.
package principal

import (
	"context"
	"net/http"
	"strings"

	"github.com/attest-ehr/attest/libs/errs"
)

// Header is the HTTP header carrying the principal.
const Header = "X-Attest-Principal"

// Kind is what sort of caller a principal is.
type Kind string

// The kinds of principal.
const (
	Patient     Kind = "patient"      // a patient, ID = opaque patient ID
	Proxy       Kind = "proxy"        // an authorized representative, ID = their user ID; For = the patient
	Clinician   Kind = "clinician"    // ID = NPI
	Staff       Kind = "staff"        // clinic staff, ID = user ID
	Officer     Kind = "officer"      // compliance officer
	ClinicAdmin Kind = "clinic_admin" // clinic administrator
	Auditor     Kind = "auditor"      // read-only auditor
	Service     Kind = "service"      // a service account (system integration)
)

var kinds = map[Kind]bool{Patient: true, Proxy: true, Clinician: true, Staff: true, Officer: true,
	ClinicAdmin: true, Auditor: true, Service: true}

// Principal is an authenticated caller.
type Principal struct {
	Kind    Kind
	ID      string
	For     string   // Proxy: the patient they act for
	Clinics []string // the clinics (care-team pools) the caller belongs to or administers
}

// String renders the header value: "kind:id", then ";for=<patient>" and
// ";clinics=<a>,<b>" when set.
func (p Principal) String() string {
	s := string(p.Kind) + ":" + p.ID
	if p.For != "" {
		s += ";for=" + p.For
	}
	if len(p.Clinics) > 0 {
		s += ";clinics=" + strings.Join(p.Clinics, ",")
	}
	return s
}

// Parse reads a header value written by String.
func Parse(s string) (Principal, error) {
	parts := strings.Split(s, ";")
	kind, id, ok := strings.Cut(parts[0], ":")
	if !ok || !kinds[Kind(kind)] || !validToken(id) {
		return Principal{}, errs.Field(errs.Unauthenticated, Header, "want kind:id with a known kind")
	}
	p := Principal{Kind: Kind(kind), ID: id}
	for _, part := range parts[1:] {
		key, val, _ := strings.Cut(part, "=")
		switch key {
		case "for":
			if !validToken(val) {
				return Principal{}, errs.Field(errs.Unauthenticated, Header, "bad for=")
			}
			p.For = val
		case "clinics":
			for _, c := range strings.Split(val, ",") {
				if !validToken(c) {
					return Principal{}, errs.Field(errs.Unauthenticated, Header, "bad clinics=")
				}
				p.Clinics = append(p.Clinics, c)
			}
		default:
			return Principal{}, errs.Field(errs.Unauthenticated, Header, "unknown attribute")
		}
	}
	if p.Kind == Proxy && p.For == "" {
		return Principal{}, errs.Field(errs.Unauthenticated, Header, "a proxy must name the patient it acts for")
	}
	return p, nil
}

func validToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._/", c)) {
			return false
		}
	}
	return true
}

type ctxKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal in ctx, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Require returns the principal in ctx or an Unauthenticated error.
func Require(ctx context.Context) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return Principal{}, errs.E(errs.Unauthenticated, "sign-in required")
	}
	return p, nil
}

// FromRequest parses the request's principal header; ok is false when there is none.
func FromRequest(r *http.Request) (p Principal, ok bool, err error) {
	v := r.Header.Get(Header)
	if v == "" {
		return Principal{}, false, nil
	}
	p, err = Parse(v)
	return p, err == nil, err
}
