// Package fhir exports secure messages as FHIR R4 resources, read-only: messages as
// Communication, refill and appointment requests as CommunicationRequest. Callers
// see exactly what the messaging API shows them; the same participant rules apply.
//
// Routes: GET /fhir/Communication?patient=<id>[&_count=n], GET /fhir/Communication/{id},
// GET /fhir/CommunicationRequest?patient=<id>[&_count=n], GET /fhir/CommunicationRequest/{id}.
package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/messaging/internal/thread"
)

// Identifier systems. Attest's own are URNs: they are not resolvable, only unique.
const (
	SystemNPI    = "http://hl7.org/fhir/sid/us-npi"
	SystemUser   = "urn:attest:user"                // a proxy's or staff member's user ID
	SystemClinic = "urn:attest:clinic"              // a clinic's care-team pool
	SystemKind   = "urn:attest:messaging:kind"      // message kinds (contract.Kind*)
	SystemMed    = "urn:attest:records:medication"  // records' medication IDs
	ThreadURL    = "urn:attest:messaging:thread-id" // the extension naming a message's thread
)

// ContentType is the FHIR JSON media type.
const ContentType = "application/fhir+json"

// Service is what the export reads: the messaging use cases.
type Service interface {
	Thread(ctx context.Context, p principal.Principal, id string) (thread.Thread, error)
	Message(ctx context.Context, p principal.Principal, threadID, messageID string) (thread.Message, error)
	ThreadOf(ctx context.Context, p principal.Principal, messageID string) (string, error)
	PatientMessages(ctx context.Context, p principal.Principal, patientID string, kinds []string, limit int) ([]thread.Message, error)
}

var requestKinds = []string{contract.KindRefillRequest, contract.KindAppointmentRequest}

// Routes registers the export on mux. api is the absolute path of the messaging API
// as clients reach it, e.g. "/messaging": attachments' URLs point there.
func Routes(mux *http.ServeMux, s Service, api string, log *slog.Logger) {
	ex := exporter{s: s, api: api, log: log}
	mux.Handle("GET /fhir/Communication", ex.serve(ex.searchCommunications))
	mux.Handle("GET /fhir/Communication/{id}", ex.serve(ex.readCommunication))
	mux.Handle("GET /fhir/CommunicationRequest", ex.serve(ex.searchRequests))
	mux.Handle("GET /fhir/CommunicationRequest/{id}", ex.serve(ex.readRequest))
}

type exporter struct {
	s   Service
	api string
	log *slog.Logger
}

// Reference is a FHIR Reference, literal or by identifier.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
}

// Identifier is a FHIR Identifier.
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// CodeableConcept is a FHIR CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Coding is a FHIR Coding.
type Coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

// Attachment is a FHIR Attachment; its content is fetched from URL.
type Attachment struct {
	ContentType string `json:"contentType"`
	Size        int    `json:"size"`
	Title       string `json:"title,omitempty"`
	URL         string `json:"url"`
}

// Payload is one part of a message's content.
type Payload struct {
	ContentString     string      `json:"contentString,omitempty"`
	ContentAttachment *Attachment `json:"contentAttachment,omitempty"`
}

// Extension is a FHIR extension with a string value.
type Extension struct {
	URL         string `json:"url"`
	ValueString string `json:"valueString"`
}

// Period is a FHIR Period.
type Period struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Communication is a FHIR R4 Communication: one sent message.
type Communication struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Extension    []Extension       `json:"extension"`
	BasedOn      []Reference       `json:"basedOn,omitempty"`
	InResponseTo []Reference       `json:"inResponseTo,omitempty"`
	Status       string            `json:"status"`
	Category     []CodeableConcept `json:"category"`
	Subject      Reference         `json:"subject"`
	Topic        *CodeableConcept  `json:"topic,omitempty"`
	Sent         time.Time         `json:"sent"`
	Received     *time.Time        `json:"received,omitempty"`
	Recipient    []Reference       `json:"recipient"`
	Sender       Reference         `json:"sender"`
	Payload      []Payload         `json:"payload"`
}

// CommunicationRequest is a FHIR R4 CommunicationRequest: a refill or appointment
// request and where it stands.
type CommunicationRequest struct {
	ResourceType     string            `json:"resourceType"`
	ID               string            `json:"id"`
	Extension        []Extension       `json:"extension"`
	Status           string            `json:"status"`
	StatusReason     *CodeableConcept  `json:"statusReason,omitempty"`
	Category         []CodeableConcept `json:"category"`
	Subject          Reference         `json:"subject"`
	About            []Reference       `json:"about,omitempty"`
	Payload          []Payload         `json:"payload"`
	OccurrencePeriod *Period           `json:"occurrencePeriod,omitempty"`
	AuthoredOn       time.Time         `json:"authoredOn"`
	Requester        Reference         `json:"requester"`
	Recipient        []Reference       `json:"recipient"`
}

// Bundle is a FHIR searchset Bundle.
type Bundle struct {
	ResourceType string  `json:"resourceType"`
	Type         string  `json:"type"`
	Total        int     `json:"total"`
	Entry        []Entry `json:"entry"`
}

