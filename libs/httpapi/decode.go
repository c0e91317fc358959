package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/attest-ehr/attest/libs/errs"
)

// DefaultBodyLimit is the request body size DecodeJSON accepts when LimitBody has
// not set another: 1 MiB, far above any single-resource request we take.
const DefaultBodyLimit = 1 << 20

// MaxJSONDepth is how deeply DecodeJSON lets objects and arrays nest. Our
// resources nest a handful of levels; the limit stops stack-heavy inputs long
// before encoding/json's own (10000).
const MaxJSONDepth = 64

// LimitBody caps request bodies at n bytes for h: a request announcing a larger
// Content-Length is answered 413 at once, and reading past n fails, which
// DecodeJSON reports as errs.TooLarge. DecodeJSON also uses n as its limit in place
// of DefaultBodyLimit, so a route taking bulk uploads can raise it.
//
// LimitBody replaces r.Body on the request it is given rather than passing down a
// copy, so a ServeMux beneath it records the matched pattern on the same request
// that Instrument reads it from.
func LimitBody(n int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			writeError(r.Context(), w, nil, tooLarge(n))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			orig := r.Body
			r.Body = &limitedBody{ReadCloser: http.MaxBytesReader(w, orig, n), limit: n}
			defer func() { r.Body = orig }()
		}
		h.ServeHTTP(w, r)
	})
}

// limitedBody marks a body capped by LimitBody, so DecodeJSON knows the cap.
type limitedBody struct {
	io.ReadCloser
	limit int64
}

func tooLarge(n int64) error {
	return errs.E(errs.TooLarge, "request body is larger than %d bytes", n)
}

// DecodeJSON decodes the request's JSON body into v, strictly. It refuses, with an
// errs.Error naming the field (a JSON path such as "patient.names[1].given") where
// there is one:
//
//   - a Content-Type other than application/json or application/*+json (charset,
//     if given, utf-8): errs.UnsupportedMediaType (415), field "Content-Type";
//   - a body over the limit (LimitBody's, else DefaultBodyLimit): errs.TooLarge;
//   - an empty body, or the literal null: errs.Invalid;
//   - invalid UTF-8: errs.Invalid with the byte offset;
//   - malformed JSON: errs.Invalid with the byte offset;
//   - a key repeated in one object — encoding/json would silently keep the last —
//     and, in an object decoded into a struct, keys differing only in letter case,
//     which encoding/json matches to the same field: errs.Invalid naming the
//     repeat's path;
//   - nesting deeper than MaxJSONDepth: errs.Invalid;
//   - data after the JSON value: errs.Invalid with the byte offset;
//   - a field v does not have: errs.Invalid naming it;
//   - a value of the wrong type, or one its type's UnmarshalJSON refuses:
//     errs.Invalid naming the field and the expected type.
//
// Messages never repeat input values, which may be PHI. v must be a non-nil
// pointer; otherwise the error is errs.Other (a bug, answered 500).
func DecodeJSON(r *http.Request, v any) error {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	limit := int64(DefaultBodyLimit)
	if lb, ok := r.Body.(*limitedBody); ok {
		limit = lb.limit
	}
	if r.ContentLength > limit {
		return tooLarge(limit)
	}
	body, err := readBody(r.Body, limit)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return errs.E(errs.Invalid, "request body is empty")
	}
	if !utf8.Valid(body) {
		return errs.E(errs.Invalid, "request body is not valid UTF-8 (at byte %d)", firstInvalidUTF8(body))
	}
	caseDup, err := scan(body)
	if err != nil {
		return err
	}
	if caseDup {
		if l := locate(body, v, locator{caseDups: true}); l.found {
			return errs.Field(errs.Invalid, l.path, "duplicate field (keys differ only in letter case)")
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(body, v, err)
	}
	return nil
}

// checkContentType accepts application/json and application/<anything>+json, with
// no charset or utf-8: JSON is UTF-8 (RFC 8259), and a body declared otherwise
// would decode differently from what the client meant.
func checkContentType(ct string) error {
	bad := errs.Field(errs.UnsupportedMediaType, "Content-Type", "must be application/json")
	if ct == "" {
		return bad
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return bad
	}
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return bad
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return errs.Field(errs.UnsupportedMediaType, "Content-Type", "charset must be utf-8")
	}
	return nil
}

