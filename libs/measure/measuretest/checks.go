package measuretest

import (
	"flag"
	"strconv"
	"testing"
)

// Checks makes rapid run n checks in the test, unless -rapid.checks was given on the
// command line: the properties of this service need more than rapid's default 100.
func Checks(t *testing.T, n int) {
	t.Helper()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "rapid.checks" })
	if given {
		return
	}
	old := flag.Lookup("rapid.checks").Value.String()
	if err := flag.Set("rapid.checks", strconv.Itoa(n)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = flag.Set("rapid.checks", old) })
}
