package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// ContentType is the media type of every FHIR answer.
const ContentType = "application/fhir+json"

// Search limits: _count's default and largest value.
const (
	defaultCount = 100
	maxCount     = 1000
)

// Routes registers the FHIR API on m, under /fhir:
//
//	POST   /fhir                 a transaction (all or nothing) or batch (per entry) Bundle
//	GET    /fhir/metadata        the CapabilityStatement
//	POST   /fhir/{type}          create
//	GET    /fhir/{type}/{id}     read
//	PUT    /fhir/{type}/{id}     update (or create with that id); If-Match: W/"<version>"
//	DELETE /fhir/{type}/{id}     delete
//	GET    /fhir/{type}?patient=&date=ge…&date=le…&_count=&_after=   search
//
// Writes honour Idempotency-Key as the JSON API does.
func (c *Codec) Routes(m *resource.Mux) {
	h := &handlers{c: c, st: c.svc.Store(), log: m.Log()}
	res := resource.TypeOf[map[string]any]()
	op := func(id, summary string, req bool, idem bool, ok ...int) resource.Op {
		o := resource.Op{ID: "fhir." + id, Summary: summary, ContentType: ContentType, Idempotent: idem,
			Responses: map[int]reflect.Type{}}
		if req {
			o.Request = res
		}
		for _, s := range ok {
			o.Responses[s] = res
		}
		return o
	}
	write := func(fn http.HandlerFunc) http.Handler {
		idem := resource.Idempotent(fn, m.Log())
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The key's own refusal as an OperationOutcome, before Idempotent answers it
			// with the JSON API's error body.
			if k, ok := r.Header["Idempotency-Key"]; ok && !validKey(k[0]) {
				writeFHIR(w, http.StatusBadRequest, OperationOutcome([]Issue{{Severity: SeverityError, Code: CodeValue,
					Diagnostics: "Idempotency-Key must be 1 to 255 visible ASCII characters"}}))
				return
			}
			idem.ServeHTTP(w, r)
		})
	}
	m.Handle("POST /fhir", resource.Document(op("bundle", "Process a transaction or batch Bundle", true, true, http.StatusOK),
		write(h.bundle)))
	m.Handle("GET /fhir/metadata", resource.Document(op("metadata", "The CapabilityStatement", false, false, http.StatusOK),
		http.HandlerFunc(h.metadata)))
	m.Handle("POST /fhir/{type}", resource.Document(op("create", "Create a resource", true, true, http.StatusCreated, http.StatusOK),
		write(h.create)))
	search := op("search", "Search a type's resources by patient and date", false, false, http.StatusOK)
	search.Query = []resource.Param{
		{Name: "patient", Description: "Patient/<id> or <id>: whose resources (required for a patient's facts)", Schema: map[string]any{"type": "string"}},
		{Name: "date", Description: "ge|gt|le|lt|eq followed by YYYY-MM-DD, repeatable: the clinical time's day (UTC)", Schema: map[string]any{"type": "string"}},
		{Name: "_count", Description: "at most this many entries", Schema: map[string]any{"type": "integer", "minimum": 1, "maximum": maxCount}},
		{Name: "_after", Description: "the id the previous page ended with (the next link carries it)", Schema: map[string]any{"type": "string"}},
	}
	m.Handle("GET /fhir/{type}", resource.Document(search, http.HandlerFunc(h.search)))
	m.Handle("GET /fhir/{type}/{id}", resource.Document(op("read", "Read a resource", false, false, http.StatusOK),
		http.HandlerFunc(h.read)))
	m.Handle("PUT /fhir/{type}/{id}", resource.Document(op("update", "Update a resource, or create it with this id", true, true,
		http.StatusOK, http.StatusCreated), write(h.update)))
	m.Handle("DELETE /fhir/{type}/{id}", resource.Document(op("delete", "Delete a resource entered in error", false, true,
		http.StatusNoContent), write(h.remove)))
}

type handlers struct {
	c   *Codec
	st  *resource.Store
	log *slog.Logger
}

// refused carries the issues of a refused write out of its transaction, which rolls
// back.
type refused struct{ issues []Issue }

func (e *refused) Error() string { return "fhir: refused" }

