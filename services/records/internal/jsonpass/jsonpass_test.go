package jsonpass_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/services/records/internal/jsonpass"
)

// Parse is held to encoding/json by internal/fhir's TestParseOnePass and
// FuzzParseOnePass; Check to httpapi's strict decoding by internal/bulk's
// TestJSONOnePassAgrees and FuzzDecodeJSONLine. These are Check's own rules.
func TestCheck(t *testing.T) {
	manyKeys := func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"k%d":%d`, i, i)
		}
		return b.String() + "}"
	}
	for _, c := range []struct {
		in    string
		depth int // 0: 64
		want  bool
	}{
		{in: `{"a":1,"b":[true,null,"x"]}`, want: true},
		{in: ` [ ] `, want: true},
		{in: `{"a":1,"a":2}`, want: false},
		{in: `{"a":1,"A":2}`, want: false},            // encoding/json would fill one field twice
		{in: `{"a":{"x":1},"b":{"x":1}}`, want: true}, // keys are per object
		{in: `{"é":1}`, want: false},                  // non-ASCII keys are left to the strict path
		{in: `{"a\u0062":1}`, want: false},            // so are escaped ones
		{in: `{"a":1}{}`, want: false},                // one value
		{in: `{"a":1`, want: false},                   // truncated
		{in: manyKeys(48), want: true},                // maxKeys
		{in: manyKeys(49), want: false},               // past it: left to the strict path
		{in: strings.Repeat("[", 3) + strings.Repeat("]", 3), depth: 3, want: true},
		{in: strings.Repeat("[", 4) + strings.Repeat("]", 4), depth: 3, want: false},
	} {
		depth := c.depth
		if depth == 0 {
			depth = 64
		}
		if got := jsonpass.Check([]byte(c.in), depth); got != c.want {
			t.Errorf("Check(%.40s) = %v, want %v", c.in, got, c.want)
		}
	}
}
