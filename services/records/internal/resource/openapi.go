package resource

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/httpapi"
)

// ServeOpenAPI registers GET /v1/openapi.json, answering the OpenAPI 3.0 document of
// every route registered on m before it (and of itself): call it last. The document
// is built once, here, from the routes' descriptions.
func (m *Mux) ServeOpenAPI(title, version string) error {
	var doc []byte // built below, once this route is registered and so described
	m.Handle("GET /v1/openapi.json", Document(Op{ID: "openapi", Summary: "This document: the API in OpenAPI 3.0",
		Responses: map[int]reflect.Type{http.StatusOK: TypeOf[map[string]any]()}},
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(doc)
		})))
	var err error
	doc, err = OpenAPI(m.Routes(), title, version)
	return err
}

// errorStatuses are the 4xx answers every route may give, with the error body; see
// httpapi's one mapping.
var errorStatuses = []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusConflict,
	http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity}

// OpenAPI returns the OpenAPI 3.0 document, as JSON, of routes: their paths, query
// parameters, the Idempotency-Key header of writes, and the schemas of request and
// response bodies, reflected from the Go types (json tags; a field without omitempty
// or omitzero is required) and kept once each under components. An undocumented route
// is an error.
func OpenAPI(routes []Route, title, version string) ([]byte, error) {
	g := schemas{defs: map[string]any{}, names: map[reflect.Type]string{}}
	errorBody := g.schema(TypeOf[httpapi.ErrorBody]())
	paths := map[string]map[string]any{}
	for _, r := range routes {
		if r.Op == nil {
			return nil, fmt.Errorf("openapi: route %q has no description", r.Pattern)
		}
		method, path, ok := strings.Cut(r.Pattern, " ")
		if !ok {
			return nil, fmt.Errorf("openapi: route %q has no method", r.Pattern)
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(method)] = g.operation(path, *r.Op)
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": title, "version": version},
		"paths":   paths,
		"components": map[string]any{
			"schemas": g.defs,
			"parameters": map[string]any{"IdempotencyKey": map[string]any{
				"name": idempotencyHeader, "in": "header",
				"description": "names the write: the same key and request answer the first answer again and change nothing",
				"schema":      map[string]any{"type": "string", "minLength": 1, "maxLength": maxKey, "pattern": "^[!-~]+$"},
			}},
			"responses": map[string]any{"Error": map[string]any{
				"description": "the request was refused; field names the input at fault",
				"content":     jsonContent(errorBody),
			}},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode openapi: %w", err)
	}
	return b, nil
}

// pathParam finds a path's {parameters}.
var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

func (g *schemas) operation(path string, op Op) map[string]any {
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true,
			"schema": map[string]any{"type": "string", "pattern": "^[A-Za-z0-9.-]{1,64}$"}})
	}
	for _, q := range op.Query {
		p := map[string]any{"name": q.Name, "in": "query", "schema": q.Schema}
		if q.Description != "" {
			p["description"] = q.Description
		}
		if q.Required {
			p["required"] = true
		}
		params = append(params, p)
	}
	if op.Idempotent {
		params = append(params, map[string]any{"$ref": "#/components/parameters/IdempotencyKey"})
	}
	content := jsonContent
	errorResponse := map[string]any{"$ref": "#/components/responses/Error"}
	if op.ContentType != "" {
		content = func(schema any) map[string]any {
			return map[string]any{op.ContentType: map[string]any{"schema": schema}}
		}
		errorResponse = map[string]any{"description": "an OperationOutcome listing every problem",
			"content": content(map[string]any{"type": "object"})}
	}
	responses := map[string]any{"default": errorResponse}
	for _, s := range errorStatuses {
		responses[strconv.Itoa(s)] = errorResponse
	}
	for status, t := range op.Responses {
		r := map[string]any{"description": http.StatusText(status)}
		if t != nil {
			r["content"] = content(g.schema(t))
		}
		responses[strconv.Itoa(status)] = r
	}
	for status, ts := range op.OneOf {
		var alts []any
		for _, t := range ts {
			alts = append(alts, g.schema(t))
		}
		responses[strconv.Itoa(status)] = map[string]any{"description": http.StatusText(status),
			"content": content(map[string]any{"oneOf": alts})}
	}
	o := map[string]any{"operationId": op.ID, "summary": op.Summary, "responses": responses}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if op.Request != nil {
		o["requestBody"] = map[string]any{"required": true, "content": content(g.schema(op.Request))}
	}
	return o
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

// schemas reflects Go types into OpenAPI schemas, each named struct type once under
// components.
type schemas struct {
	defs  map[string]any
	names map[reflect.Type]string
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// schema is t's schema: a $ref for a named struct, inline otherwise.
func (g *schemas) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.schema(t.Elem())
		return orNull(s)
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		return g.object(t)
	}
	return map[string]any{} // an interface: any JSON value
}

// orNull lets s be null too; a $ref cannot carry siblings in 3.0, so it is wrapped.
func orNull(s map[string]any) map[string]any {
	if _, isRef := s["$ref"]; isRef {
		return map[string]any{"allOf": []any{s}, "nullable": true}
	}
	s["nullable"] = true
	return s
}

// object is a struct's schema: named under components (by its Go name, qualified by
// its package when two share a name), or inline for a generic instance.
func (g *schemas) object(t reflect.Type) map[string]any {
	if name, ok := g.names[t]; ok {
		return ref(name)
	}
	name := t.Name()
	if name == "" || strings.Contains(name, "[") {
		return g.properties(t)
	}
	if _, taken := g.defs[name]; taken {
		name = pkgName(t) + "." + name
	}
	g.names[t] = name
	g.defs[name] = map[string]any{} // placeholder: a type may refer to itself
	g.defs[name] = g.properties(t)
	return ref(name)
}

func pkgName(t reflect.Type) string {
	p := t.PkgPath()
	return p[strings.LastIndex(p, "/")+1:]
}

// properties is the object schema of a struct's JSON fields, embedded structs'
// fields promoted as encoding/json does.
func (g *schemas) properties(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		slices.Sort(required)
		s["required"] = required
	}
	return s
}

func (g *schemas) fields(t reflect.Type, props map[string]any, required *[]string) {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			g.fields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := g.schema(f.Type)
		optional := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		if !optional && (f.Type.Kind() == reflect.Slice || f.Type.Kind() == reflect.Map) {
			s = orNull(s) // a nil slice or map is written as null
		}
		props[name] = s
		if !optional {
			*required = append(*required, name)
		}
	}
}
