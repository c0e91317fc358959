package fhir

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// entry is one entry of a transaction or batch Bundle, decoded.
type entry struct {
	i      int
	method string // POST, PUT, DELETE
	typ    string // the request URL's type
	id     string // the request URL's id (PUT, DELETE)
	w      Write
	issues []Issue
}

func (e *entry) root() string { return "Bundle.entry[" + strconv.Itoa(e.i) + "]" }

// bundle processes a transaction Bundle — every entry or none, in one database
// transaction, urn:uuid references resolved to the IDs the server assigns — or a
// batch Bundle, each entry on its own (a savepoint each), answering its outcome.
func (h *handlers) bundle(w http.ResponseWriter, r *http.Request) {
	raw, ok := h.body(w, r)
	if !ok {
		return
	}
	v, is := parseJSON(raw, "Bundle")
	if is != nil {
		h.outcome(w, []Issue{*is})
		return
	}
	b, ok := v.(obj)
	if !ok || b["resourceType"] != "Bundle" {
		h.outcome(w, []Issue{{Severity: SeverityError, Code: CodeStructure, Expression: "Bundle.resourceType",
			Diagnostics: "POST a Bundle of type transaction or batch to the base URL"}})
		return
	}
	kind, _ := b["type"].(string)
	if kind != "transaction" && kind != "batch" {
		h.outcome(w, []Issue{{Severity: SeverityError, Code: CodeValue, Expression: "Bundle.type",
			Diagnostics: "must be transaction or batch"}})
		return
	}
	entries, issues := h.c.decodeBundle(b)
	if kind == "transaction" {
		h.transaction(w, r, entries, issues)
		return
	}
	h.batch(w, r, entries, issues)
}

// decodeBundle checks the Bundle against the R4 schema (its entries' resources each
// against their own type's definition) and decodes every entry. Issues of the Bundle
// itself come back apart; each entry keeps its own.
func (c *Codec) decodeBundle(b obj) ([]*entry, []Issue) {
	shell := obj{}
	for k, v := range b {
		shell[k] = v
	}
	list, _ := b["entry"].([]any)
	slim := make([]any, len(list))
	for i, e := range list {
		if m, ok := e.(obj); ok {
			s := obj{}
			for k, v := range m {
				if k != "resource" {
					s[k] = v
				}
			}
			slim[i] = s
		} else {
			slim[i] = e
		}
	}
	if list != nil {
		shell["entry"] = slim
	}
	issues := append(c.schema.Validate("Bundle", "Bundle", shell), requiredIssues("Bundle", "Bundle", shell)...)
	if len(issues) > 0 {
		return nil, issues
	}
	entries := make([]*entry, len(list))
	ids := map[string]string{}   // fullUrl → id
	types := map[string]string{} // fullUrl → type
	for i, raw := range list {
		m := raw.(obj) // the schema checked the shape
		e := &entry{i: i}
		entries[i] = e
		req, _ := m["request"].(obj)
		if req == nil {
			e.fail(CodeRequired, e.root()+".request", "required")
			continue
		}
		e.method, _ = req["method"].(string)
		url, _ := req["url"].(string)
		if url == "" {
			e.fail(CodeRequired, e.root()+".request.url", "required")
			continue
		}
		e.typ, e.id, _ = strings.Cut(strings.TrimPrefix(url, "/"), "/")
		switch e.method {
		case http.MethodPost:
			if e.id != "" {
				e.fail(CodeValue, e.root()+".request.url", "a create's url is the resource type")
			}
		case http.MethodPut, http.MethodDelete:
			if !validID(e.id) || strings.Contains(e.id, "/") {
				e.fail(CodeValue, e.root()+".request.url", "must be <type>/<id>")
			}
		default:
			e.fail(CodeNotSupported, e.root()+".request.method", "POST, PUT and DELETE are supported in a Bundle")
		}
		if _, ok := c.byType[e.typ]; !ok && len(e.issues) == 0 {
			e.fail(CodeNotSupported, e.root()+".request.url", "this server does not store "+safeType(e.typ)+" resources")
		}
		if len(e.issues) > 0 || e.method == http.MethodDelete {
			continue
		}
		res, ok := m["resource"]
		if !ok {
			e.fail(CodeRequired, e.root()+".resource", "required for "+e.method)
			continue
		}
		e.w, e.issues = c.DecodeAt(res, e.root()+".resource")
		if HasErrors(e.issues) {
			continue
		}
		if e.w.Type != e.typ {
			e.fail(CodeValue, e.root()+".resource.resourceType", "differs from the type in request.url")
			continue
		}
		switch e.method {
		case http.MethodPost:
			// The server assigns the id, so that other entries can refer to it.
			e.w.ID = resource.NewID()
			e.w.m.setID(e.w.Value, e.w.ID)
		case http.MethodPut:
			if e.w.ID != "" && e.w.ID != e.id {
				e.fail(CodeValue, e.root()+".resource.id", "differs from the id in request.url")
				continue
			}
			e.w.ID = e.id
			e.w.m.setID(e.w.Value, e.id)
		}
		if full, _ := m["fullUrl"].(string); full != "" {
			if _, dup := ids[full]; dup {
				e.fail(CodeValue, e.root()+".fullUrl", "another entry has this fullUrl")
				continue
			}
			ids[full], types[full] = e.w.ID, e.w.Type
		}
	}
	for _, e := range entries {
		if e.w.m == nil || HasErrors(e.issues) {
			continue
		}
		if is := e.w.Resolve(ids, types); len(is) > 0 {
			e.issues = append(e.issues, is...)
			continue
		}
		if err := e.w.m.validate(e.w.Value); err != nil {
			e.issues = append(e.issues, issueOf(err, e.w.d.locate))
		}
	}
	return entries, nil
}