// outcome writes an OperationOutcome of issues with their status, logging the causes
// of a failure of ours.
func (h *handlers) outcome(w http.ResponseWriter, issues []Issue) {
	for _, is := range issues {
		if is.cause != nil {
			h.log.Error("fhir request failed", "error", is.cause.Error())
		}
	}
	writeFHIR(w, Status(issues), OperationOutcome(issues))
}

func writeFHIR(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if len(body) > 0 {
		_, _ = w.Write(body)
	}
}

// fail answers an error that is not a list of issues: the record's kinds (a 4xx), or
// a failure of ours (500, logged, without detail).
func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error, root string) {
	var rf *refused
	if errors.As(err, &rf) {
		h.outcome(w, rf.issues)
		return
	}
	if errs.KindOf(err) == errs.Other {
		h.log.ErrorContext(r.Context(), "fhir request failed", "error", err.Error())
		h.outcome(w, []Issue{{Severity: SeverityFatal, Code: CodeProcessing, Diagnostics: "the request could not be processed"}})
		return
	}
	is := issueOf(err, func(f string) string {
		if f == "" {
			return root
		}
		if f == "Idempotency-Key" {
			return ""
		}
		return root + "." + f
	})
	writeFHIR(w, statusOf(err), OperationOutcome([]Issue{is}))
}

// body reads a FHIR request body: JSON or FHIR JSON, within the size limit.
func (h *handlers) body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != ContentType && mt != "application/json") {
			writeFHIR(w, http.StatusUnsupportedMediaType, OperationOutcome([]Issue{{Severity: SeverityError,
				Code: CodeNotSupported, Diagnostics: "send application/fhir+json"}}))
			return nil, false
		}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, httpapi.DefaultBodyLimit+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || len(b) > httpapi.DefaultBodyLimit {
		h.outcome(w, []Issue{{Severity: SeverityError, Code: CodeTooLong,
			Diagnostics: "the body is larger than " + strconv.Itoa(httpapi.DefaultBodyLimit) + " bytes"}})
		return nil, false
	}
	if err != nil {
		h.outcome(w, []Issue{{Severity: SeverityError, Code: CodeStructure, Diagnostics: "the body could not be read"}})
		return nil, false
	}
	return b, true
}

// decodeOf decodes a single resource's body and checks it is of the path's type.
func (h *handlers) decodeOf(w http.ResponseWriter, r *http.Request) (Write, bool) {
	typ := r.PathValue("type")
	raw, ok := h.body(w, r)
	if !ok {
		return Write{}, false
	}
	if _, known := h.c.byType[typ]; !known {
		h.unknownType(w, typ)
		return Write{}, false
	}
	wr, issues := h.c.Decode(raw)
	if len(issues) == 0 && wr.Type != typ {
		issues = []Issue{{Severity: SeverityError, Code: CodeValue, Expression: wr.Type + ".resourceType",
			Diagnostics: "differs from the type in the path"}}
	}
	if HasErrors(issues) {
		h.outcome(w, issues)
		return Write{}, false
	}
	return wr, true
}

func (h *handlers) unknownType(w http.ResponseWriter, typ string) {
	diag := "this server does not store " + safeType(typ) + " resources"
	if !h.c.schema.Known(typ) {
		diag = "not an R4 resource type"
	}
	writeFHIR(w, http.StatusNotFound, OperationOutcome([]Issue{{Severity: SeverityError, Code: CodeNotSupported,
		Diagnostics: diag}}))
}

func (h *handlers) create(w http.ResponseWriter, r *http.Request) {
	wr, ok := h.decodeOf(w, r)
	if !ok {
		return
	}
	h.storeOne(w, r, wr, false, 0)
}

