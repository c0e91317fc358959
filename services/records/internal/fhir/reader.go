package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/services/records/internal/jsonpass"
	"github.com/attest-ehr/attest/services/records/internal/record"
)

// obj is a FHIR JSON object as decoded (numbers as json.Number).
type obj = map[string]any

// maxDepth bounds the nesting of a request: FHIR resources are a few levels deep; a
// deeply nested document is an attack on the parser, refused before it is decoded.
const maxDepth = 64

// parseJSON decodes one JSON value strictly: valid UTF-8, no duplicate keys, at most
// maxDepth levels, nothing after it. The problem, if any, is one structure issue at
// root.
func parseJSON(raw []byte, root string) (any, *Issue) {
	bad := func(msg string) (any, *Issue) {
		return nil, &Issue{Severity: SeverityError, Code: CodeStructure, Expression: root, Diagnostics: msg}
	}
	if !utf8.Valid(raw) {
		return bad("not valid UTF-8")
	}
	if v, ok := jsonpass.Parse(raw, maxDepth); ok {
		return v, nil
	}
	// Refused by the one pass: the strict path says why.
	return parseStrict(raw, root)
}

// parseStrict is parseJSON by a token scan (duplicate keys, depth) and then a decode:
// the path that names the problem of refused input.
func parseStrict(raw []byte, root string) (any, *Issue) {
	bad := func(msg string) (any, *Issue) {
		return nil, &Issue{Severity: SeverityError, Code: CodeStructure, Expression: root, Diagnostics: msg}
	}
	if err := scanKeys(raw); err != nil {
		return bad(err.Error())
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return bad("not valid JSON")
	}
	if _, err := d.Token(); err != io.EOF {
		return bad("more than one JSON value")
	}
	return v, nil
}

// scanKeys walks the tokens of raw and refuses duplicate keys in an object (JSON
// decoders keep the last, silently) and nesting deeper than maxDepth.
func scanKeys(raw []byte) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	type frame struct {
		obj    bool
		keys   map[string]bool
		expect bool // an object expecting a key next
	}
	var stack []*frame
	for {
		t, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return fmt.Errorf("not valid JSON (at byte %d)", se.Offset)
			}
			return errors.New("not valid JSON")
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.expect {
			if k, ok := t.(string); ok {
				if top.keys[k] {
					return fmt.Errorf("duplicate key %q", truncateKey(k))
				}
				top.keys[k] = true
				top.expect = false
				continue
			}
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= maxDepth {
				return fmt.Errorf("nested deeper than %d levels", maxDepth)
			}
			stack = append(stack, &frame{obj: t == json.Delim('{'), keys: map[string]bool{}, expect: t == json.Delim('{')})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].expect = true
		}
	}
}

// truncateKey keeps a key short in a message (keys are element names, not values).
func truncateKey(k string) string {
	if len(k) > 40 {
		return k[:40] + "…"
	}
	return k
}

// reader reads a FHIR object, recording an issue for every problem at its FHIRPath,
// and noting which FHIR element each of our fields came from (so that a rule of the
// record naming our field can be reported at the FHIR element).
type reader struct {
	d    *decoding
	path string
	m    obj
}

// decoding is the state of decoding one resource.
type decoding struct {
	issues []Issue
	paths  map[string]string // our field → FHIRPath
	refs   []pendingRef      // urn:uuid references to resolve
	root   string            // the resource's FHIRPath root
	// allowDuplicate is a ServiceRequest's allow-duplicate extension: place an imaging
	// order even when a recent shared study duplicates it.
	allowDuplicate bool
}

// pendingRef is a reference to a resource in the same Bundle (urn:uuid:…), resolved to
// its ID before the resource is stored.
type pendingRef struct {
	URN  string
	Path string
	Type string // the resource type it must name ("" for any)
	set  func(id string)
}

func (d *decoding) fail(code, path, format string, args ...any) {
	d.issues = append(d.issues, Issue{Severity: SeverityError, Code: code, Expression: path,
		Diagnostics: fmt.Sprintf(format, args...)})
}

func (d *decoding) note(our, path string) {
	if our != "" {
		d.paths[our] = path
	}
}

// locate is the FHIRPath of the element our field came from: the longest noted prefix.
func (d *decoding) locate(field string) string {
	for f := field; f != ""; {
		if p, ok := d.paths[f]; ok {
			return p
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return d.root
}

func (r *reader) at(key string) string { return r.path + "." + key }

// has reports whether the element is present.
func (r *reader) has(key string) bool { _, ok := r.m[key]; return ok }

// str reads a string element.
func (r *reader) str(key, our string, required bool) string {
	p := r.at(key)
	r.d.note(our, p)
	v, ok := r.m[key]
	if !ok {
		if required {
			r.d.fail(CodeRequired, p, "required")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		r.d.fail(CodeStructure, p, "must be a string")
		return ""
	}
	if required && strings.TrimSpace(s) == "" {
		r.d.fail(CodeRequired, p, "required")
	}
	return s
}

// code reads a code element that must be one of allowed (when any are given).
func (r *reader) code(key, our string, required bool, allowed ...string) string {
	s := r.str(key, our, required)
	if s != "" && len(allowed) > 0 && !contains(allowed, s) {
		r.d.fail(CodeValue, r.at(key), "must be one of %s", strings.Join(allowed, ", "))
	}
	return s
}

// boolean reads a boolean element.
func (r *reader) boolean(key, our string) bool {
	p := r.at(key)
	r.d.note(our, p)
	v, ok := r.m[key]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		r.d.fail(CodeStructure, p, "must be true or false")
	}
	return b
}

// number reads a decimal element.
func (r *reader) number(key, our string, required bool) float64 {
	p := r.at(key)
	r.d.note(our, p)
	v, ok := r.m[key]
	if !ok {
		if required {
			r.d.fail(CodeRequired, p, "required")
		}
		return 0
	}
	n, ok := v.(json.Number)
	if !ok {
		r.d.fail(CodeStructure, p, "must be a number")
		return 0
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		r.d.fail(CodeValue, p, "out of range")
	}
	return f
}

// when reads a FHIR date, dateTime or instant as a time: a full date (midnight UTC) or
// a date and time with its zone. A partial date (a year, a month) names no time the
// record can use.
func (r *reader) when(key, our string, required bool) time.Time {
	p := r.at(key)
	s := r.str(key, our, required)
	if s == "" {
		return time.Time{}
	}
	t, err := parseWhen(s)
	if err != nil {
		r.d.fail(CodeValue, p, "%s", err.Error())
	}
	return t
}

// whenPtr is when for an optional time kept as a pointer.
func (r *reader) whenPtr(key, our string) *time.Time {
	t := r.when(key, our, false)
	if t.IsZero() {
		return nil
	}
	return &t
}

func parseWhen(s string) (time.Time, error) {
	if len(s) == len(time.DateOnly) {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return time.Time{}, errors.New("not a valid date")
		}
		return t, nil
	}
	if len(s) < len(time.DateOnly) {
		return time.Time{}, errors.New("a partial date is not precise enough: give a full date or date-time")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errors.New("not a valid date-time (YYYY-MM-DDThh:mm:ss with a time zone)")
	}
	return t, nil
}

// child is the object element key, or nil.
func (r *reader) child(key string) *reader {
	v, ok := r.m[key]
	if !ok {
		return nil
	}
	m, ok := v.(obj)
	if !ok {
		r.d.fail(CodeStructure, r.at(key), "must be an object")
		return nil
	}
	return &reader{d: r.d, path: r.at(key), m: m}
}

// list is the array element key, as readers (objects only).
func (r *reader) list(key string) []*reader {
	v, ok := r.m[key]
	if !ok {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		r.d.fail(CodeStructure, r.at(key), "must be an array")
		return nil
	}
	out := make([]*reader, 0, len(a))
	for i, e := range a {
		p := fmt.Sprintf("%s[%d]", r.at(key), i)
		m, ok := e.(obj)
		if !ok {
			r.d.fail(CodeStructure, p, "must be an object")
			continue
		}
		out = append(out, &reader{d: r.d, path: p, m: m})
	}
	return out
}

// strings reads an array of strings.
func (r *reader) strings(key, our string) []string {
	p := r.at(key)
	r.d.note(our, p)
	v, ok := r.m[key]
	if !ok {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		r.d.fail(CodeStructure, p, "must be an array")
		return nil
	}
	out := make([]string, 0, len(a))
	for i, e := range a {
		s, ok := e.(string)
		if !ok {
			r.d.fail(CodeStructure, fmt.Sprintf("%s[%d]", p, i), "must be a string")
			continue
		}
		out = append(out, s)
	}
	return out
}

// first is the first element of the array key, or nil; required reports its absence.
func (r *reader) first(key string, required bool) *reader {
	l := r.list(key)
	if len(l) == 0 {
		if required && !r.has(key) {
			r.d.fail(CodeRequired, r.at(key)+"[0]", "required")
		}
		return nil
	}
	return l[0]
}

// coding reads a Coding whose system must be one of systems (any, when none given),
// into our code.
func (r *reader) coding(key, our string, required bool, systems ...string) contract.Code {
	c := r.child(key)
	r.d.note(our, r.at(key))
	if c == nil {
		if required {
			r.d.fail(CodeRequired, r.at(key), "required")
		}
		return contract.Code{}
	}
	return c.asCoding(our, systems)
}

func (c *reader) asCoding(our string, systems []string) contract.Code {
	sys := c.str("system", sub(our, "system"), true)
	code := c.str("code", sub(our, "code"), true)
	switch {
	case sys != "" && len(systems) > 0 && !contains(systems, sys):
		c.d.fail(CodeValue, c.at("system"), "must be one of %s", strings.Join(systems, ", "))
	case sys != "" && code != "":
		if ok, what := record.WellFormed(contract.Code{System: sys, Code: code}); !ok {
			c.d.fail(CodeValue, c.at("code"), "not a valid %s code", what)
		}
	}
	return contract.Code{System: sys, Code: code}
}

// concept reads a CodeableConcept: the first coding whose system is one of systems
// (any coding, when none given). Other codings (translations) are not kept.
func (r *reader) concept(key, our string, required bool, systems ...string) contract.Code {
	c := r.child(key)
	r.d.note(our, r.at(key))
	if c == nil {
		if required {
			r.d.fail(CodeRequired, r.at(key), "required")
		}
		return contract.Code{}
	}
	return c.conceptOf(our, required, systems)
}

func (c *reader) conceptOf(our string, required bool, systems []string) contract.Code {
	codings := c.list("coding")
	for _, cd := range codings {
		sys, _ := cd.m["system"].(string)
		if len(systems) == 0 || contains(systems, sys) {
			return cd.asCoding(our, systems)
		}
	}
	switch {
	case len(codings) > 0:
		c.d.fail(CodeValue, c.at("coding"), "no coding from %s", strings.Join(systems, ", "))
	case required:
		c.d.fail(CodeRequired, c.at("coding"), "required")
	}
	return contract.Code{}
}

// conceptPtr reads an optional CodeableConcept.
func (r *reader) conceptPtr(key, our string, systems ...string) *contract.Code {
	if !r.has(key) {
		return nil
	}
	c := r.concept(key, our, true, systems...)
	return &c
}

// conceptCode reads a CodeableConcept that must carry a code of our own code system
// (or a FHIR one): the code, checked against allowed.
func (r *reader) conceptCode(key, our, system string, required bool, allowed ...string) string {
	c := r.concept(key, "", required, system)
	r.d.note(our, r.at(key))
	if c.Code != "" && len(allowed) > 0 && !contains(allowed, c.Code) {
		r.d.fail(CodeValue, r.at(key), "must be one of %s", strings.Join(allowed, ", "))
	}
	return c.Code
}

// ref reads a Reference to one of our resources: "Type/id" gives id, a
// "urn:uuid:…" is resolved later within the Bundle (set is called with the ID).
func (r *reader) ref(key, our string, required bool, typ string, set func(string)) {
	c := r.child(key)
	r.d.note(our, r.at(key))
	if c == nil {
		if required {
			r.d.fail(CodeRequired, r.at(key), "required")
		}
		return
	}
	c.reference(our, typ, set)
}

func (c *reader) reference(our, typ string, set func(string)) {
	s := c.str("reference", our, true)
	c.d.note(our, c.path)
	if s == "" {
		return
	}
	p := c.at("reference")
	if strings.HasPrefix(s, "urn:uuid:") {
		c.d.refs = append(c.d.refs, pendingRef{URN: s, Path: p, Type: typ, set: set})
		return
	}
	t, id, ok := strings.Cut(s, "/")
	switch {
	case !ok || strings.Contains(id, "/"):
		c.d.fail(CodeValue, p, "must be %s/<id> or urn:uuid:<uuid>", typ)
	case typ != "" && t != typ:
		c.d.fail(CodeValue, p, "must refer to a %s", typ)
	case !validID(id):
		c.d.fail(CodeValue, p, "not a valid id")
	default:
		set(id)
	}
}

// identifier reads a logical reference by identifier (Reference.identifier) or an
// Identifier of the given system: NPI, TIN or CCN, checked.
func (r *reader) identifier(key, our, system string, required bool) string {
	c := r.child(key)
	r.d.note(our, r.at(key))
	if c == nil {
		if required {
			r.d.fail(CodeRequired, r.at(key), "required")
		}
		return ""
	}
	return c.identifierValue(our, system)
}

func (c *reader) identifierValue(our, system string) string {
	sys := c.str("system", "", true)
	v := c.str("value", our, true)
	if sys != "" && sys != system {
		c.d.fail(CodeValue, c.at("system"), "must be %s", system)
		return v
	}
	checkIdent(c.d, c.at("value"), system, v)
	return v
}

func checkIdent(d *decoding, path, system, v string) {
	if v == "" {
		return
	}
	switch system {
	case SystemNPI:
		if !ident.ValidNPI(v) {
			d.fail(CodeValue, path, "not a valid NPI (10 digits with a Luhn check digit)")
		}
	case SystemTIN:
		if !ident.ValidTIN(v) {
			d.fail(CodeValue, path, "not a valid TIN (9 digits)")
		}
	case SystemCCN:
		if !ident.ValidCCN(v) {
			d.fail(CodeValue, path, "not a valid CCN (6 characters)")
		}
	}
}

// ext is the extension of ours named name (its URL is ExtensionBase+name), or nil.
// More than one is an issue.
func (r *reader) ext(name string) *reader {
	var found *reader
	for _, e := range r.list("extension") {
		if u, _ := e.m["url"].(string); u == ExtensionBase+name || u == name {
			if found != nil {
				r.d.fail(CodeValue, e.path, "repeated")
				continue
			}
			found = e
		}
	}
	return found
}

// exts are the extensions of ours named name.
func (r *reader) exts(name string) []*reader {
	var out []*reader
	for _, e := range r.list("extension") {
		if u, _ := e.m["url"].(string); u == ExtensionBase+name || u == name {
			out = append(out, e)
		}
	}
	return out
}

func (r *reader) extBool(name, our string) bool {
	if e := r.ext(name); e != nil {
		return e.boolean("valueBoolean", our)
	}
	return false
}

func (r *reader) extString(name, our string, allowed ...string) string {
	if e := r.ext(name); e != nil {
		return e.code(valueKey(e), our, true, allowed...)
	}
	return ""
}

func (r *reader) extTime(name, our string) *time.Time {
	if e := r.ext(name); e != nil {
		t := e.when("valueDateTime", our, true)
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return nil
}

func (r *reader) extRef(name, our, typ string, set func(string)) {
	if e := r.ext(name); e != nil {
		e.ref("valueReference", our, true, typ, set)
	}
}

// valueKey is the value[x] element an extension holds, for reading a string-like one.
func valueKey(e *reader) string {
	for _, k := range []string{"valueCode", "valueString", "valueId", "valueUri"} {
		if e.has(k) {
			return k
		}
	}
	return "valueCode"
}

func sub(our, field string) string {
	if our == "" {
		return ""
	}
	return our + "." + field
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validID is FHIR's id rule, which is also records' ID rule: 1–64 letters, digits,
// '-' and '.'.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// byIdentifier reads a logical Reference (Reference.identifier) at key: an NPI, TIN
// or CCN, checked.
func (r *reader) byIdentifier(key, our, system string, required bool) string {
	c := r.child(key)
	r.d.note(our, r.at(key))
	if c == nil {
		if required {
			r.d.fail(CodeRequired, r.at(key), "required")
		}
		return ""
	}
	return c.identifier("identifier", our, system, true)
}
