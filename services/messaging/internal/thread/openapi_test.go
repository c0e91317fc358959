package thread_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/messaging/internal/thread"
)

// apiRouter finds the OpenAPI operation of a request; built once from thread.OpenAPI
// with the server prefix removed, since tests call the service's own paths.
var apiRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(thread.OpenAPI)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	doc.Servers = nil
	return gorillamux.NewRouter(doc)
})

// checkResponse fails the test when an answer is not what the OpenAPI document says
// the operation answers with that status. Every request the tests make goes through
// it, so the document is checked against everything the tests exercise.
func checkResponse(t *testing.T, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	router, err := apiRouter()
	if err != nil {
		t.Fatalf("the OpenAPI document: %v", err)
	}
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
		t.Errorf("%s %s answered %d, which the OpenAPI document does not describe: %v\nbody: %.500s",
			req.Method, req.URL.Path, rec.Code, err, rec.Body.String())
	}
}

// TestOpenAPIDocument: the document is valid OpenAPI 3, served as is, and lists
// exactly the routes the service registers.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(thread.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("invalid OpenAPI 3: %v", err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	registered := append(thread.Patterns(), "GET /v1/patients/{id}", "GET /fhir/Communication", "GET /fhir/Communication/{id}",
		"GET /fhir/CommunicationRequest", "GET /fhir/CommunicationRequest/{id}")
	slices.Sort(documented)
	slices.Sort(registered)
	if !slices.Equal(documented, registered) {
		t.Errorf("documented routes:\n%s\nregistered routes:\n%s", strings.Join(documented, "\n"), strings.Join(registered, "\n"))
	}

	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		r := e.must(nobody, "GET", "/v1/openapi.json", nil, http.StatusOK)
		if !bytes.Equal(r.body, thread.OpenAPI) || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("GET /v1/openapi.json = %.100s (%s)", r.body, r.header.Get("Content-Type"))
		}
	})
}