// readBody reads at most limit bytes of body; more is errs.TooLarge.
func readBody(body io.Reader, limit int64) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge(mbe.Limit)
	case err != nil:
		// A reset connection or a read deadline: the client's side.
		return nil, errs.Wrap(errs.Invalid, err, "could not read the request body")
	case int64(len(b)) > limit:
		return nil, tooLarge(limit)
	}
	return b, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// frame is one open object or array during scan.
type frame struct {
	object  bool
	path    string              // the container's own path
	keys    map[string]struct{} // keys seen so far (objects)
	folded  map[string]struct{} // the same, case-folded
	key     string              // the current key (objects)
	wantKey bool                // the next token is a key (objects)
	index   int                 // the current element (arrays)
}

// childPath is the path of the value being read in f.
func (f *frame) childPath() string {
	if f.object {
		return joinKey(f.path, f.key)
	}
	return f.path + "[" + strconv.Itoa(f.index) + "]"
}

// scan checks what encoding/json does not: repeated keys, nesting depth, trailing
// data, and a null body; it also reports syntax errors with their offset, without
// encoding/json's message (which quotes the offending character). caseDup reports
// keys in one object that differ only in case, for DecodeJSON to judge against the
// target type.
func scan(body []byte) (caseDup bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers are only skipped; no float conversion to fail
	var stack []*frame
loop:
	for {
		tok, err := dec.Token()
		if err != nil {
			return false, syntaxError(err, body)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if valueDone(stack) {
					break loop
				}
				continue
			}
			key, _ := tok.(string) // the decoder guarantees a string here
			top.key, top.wantKey = key, false
			if _, dup := top.keys[key]; dup {
				return false, errs.Field(errs.Invalid, top.childPath(), "duplicate key")
			}
			top.keys[key] = struct{}{}
			folded := fold(key)
			if _, dup := top.folded[folded]; dup {
				caseDup = true
			}
			top.folded[folded] = struct{}{}
			continue
		}
		path := ""
		if top != nil {
			path = top.childPath()
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= MaxJSONDepth {
				return false, errs.Field(errs.Invalid, path, "nested deeper than %d levels", MaxJSONDepth)
			}
			f := &frame{path: path}
			if tok == json.Delim('{') {
				f.object, f.wantKey = true, true
				f.keys, f.folded = map[string]struct{}{}, map[string]struct{}{}
			}
			stack = append(stack, f)
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		case nil:
			if top == nil {
				return false, errs.E(errs.Invalid, "request body is null")
			}
		}
		if valueDone(stack) {
			break loop
		}
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return false, errs.E(errs.Invalid, "unexpected data after the JSON value (at byte %d)", end)
	}
	return caseDup, nil
}

// valueDone records that a value ended inside the innermost open container, and
// reports whether it was the top-level value.
func valueDone(stack []*frame) bool {
	if len(stack) == 0 {
		return true
	}
	f := stack[len(stack)-1]
	if f.object {
		f.wantKey = true
	} else {
		f.index++
	}
	return false
}

// syntaxError reports a syntax error found by scan. json.Decoder.Token's offsets
// are relative to the value being read when the error is inside one, so the offset
// comes from checking the whole body again, which counts from its start.
func syntaxError(err error, body []byte) error {
	var raw json.RawMessage
	if uerr := json.Unmarshal(body, &raw); uerr != nil {
		err = uerr
	}
	// The message is encoding/json's own text for this case; the others quote the
	// offending character, so they are not passed on.
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &se) && se.Error() == "unexpected end of JSON input":
		return errs.E(errs.Invalid, "malformed JSON: unexpected end (at byte %d)", len(body))
	case se != nil:
		// Offset counts the bytes read, the offending one included; report the
		// zero-based position of that byte.
		return errs.E(errs.Invalid, "malformed JSON (at byte %d)", max(se.Offset-1, 0))
	}
	return errs.E(errs.Invalid, "malformed JSON")
}

// joinKey appends key to path: "a.b", or a["x.y"] for keys that would read
// ambiguously. Keys are names chosen by the API, so echoing them is safe; a long
// one is cut, since an unknown key could still be anything.
func joinKey(path, key string) string {
	const maxKey = 64
	if len(key) > maxKey {
		cut := maxKey
		for cut > 0 && !utf8.RuneStart(key[cut]) {
			cut--
		}
		key = key[:cut] + "…"
	}
	if plainKey(key) {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		switch {
		case r == '_' || r == '-' && i > 0 || r == '…':
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
