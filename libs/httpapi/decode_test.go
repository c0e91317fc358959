package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/phi"
)

// canary stands for PHI in inputs; no error may repeat it.
const canary = "ZZCANARY-d41d"

type humanName struct {
	Given  []phi.Name `json:"given"`
	Family phi.Name   `json:"family"`
}

type Org struct {
	Org string `json:"org"`
}

type patientRequest struct {
	Org                       // promoted: "org"
	ID     string             `json:"id"`
	Names  []humanName        `json:"names"`
	Birth  phi.Date           `json:"birth_date"`
	Age    int8               `json:"age"`
	Visits uint16             `json:"visits"`
	Active bool               `json:"active"`
	Seen   time.Time          `json:"seen"`
	Tags   map[string]string  `json:"tags"`
	Extra  any                `json:"extra"`
	Count  int                `json:"count,string"`
	Pair   [2]int             `json:"pair"`
	Ptr    *humanName         `json:"ptr"`
	ByName map[string][]int64 `json:"by_name"`
	//lint:ignore U1000 an unexported field is unknown to JSON: the test needs one
	hidden string
}

func jsonRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/patients", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func TestDecodeJSONAccepts(t *testing.T) {
	body := `{"org":"o1","id":"p1","names":[{"given":["Ada","Augusta"],"family":"King"}],"birth_date":"1815-12-10",
		"age":36,"visits":3,"active":true,"seen":"2026-01-02T03:04:05Z","tags":{"a":"1","A":"2"},"extra":{"x":[1,{"y":null}]},
		"count":"12","pair":[1,2],"ptr":{"family":"B"},"by_name":{"k":[1,2]}}`
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/fhir+json", "Application/JSON"} {
		t.Run(ct, func(t *testing.T) {
			r := jsonRequest(body)
			r.Header.Set("Content-Type", ct)
			var got patientRequest
			if err := httpapi.DecodeJSON(r, &got); err != nil {
				t.Fatalf("DecodeJSON: %v", err)
			}
			want := patientRequest{
				Org: Org{"o1"}, ID: "p1", Names: []humanName{{Given: []phi.Name{"Ada", "Augusta"}, Family: "King"}},
				Birth: "1815-12-10", Age: 36, Visits: 3, Active: true, Seen: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
				Tags: map[string]string{"a": "1", "A": "2"}, Extra: map[string]any{"x": []any{1.0, map[string]any{"y": nil}}},
				Count: 12, Pair: [2]int{1, 2}, Ptr: &humanName{Family: "B"}, ByName: map[string][]int64{"k": {1, 2}},
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(patientRequest{})); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeJSONRejects(t *testing.T) {
	deep := func(n int) string { return `{"extra":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}` }
	tests := []struct {
		name        string
		contentType string // "" means application/json; "-" means none
		body        string
		kind        errs.Kind
		field       string
		msg         string
	}{
		{name: "no content type", contentType: "-", body: `{}`, kind: errs.UnsupportedMediaType, field: "Content-Type", msg: "must be application/json"},
		{name: "text/plain", contentType: "text/plain", body: `{}`, kind: errs.UnsupportedMediaType, field: "Content-Type"},
		{name: "form", contentType: "application/x-www-form-urlencoded", body: `id=` + canary, kind: errs.UnsupportedMediaType, field: "Content-Type"},
		{name: "json-ish suffix", contentType: "text/x+json", body: `{}`, kind: errs.UnsupportedMediaType, field: "Content-Type"},
		{name: "charset", contentType: "application/json; charset=latin1", body: `{}`, kind: errs.UnsupportedMediaType, field: "Content-Type", msg: "utf-8"},
		{name: "malformed content type", contentType: "application/json; =", body: `{}`, kind: errs.UnsupportedMediaType, field: "Content-Type"},

		{name: "empty body", body: ``, kind: errs.Invalid, msg: "empty"},
		{name: "blank body", body: " \n\t", kind: errs.Invalid, msg: "empty"},
		{name: "null body", body: `null`, kind: errs.Invalid, msg: "null"},
		{name: "invalid UTF-8", body: "{\"id\":\"" + canary + "\xff\"}", kind: errs.Invalid, msg: "not valid UTF-8 (at byte 20)"},

		{name: "syntax: trailing comma", body: `{"id":"` + canary + `",}`, kind: errs.Invalid, msg: "malformed JSON (at byte 22)"},
		{name: "syntax: single quotes", body: `{"id":'` + canary + `'}`, kind: errs.Invalid, msg: "malformed JSON (at byte 6)"},
		{name: "syntax: cut short", body: `{"id":"` + canary + `"`, kind: errs.Invalid, msg: "unexpected end (at byte 21)"},
		{name: "syntax: bare word", body: canary, kind: errs.Invalid, msg: "malformed JSON (at byte 0)"},

		{name: "trailing value", body: `{"id":"a"} {"id":"` + canary + `"}`, kind: errs.Invalid, msg: "after the JSON value (at byte 10)"},
		{name: "trailing garbage", body: `{}` + canary, kind: errs.Invalid, msg: "after the JSON value (at byte 2)"},

		{name: "duplicate key", body: `{"id":"a","id":"` + canary + `"}`, kind: errs.Invalid, field: "id", msg: "duplicate key"},
		{name: "keys differing in case, struct", body: `{"id":"a","ID":"` + canary + `"}`, kind: errs.Invalid, field: "ID", msg: "differ only in letter case"},
		{name: "keys differing in case, nested struct", body: `{"tags":{"a":"1","A":"2"},"names":[{"Family":"a","family":"b"}]}`, kind: errs.Invalid, field: "names[0].family"},
		{name: "keys differing in case, promoted field", body: `{"org":"a","ORG":"b"}`, kind: errs.Invalid, field: "ORG"},
		{name: "keys differing in case, then unknown", body: `{"Tags":{},"tags":{}}`, kind: errs.Invalid, field: "tags"},
		{name: "duplicate nested", body: `{"names":[{"family":"a"},{"family":"b","given":[],"family":"` + canary + `"}]}`, kind: errs.Invalid, field: "names[1].family"},
		{name: "duplicate in a map", body: `{"tags":{"k":"1","k":"` + canary + `"}}`, kind: errs.Invalid, field: "tags.k"},
		{name: "duplicate odd key", body: `{"tags":{"a b":"1","a b":"2"}}`, kind: errs.Invalid, field: `tags["a b"]`},
		{name: "duplicate inside any", body: `{"extra":[{"x":1,"x":2}]}`, kind: errs.Invalid, field: "extra[0].x"},

		{name: "too deep", body: deep(64), kind: errs.Invalid, field: "extra" + strings.Repeat("[0]", 63), msg: "nested deeper than 64 levels"},

		{name: "unknown field", body: `{"nope":"` + canary + `"}`, kind: errs.Invalid, field: "nope", msg: "unknown field"},
		{name: "unknown nested field", body: `{"names":[{"family":"a"},{"middle":"` + canary + `"}]}`, kind: errs.Invalid, field: "names[1].middle"},
		{name: "unknown where known elsewhere", body: `{"id":"x","names":[{"id":"` + canary + `"}]}`, kind: errs.Invalid, field: "names[0].id"},
		{name: "unexported field", body: `{"hidden":"x"}`, kind: errs.Invalid, field: "hidden", msg: "unknown field"},
		{name: "unknown in pointer", body: `{"ptr":{"x":1}}`, kind: errs.Invalid, field: "ptr.x"},

		{name: "string for int8", body: `{"age":"` + canary + `"}`, kind: errs.Invalid, field: "age", msg: "must be an integer from -128 to 127"},
		{name: "int8 overflow", body: `{"age":300}`, kind: errs.Invalid, field: "age", msg: "must be an integer from -128 to 127"},
		{name: "fraction for uint16", body: `{"visits":1.5}`, kind: errs.Invalid, field: "visits", msg: "must be an integer from 0 to 65535"},
		{name: "string for bool", body: `{"active":"yes"}`, kind: errs.Invalid, field: "active", msg: "must be a boolean"},
		{name: "object for array", body: `{"names":{}}`, kind: errs.Invalid, field: "names", msg: "must be an array"},
		{name: "number in nested array", body: `{"names":[{"given":["a"]},{"given":["b",5]}]}`, kind: errs.Invalid, field: "names[1].given[1]", msg: "must be a string"},
		{name: "wrong type in map", body: `{"by_name":{"k":[1,"` + canary + `"]}}`, kind: errs.Invalid, field: "by_name.k[1]", msg: "must be an integer"},
		{name: "array for object", body: `[]`, kind: errs.Invalid, field: "", msg: "must be an object"},
		{name: "bad phi date", body: `{"birth_date":"` + canary + `"}`, kind: errs.Invalid, field: "birth_date", msg: "must be a date string (YYYY-MM-DD)"},
		{name: "number for phi date", body: `{"birth_date":19991231}`, kind: errs.Invalid, field: "birth_date", msg: "must be a date string (YYYY-MM-DD)"},
		{name: "bad time", body: `{"seen":"` + canary + `"}`, kind: errs.Invalid, field: "seen", msg: "must be a date-time string (RFC 3339)"},
		{name: "bad quoted int", body: `{"count":"` + canary + `"}`, kind: errs.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := jsonRequest(tt.body)
			switch tt.contentType {
			case "":
			case "-":
				r.Header.Del("Content-Type")
			default:
				r.Header.Set("Content-Type", tt.contentType)
			}
			var v patientRequest
			err := httpapi.DecodeJSON(r, &v)
			if err == nil {
				t.Fatal("DecodeJSON accepted the request")
			}
			if got := errs.KindOf(err); got != tt.kind {
				t.Errorf("kind = %v, want %v (err: %v)", got, tt.kind, err)
			}
			if got := errs.FieldOf(err); got != tt.field {
				t.Errorf("field = %q, want %q (err: %v)", got, tt.field, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "yes") {
				t.Errorf("error repeats the input: %q", err)
			}
		})
	}
}

// caseFields has two fields whose names differ only in case: both keys are
// legitimate, and encoding/json tells them apart by the exact match.
type caseFields struct {
	Upper string `json:"ID"`
	Lower string `json:"id"`
}

func TestDecodeJSONCaseDistinctFields(t *testing.T) {
	var v caseFields
	if err := httpapi.DecodeJSON(jsonRequest(`{"ID":"a","id":"b"}`), &v); err != nil || v != (caseFields{"a", "b"}) {
		t.Errorf("DecodeJSON = %+v, %v", v, err)
	}
}

func TestDecodeJSONDepthLimitIsInclusive(t *testing.T) {
	// The object is one level, so 63 arrays inside make 64.
	body := `{"extra":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`
	var v patientRequest
	if err := httpapi.DecodeJSON(jsonRequest(body), &v); err != nil {
		t.Errorf("64 levels: %v", err)
	}
}

func TestDecodeJSONBodyLimit(t *testing.T) {
	big := `{"id":"` + strings.Repeat("x", 200) + `"}`
	tests := []struct {
		name    string
		handler func(t *testing.T, v any) http.Handler
		req     func() *http.Request
		status  int
		code    string
	}{
		{
			name:    "LimitBody while reading",
			handler: decodeHandler,
			req: func() *http.Request {
				r := jsonRequest(big)
				r.ContentLength = -1 // unknown: chunked
				return r
			},
			status: http.StatusRequestEntityTooLarge, code: "too_large",
		},
		{
			name:    "LimitBody from Content-Length",
			handler: decodeHandler,
			req:     func() *http.Request { return jsonRequest(big) },
			status:  http.StatusRequestEntityTooLarge, code: "too_large",
		},
		{
			name:    "under the limit",
			handler: decodeHandler,
			req:     func() *http.Request { return jsonRequest(`{"id":"x"}`) },
			status:  http.StatusOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			httpapi.LimitBody(100, tt.handler(t, &patientRequest{})).ServeHTTP(rec, tt.req())
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.code) {
				t.Errorf("got %d %s, want %d %s", rec.Code, rec.Body.String(), tt.status, tt.code)
			}
		})
	}

	t.Run("DefaultBodyLimit without LimitBody", func(t *testing.T) {
		body := `{"id":"` + strings.Repeat("x", httpapi.DefaultBodyLimit) + `"}`
		r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(strings.NewReader(body)))
		r.Header.Set("Content-Type", "application/json")
		r.ContentLength = -1
		var v patientRequest
		if err := httpapi.DecodeJSON(r, &v); errs.KindOf(err) != errs.TooLarge {
			t.Errorf("err = %v, want TooLarge", err)
		}
	})
	t.Run("LimitBody raises the limit", func(t *testing.T) {
		body := `{"id":"` + strings.Repeat("x", httpapi.DefaultBodyLimit) + `"}`
		rec := httptest.NewRecorder()
		httpapi.LimitBody(2*httpapi.DefaultBodyLimit, decodeHandler(t, &patientRequest{})).ServeHTTP(rec, jsonRequest(body))
		if rec.Code != http.StatusOK {
			t.Errorf("got %d %s, want 200", rec.Code, rec.Body.String())
		}
	})
}

// decodeHandler decodes into v and answers 200, or the error.
func decodeHandler(_ *testing.T, v any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := httpapi.DecodeJSON(r, v); err != nil {
			httpapi.WriteError(w, r, nil, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

func TestDecodeJSONNeedsAPointer(t *testing.T) {
	var v patientRequest
	err := httpapi.DecodeJSON(jsonRequest(`{}`), v)
	if errs.KindOf(err) != errs.Other {
		t.Errorf("err = %v, want kind Other (a bug, answered 500)", err)
	}
}

func TestDecodeJSONReadError(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", io.MultiReader(bytes.NewReader([]byte(`{"id":`)), errReader{}))
	r.Header.Set("Content-Type", "application/json")
	var v patientRequest
	if err := httpapi.DecodeJSON(r, &v); errs.KindOf(err) != errs.Invalid {
		t.Errorf("err = %v, want Invalid", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrClosedPipe }
