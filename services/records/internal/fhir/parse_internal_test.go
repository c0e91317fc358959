package fhir

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/attest-ehr/attest/services/records/internal/jsonpass"
)

// onePassCases are inputs at the edges of what the one pass accepts; each is checked
// against the strict path.
var onePassCases = []string{
	``, ` `, `{}`, `[]`, `{"a":1}`, ` {"a" : [1, 2.5, -0, 1e3, 1E-2, -1.5e+7] } `, `{"a":1}{}`, `{"a":1} x`,
	`{"a":1,"a":2}`, `{"a":{"b":1,"b":1}}`, `{"a":1,}`, `[1,]`, `[01]`, `[-]`, `[1.]`, `[.5]`, `[1e]`, `[+1]`,
	`"x"`, `"a\"b"`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, `"\x"`, `"\u12"`, "\"a\tb\"", `"\`, `"abc`, `tru`, `true`,
	`null`, `nul`, `false`, `[true,false,null]`, `{"a":nul}`, `{a:1}`, `{"a"1}`, `{"a":1 "b":2}`, `[1 2]`,
	`{"resourceType":"Patient","name":[{"family":"Ré"}]}`, "\ufeff{}", `{"":1,"":2}`, "{\"a\":1}\n",
	strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
	strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
	strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
}

// checkOnePass holds jsonpass.Parse to the strict path: it accepts exactly what the
// strict path accepts, with the same value.
func checkOnePass(t *testing.T, raw []byte) {
	t.Helper()
	if !utf8.Valid(raw) {
		return // parseJSON refuses it before either path
	}
	fast, ok := jsonpass.Parse(raw, maxDepth)
	slow, is := parseStrict(raw, "")
	switch {
	case ok && is != nil:
		t.Fatalf("%q: the one pass accepted what the strict path refuses (%s)", raw, is.Diagnostics)
	case !ok && is == nil:
		t.Fatalf("%q: the one pass refused what the strict path accepts", raw)
	case ok && !reflect.DeepEqual(fast, slow):
		t.Fatalf("%q: the one pass gave %#v, the strict path %#v", raw, fast, slow)
	}
}

func TestParseOnePass(t *testing.T) {
	for _, c := range onePassCases {
		checkOnePass(t, []byte(c))
	}
	// The bulk import's bad-input corpus and its fuzz seeds, whole and line by line.
	files, _ := filepath.Glob("../bulk/testdata/*/*")
	more, _ := filepath.Glob("../bulk/testdata/fuzz/*/*")
	if len(files)+len(more) < 300 {
		t.Fatalf("found %d corpus files; expected the bulk import's bad-input corpus", len(files)+len(more))
	}
	for _, f := range append(files, more...) {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue // a directory
		}
		checkOnePass(t, raw)
		for _, line := range bytes.Split(raw, []byte("\n")) {
			checkOnePass(t, line)
		}
	}
}

func FuzzParseOnePass(f *testing.F) {
	for _, c := range onePassCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkOnePass)
}
