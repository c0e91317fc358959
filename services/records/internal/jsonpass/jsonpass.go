// Package jsonpass reads JSON in one pass for the strict decoders of records: it
// accepts only input they accept, and gives up, without saying why, on anything else
// (invalid JSON, a duplicate key, too deep, ...), so that the caller runs its strict
// path, which names the problem. Accepted input then costs one pass instead of a
// token scan and a decode; refused input costs what it did.
package jsonpass

import (
	"encoding/json"
)

// Parse parses raw (valid UTF-8: the caller checks it) as one JSON value into what
// encoding/json gives with UseNumber (map[string]any, []any, json.Number, string,
// bool, nil). ok is false unless raw is one JSON value with no key repeated in an
// object and at most maxDepth objects and arrays open at once.
func Parse(raw []byte, maxDepth int) (v any, ok bool) {
	p := onePass{b: raw, maxDepth: maxDepth, build: true}
	return p.all()
}

// Check reports whether raw (valid UTF-8) is one JSON value with at most maxDepth
// objects and arrays open at once and no two keys of an object equal, even ignoring
// letter case (encoding/json matches struct fields without regard to case); objects
// with non-ASCII keys, or more than maxKeys keys, are not checked: false.
func Check(raw []byte, maxDepth int) bool {
	p := onePass{b: raw, maxDepth: maxDepth}
	_, ok := p.all()
	return ok
}

// maxKeys bounds the keys of an object Check compares pairwise.
const maxKeys = 48

func (p *onePass) all() (any, bool) {
	p.space()
	v, ok := p.value()
	if !ok {
		return nil, false
	}
	p.space()
	return v, p.i == len(p.b)
}

// onePass is the state of Parse and Check: the input and the position in it.
type onePass struct {
	b        []byte
	i        int
	depth    int // containers open around the position
	maxDepth int
	build    bool     // build the value (Parse), or only check (Check)
	keys     [][]byte // Check: the keys of the open objects, innermost last
}

// space skips JSON whitespace (space, tab, CR, LF: nothing else).
func (p *onePass) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *onePass) value() (any, bool) {
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, false
}

func (p *onePass) literal(word string) bool {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return false
	}
	p.i += len(word)
	return true
}

// open enters a container, refusing the one that would be nested deeper than
// maxDepth (the strict path's rule: at most maxDepth open at once).
func (p *onePass) open() bool {
	if p.depth >= p.maxDepth {
		return false
	}
	p.depth++
	p.i++
	return true
}

// closed skips whitespace and, if the container ends there (c is its closing
// bracket), leaves it.
func (p *onePass) closed(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		p.depth--
		return true
	}
	return false
}

// after reads what follows a container's member: a comma (more: true) or its
// closing bracket c (more: false); anything else is not JSON (ok: false).
func (p *onePass) after(c byte) (more, ok bool) {
	if p.closed(c) {
		return false, true
	}
	if p.i < len(p.b) && p.b[p.i] == ',' {
		p.i++
		return true, true
	}
	return false, false
}

func (p *onePass) object() (_ any, _ bool) {
	if !p.open() {
		return nil, false
	}
	var m map[string]any
	if p.build {
		m = map[string]any{}
	}
	first := len(p.keys) // Check: this object's keys are p.keys[first:]
	defer func() { p.keys = p.keys[:first] }()
	if p.closed('}') {
		return m, true
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, false
		}
		start := p.i
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		var key string
		if p.build {
			key = k.(string)
			if _, dup := m[key]; dup {
				return nil, false
			}
		} else if !p.newKey(p.b[start+1:p.i-1], first) {
			return nil, false
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.space()
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		if p.build {
			m[key] = v
		}
		if more, ok := p.after('}'); !ok {
			return nil, false
		} else if !more {
			return m, true
		}
	}
}

func (p *onePass) array() (any, bool) {
	if !p.open() {
		return nil, false
	}
	var a []any
	if p.build {
		a = []any{}
	}
	if p.closed(']') {
		return a, true
	}
	for {
		p.space()
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		if p.build {
			a = append(a, v)
		}
		if more, ok := p.after(']'); !ok {
			return nil, false
		} else if !more {
			return a, true
		}
	}
}

// str reads a string at p.i (an opening quote). A string without escapes is its bytes
// (valid UTF-8, checked before); one with escapes is decoded by encoding/json, so
// that \u escapes (surrogate pairs, lone surrogates) come out exactly as there.
func (p *onePass) str() (any, bool) {
	start := p.i
	p.i++
	escaped := false
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if !escaped {
				if !p.build {
					return nil, true
				}
				return string(p.b[start+1 : p.i-1]), true
			}
			var s string
			if err := json.Unmarshal(p.b[start:p.i], &s); err != nil {
				return nil, false
			}
			return s, true
		case c == '\\':
			escaped = true
			p.i += 2 // the escape's letter; json.Unmarshal checks it and any \u digits
		case c < 0x20: // control characters must be escaped
			return nil, false
		default:
			p.i++
		}
	}
	return nil, false
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, kept as
// its text (json.Number), as the strict path keeps it.
func (p *onePass) number() (any, bool) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case p.i < len(p.b) && p.b[p.i] >= '1' && p.b[p.i] <= '9':
		p.digits()
	default:
		return nil, false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return nil, false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return nil, false
		}
	}
	if !p.build {
		return nil, true
	}
	return json.Number(p.b[start:p.i]), true
}

// newKey records an object's key for Check, refusing one equal to an earlier key of
// the object ignoring ASCII case, a key with an escape or a non-ASCII byte (how
// encoding/json folds it is not worth repeating here), and the key past maxKeys.
func (p *onePass) newKey(key []byte, first int) bool {
	for _, c := range key {
		if c >= 0x80 || c == '\\' {
			return false
		}
	}
	if len(p.keys)-first >= maxKeys {
		return false
	}
	for _, k := range p.keys[first:] {
		if asciiEqualFold(k, key) {
			return false
		}
	}
	p.keys = append(p.keys, key)
	return true
}

func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func (p *onePass) digits() int {
	n := 0
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}
