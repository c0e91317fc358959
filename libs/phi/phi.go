// Package phi holds the string types for protected health information (PHI): a
// patient's names, dates, free text, contact details and identifiers. Every
// service that stores or returns PHI declares those fields with these types.
//
// A PHI value redacts itself wherever it could leak by accident — fmt (every verb,
// including %v on a struct with an exported PHI field), errors built with
// fmt.Sprintf or fmt.Errorf, and log/slog — by printing "[REDACTED]". JSON is the
// exception, on purpose: MarshalJSON and UnmarshalJSON carry the real value, since
// that is how PHI is stored and returned to authorised callers. Reveal is the one
// explicit way to read the value in code, so a reviewer can grep for it.
//
// The underlying type is string, so database drivers store and scan the real value
// and values compare with ==. What this package cannot stop: an explicit string(v)
// conversion; fmt printing an unexported struct field (fmt cannot call methods on
// unexported fields); and %p, which fmt handles before any method and which go vet
// rejects for a string-typed operand. Keep PHI in exported fields, and log IDs, not
// structs; package telemetry's PHI guard redacts struct values in logs regardless.
package phi

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
)

// Redacted is what every PHI value prints as.
const Redacted = "[REDACTED]"

// Name is a person's name or a part of one (given, family, prefix, suffix).
type Name string

// Date is a date that can identify a person — birth, death, admission — as
// "YYYY-MM-DD". The empty Date means unknown. UnmarshalJSON accepts only valid
// calendar dates (or ""), so a decoded Date is well-formed.
type Date string

// Text is free text about a patient: notes, messages, comments, reasons.
type Text string

// Contact is an address, phone number or email address.
type Contact string

// Identifier is an identifier assigned to a person: MRN, SSN, member or account
// number. Opaque internal patient IDs are not PHI and are plain strings.
type Identifier string

// ParseDate checks that s is a calendar date in the form YYYY-MM-DD and returns it
// as a Date. The error never contains s.
func ParseDate(s string) (Date, error) {
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", errs.E(errs.Invalid, "must be a date in the form YYYY-MM-DD")
	}
	return Date(s), nil
}

// The methods below are the same for every type; they are written out per type
// because Go has no way to share methods between distinct named string types.

// Reveal returns the name. Call it only where the value is meant to be seen.
func (v Name) Reveal() string { return string(v) }

// String returns Redacted.
func (Name) String() string { return Redacted }

// GoString returns Redacted, for %#v.
func (Name) GoString() string { return Redacted }

// Format prints Redacted for every fmt verb.
func (Name) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, Redacted) }

// LogValue returns Redacted, for log/slog.
func (Name) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON returns the real value as a JSON string.
func (v Name) MarshalJSON() ([]byte, error) { return json.Marshal(string(v)) }

// UnmarshalJSON reads a JSON string; null leaves v unchanged.
func (v *Name) UnmarshalJSON(b []byte) error {
	return unmarshalString(b, (*string)(v), reflect.TypeFor[Name]())
}

// Reveal returns the date as YYYY-MM-DD. Call it only where the value is meant to
// be seen.
func (v Date) Reveal() string { return string(v) }

// String returns Redacted.
func (Date) String() string { return Redacted }

// GoString returns Redacted, for %#v.
func (Date) GoString() string { return Redacted }

// Format prints Redacted for every fmt verb.
func (Date) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, Redacted) }

// LogValue returns Redacted, for log/slog.
func (Date) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON returns the real value as a JSON string.
func (v Date) MarshalJSON() ([]byte, error) { return json.Marshal(string(v)) }

// UnmarshalJSON reads a JSON string holding a date YYYY-MM-DD, or "" for unknown;
// null leaves v unchanged. A malformed date is an errs.Invalid error that does not
// repeat the input.
func (v *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := unmarshalString(b, &s, reflect.TypeFor[Date]()); err != nil || string(b) == "null" {
		return err
	}
	if s == "" {
		*v = ""
		return nil
	}
	d, err := ParseDate(s)
	if err != nil {
		return err
	}
	*v = d
	return nil
}

// Reveal returns the text. Call it only where the value is meant to be seen.
func (v Text) Reveal() string { return string(v) }

// String returns Redacted.
func (Text) String() string { return Redacted }

// GoString returns Redacted, for %#v.
func (Text) GoString() string { return Redacted }

// Format prints Redacted for every fmt verb.
func (Text) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, Redacted) }

// LogValue returns Redacted, for log/slog.
func (Text) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON returns the real value as a JSON string.
func (v Text) MarshalJSON() ([]byte, error) { return json.Marshal(string(v)) }

// UnmarshalJSON reads a JSON string; null leaves v unchanged.
func (v *Text) UnmarshalJSON(b []byte) error {
	return unmarshalString(b, (*string)(v), reflect.TypeFor[Text]())
}

// Reveal returns the contact detail. Call it only where the value is meant to be
// seen.
func (v Contact) Reveal() string { return string(v) }

// String returns Redacted.
func (Contact) String() string { return Redacted }

// GoString returns Redacted, for %#v.
func (Contact) GoString() string { return Redacted }

// Format prints Redacted for every fmt verb.
func (Contact) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, Redacted) }

// LogValue returns Redacted, for log/slog.
func (Contact) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON returns the real value as a JSON string.
func (v Contact) MarshalJSON() ([]byte, error) { return json.Marshal(string(v)) }

// UnmarshalJSON reads a JSON string; null leaves v unchanged.
func (v *Contact) UnmarshalJSON(b []byte) error {
	return unmarshalString(b, (*string)(v), reflect.TypeFor[Contact]())
}

// Reveal returns the identifier. Call it only where the value is meant to be seen.
func (v Identifier) Reveal() string { return string(v) }

// String returns Redacted.
func (Identifier) String() string { return Redacted }

// GoString returns Redacted, for %#v.
func (Identifier) GoString() string { return Redacted }

// Format prints Redacted for every fmt verb.
func (Identifier) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, Redacted) }

// LogValue returns Redacted, for log/slog.
func (Identifier) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON returns the real value as a JSON string.
func (v Identifier) MarshalJSON() ([]byte, error) { return json.Marshal(string(v)) }

// UnmarshalJSON reads a JSON string; null leaves v unchanged.
func (v *Identifier) UnmarshalJSON(b []byte) error {
	return unmarshalString(b, (*string)(v), reflect.TypeFor[Identifier]())
}

// unmarshalString decodes the JSON string b into dst. Anything but a string or null
// is a *json.UnmarshalTypeError, as encoding/json itself reports it, so decoders
// add the field path; like encoding/json's, it names the JSON kind, never the value.
func unmarshalString(b []byte, dst *string, t reflect.Type) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) == 0 || b[0] != '"' {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: t}
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		// Only reachable when b is not the single JSON value encoding/json promised.
		return &json.UnmarshalTypeError{Value: "string", Type: t}
	}
	*dst = s
	return nil
}

// jsonKind names the kind of the JSON value b, as encoding/json's errors do.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "value"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case '"':
		return "string"
	default:
		return "number"
	}
}
