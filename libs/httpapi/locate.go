package httpapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/phi"
)

// decodeError turns an error from json.Decoder.Decode into an errs.Error that names
// the field and the expected type and does not repeat the input.
//
// encoding/json says what failed but not exactly where: a type error carries a
// dotted path without array indexes, an unknown field only its key, and an error
// from a type's UnmarshalJSON (time.Time's quotes the input) nothing at all. So on
// this error path only, locate walks the body alongside v's type to find the spot.
func decodeError(body []byte, v any, err error) error {
	var (
		typeErr    *json.UnmarshalTypeError
		invalidErr *json.InvalidUnmarshalError
	)
	switch {
	case errors.As(err, &invalidErr):
		return errs.Wrap(errs.Other, err, "decode request body")

	case errors.As(err, &typeErr):
		l := locate(body, v, locator{leaf: func(e error) bool {
			var te *json.UnmarshalTypeError
			return errors.As(e, &te) && te.Type == typeErr.Type && te.Value == typeErr.Value
		}})
		path := typeErr.Field
		if l.found {
			path = l.path
		}
		return errs.Field(errs.Invalid, path, "must be %s", describe(typeErr.Type))

	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no error type for this; the message is stable (Go 1.10+).
		key, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr != nil {
			return errs.E(errs.Invalid, "unknown field")
		}
		path := joinKey("", key)
		if l := locate(body, v, locator{unknownKey: key}); l.found {
			path = l.path
		}
		return errs.Field(errs.Invalid, path, "unknown field")
	}

	// An error from a type's UnmarshalJSON or UnmarshalText.
	l := locate(body, v, locator{leaf: func(e error) bool { return e.Error() == err.Error() }})
	kind, msg := errs.Invalid, "invalid value"
	var e *errs.Error
	switch {
	case l.found && described(l.typ):
		msg = "must be " + describe(l.typ)
	case errors.As(err, &e) && e.Message != "":
		// errs messages are written for callers and carry no input.
		msg = e.Message
		if e.Kind != errs.Other {
			kind = e.Kind
		}
	}
	return errs.Field(kind, l.path, "%s", msg)
}

// locator walks a JSON body alongside a Go type, looking for one spot: an object
// key the struct type lacks (unknownKey), or a leaf value whose own decoding fails
// in the way leaf accepts. Leaves are values not descended into: scalars, types
// with their own unmarshaler, and containers of the wrong JSON kind.
type locator struct {
	unknownKey string           // find this key where a struct has no such field
	caseDups   bool             // find keys that fold to one struct field
	leaf       func(error) bool // find a leaf failing like this

	dec   *json.Decoder
	body  []byte
	found bool
	path  string
	typ   reflect.Type
}

// locate runs l over body for the target v, which must be a pointer.
func locate(body []byte, v any, l locator) locator {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return l
	}
	l.dec = json.NewDecoder(bytes.NewReader(body))
	l.dec.UseNumber()
	l.body = body
	l.value(t.Elem(), "")
	return l
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// ownDecoding reports whether t decodes itself, as encoding/json would call it.
func ownDecoding(t reflect.Type) bool {
	for _, u := range []reflect.Type{jsonUnmarshaler, textUnmarshaler} {
		if t.Implements(u) || t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(u) {
			return true
		}
	}
	return false
}

// value reads one value of type t at path. It returns false to stop the walk:
// found, or the stream is not what scan accepted (which cannot happen).
func (l *locator) value(t reflect.Type, path string) bool {
	for t.Kind() == reflect.Pointer && !ownDecoding(t) {
		t = t.Elem()
	}
	c := l.peek()
	switch {
	case ownDecoding(t):
	case c == '{' && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map):
		return l.object(t, path)
	case c == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		return l.array(t, path)
	}
	var raw json.RawMessage
	if err := l.dec.Decode(&raw); err != nil {
		return false
	}
	if l.leaf != nil {
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil && l.leaf(err) {
			l.found, l.path, l.typ = true, path, t
			return false
		}
	}
	return true
}