func (e *entry) fail(code, path, diag string) {
	e.issues = append(e.issues, Issue{Severity: SeverityError, Code: code, Expression: path, Diagnostics: diag})
}

// apply stores one entry in tx: its response element, or its issues.
func (c *Codec) apply(ctx context.Context, tx *resource.Tx, e *entry) (obj, []Issue) {
	if e.method == http.MethodDelete {
		if is := c.delete(ctx, tx, e.typ, e.id, e.root()+".request.url"); is != nil {
			return nil, []Issue{*is}
		}
		return obj{"response": obj{"status": "204 No Content"}}, nil
	}
	s, issues := c.store(ctx, tx, e.w, e.method == http.MethodPut, 0)
	if len(issues) > 0 {
		return nil, issues
	}
	if s.Outcome != nil {
		return obj{"response": obj{"status": "200 OK", "outcome": rawJSON(OperationOutcome(s.Outcome))}}, nil
	}
	status := "200 OK"
	if s.Created {
		status = "201 Created"
	}
	resp := obj{"status": status, "location": s.Type + "/" + s.ID + "/_history/" + strconv.Itoa(s.Version),
		"etag": `W/"` + strconv.Itoa(s.Version) + `"`}
	return obj{"fullUrl": s.Type + "/" + s.ID, "resource": rawJSON(s.Resource), "response": resp}, nil
}

// transaction stores every entry in one transaction, or none: any problem in any
// entry refuses the whole Bundle with every problem found.
func (h *handlers) transaction(w http.ResponseWriter, r *http.Request, entries []*entry, issues []Issue) {
	for _, e := range entries {
		issues = append(issues, e.issues...)
	}
	if HasErrors(issues) {
		h.outcome(w, issues)
		return
	}
	ctx := r.Context()
	reply, err := h.st.Write(ctx, func(tx *resource.Tx) (resource.Reply, error) {
		out := make([]any, len(entries))
		var problems []Issue
		for i, e := range entries {
			resp, is := h.c.apply(ctx, tx, e)
			if len(is) > 0 {
				problems = append(problems, is...)
				if is[0].Code == CodeProcessing {
					break // the database refused: the transaction cannot go on
				}
				continue
			}
			out[i] = resp
		}
		if len(problems) > 0 {
			return resource.Reply{}, &refused{problems}
		}
		return resource.Reply{Status: http.StatusOK, Body: marshal(obj{"resourceType": "Bundle",
			"type": "transaction-response", "entry": out})}, nil
	})
	if err != nil {
		h.fail(w, r, err, "Bundle")
		return
	}
	writeFHIR(w, reply.Status, reply.Body)
}

// batch stores each entry on its own: an entry refused rolls back to its savepoint
// and answers its OperationOutcome; the others are stored. One transaction holds
// them all, so that an Idempotency-Key covers the whole batch.
func (h *handlers) batch(w http.ResponseWriter, r *http.Request, entries []*entry, issues []Issue) {
	if HasErrors(issues) {
		h.outcome(w, issues)
		return
	}
	ctx := r.Context()
	reply, err := h.st.Write(ctx, func(tx *resource.Tx) (resource.Reply, error) {
		out := make([]any, len(entries))
		for i, e := range entries {
			if HasErrors(e.issues) {
				out[i] = entryOutcome(e.issues)
				continue
			}
			sp := "fhir_entry_" + strconv.Itoa(i)
			if _, err := tx.ExecContext(ctx, "SAVEPOINT "+sp); err != nil {
				return resource.Reply{}, fmt.Errorf("savepoint: %w", err)
			}
			resp, is := h.c.apply(ctx, tx, e)
			if len(is) > 0 {
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+sp); err != nil {
					return resource.Reply{}, fmt.Errorf("rollback to savepoint: %w", err)
				}
				if is[0].Code == CodeProcessing {
					return resource.Reply{}, fmt.Errorf("batch entry %d failed: %v", i, is[0].cause)
				}
				out[i] = entryOutcome(is)
				continue
			}
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+sp); err != nil {
				return resource.Reply{}, fmt.Errorf("release savepoint: %w", err)
			}
			out[i] = resp
		}
		return resource.Reply{Status: http.StatusOK, Body: marshal(obj{"resourceType": "Bundle",
			"type": "batch-response", "entry": out})}, nil
	})
	if err != nil {
		h.fail(w, r, err, "Bundle")
		return
	}
	writeFHIR(w, reply.Status, reply.Body)
}

// entryOutcome is a refused batch entry's response.
func entryOutcome(issues []Issue) obj {
	status := Status(issues)
	return obj{"response": obj{"status": strconv.Itoa(status) + " " + http.StatusText(status),
		"outcome": rawJSON(OperationOutcome(issues))}}
}

// rawJSON is JSON already encoded, embedded as is.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }
