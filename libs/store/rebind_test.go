package store_test

import (
	"testing"

	"github.com/attest-ehr/attest/libs/store"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no placeholders", "SELECT 1", "SELECT 1"},
		{"in order", "SELECT a FROM t WHERE b = ? AND c IN (?, ?)", "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"},
		{"adjacent", "VALUES (?,?)", "VALUES ($1,$2)"},
		{"string literal", "SELECT '?' , ?", "SELECT '?' , $1"},
		{"doubled quote", "SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"},
		{"escape string", `SELECT E'a\'?', ?`, `SELECT E'a\'?', $1`},
		{"backslash in plain string", `SELECT 'a\', ?`, `SELECT 'a\', $1`},
		{"identifier ending in e", `SELECT type'?', ?`, `SELECT type'?', $1`},
		{"quoted identifier", `SELECT "a?b" FROM t WHERE x = ?`, `SELECT "a?b" FROM t WHERE x = $1`},
		{"line comment", "SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"line comment at end", "SELECT ? -- why?", "SELECT $1 -- why?"},
		{"block comment", "SELECT /* ? /* nested ? */ ? */ ?", "SELECT /* ? /* nested ? */ ? */ $1"},
		{"dollar quote", "SELECT $$ ? $$, ?", "SELECT $$ ? $$, $1"},
		{"tagged dollar quote", "SELECT $fn$ ? $x$ ? $fn$, ?", "SELECT $fn$ ? $x$ ? $fn$, $1"},
		{"existing $n copied verbatim", "SELECT $1, ?", "SELECT $1, $1"},
		{"dollar inside identifier", "SELECT a$b$, ?", "SELECT a$b$, $1"},
		{"unterminated string", "SELECT ?, 'oops ?", "SELECT $1, 'oops ?"},
		{"ten or more", "?,?,?,?,?,?,?,?,?,?,?", "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := store.Rebind(tt.in); got != tt.want {
				t.Errorf("Rebind(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}
