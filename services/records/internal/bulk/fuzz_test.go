package bulk_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// FuzzBundle posts arbitrary bodies to POST /fhir (the FHIR codec's Bundle decoding
// and its transaction or batch processing) on a SQLite record: the answer is never a
// server error, and always JSON: a Bundle of outcomes or an OperationOutcome.
func FuzzBundle(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpus, "bundle-*.json"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/x"}}]}`))
	e := scratch(f)
	e.codec.Warm(f.Context()) // see decoders: compiled on a first input, the schema takes too long
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/fhir", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/fhir+json")
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r) // not e.do: its helpers report through the F
		if rec.Code >= 500 {
			t.Fatalf("POST /fhir %q: %d %s", body, rec.Code, rec.Body)
		}
		var v struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || (v.ResourceType != "Bundle" && v.ResourceType != "OperationOutcome") {
			t.Fatalf("POST /fhir %q: %d %s: neither a Bundle nor an OperationOutcome", body, rec.Code, rec.Body)
		}
	})
}
