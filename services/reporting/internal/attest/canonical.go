package attest

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/attest-ehr/attest/libs/errs"
)

// maxSafeInteger is the largest integer an IEEE 754 double holds exactly (2^53 − 1):
// RFC 8785 serializes numbers as ECMAScript does, and beyond it two different
// integers could canonicalize alike.
const maxSafeInteger = 1<<53 - 1

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 64

// Canonical returns the RFC 8785 (JSON Canonicalization Scheme) form of a JSON
// value: no insignificant whitespace, object members sorted by the UTF-16 code
// units of their names, strings escaped as ECMAScript's JSON.stringify does, and
// numbers in ECMAScript form. Our payloads carry only integers (counts, offsets,
// cents; rates are strings), so a number that is not an integer within ±(2^53 − 1)
// is refused rather than converted. Refused too, as RFC 8785 requires I-JSON
// (RFC 7493): invalid UTF-8, escapes of lone surrogates, a name repeated in an
// object, nesting deeper than 64.
//
// It parses the bytes directly, without building maps: an attestation with a
// million members canonicalizes in seconds, not minutes.
func Canonical(data []byte) ([]byte, error) {
	if !utf8.Valid(data) {
		return nil, canonErr("not valid UTF-8")
	}
	c := canonicalizer{data: data, names: map[string]string{}}
	c.space()
	out, err := c.value(make([]byte, 0, len(data)), 0)
	if err != nil {
		return nil, err
	}
	c.space()
	if c.i != len(data) {
		return nil, canonErr("data after the value at byte %d", c.i)
	}
	return out, nil
}

func canonErr(format string, args ...any) error {
	return errs.E(errs.Invalid, "canonical JSON: "+format, args...)
}

// canonicalizer reads data from i. scratch holds one buffer per nesting depth for
// an object's canonical members, reused by its siblings.
type canonicalizer struct {
	data    []byte
	i       int
	scratch [][]byte
	members [][]member        // per depth, like scratch
	names   map[string]string // member names seen, so each is allocated once
	str     []byte            // an unescaped string
}

