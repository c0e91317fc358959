package measuretest

import (
	"flag"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Checks makes rapid run n checks in the test, unless -rapid.checks was given on the
// command line: the properties of this service need more than rapid's default 100.
func Checks(t *testing.T, n int) {
	t.Helper()
	// Given on the command line, not set by an earlier test's Checks (flag.Visit would
	// report both: the second test of a package calling Checks got rapid's 100).
	if slices.ContainsFunc(os.Args[1:], func(a string) bool {
		return strings.HasPrefix(strings.TrimLeft(a, "-"), "rapid.checks")
	}) {
		return
	}
	old := flag.Lookup("rapid.checks").Value.String()
	if err := flag.Set("rapid.checks", strconv.Itoa(n)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = flag.Set("rapid.checks", old) })
}
