// Package api is the education service's HTTP edge: the JSON API under /v1 (catalog
// administration and import, matching, suggestions, provisions, the MedlinePlus
// Connect lookup), its OpenAPI 3 document at /v1/openapi.json, and provided materials
// as read-only FHIR R4 Communication resources under /fhir.
//
// Who is calling comes from the X-Attest-Principal header (package principal), set by
// the gateway. Catalog reads are open; catalog writes are for clinic administrators
// and service accounts; a patient's data is for the care team (clinicians, staff,
// officers, administrators, auditors, service accounts) and for the patient or their
// representative, who alone can open a provided material.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/patientdir"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
	"github.com/attest-ehr/attest/services/education/internal/match"
	"github.com/attest-ehr/attest/services/education/internal/medlineplus"
	"github.com/attest-ehr/attest/services/education/internal/provision"
)

// ImportLimit is the largest import body accepted: 20,000 materials of a few hundred
// bytes each, with room for stored content.
const ImportLimit = 32 << 20

//go:embed openapi.json
var openAPI []byte

// API is what the routes need.
type API struct {
	Catalog     *catalog.Catalog
	Matcher     *match.Matcher
	Provisions  *provision.Service
	Directory   *patientdir.Directory
	MedlinePlus *medlineplus.Client // nil when the connector is off
	Log         *slog.Logger
}

// Routes registers the API on mux, each route with its body limit.
func (a *API) Routes(mux *http.ServeMux) {
	handle := func(pattern string, fn func(ctx context.Context, r *http.Request) (any, error)) {
		a.handle(mux, pattern, httpapi.DefaultBodyLimit, fn)
	}
	mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(openAPI)
	})
	handle("GET /v1/materials", a.listMaterials)
	handle("POST /v1/materials", a.addMaterial)
	handle("GET /v1/materials/{id}", a.getMaterial)
	handle("PUT /v1/materials/{id}", a.updateMaterial)
	handle("POST /v1/materials/{id}/retire", a.retireMaterial)
	handle("GET /v1/materials/{id}/versions/{version}", a.materialVersion)
	a.handle(mux, "POST /v1/materials/import", ImportLimit, a.importMaterials)

	a.Directory.Routes(mux, a.Log) // GET /v1/patients/{id}
	handle("PUT /v1/patients/{id}/preferences", a.setPreferences)
	handle("GET /v1/patients/{id}/chart", a.chart)
	handle("GET /v1/patients/{id}/matches", a.matches)
	handle("GET /v1/patients/{id}/suggestions", a.suggestions)
	handle("GET /v1/patients/{id}/provisions", a.patientProvisions)
	handle("POST /v1/provisions", a.provide)
	handle("GET /v1/provisions/{id}", a.getProvision)
	handle("POST /v1/provisions/{id}/open", a.open)
	handle("GET /v1/medlineplus", a.medlinePlus)

	handle("GET /fhir/Communication", a.fhirSearch)
	handle("GET /fhir/Communication/{id}", a.fhirRead)
}

// handle registers one route as a go-kit server: the principal, if any, is put in the
// context first, and every error is answered by httpapi's one mapping.
func (a *API) handle(mux *http.ServeMux, pattern string, limit int64,
	fn func(ctx context.Context, r *http.Request) (any, error)) {
	srv := httpapi.NewServer(
		// The decoder's request carries the principal in its context.
		func(_ context.Context, req any) (any, error) { r := req.(*http.Request); return fn(r.Context(), r) },
		func(_ context.Context, r *http.Request) (any, error) {
			p, ok, err := principal.FromRequest(r)
			if err != nil {
				return nil, err
			}
			if ok {
				r = r.WithContext(principal.NewContext(r.Context(), p))
			}
			return r, nil
		}, a.Log)
	mux.Handle(pattern, httpapi.LimitBody(limit, srv))
}

// response is an answer with a status other than 200, or a content type of its own.
type response struct {
	status int
	body   any
}

// StatusCode is the HTTP status to answer with.
func (r response) StatusCode() int { return r.status }

// MarshalJSON encodes the body alone.
func (r response) MarshalJSON() ([]byte, error) { return json.Marshal(r.body) }

func createdOr(created bool, body any) response {
	if created {
		return response{http.StatusCreated, body}
	}
	return response{http.StatusOK, body}
}

// Roles.
var (
	careTeam = []principal.Kind{principal.Clinician, principal.Staff, principal.Service, principal.ClinicAdmin,
		principal.Officer, principal.Auditor}
	catalogAdmins = []principal.Kind{principal.ClinicAdmin, principal.Service}
)

// require returns the caller when their kind is one of kinds.
func require(ctx context.Context, kinds ...principal.Kind) (principal.Principal, error) {
	p, err := principal.Require(ctx)
	if err != nil {
		return principal.Principal{}, err
	}
	if !slices.Contains(kinds, p.Kind) {
		return principal.Principal{}, errs.E(errs.Forbidden, "not allowed for a %s", p.Kind)
	}
	return p, nil
}

// requirePatientAccess returns the caller when they are the care team, or the patient
// or their representative.
func requirePatientAccess(ctx context.Context, patientID string) (principal.Principal, error) {
	p, err := principal.Require(ctx)
	if err != nil {
		return principal.Principal{}, err
	}
	if slices.Contains(careTeam, p.Kind) || provision.Owns(p, patientID) {
		return p, nil
	}
	return principal.Principal{}, errs.E(errs.NotFound, "no such patient")
}

func pathID(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if err := catalog.CheckID(name, id); err != nil {
		return "", err
	}
	return id, nil
}

// codeParam reads a code given as system and code query parameters, or nil when
// neither is given.
func codeParam(r *http.Request) (*contract.Code, error) {
	sys, code := r.URL.Query().Get("system"), r.URL.Query().Get("code")
	if sys == "" && code == "" {
		return nil, nil
	}
	c, err := catalog.NormalizeCode("code", contract.Code{System: sys, Code: code})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func languageParam(r *http.Request) (string, error) {
	l := strings.ToLower(r.URL.Query().Get("language"))
	if l != "" && !catalog.ValidLanguage(l) {
		return "", errs.Field(errs.Invalid, "language", "an ISO 639-1 code of two lower-case letters, e.g. en or es")
	}
	return l, nil
}

func intParam(r *http.Request, name string, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, errs.Field(errs.Invalid, name, "a whole number from %d to %d", lo, hi)
	}
	return n, nil
}
