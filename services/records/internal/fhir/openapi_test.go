package fhir_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
)

// TestOpenAPIDocumentsFHIR: the service's OpenAPI document is valid and describes the
// FHIR routes, with FHIR's media type.
func TestOpenAPIDocumentsFHIR(t *testing.T) {
	db := storetest.Open(t, store.SQLite, storetest.Service)
	e := newEnv(t, db)
	r := e.h
	req, _ := http.NewRequest(http.MethodGet, "/v1/openapi.json", nil)
	rec := newRecorder()
	r.ServeHTTP(rec, req)
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for path, methods := range map[string][]string{
		"/fhir": {"POST"}, "/fhir/metadata": {"GET"}, "/fhir/{type}": {"GET", "POST"},
		"/fhir/{type}/{id}": {"GET", "PUT", "DELETE"},
	} {
		item := doc.Paths.Find(path)
		if item == nil {
			t.Errorf("%s is not in the document", path)
			continue
		}
		for _, m := range methods {
			op := item.GetOperation(m)
			if op == nil {
				t.Errorf("%s %s is not in the document", m, path)
				continue
			}
			for status, resp := range op.Responses.Map() {
				if resp.Value != nil && resp.Value.Content != nil && resp.Value.Content.Get("application/fhir+json") == nil {
					t.Errorf("%s %s answers %s in another media type", m, path, status)
				}
			}
		}
	}
}
