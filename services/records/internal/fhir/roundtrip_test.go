package fhir_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/fhir"
)

var schema = func() *fhir.Schema {
	s, err := fhir.NewSchema()
	if err != nil {
		panic(err)
	}
	return s
}()

// validR4 checks a resource the API produced against the R4 JSON Schema.
func validR4(t *testing.T, typ, raw string) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(raw)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if is := schema.Validate(typ, typ, v); len(is) > 0 {
		t.Errorf("%s produced is not valid R4: %v", typ, is)
	}
}

// TestRoundTrip stores every mapped kind through the FHIR API and reads it back: the
// answer to the write and the read are the resource sent, server fields (id, meta)
// aside; each write publishes exactly one event, a repeat publishes none.
func TestRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		kinds := map[string]bool{}
		for _, f := range append(append([]struct{ typ, id, body string }{}, directory...), facts...) {
			before := len(e.events())
			r := e.put(f.typ, f.id, f.body)
			jsonEqual(t, "PUT "+f.typ+"/"+f.id, f.body, []byte(r.raw))
			if got := e.events()[before:]; len(got) != 1 {
				t.Errorf("PUT %s/%s published %v, want one event", f.typ, f.id, got)
			} else {
				kinds[got[0]] = true
			}
			if r.header.Get("ETag") != `W/"1"` || r.header.Get("Location") != "/fhir/"+f.typ+"/"+f.id+"/_history/1" {
				t.Errorf("PUT %s/%s: ETag %q Location %q", f.typ, f.id, r.header.Get("ETag"), r.header.Get("Location"))
			}
			g := e.do(http.MethodGet, "/fhir/"+f.typ+"/"+f.id, "")
			if g.code != http.StatusOK {
				t.Fatalf("GET %s/%s: %d %s", f.typ, f.id, g.code, g.raw)
			}
			jsonEqual(t, "GET "+f.typ+"/"+f.id, f.body, []byte(g.raw))
			validR4(t, f.typ, g.raw)
			// The same content again is an update that changes nothing: no event.
			before = len(e.events())
			if again := e.do(http.MethodPut, "/fhir/"+f.typ+"/"+f.id, f.body); again.code != http.StatusOK {
				t.Errorf("PUT %s/%s again: %d %s", f.typ, f.id, again.code, again.raw)
			}
			if n := len(e.events()) - before; n != 0 {
				t.Errorf("PUT %s/%s again published %d events", f.typ, f.id, n)
			}
		}
		if len(kinds) != 27 { // every kind but registry engagements and attestations (docs/fhir.md)
			t.Errorf("only %d event types were published: %v", len(kinds), kinds)
		}
	})
}
