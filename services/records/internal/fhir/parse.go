package fhir

import (
	"encoding/json"
)

// parseOnePass is parseJSON's fast path: it parses raw (already known to be valid
// UTF-8) in one pass into the value encoding/json gives with UseNumber (obj, []any,
// json.Number, string, bool, nil), checking duplicate keys and depth as it goes.
//
// It reports ok only for input the strict path accepts (one JSON value, no duplicate
// key, at most maxDepth levels). On anything else it gives up without saying why,
// and parseJSON runs the strict path (token scan, then decode), which names the
// problem exactly as before: refusals cost what they did, accepted input costs one
// pass instead of two. FuzzParseOnePass holds the two paths to the same answers.
func parseOnePass(raw []byte) (v any, ok bool) {
	p := onePass{b: raw}
	p.space()
	v, ok = p.value()
	if !ok {
		return nil, false
	}
	p.space()
	return v, p.i == len(p.b)
}

// onePass is the state of parseOnePass: the input and the position in it.
type onePass struct {
	b     []byte
	i     int
	depth int // containers open around the position
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
	if p.depth >= maxDepth {
		return false
	}
	p.depth++
	p.i++
	return true
}

func (p *onePass) object() (any, bool) {
	if !p.open() {
		return nil, false
	}
	m := obj{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.depth--
		return m, true
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, false
		}
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		key := k.(string)
		if _, dup := m[key]; dup {
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
		m[key] = v
		p.space()
		if p.i >= len(p.b) {
			return nil, false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			p.depth--
			return m, true
		default:
			return nil, false
		}
	}
}

func (p *onePass) array() (any, bool) {
	if !p.open() {
		return nil, false
	}
	a := []any{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.depth--
		return a, true
	}
	for {
		p.space()
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		a = append(a, v)
		p.space()
		if p.i >= len(p.b) {
			return nil, false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			p.depth--
			return a, true
		default:
			return nil, false
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
	return json.Number(p.b[start:p.i]), true
}

func (p *onePass) digits() int {
	n := 0
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}
