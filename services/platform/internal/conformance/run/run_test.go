package run_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/services/platform/internal/conformance/deck"
	"github.com/attest-ehr/attest/services/platform/internal/conformance/run"
)

// TestEveryDeck replays every published deck through one fresh platform and fails on
// any FAIL: every expected value passes, apart from the generic STALE values and the
// documented DECK-ERRORs. CONFORMANCE_DECKS (path prefixes separated by commas, e.g.
// 2025/RT2,2023/RT1) narrows it
// while working on one test.
func TestEveryDeck(t *testing.T) {
	if testing.Short() {
		t.Skip("replays every deck through a platform")
	}
	all, err := deck.LoadAll(os.DirFS("../decks"), ".")
	if err != nil {
		t.Fatal(err)
	}
	var decks []deck.Deck
	for _, d := range all {
		if selected(d.File, os.Getenv("CONFORMANCE_DECKS")) {
			decks = append(decks, d)
		}
	}
	ctx := context.Background()
	pl, err := run.Start(ctx, t.TempDir(), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := pl.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	var out strings.Builder
	res, err := run.Run(ctx, run.Config{Decks: decks, API: pl.API, Source: run.ReportingSource{C: pl.API}, Settled: pl.Settled, Out: &out})
	for _, l := range res.Lines {
		switch {
		case l.Status == run.Fail:
			t.Error(l)
		case l.Status == run.NotRun:
			// Every published deck is replayable through the public APIs.
			t.Error(l)
		}
	}
	if os.Getenv("CONFORMANCE_VERBOSE") != "" {
		t.Log("\n" + out.String())
	}
	t.Log(res.Summary())
	if err != nil {
		t.Fatal(err)
	}
}

func selected(file, prefixes string) bool {
	if prefixes == "" {
		return true
	}
	for _, p := range strings.Split(prefixes, ",") {
		if strings.HasPrefix(file, p) {
			return true
		}
	}
	return false
}