func (h *handlers) update(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validID(id) {
		h.outcome(w, []Issue{{Severity: SeverityError, Code: CodeValue, Diagnostics: "the id in the path is not a valid id"}})
		return
	}
	ifMatch, err := parseIfMatch(r.Header.Get("If-Match"))
	if err != nil {
		h.outcome(w, []Issue{{Severity: SeverityError, Code: CodeStructure, Diagnostics: "If-Match must be W/\"<version>\""}})
		return
	}
	wr, ok := h.decodeOf(w, r)
	if !ok {
		return
	}
	switch {
	case wr.ID == "":
		h.outcome(w, []Issue{{Severity: SeverityError, Code: CodeRequired, Expression: wr.Type + ".id",
			Diagnostics: "an update names the resource's id in the body too"}})
		return
	case wr.ID != id:
		h.outcome(w, []Issue{{Severity: SeverityError, Code: CodeValue, Expression: wr.Type + ".id",
			Diagnostics: "differs from the id in the path"}})
		return
	}
	h.storeOne(w, r, wr, true, ifMatch)
}

// storeOne stores one decoded resource in its own transaction and answers it.
func (h *handlers) storeOne(w http.ResponseWriter, r *http.Request, wr Write, put bool, ifMatch int) {
	reply, err := h.st.Write(r.Context(), func(tx *resource.Tx) (resource.Reply, error) {
		s, issues := h.c.store(r.Context(), tx, wr, put, ifMatch)
		if len(issues) > 0 {
			return resource.Reply{}, &refused{issues}
		}
		if s.Outcome != nil {
			return resource.Reply{Status: http.StatusOK, Body: OperationOutcome(s.Outcome)}, nil
		}
		status := http.StatusOK
		if s.Created {
			status = http.StatusCreated
		}
		return resource.Reply{Status: status, Body: s.Resource}, nil
	})
	if err != nil {
		h.fail(w, r, err, wr.Type)
		return
	}
	h.answerResource(w, r, reply)
}

// answerResource writes a stored resource with its Location, ETag and Last-Modified
// (taken from the body, so that a replayed Idempotency-Key answers the same headers).
func (h *handlers) answerResource(w http.ResponseWriter, r *http.Request, reply resource.Reply) {
	var head struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Meta         struct {
			VersionID   string `json:"versionId"`
			LastUpdated string `json:"lastUpdated"`
		} `json:"meta"`
	}
	if json.Unmarshal(reply.Body, &head) == nil && head.ResourceType != "OperationOutcome" && head.Meta.VersionID != "" {
		w.Header().Set("ETag", `W/"`+head.Meta.VersionID+`"`)
		if t, err := time.Parse(time.RFC3339Nano, head.Meta.LastUpdated); err == nil {
			w.Header().Set("Last-Modified", t.UTC().Format(http.TimeFormat))
		}
		if reply.Status == http.StatusCreated {
			base := strings.TrimSuffix(r.URL.Path, "/")
			if r.Method == http.MethodPut {
				base = base[:strings.LastIndex(base, "/")]
			}
			w.Header().Set("Location", base+"/"+head.ID+"/_history/"+head.Meta.VersionID)
		}
	}
	writeFHIR(w, reply.Status, reply.Body)
}

