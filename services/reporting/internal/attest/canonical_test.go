package attest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"unicode/utf16"

	"github.com/attest-ehr/attest/services/reporting/internal/attest"
)

func TestCanonicalRefuses(t *testing.T) {
	for _, bad := range []string{
		`{"a":1,"a":2}`,  // a repeated name (I-JSON)
		`"\ud800"`,       // a lone surrogate
		`"\udc00\ud800"`, // a reversed pair
		`01`,             // a leading zero
		"\"a\tb\"",       // a raw control character
		`[1,]`, `{"a" 1}`, `{"a":1,}`, `tru`, `"\x"`, `-`, `1e`, `1.`, `[`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
	} {
		if got, err := attest.Canonical([]byte(bad)); err == nil {
			t.Errorf("Canonical(%q) = %s, want an error", bad, got)
		}
	}
}

// reference is a plain RFC 8785 canonicalizer over encoding/json, for comparison:
// decode into maps, write members sorted by UTF-16 code units.
func reference(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err := refValue(&out, v)
	return out.Bytes(), err
}

func refValue(out *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int {
			return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
		})
		out.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				out.WriteByte(',')
			}
			refString(out, k)
			out.WriteByte(':')
			if err := refValue(out, v[k]); err != nil {
				return err
			}
		}
		out.WriteByte('}')
	case []any:
		out.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				out.WriteByte(',')
			}
			if err := refValue(out, e); err != nil {
				return err
			}
		}
		out.WriteByte(']')
	case string:
		refString(out, v)
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return err
		}
		if f == 0 {
			f = 0 // ECMAScript writes -0 as 0
		}
		out.WriteString(strconv.FormatFloat(f, 'f', -1, 64))
	case bool:
		out.WriteString(strconv.FormatBool(v))
	case nil:
		out.WriteString("null")
	}
	return nil
}

func refString(out *bytes.Buffer, s string) {
	out.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			out.WriteByte('\\')
			out.WriteRune(r)
		case r == '\b':
			out.WriteString(`\b`)
		case r == '\f':
			out.WriteString(`\f`)
		case r == '\n':
			out.WriteString(`\n`)
		case r == '\r':
			out.WriteString(`\r`)
		case r == '\t':
			out.WriteString(`\t`)
		case r < 0x20:
			fmt.Fprintf(out, `\u%04x`, r)
		default:
			out.WriteRune(r)
		}
	}
	out.WriteByte('"')
}

// FuzzCanonical checks the canonicalizer against the reference on any input it
// accepts (the reference is laxer: it keeps the last of repeated names and turns
// lone surrogates into U+FFFD, which Canonical refuses), and that canonical form is
// a fixed point.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{
		`{"b":[1,true,null],"a":"x"}`, `"\u0041\u00e9\u20ac\/\"\\\b\f\n\r\t\u001f"`,
		`{"\ufb33":6,"\u20ac":1,"\ud83d\ude00":2,"\u0080":3,"1":4,"a":5}`, `[0,-0,1E3,1.0e2,-12]`,
		` { "z" : { "y" : 1 , "x" : [ { "b" : 2 , "a" : 1 } ] } } `, `{"":{"":[]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := attest.Canonical(data)
		if err != nil {
			return
		}
		want, rerr := reference(data)
		if rerr != nil || !bytes.Equal(got, want) {
			t.Fatalf("Canonical(%q) = %s; reference %s, %v", data, got, want, rerr)
		}
		again, err := attest.Canonical(got)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("canonical form is not a fixed point: %s → %s, %v", got, again, err)
		}
	})
}
