package telemetry

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"unicode"
)

// redacted replaces the value of an attribute whose key names PHI; the same text as
// package phi prints.
const redacted = "[REDACTED]"

// phiWords are the key words that name PHI. A key names PHI when, split into words
// (at _, -, ., spaces and camelCase humps), it ends with one of these: "name",
// "patient_name", "givenName", "birth_date", "patient.dob", "homeAddress". The
// rule errs towards redacting: "service_name" and "ip_address" are redacted too
// (IP addresses are one of HIPAA's identifiers anyway).
var phiWords = []string{
	"name", "given", "family", "birth_date", "birthdate", "dob", "body", "text", "note",
	"comment", "address", "phone", "email", "ssn", "mrn", "content",
}

// NewPHIGuard wraps h so that attribute values that could carry PHI never reach it:
//
//   - an attribute whose key names PHI (see phiWords; case-insensitive, at any
//     depth of groups) gets the value "[REDACTED]"; a group whose key names PHI is
//     replaced whole, and so is everything logged inside WithGroup with such a name;
//   - an attribute whose resolved value is of Kind Any holding a struct, map, slice,
//     array or a pointer to one gets "[REDACTED:<type>]", because the JSON handler
//     would marshal it — and PHI types marshal their real value. Services log
//     scalars and IDs; log a field, not the record.
//
// error values pass through: by rule, error messages carry no PHI. slog.LogValuer
// values are resolved first, so package phi's types arrive already redacted. The
// message itself is not inspected: never format PHI into it.
func NewPHIGuard(h slog.Handler) slog.Handler { return &phiGuard{next: h} }

type phiGuard struct {
	next   slog.Handler
	inside bool // inside a WithGroup whose name names PHI: redact everything
}

func (g *phiGuard) Enabled(ctx context.Context, l slog.Level) bool { return g.next.Enabled(ctx, l) }

func (g *phiGuard) WithAttrs(attrs []slog.Attr) slog.Handler {
	guarded := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		guarded[i] = guard(a, g.inside)
	}
	return &phiGuard{next: g.next.WithAttrs(guarded), inside: g.inside}
}

func (g *phiGuard) WithGroup(name string) slog.Handler {
	return &phiGuard{next: g.next.WithGroup(name), inside: g.inside || namesPHI(name)}
}

func (g *phiGuard) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(guard(a, g.inside))
		return true
	})
	return g.next.Handle(ctx, out)
}

// guard returns a with any value that could carry PHI replaced.
func guard(a slog.Attr, redactAll bool) slog.Attr {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup && a.Key == "" {
		// An inlined group: its attributes are judged by their own keys.
		return slog.Attr{Value: slog.GroupValue(guardAll(v.Group(), redactAll)...)}
	}
	if redactAll || namesPHI(a.Key) {
		return slog.String(a.Key, redacted)
	}
	switch v.Kind() {
	case slog.KindGroup:
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(guardAll(v.Group(), false)...)}
	case slog.KindAny:
		x := v.Any()
		if _, ok := x.(error); ok {
			return slog.Attr{Key: a.Key, Value: v}
		}
		if t := reflect.TypeOf(x); t != nil && composite(t) {
			return slog.String(a.Key, "[REDACTED:"+t.String()+"]")
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func guardAll(attrs []slog.Attr, redactAll bool) []slog.Attr {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = guard(a, redactAll)
	}
	return out
}

// composite reports whether t is a struct, map, slice or array, or a pointer to one:
// a value that can hold fields, so possibly PHI.
func composite(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Slice, reflect.Array:
		return true
	}
	return false
}

// namesPHI reports whether key, split into lower-case words, ends with a PHI word.
func namesPHI(key string) bool {
	k := words(key)
	for _, w := range phiWords {
		if k == w || strings.HasSuffix(k, "_"+w) {
			return true
		}
	}
	return false
}

// words lower-cases key and joins its words with "_": "patientBirthDate",
// "Patient-Birth.Date" and "patient birth_date" all become "patient_birth_date".
func words(key string) string {
	var b strings.Builder
	b.Grow(len(key) + 4)
	prev := rune(0)
	for _, r := range key {
		switch {
		case r == '_' || r == '-' || r == '.' || unicode.IsSpace(r):
			r = '_'
		case unicode.IsUpper(r):
			if unicode.IsLower(prev) || unicode.IsDigit(prev) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
		prev = r
	}
	return b.String()
}