func parseIfMatch(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	s = strings.Trim(s, `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, errors.New("bad If-Match")
	}
	return n, nil
}

func (h *handlers) read(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("id")
	ms, ok := h.c.byType[typ]
	if !ok {
		h.unknownType(w, typ)
		return
	}
	if !validID(id) {
		writeFHIR(w, http.StatusNotFound, OperationOutcome([]Issue{{Severity: SeverityError, Code: CodeNotFound,
			Diagnostics: "no such " + typ}}))
		return
	}
	for _, m := range ms {
		v, err := m.get(r.Context(), id)
		switch {
		case errs.Is(errs.NotFound, err):
			continue
		case err != nil:
			h.fail(w, r, err, typ)
			return
		case !m.owns(v):
			continue
		}
		h.answerResource(w, r, resource.Reply{Status: http.StatusOK, Body: marshal(encodeResource(m, v))})
		return
	}
	writeFHIR(w, http.StatusNotFound, OperationOutcome([]Issue{{Severity: SeverityError, Code: CodeNotFound,
		Diagnostics: "no such " + typ}}))
}

func (h *handlers) remove(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("id")
	if _, ok := h.c.byType[typ]; !ok {
		h.unknownType(w, typ)
		return
	}
	reply, err := h.st.Write(r.Context(), func(tx *resource.Tx) (resource.Reply, error) {
		if is := h.c.delete(r.Context(), tx, typ, id, typ); is != nil {
			return resource.Reply{}, &refused{[]Issue{*is}}
		}
		return resource.Reply{Status: http.StatusNoContent}, nil
	})
	if err != nil {
		h.fail(w, r, err, typ)
		return
	}
	writeFHIR(w, reply.Status, nil)
}

// delete removes the resource typ/id in tx; an issue (located at root) when it cannot.
func (c *Codec) delete(ctx context.Context, tx *resource.Tx, typ, id, root string) *Issue {
	if !validID(id) {
		return &Issue{Severity: SeverityError, Code: CodeNotFound, Expression: root, Diagnostics: "no such " + typ,
			status: http.StatusNotFound}
	}
	for _, m := range c.byType[typ] {
		v, err := m.load(ctx, tx, id)
		switch {
		case errs.Is(errs.NotFound, err):
			continue
		case err != nil:
			is := issueOf(err, func(string) string { return root })
			is.cause = err
			return &is
		case !m.owns(v):
			continue
		}
		if err := m.remove(ctx, tx, id); err != nil {
			is := issueOf(err, func(string) string { return root })
			if errs.KindOf(err) == errs.Other {
				is = Issue{Severity: SeverityFatal, Code: CodeProcessing, Expression: root,
					Diagnostics: "the resource could not be deleted", cause: err}
			}
			return &is
		}
		return nil
	}
	return &Issue{Severity: SeverityError, Code: CodeNotFound, Expression: root, Diagnostics: "no such " + typ,
		status: http.StatusNotFound}
}

// search answers a searchset Bundle: the type's resources of a patient (or all, for
// the directory), by clinical day, by id, _count at a time.
func (h *handlers) search(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	if typ == "metadata" {
		h.metadata(w, r)
		return
	}
	ms, ok := h.c.byType[typ]
	if !ok {
		h.unknownType(w, typ)
		return
	}
	q, issues := parseSearch(r, typ, ms)
	if len(issues) > 0 {
		h.outcome(w, issues)
		return
	}
	type hit struct {
		id string
		m  mapping
		v  any
	}
	var hits []hit
	more := false
	for _, m := range ms {
		mq := q
		if m.subjectField() == "" {
			mq.Subject = ""
		}
		items, next, err := m.search(r.Context(), mq)
		if err != nil {
			h.fail(w, r, err, typ)
			return
		}
		more = more || next != ""
		for _, v := range items {
			if m.owns(v) {
				hits = append(hits, hit{m.meta(v).ID, m, v})
			}
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].id < hits[j].id })
	if len(hits) > q.Limit {
		hits, more = hits[:q.Limit], true
	}
	entries := make([]any, 0, len(hits))
	for _, x := range hits {
		entries = append(entries, obj{"fullUrl": typ + "/" + x.id, "resource": encodeResource(x.m, x.v),
			"search": obj{"mode": "match"}})
	}
	self := r.URL.Path
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	links := []any{obj{"relation": "self", "url": self}}
	if more && len(hits) > 0 {
		next := r.URL.Query()
		next.Set("_after", hits[len(hits)-1].id)
		links = append(links, obj{"relation": "next", "url": r.URL.Path + "?" + next.Encode()})
	}
	b := obj{"resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries}
	writeFHIR(w, http.StatusOK, marshal(b))
}

// parseSearch reads a search's parameters, every problem an issue naming the
// parameter.
func parseSearch(r *http.Request, typ string, ms []mapping) (resource.Query, []Issue) {
	q := resource.Query{Limit: defaultCount}
	var issues []Issue
	bad := func(param, format string) {
		issues = append(issues, Issue{Severity: SeverityError, Code: CodeValue, Expression: param, Diagnostics: format})
	}
	patientKinds, timed := false, true
	for _, m := range ms {
		patientKinds = patientKinds || m.subjectField() == "patient_id"
		timed = timed && m.timed()
	}
	for name, vals := range r.URL.Query() {
		switch name {
		case "patient", "subject":
			if !patientKinds {
				bad(name, typ+" resources are not a patient's")
				continue
			}
			p := strings.TrimPrefix(vals[0], "Patient/")
			if len(vals) > 1 || !validID(p) {
				bad(name, "one Patient/<id> or <id>")
				continue
			}
			q.Subject = p
		case "date":
			if !timed {
				bad(name, typ+" resources have no clinical time to search by")
				continue
			}
			for _, v := range vals {
				prefix, day := "eq", v
				if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
					prefix, day = v[:2], v[2:]
				}
				d, err := time.Parse(time.DateOnly, day)
				if err != nil {
					bad(name, "ge, gt, le, lt or eq followed by a date as YYYY-MM-DD")
					continue
				}
				from, until := d, d.AddDate(0, 0, 1)
				switch prefix {
				case "ge":
					until = time.Time{}
				case "gt":
					from, until = d.AddDate(0, 0, 1), time.Time{}
				case "le":
					from = time.Time{}
				case "lt":
					from, until = time.Time{}, d
				case "eq":
				default:
					bad(name, "ge, gt, le, lt or eq followed by a date as YYYY-MM-DD")
					continue
				}
				if !from.IsZero() && (q.From.IsZero() || from.After(q.From)) {
					q.From = from
				}
				if !until.IsZero() && (q.Until.IsZero() || until.Before(q.Until)) {
					q.Until = until
				}
			}
		case "_count":
			n, err := strconv.Atoi(vals[0])
			if err != nil || n < 1 || n > maxCount {
				bad(name, "a number from 1 to "+strconv.Itoa(maxCount))
				continue
			}
			q.Limit = n
		case "_after":
			if !validID(vals[0]) {
				bad(name, "not a valid id")
				continue
			}
			q.After = vals[0]
		case "_format":
		default:
			issues = append(issues, Issue{Severity: SeverityError, Code: CodeNotSupported, Expression: name,
				Diagnostics: "not a search parameter of this server (patient, date, _count, _after)"})
		}
	}
	if patientKinds && q.Subject == "" && len(issues) == 0 {
		issues = append(issues, Issue{Severity: SeverityError, Code: CodeRequired, Expression: "patient",
			Diagnostics: "required to search " + typ})
	}
	if !q.From.IsZero() && !q.Until.IsZero() && !q.Until.After(q.From) && len(issues) == 0 {
		issues = append(issues, Issue{Severity: SeverityError, Code: CodeValue, Expression: "date",
			Diagnostics: "the date range is empty"})
	}
	return q, issues
}

// metadata answers the CapabilityStatement: every type stored, its interactions and
// search parameters.
func (h *handlers) metadata(w http.ResponseWriter, _ *http.Request) {
	writeFHIR(w, http.StatusOK, h.c.CapabilityStatement())
}

// CapabilityStatement describes the API (GET /fhir/metadata).
func (c *Codec) CapabilityStatement() []byte {
	var resources []any
	for _, t := range c.types {
		patient, timed := false, true
		for _, m := range c.byType[t] {
			patient = patient || m.subjectField() == "patient_id"
			timed = timed && m.timed()
		}
		var params []any
		if patient {
			params = append(params, obj{"name": "patient", "type": "reference"})
		}
		if timed {
			params = append(params, obj{"name": "date", "type": "date"})
		}
		params = append(params, obj{"name": "_count", "type": "number"})
		r := obj{"type": t, "versioning": "versioned-update", "updateCreate": true, "conditionalCreate": false,
			"interaction": []any{obj{"code": "read"}, obj{"code": "create"}, obj{"code": "update"},
				obj{"code": "delete"}, obj{"code": "search-type"}},
			"searchParam": params}
		resources = append(resources, r)
	}
	return marshal(obj{"resourceType": "CapabilityStatement", "status": "active", "date": "2026-01-01",
		"kind": "instance", "fhirVersion": "4.0.1", "format": []any{"json"},
		"implementation": obj{"description": "Attest records: the clinical record (docs/fhir.md)"},
		"rest": []any{obj{"mode": "server", "resource": resources,
			"interaction": []any{obj{"code": "transaction"}, obj{"code": "batch"}}}}})
}

// validKey is the JSON API's rule for an Idempotency-Key: 1 to 255 visible ASCII
// characters.
func validKey(k string) bool {
	if k == "" || len(k) > 255 {
		return false
	}
	for i := range len(k) {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