func (c *canonicalizer) space() {
	for c.i < len(c.data) {
		switch c.data[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

func (c *canonicalizer) value(out []byte, depth int) ([]byte, error) {
	if c.i >= len(c.data) {
		return nil, canonErr("unexpected end")
	}
	if depth > maxDepth {
		return nil, canonErr("nested deeper than %d", maxDepth)
	}
	switch b := c.data[c.i]; {
	case b == '{':
		return c.object(out, depth)
	case b == '[':
		return c.array(out, depth)
	case b == '"':
		s, err := c.string()
		if err != nil {
			return nil, err
		}
		return appendString(out, s), nil
	case b == 't':
		return c.literal(out, "true")
	case b == 'f':
		return c.literal(out, "false")
	case b == 'n':
		return c.literal(out, "null")
	case b == '-' || b >= '0' && b <= '9':
		return c.number(out)
	}
	return nil, canonErr("unexpected byte at %d", c.i)
}

func (c *canonicalizer) literal(out []byte, lit string) ([]byte, error) {
	if !bytes.HasPrefix(c.data[c.i:], []byte(lit)) {
		return nil, canonErr("unexpected byte at %d", c.i)
	}
	c.i += len(lit)
	return append(out, lit...), nil
}

func (c *canonicalizer) array(out []byte, depth int) ([]byte, error) {
	c.i++ // [
	out = append(out, '[')
	c.space()
	if c.i < len(c.data) && c.data[c.i] == ']' {
		c.i++
		return append(out, ']'), nil
	}
	for {
		var err error
		if out, err = c.value(out, depth+1); err != nil {
			return nil, err
		}
		c.space()
		switch {
		case c.i < len(c.data) && c.data[c.i] == ',':
			c.i++
			out = append(out, ',')
			c.space()
		case c.i < len(c.data) && c.data[c.i] == ']':
			c.i++
			return append(out, ']'), nil
		default:
			return nil, canonErr("expected , or ] at byte %d", c.i)
		}
	}
}

// member is one object member as written in the depth's scratch buffer: its name
// (canonical, quoted) at [start, colon) and its value at (colon, end).
type member struct {
	name              string // unescaped, for sorting
	start, colon, end int
}

func (c *canonicalizer) object(out []byte, depth int) ([]byte, error) {
	c.i++ // {
	for len(c.scratch) <= depth {
		c.scratch, c.members = append(c.scratch, nil), append(c.members, nil)
	}
	buf, members := c.scratch[depth][:0], c.members[depth][:0]
	c.space()
	if c.i < len(c.data) && c.data[c.i] == '}' {
		c.i++
		return append(out, '{', '}'), nil
	}
	for {
		if c.i >= len(c.data) || c.data[c.i] != '"' {
			return nil, canonErr("expected a member name at byte %d", c.i)
		}
		name, err := c.string()
		if err != nil {
			return nil, err
		}
		interned, ok := c.names[string(name)] // no allocation for a name seen before
		if !ok {
			interned = string(name)
			c.names[interned] = interned
		}
		m := member{name: interned, start: len(buf)}
		buf = appendString(buf, name)
		m.colon = len(buf)
		buf = append(buf, ':')
		c.space()
		if c.i >= len(c.data) || c.data[c.i] != ':' {
			return nil, canonErr("expected : at byte %d", c.i)
		}
		c.i++
		c.space()
		if buf, err = c.value(buf, depth+1); err != nil {
			return nil, err
		}
		m.end = len(buf)
		members = append(members, m)
		c.space()
		if c.i < len(c.data) && c.data[c.i] == ',' {
			c.i++
			c.space()
			continue
		}
		if c.i < len(c.data) && c.data[c.i] == '}' {
			c.i++
			break
		}
		return nil, canonErr("expected , or } at byte %d", c.i)
	}
	c.scratch[depth], c.members[depth] = buf, members // keep the grown buffers for the next object at this depth
	slices.SortStableFunc(members, func(a, b member) int { return compareUTF16(a.name, b.name) })
	out = append(out, '{')
	for i, m := range members {
		if i > 0 {
			if members[i-1].name == m.name {
				return nil, canonErr("member name repeated in an object")
			}
			out = append(out, ',')
		}
		out = append(out, buf[m.start:m.end]...)
	}
	return append(out, '}'), nil
}

// string reads a JSON string at c.i and returns it unescaped (valid only until the
// next call).
func (c *canonicalizer) string() ([]byte, error) {
	c.i++ // "
	s := c.str[:0]
	for {
		start := c.i
		for c.i < len(c.data) && c.data[c.i] != '"' && c.data[c.i] != '\\' && c.data[c.i] >= 0x20 {
			c.i++
		}
		s = append(s, c.data[start:c.i]...)
		if c.i >= len(c.data) {
			return nil, canonErr("unterminated string")
		}
		switch b := c.data[c.i]; {
		case b == '"':
			c.i++
			c.str = s
			return s, nil
		case b < 0x20:
			return nil, canonErr("control character in a string at byte %d", c.i)
		}
		// A backslash escape.
		if c.i+1 >= len(c.data) {
			return nil, canonErr("unterminated string")
		}
		esc := c.data[c.i+1]
		c.i += 2
		switch esc {
		case '"', '\\', '/':
			s = append(s, esc)
		case 'b':
			s = append(s, '\b')
		case 'f':
			s = append(s, '\f')
		case 'n':
			s = append(s, '\n')
		case 'r':
			s = append(s, '\r')
		case 't':
			s = append(s, '\t')
		case 'u':
			r, err := c.hex4()
			if err != nil {
				return nil, err
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xdc00 || c.i+1 >= len(c.data) || c.data[c.i] != '\\' || c.data[c.i+1] != 'u' {
					return nil, canonErr("lone surrogate escape at byte %d", c.i)
				}
				c.i += 2
				low, err := c.hex4()
				if err != nil {
					return nil, err
				}
				if r = utf16.DecodeRune(r, low); r == utf8.RuneError {
					return nil, canonErr("invalid surrogate pair at byte %d", c.i)
				}
			}
			s = utf8.AppendRune(s, r)
		default:
			return nil, canonErr("invalid escape at byte %d", c.i-1)
		}
	}
}

func (c *canonicalizer) hex4() (rune, error) {
	if c.i+4 > len(c.data) {
		return 0, canonErr("short \\u escape")
	}
	v, err := strconv.ParseUint(string(c.data[c.i:c.i+4]), 16, 16)
	if err != nil {
		return 0, canonErr("invalid \\u escape at byte %d", c.i)
	}
	c.i += 4
	return rune(v), nil
}

// number reads a JSON number (RFC 8259 grammar) and writes it as an integer.
func (c *canonicalizer) number(out []byte) ([]byte, error) {
	start := c.i
	digits := func() int {
		n := 0
		for c.i < len(c.data) && c.data[c.i] >= '0' && c.data[c.i] <= '9' {
			c.i++
			n++
		}
		return n
	}
	if c.data[c.i] == '-' {
		c.i++
	}
	intStart := c.i
	if digits() == 0 || c.data[intStart] == '0' && c.i-intStart > 1 {
		return nil, canonErr("invalid number at byte %d", start)
	}
	if c.i < len(c.data) && c.data[c.i] == '.' {
		c.i++
		if digits() == 0 {
			return nil, canonErr("invalid number at byte %d", start)
		}
	}
	if c.i < len(c.data) && (c.data[c.i] == 'e' || c.data[c.i] == 'E') {
		c.i++
		if c.i < len(c.data) && (c.data[c.i] == '+' || c.data[c.i] == '-') {
			c.i++
		}
		if digits() == 0 {
			return nil, canonErr("invalid number at byte %d", start)
		}
	}
	n := string(c.data[start:c.i])
	i, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		// A fraction or an exponent: allowed only when it is an exact safe integer.
		f, ferr := strconv.ParseFloat(n, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > maxSafeInteger {
			return nil, canonErr("only integers within ±(2^53 − 1) are supported (byte %d)", start)
		}
		i = int64(f)
	}
	if i > maxSafeInteger || i < -maxSafeInteger {
		return nil, canonErr("integer beyond ±(2^53 − 1) at byte %d", start)
	}
	return strconv.AppendInt(out, i, 10), nil
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785 §3.2.3 sorts
// member names (it differs from byte order only above U+FFFF versus U+E000–U+FFFF).
func compareUTF16(a, b string) int {
	if ascii(a) || ascii(b) {
		return cmpBytes(a, b) // byte order is code unit order when one side is ASCII
	}
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func cmpBytes(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func ascii(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendString writes s as ECMAScript's JSON.stringify does: \" \\ \b \f \n \r \t,
// other control characters as \u00xx (lower-case hex), everything else as is. s is
// valid UTF-8, and the bytes of multi-byte characters are all ≥ 0x80, so runs of
// bytes needing no escape are copied whole.
func appendString[S string | []byte](out []byte, s S) []byte {
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		out = append(out, s[start:i]...)
		switch c {
		case '"':
			out = append(out, `\"`...)
		case '\\':
			out = append(out, `\\`...)
		case '\b':
			out = append(out, `\b`...)
		case '\f':
			out = append(out, `\f`...)
		case '\n':
			out = append(out, `\n`...)
		case '\r':
			out = append(out, `\r`...)
		case '\t':
			out = append(out, `\t`...)
		default:
			const hex = "0123456789abcdef"
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		start = i + 1
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}
