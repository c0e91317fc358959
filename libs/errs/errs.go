// Package errs gives errors a kind — what went wrong, as a caller must react to it —
// so that one function per transport can map them: HTTP status codes in package
// httpapi, permanent-versus-retry for event consumers. It follows upspin's
// errors.Kind: a kind, not an error type per failure.
//
// Messages must never carry PHI: name the field and the reason, not the value.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error.
type Kind int

// The kinds. Other is the zero value: an unexpected failure.
const (
	Other           Kind = iota // unexpected; a 5xx, retried by consumers
	Invalid                     // the input is malformed or breaks a rule (400)
	Unprocessable               // well-formed but semantically wrong (422)
	NotFound                    // no such thing, or the caller may not know it exists (404)
	Conflict                    // clashes with current state (409)
	Unauthenticated             // no valid credentials (401)
	Forbidden                   // authenticated but not allowed (403)
	TooLarge                    // the request body or a field is over its limit (413)
	RateLimited                 // slow down (429)
	Unavailable                 // a dependency is down; try again (503)

	// UnsupportedMediaType: the request body is in a format the endpoint does not
	// take, e.g. a JSON API sent text/plain (415). Kept apart from Invalid because
	// the fix is the client's Content-Type, not the content.
	UnsupportedMediaType
)

var kindNames = [...]string{
	Other: "internal", Invalid: "invalid", Unprocessable: "unprocessable", NotFound: "not_found",
	Conflict: "conflict", Unauthenticated: "unauthenticated", Forbidden: "forbidden",
	TooLarge: "too_large", RateLimited: "rate_limited", Unavailable: "unavailable",
	UnsupportedMediaType: "unsupported_media_type",
}

// String is the machine-readable code of the kind, as used in API error bodies.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "internal"
	}
	return kindNames[k]
}

// Error is an error with a kind and, for input errors, the field at fault.
type Error struct {
	Kind    Kind
	Field   string // the offending input field (JSON path or FHIRPath), if any
	Message string // what is wrong, for the caller; never contains PHI
	Err     error  // the underlying error, if any
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		if msg == "" {
			return e.Err.Error()
		}
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an Error of the given kind with a formatted message.
func E(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Field builds an Error of the given kind about one input field.
func Field(k Kind, field, format string, args ...any) error {
	return &Error{Kind: k, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap gives err a kind, keeping it in the chain.
func Wrap(k Kind, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Err: err}
}

// KindOf returns the kind of the outermost *Error in err's chain, or Other.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Other
}

// FieldOf returns the field of the outermost *Error in err's chain that names one.
func FieldOf(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Field != "" {
			return e.Field
		}
		err = e.Err
	}
	return ""
}

// Is reports whether err has kind k.
func Is(k Kind, err error) bool { return err != nil && KindOf(err) == k }
