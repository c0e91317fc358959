package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/attest-ehr/attest/libs/errs"
)

// Issue is one problem with a FHIR request, as an OperationOutcome.issue: what kind of
// problem (Code, a FHIR IssueType), where (Expression, a FHIRPath such as
// "Patient.identifier[0].value" or "Bundle.entry[2].resource.subject"), and why
// (Diagnostics). Diagnostics never repeat a submitted value: it may be PHI.
type Issue struct {
	Severity    string `json:"severity"` // SeverityError, ...
	Code        string `json:"code"`     // Code*: a FHIR IssueType
	Expression  string `json:"expression,omitempty"`
	Diagnostics string `json:"diagnostics,omitempty"`

	// status, when set, is the HTTP status the issue calls for (404 for the target of
	// a request that does not exist, rather than a reference to nothing, 422).
	status int
	// cause is the failure behind a processing issue, for the log (never the answer).
	cause error
}

// Issue severities (FHIR IssueSeverity).
const (
	SeverityFatal       = "fatal"
	SeverityError       = "error"
	SeverityWarning     = "warning"
	SeverityInformation = "information"
)

// Issue codes used here (FHIR IssueType).
const (
	CodeStructure    = "structure"     // not valid FHIR JSON, or not as the R4 schema says
	CodeRequired     = "required"      // a required element is missing
	CodeValue        = "value"         // an element's value is wrong (a code, an NPI, a date)
	CodeInvariant    = "invariant"     // elements contradict each other (dates out of order)
	CodeNotSupported = "not-supported" // a resource type or element this server does not take
	CodeNotFound     = "not-found"     // a reference or the resource asked for does not exist
	CodeConflict     = "conflict"      // clashes with stored state (id, version, natural key)
	CodeBusinessRule = "business-rule" // contradicts the record (consent, a step out of order)
	CodeDuplicate    = "duplicate"     // an imaging order a recent shared study duplicates
	CodeTooLong      = "too-long"      // a body over the limit
	CodeProcessing   = "processing"    // could not be processed (a server problem)
	CodeInformation  = "informational"
	CodeForbidden    = "forbidden"
)

// OperationOutcome encodes issues as an R4 OperationOutcome resource. An empty list
// becomes one informational "all OK" issue (the resource requires one).
func OperationOutcome(issues []Issue) []byte {
	if len(issues) == 0 {
		issues = []Issue{{Severity: SeverityInformation, Code: CodeInformation, Diagnostics: "all OK"}}
	}
	type issue struct {
		Severity    string   `json:"severity"`
		Code        string   `json:"code"`
		Diagnostics string   `json:"diagnostics,omitempty"`
		Expression  []string `json:"expression,omitempty"`
	}
	out := struct {
		ResourceType string  `json:"resourceType"`
		Issue        []issue `json:"issue"`
	}{ResourceType: "OperationOutcome"}
	for _, is := range issues {
		i := issue{Severity: is.Severity, Code: is.Code, Diagnostics: is.Diagnostics}
		if is.Expression != "" {
			i.Expression = []string{is.Expression}
		}
		out.Issue = append(out.Issue, i)
	}
	b, err := json.Marshal(out)
	if err != nil { // cannot happen: strings only
		panic(err)
	}
	return b
}

// HasErrors reports whether any issue is an error or fatal (warnings do not refuse).
func HasErrors(issues []Issue) bool {
	for _, is := range issues {
		if is.Severity == SeverityError || is.Severity == SeverityFatal {
			return true
		}
	}
	return false
}

// Status is the HTTP status of a refusal listing issues: 400 for what is not valid
// FHIR (structure, unknown types), 404/409/403 for what clashes with stored state,
// 422 for valid FHIR that breaks the record's rules.
func Status(issues []Issue) int {
	status := 0
	rank := map[int]int{http.StatusBadRequest: 5, http.StatusRequestEntityTooLarge: 6, http.StatusConflict: 4,
		http.StatusPreconditionFailed: 4, http.StatusNotFound: 3, http.StatusForbidden: 3, http.StatusUnprocessableEntity: 2}
	for _, is := range issues {
		if is.Severity != SeverityError && is.Severity != SeverityFatal {
			continue
		}
		s := http.StatusUnprocessableEntity
		switch is.Code {
		case CodeNotFound:
			if is.status != 0 {
				s = is.status
			}
		case CodeStructure, CodeNotSupported:
			s = http.StatusBadRequest
		case CodeTooLong:
			s = http.StatusRequestEntityTooLarge
		case CodeConflict:
			s = http.StatusConflict
			if strings.HasPrefix(is.Diagnostics, preconditionPrefix) {
				s = http.StatusPreconditionFailed
			}
		case CodeForbidden:
			s = http.StatusForbidden
		case CodeProcessing:
			s = http.StatusInternalServerError
		}
		if status == 0 || rank[s] > rank[status] || s == http.StatusInternalServerError {
			status = s
		}
	}
	if status == 0 {
		return http.StatusOK
	}
	return status
}

// preconditionPrefix marks the conflict of an If-Match that no longer holds (412).
const preconditionPrefix = "If-Match: "

// issueOf turns an error of the record (an errs kind naming a field of ours) into an
// issue located at the FHIR element that field came from.
func issueOf(err error, loc func(field string) string) Issue {
	field := errs.FieldOf(err)
	expr := loc(field)
	msg := messageOf(err)
	is := Issue{Severity: SeverityError, Expression: expr, Diagnostics: msg}
	switch errs.KindOf(err) {
	case errs.Invalid:
		is.Code = CodeValue
		if strings.HasSuffix(msg, "required") {
			is.Code = CodeRequired
		}
	case errs.NotFound:
		is.Code = CodeNotFound
	case errs.Conflict:
		is.Code = CodeConflict
	case errs.Unprocessable:
		is.Code = CodeBusinessRule
		if strings.HasPrefix(msg, "no such ") {
			is.Code = CodeNotFound
		}
	case errs.Forbidden:
		is.Code = CodeForbidden
	case errs.TooLarge:
		is.Code = CodeTooLong
	default:
		is.Code, is.Diagnostics = CodeProcessing, "the request could not be processed"
	}
	return is
}

// messageOf is the error's own message, without the field prefix errs adds.
func messageOf(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return fmt.Sprint(errs.KindOf(err))
}