// Entry is one resource of a Bundle.
type Entry struct {
	FullURL  string `json:"fullUrl"`
	Resource any    `json:"resource"`
	Search   struct {
		Mode string `json:"mode"`
	} `json:"search"`
}

// threads caches the threads a response refers to.
type threads struct {
	s     Service
	p     principal.Principal
	known map[string]thread.Thread
}

func (ts *threads) get(ctx context.Context, id string) (thread.Thread, error) {
	if t, ok := ts.known[id]; ok {
		return t, nil
	}
	t, err := ts.s.Thread(ctx, ts.p, id)
	if err != nil {
		return thread.Thread{}, err
	}
	ts.known[id] = t
	return t, nil
}

func (ex exporter) searchCommunications(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
	return ex.search(ctx, p, r, nil, ex.communication)
}

func (ex exporter) searchRequests(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
	return ex.search(ctx, p, r, requestKinds, ex.communicationRequest)
}

// search answers a search by patient with a searchset of the newest messages of the
// given kinds (all when nil), each mapped by toResource.
func (ex exporter) search(ctx context.Context, p principal.Principal, r *http.Request, kinds []string,
	toResource func(thread.Message, thread.Thread) any) (any, error) {
	q := r.URL.Query()
	for name := range q {
		if name != "patient" && name != "_count" && name != "_format" {
			return nil, errs.Field(errs.Invalid, name, "unsupported search parameter (patient, _count)")
		}
	}
	if f := q.Get("_format"); f != "" && f != "json" && f != ContentType && f != "application/json" {
		return nil, errs.Field(errs.Invalid, "_format", "only JSON is served")
	}
	patient := q.Get("patient")
	if patient == "" {
		return nil, errs.Field(errs.Invalid, "patient", "required")
	}
	count := 0
	if c := q.Get("_count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 || n > thread.MaxPage {
			return nil, errs.Field(errs.Invalid, "_count", "must be from 1 to %d", thread.MaxPage)
		}
		count = n
	}
	ms, err := ex.s.PatientMessages(ctx, p, patient, kinds, count)
	if err != nil {
		return nil, err
	}
	ts := &threads{s: ex.s, p: p, known: map[string]thread.Thread{}}
	b := Bundle{ResourceType: "Bundle", Type: "searchset", Total: len(ms), Entry: []Entry{}}
	for _, m := range ms {
		t, err := ts.get(ctx, m.ThreadID)
		if err != nil {
			return nil, err
		}
		e := Entry{FullURL: "urn:uuid:" + m.ID, Resource: toResource(m, t)}
		e.Search.Mode = "match"
		b.Entry = append(b.Entry, e)
	}
	return b, nil
}

func (ex exporter) readCommunication(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
	m, t, err := ex.read(ctx, p, r)
	if err != nil {
		return nil, err
	}
	return ex.communication(m, t), nil
}

func (ex exporter) readRequest(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
	m, t, err := ex.read(ctx, p, r)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(requestKinds, m.Kind) {
		return nil, errs.E(errs.NotFound, "no such CommunicationRequest")
	}
	return ex.communicationRequest(m, t), nil
}

func (ex exporter) read(ctx context.Context, p principal.Principal, r *http.Request) (thread.Message, thread.Thread, error) {
	id := r.PathValue("id")
	threadID, err := ex.s.ThreadOf(ctx, p, id)
	if err != nil {
		return thread.Message{}, thread.Thread{}, err
	}
	m, err := ex.s.Message(ctx, p, threadID, id)
	if err != nil {
		return thread.Message{}, thread.Thread{}, err
	}
	t, err := ex.s.Thread(ctx, p, threadID)
	return m, t, err
}

func (ex exporter) communication(m thread.Message, t thread.Thread) any {
	c := Communication{
		ResourceType: "Communication", ID: m.ID, Extension: []Extension{{URL: ThreadURL, ValueString: t.ID}},
		Status: "completed", Category: kind(m.Kind), Subject: patientRef(t.PatientID),
		Sent: m.Sent, Recipient: recipients(m, t), Sender: partyRef(m.Sender), Payload: ex.payload(m),
	}
	if s := t.Subject.Reveal(); s != "" {
		c.Topic = &CodeableConcept{Text: s}
	}
	if m.InReplyTo != "" {
		c.InResponseTo = []Reference{{Reference: "Communication/" + m.InReplyTo}}
	}
	if m.Answer != nil {
		c.BasedOn = []Reference{{Reference: "CommunicationRequest/" + m.Answer.RequestID}}
	}
	for _, r := range m.ReadBy {
		if r.Party != m.Sender {
			read := r.Read
			c.Received = &read
			break
		}
	}
	return c
}

