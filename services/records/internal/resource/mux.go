package resource

import (
	"log/slog"
	"net/http"
	"reflect"
)

// Mux is the JSON API's router: it registers each route on an http.ServeMux and
// keeps the route's description, from which OpenAPI builds the API's document. A
// route is described where it is registered, so the two cannot drift apart; a route
// registered without a description makes ServeOpenAPI fail, so the service does not
// start with it.
type Mux struct {
	mux    *http.ServeMux
	log    *slog.Logger
	routes []Route
}

// NewMux returns a Mux registering on mux; handlers log through log.
func NewMux(mux *http.ServeMux, log *slog.Logger) *Mux {
	return &Mux{mux: mux, log: log}
}

// Log is the logger the API's handlers log through.
func (m *Mux) Log() *slog.Logger { return m.log }

// Route is a registered route and its description (nil when it has none).
type Route struct {
	Pattern string // "POST /v1/allergies"
	Op      *Op
}

// Op describes what a route takes and answers, for the OpenAPI document.
type Op struct {
	ID      string // the operationId: "allergies.create"
	Summary string
	// Request is the type of the JSON request body; nil when the route takes none.
	Request reflect.Type
	// Query are the query parameters the route reads.
	Query []Param
	// Responses are its successful answers by status; a nil Type is an empty body.
	Responses map[int]reflect.Type
	// OneOf are answers whose body is one of several types (an order placed, or the
	// duplicate that kept it from being placed).
	OneOf map[int][]reflect.Type
	// Idempotent routes honour an Idempotency-Key header (see Idempotent).
	Idempotent bool
	// ContentType is the media type of the route's bodies, when not application/json:
	// the FHIR API's application/fhir+json, whose errors are OperationOutcomes rather
	// than the JSON API's error body.
	ContentType string
}

// Param is a query parameter.
type Param struct {
	Name, Description string
	Required          bool
	Schema            map[string]any // its OpenAPI schema, e.g. {"type": "string"}
}

// documented is a handler with its description.
type documented struct {
	http.Handler
	op Op
}

// Document attaches op to h, for Mux.Handle to record.
func Document(op Op, h http.Handler) http.Handler { return documented{h, op} }

// Handle registers h for pattern, with the description Document attached to it.
func (m *Mux) Handle(pattern string, h http.Handler) {
	r := Route{Pattern: pattern}
	if d, ok := h.(documented); ok {
		r.Op = &d.op
	}
	m.mux.Handle(pattern, h)
	m.routes = append(m.routes, r)
}

// Describe records a route registered on the ServeMux by other means (the health
// checks), so that the document lists it.
func (m *Mux) Describe(pattern string, op Op) {
	m.routes = append(m.routes, Route{Pattern: pattern, Op: &op})
}

// Routes are the routes registered so far, in order.
func (m *Mux) Routes() []Route { return append([]Route(nil), m.routes...) }

// TypeOf is the reflect.Type of T, for an Op's Request and Responses.
func TypeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }
