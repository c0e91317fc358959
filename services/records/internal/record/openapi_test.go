package record_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/record"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// openAPI loads and validates the document h serves.
func openAPI(t *testing.T, h http.Handler) *openapi3.T {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	return doc
}

// newRouter is the kin-openapi router of the document h serves.
func newRouter(t *testing.T, h http.Handler) routers.Router {
	t.Helper()
	router, err := gorillamux.NewRouter(openAPI(t, h))
	if err != nil {
		t.Fatalf("route the OpenAPI document: %v", err)
	}
	return router
}

// checkResponse fails the test when an answer is not what the OpenAPI document says
// the operation answers with that status. Every request the record tests make goes
// through it, so the document is checked against every answer they see.
func checkResponse(t *testing.T, router routers.Router, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	route, params, err := router.FindRoute(req)
	if err != nil {
		return // not an API route: the mux answered 404 or 405 itself
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s answered %d, which the OpenAPI document does not describe: %v\nbody: %.300s",
			req.Method, req.URL.Path, rec.Code, err, rec.Body.String())
	}
}

// pathParam is a {parameter} of a path.
var pathParam = regexp.MustCompile(`\{[a-z_]+\}`)

// TestOpenAPICoversRoutes: the served document is valid OpenAPI 3.0; every route
// registered has a description and is in the document; every operation of the
// document is a route the mux serves, under the same pattern.
func TestOpenAPICoversRoutes(t *testing.T) {
	db := storetest.Open(t, store.SQLite, storetest.Service)
	svc := record.NewService(db, func() {}, record.Config{})
	mux := http.NewServeMux()
	m := resource.NewMux(mux, slog.New(slog.DiscardHandler))
	svc.Routes(m)
	if err := m.ServeOpenAPI("records", "test"); err != nil {
		t.Fatal(err)
	}
	doc := openAPI(t, mux)

	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			pattern := method + " " + path
			documented[pattern] = true
			r := httptest.NewRequest(method, pathParam.ReplaceAllString(path, "x1"), nil)
			if _, served := mux.Handler(r); served != pattern {
				t.Errorf("the document has %s, the mux serves that request as %q", pattern, served)
			}
		}
	}
	routes := m.Routes()
	for _, r := range routes {
		if r.Op == nil {
			t.Errorf("route %s is registered without a description", r.Pattern)
		}
		if !documented[r.Pattern] {
			t.Errorf("route %s is not in the document", r.Pattern)
		}
	}
	if len(documented) != len(routes) {
		t.Errorf("%d operations documented, %d routes registered", len(documented), len(routes))
	}
	// Sanity: a generated route, an action, a flow's route and the document itself.
	for _, want := range []string{"GET /v1/allergies", "POST /v1/transitions/{id}/summarize", "POST /v1/orders",
		"GET /v1/openapi.json"} {
		if !documented[want] {
			t.Errorf("%s is not in the document", want)
		}
	}
}

// TestOpenAPIRefusesUndocumented: a route registered without a description makes the
// document fail rather than silently leave it out.
func TestOpenAPIRefusesUndocumented(t *testing.T) {
	m := resource.NewMux(http.NewServeMux(), slog.New(slog.DiscardHandler))
	m.Handle("GET /v1/secret", http.NotFoundHandler())
	err := m.ServeOpenAPI("records", "test")
	if err == nil || !strings.Contains(err.Error(), "GET /v1/secret") {
		t.Errorf("ServeOpenAPI = %v, want an error naming the route", err)
	}
}

// TestOpenAPISchemas: the schemas are reflected from the Go types — json names, the
// required fields, the error body and the Idempotency-Key header of writes.
func TestOpenAPISchemas(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db, record.Config{})
		doc := openAPI(t, a.h)
		allergy := doc.Components.Schemas["Allergy"]
		if allergy == nil {
			t.Fatal("no Allergy schema")
		}
		for _, f := range []string{"id", "version", "patient_id", "code", "category", "recorded", "reaction"} {
			if allergy.Value.Properties[f] == nil {
				t.Errorf("Allergy has no property %q", f)
			}
		}
		req := allergy.Value.Required
		if !slices.Contains(req, "patient_id") || slices.Contains(req, "reaction") || slices.Contains(req, "id") {
			t.Errorf("Allergy required = %v", allergy.Value.Required)
		}
		if doc.Components.Schemas["ErrorBody"] == nil {
			t.Error("no ErrorBody schema")
		}
		post := doc.Paths.Find("/v1/allergies").Post
		if !hasParam(post, "Idempotency-Key") {
			t.Error("POST /v1/allergies does not take Idempotency-Key")
		}
		if hasParam(doc.Paths.Find("/v1/allergies/{id}").Get, "Idempotency-Key") {
			t.Error("GET takes Idempotency-Key")
		}
		list := doc.Paths.Find("/v1/allergies").Get
		for _, q := range []string{"patient_id", "after", "limit", "from", "to"} {
			if !hasParam(list, q) {
				t.Errorf("GET /v1/allergies has no %s parameter", q)
			}
		}
		if hasParam(doc.Paths.Find("/v1/organizations").Get, "from") {
			t.Error("organizations, without a clinical time, take from")
		}
		body, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(body, []byte(canary)) {
			t.Error("the document holds test data")
		}
	})
}

func hasParam(op *openapi3.Operation, name string) bool {
	if op == nil {
		return false
	}
	for _, p := range op.Parameters {
		if p.Value != nil && p.Value.Name == name {
			return true
		}
	}
	return false
}