func (ex exporter) communicationRequest(m thread.Message, t thread.Thread) any {
	c := CommunicationRequest{
		ResourceType: "CommunicationRequest", ID: m.ID, Extension: []Extension{{URL: ThreadURL, ValueString: t.ID}},
		Status: "active", Category: kind(m.Kind), Subject: patientRef(t.PatientID), Payload: ex.payload(m),
		AuthoredOn: m.Sent, Requester: partyRef(m.Sender), Recipient: recipients(m, t),
	}
	if m.MedicationID != "" {
		c.About = []Reference{{Identifier: &Identifier{System: SystemMed, Value: m.MedicationID}}}
	}
	if len(m.PreferredSlots) > 0 {
		c.OccurrencePeriod = &Period{Start: m.PreferredSlots[0].Start, End: m.PreferredSlots[0].End}
	}
	if m.Request != nil {
		switch m.Request.Status {
		case contract.OutcomeApproved, contract.OutcomeBooked:
			c.Status = "completed"
		case contract.OutcomeDenied:
			c.Status = "revoked"
		}
		if m.Request.Status != thread.RequestOpen {
			c.StatusReason = &CodeableConcept{Text: m.Request.Status}
		}
	}
	return c
}

func kind(k string) []CodeableConcept {
	return []CodeableConcept{{Coding: []Coding{{System: SystemKind, Code: k}}}}
}

func patientRef(id string) Reference { return Reference{Reference: "Patient/" + id} }

func partyRef(p thread.Party) Reference {
	switch p.Role {
	case contract.RolePatient:
		return patientRef(p.ID)
	case contract.RoleProxy:
		return Reference{Type: "RelatedPerson", Identifier: &Identifier{System: SystemUser, Value: p.ID}}
	case contract.RoleClinician:
		return Reference{Type: "Practitioner", Identifier: &Identifier{System: SystemNPI, Value: p.ID}}
	}
	return Reference{Type: "Practitioner", Identifier: &Identifier{System: SystemUser, Value: p.ID}}
}

// recipients are the other side of the thread: the care team for the patient's
// side, the patient for the care team, and the other clinicians in a consult.
func recipients(m thread.Message, t thread.Thread) []Reference {
	var out []Reference
	fromPatient := m.Sender.Role == contract.RolePatient || m.Sender.Role == contract.RoleProxy
	if !fromPatient {
		out = append(out, patientRef(t.PatientID))
	}
	if fromPatient || t.Kind == thread.ConsultThread {
		for _, npi := range t.Clinicians {
			if npi != m.Sender.ID || m.Sender.Role != contract.RoleClinician {
				out = append(out, Reference{Type: "Practitioner", Identifier: &Identifier{System: SystemNPI, Value: npi}})
			}
		}
		if t.Kind == thread.PoolThread {
			out = append(out, Reference{Type: "CareTeam", Identifier: &Identifier{System: SystemClinic, Value: t.ClinicID}})
		}
	}
	return out
}

func (ex exporter) payload(m thread.Message) []Payload {
	out := []Payload{}
	if b := m.Body.Reveal(); b != "" {
		out = append(out, Payload{ContentString: b})
	}
	for _, a := range m.Attachments {
		out = append(out, Payload{ContentAttachment: &Attachment{
			ContentType: a.ContentType, Size: a.Size, Title: a.Name.Reveal(),
			URL: ex.api + "/v1/threads/" + m.ThreadID + "/messages/" + m.ID + "/attachments/" + a.ID,
		}})
	}
	return out
}

// serve adapts a handler to HTTP: the caller is required, answers are FHIR JSON, and
// errors are OperationOutcomes with the status the rest of the API would give.
func (ex exporter) serve(h func(ctx context.Context, p principal.Principal, r *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := func() (any, error) {
			p, err := principal.Require(r.Context())
			if err != nil {
				return nil, err
			}
			return h(r.Context(), p, r)
		}()
		status := http.StatusOK
		if err != nil {
			status = httpapi.StatusOf(err)
			v = outcome(err, status)
			if status >= 500 {
				ex.log.ErrorContext(r.Context(), "FHIR request failed", "status", status, "error", err)
			}
		}
		b, merr := json.Marshal(v)
		if merr != nil {
			status, b = http.StatusInternalServerError, []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}`)
		}
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		_, _ = w.Write(b)
	})
}

// OperationOutcome is a FHIR OperationOutcome: why a request failed.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Issue is one problem in an OperationOutcome.
type Issue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// outcome describes err for the caller: 4xx with the errs message and field, 5xx
// with nothing the caller could learn internals from.
func outcome(err error, status int) OperationOutcome {
	is := Issue{Severity: "error", Code: "exception"}
	switch {
	case status == http.StatusNotFound:
		is.Code = "not-found"
	case status == http.StatusUnauthorized:
		is.Code = "login"
	case status == http.StatusForbidden:
		is.Code = "forbidden"
	case status == http.StatusTooManyRequests:
		is.Code = "throttled"
	case status >= 400 && status < 500:
		is.Code = "invalid"
	}
	var e *errs.Error
	if status < 500 && errors.As(err, &e) {
		is.Diagnostics = e.Message
		if f := errs.FieldOf(err); f != "" {
			is.Expression = []string{f}
		}
	}
	return OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{is}}
}