func (l *locator) object(t reflect.Type, path string) bool {
	if _, err := l.dec.Token(); err != nil {
		return false
	}
	var fields structFields
	matched := map[string]bool{} // struct fields already given a value, by JSON name
	if t.Kind() == reflect.Struct {
		fields = fieldsOf(t)
	}
	for l.dec.More() {
		tok, err := l.dec.Token()
		if err != nil {
			return false
		}
		key, _ := tok.(string)
		child := joinKey(path, key)
		var ft reflect.Type
		if t.Kind() == reflect.Map {
			ft = t.Elem()
		} else {
			f, ok := fields.lookup(key)
			if ok && l.caseDups {
				// scan has ruled out exact repeats, so a second key for the
				// same field differs from the first only in case.
				if matched[f.name] {
					l.found, l.path = true, child
					return false
				}
				matched[f.name] = true
			}
			switch {
			case !ok && key == l.unknownKey:
				l.found, l.path, l.typ = true, child, nil
				return false
			case !ok || f.quoted:
				// Ignored by encoding/json, or decoded from a string by its
				// ",string" option, which decoding the leaf alone would not honour.
				if !l.skip() {
					return false
				}
				continue
			}
			ft = f.typ
		}
		if !l.value(ft, child) {
			return false
		}
	}
	_, err := l.dec.Token()
	return err == nil
}

func (l *locator) array(t reflect.Type, path string) bool {
	if _, err := l.dec.Token(); err != nil {
		return false
	}
	for i := 0; l.dec.More(); i++ {
		if t.Kind() == reflect.Array && i >= t.Len() {
			// encoding/json drops elements past a Go array's length.
			if !l.skip() {
				return false
			}
			continue
		}
		if !l.value(t.Elem(), path+"["+strconv.Itoa(i)+"]") {
			return false
		}
	}
	_, err := l.dec.Token()
	return err == nil
}

func (l *locator) skip() bool {
	var raw json.RawMessage
	return l.dec.Decode(&raw) == nil
}

// peek returns the first byte of the next value.
func (l *locator) peek() byte {
	for i := int(l.dec.InputOffset()); i < len(l.body); i++ {
		switch c := l.body[i]; c {
		case ' ', '\t', '\r', '\n', ':', ',':
		default:
			return c
		}
	}
	return 0
}

// field is what the locator needs to know of a struct field.
type field struct {
	name   string // the JSON name
	typ    reflect.Type
	quoted bool // the ",string" option
}

// structFields are a struct type's JSON fields by name and by folded name, as
// encoding/json matches keys: exactly, else case-insensitively.
type structFields struct {
	exact, folded map[string]field
}

func (s structFields) lookup(key string) (field, bool) {
	if f, ok := s.exact[key]; ok {
		return f, true
	}
	f, ok := s.folded[fold(key)]
	return f, ok
}

// fieldsOf lists t's JSON fields, following encoding/json's rules closely enough to
// locate an error: json tags, "-", unexported fields skipped, untagged embedded
// structs promoted (shallower fields first).
func fieldsOf(t reflect.Type) structFields {
	s := structFields{exact: map[string]field{}, folded: map[string]field{}}
	level := []reflect.Type{t}
	seen := map[reflect.Type]bool{t: true}
	for len(level) > 0 {
		var next []reflect.Type
		for _, st := range level {
			for i := range st.NumField() {
				sf := st.Field(i)
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if sf.Anonymous && name == "" && ft.Kind() == reflect.Struct {
					if !seen[ft] {
						seen[ft] = true
						next = append(next, ft)
					}
					continue
				}
				if !sf.IsExported() {
					continue
				}
				if name == "" {
					name = sf.Name
				}
				f := field{name: name, typ: sf.Type, quoted: strings.Contains(","+opts+",", ",string,")}
				if _, ok := s.exact[name]; !ok {
					s.exact[name] = f
				}
				if _, ok := s.folded[fold(name)]; !ok {
					s.folded[fold(name)] = f
				}
			}
		}
		level = next
	}
	return s
}

// fold maps s to a canonical case-folded form: two keys encoding/json would match
// case-insensitively fold to the same string.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	return strings.Map(func(r rune) rune {
		// The smallest rune of r's case-folding orbit stands for all of them
		// (K, k and the Kelvin sign alike).
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, s)
}

// described reports whether describe knows t by name rather than by kind.
func described(t reflect.Type) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[time.Time](), reflect.TypeFor[phi.Date]():
		return true
	}
	return false
}

// describe says what a JSON value for t must be, in the caller's terms.
func describe(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[time.Time]():
		return "a date-time string (RFC 3339)"
	case reflect.TypeFor[phi.Date]():
		return "a date string (YYYY-MM-DD)"
	case reflect.TypeFor[json.Number]():
		return "a number"
	case reflect.TypeFor[json.RawMessage]():
		return "a JSON value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int8, reflect.Int16, reflect.Int32:
		bits := t.Bits()
		return fmt.Sprintf("an integer from %d to %d", -(int64(1) << (bits - 1)), int64(1)<<(bits-1)-1)
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return fmt.Sprintf("an integer from 0 to %d", uint64(1)<<t.Bits()-1)
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Array:
		return "an array"
	}
	return "a JSON value"
}
