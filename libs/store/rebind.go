package store

import (
	"strconv"
	"strings"
)

// bind rewrites query's ? placeholders for d. SQLite takes ? natively.
func bind(d Dialect, query string) string {
	if d != Postgres {
		return query
	}
	return rebind(query)
}

// rebind turns each ? placeholder into PostgreSQL's $1, $2, … in order. A ? inside a
// string literal ('…', E'…' with backslash escapes, $tag$…$tag$), a quoted identifier
// ("…") or a comment (-- …, nested /* … */) is left alone. PostgreSQL's jsonb
// operators ?, ?| and ?& cannot be written in a query that goes through rebind; use
// jsonb_exists, jsonb_exists_any and jsonb_exists_all instead.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i++
			continue
		case c == '\'':
			// E'…' (escape string): a backslash escapes the next byte.
			escapes := i > 0 && (query[i-1] == 'E' || query[i-1] == 'e') && (i < 2 || !isIdentByte(query[i-2]))
			j := skipQuoted(query, i, '\'', escapes)
			b.WriteString(query[i:j])
			i = j
			continue
		case c == '"':
			j := skipQuoted(query, i, '"', false)
			b.WriteString(query[i:j])
			i = j
			continue
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j
			continue
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			j := skipBlockComment(query, i)
			b.WriteString(query[i:j])
			i = j
			continue
		case c == '$' && (i == 0 || !isIdentByte(query[i-1])):
			if j, ok := skipDollarQuoted(query, i); ok {
				b.WriteString(query[i:j])
				i = j
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// skipQuoted returns the index just past the literal that opens with quote at i. A
// doubled quote is an escaped quote. An unterminated literal runs to the end.
func skipQuoted(s string, i int, quote byte, backslashEscapes bool) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if backslashEscapes {
				j++
			}
		case quote:
			if j+1 < len(s) && s[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// skipBlockComment returns the index just past the /* … */ comment at i; PostgreSQL
// block comments nest.
func skipBlockComment(s string, i int) int {
	depth := 0
	for j := i; j+1 < len(s); j++ {
		switch {
		case s[j] == '/' && s[j+1] == '*':
			depth++
			j++
		case s[j] == '*' && s[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(s)
}

// skipDollarQuoted reports whether a dollar-quoted string ($$…$$ or $tag$…$tag$)
// opens at i and, if so, the index just past it. $1 and the like are not quotes.
func skipDollarQuoted(s string, i int) (int, bool) {
	j := i + 1
	for j < len(s) && isIdentByte(s[j]) {
		if j == i+1 && s[j] >= '0' && s[j] <= '9' {
			return 0, false // a positional parameter such as $1
		}
		j++
	}
	if j >= len(s) || s[j] != '$' {
		return 0, false
	}
	tag := s[i : j+1]
	end := strings.Index(s[j+1:], tag)
	if end < 0 {
		return len(s), true
	}
	return j + 1 + end + len(tag), true
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
