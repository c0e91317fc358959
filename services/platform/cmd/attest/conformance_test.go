package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestConformanceCommand replays one deck through a fresh platform: a line per
// expected value and the closing counts; bad --deck arguments are refused.
func TestConformanceCommand(t *testing.T) {
	env := map[string]string{"LOG_LEVEL": "error"}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	err := run(context.Background(), []string{"conformance", "--deck", "../../internal/conformance/decks/2025/RT7/EP_RT7_G1.json"}, getenv, &out)
	if err != nil {
		t.Fatalf("attest conformance: %v\n%s", err, out.String())
	}
	s := out.String()
	if !strings.Contains(s, "PASS 2025/EP_RT7_G1 1 1 clinician PI_HIE_1:numerator") || !strings.Contains(s, " passed, 0 failed\n") {
		t.Errorf("output:\n%s", s)
	}
	for _, args := range [][]string{
		{"conformance", "--deck", "/nonexistent/EP_RT1_G1.json"},
		{"conformance", "--deck", t.TempDir()},
	} {
		if err := run(context.Background(), args, getenv, &out); err == nil {
			t.Errorf("attest %v succeeded", args)
		}
	}
}
