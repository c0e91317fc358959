// Package run replays ONC's (g)(1)/(g)(2) test decks through a running platform's
// public APIs and checks every expected value: the engine of `attest conformance`.
//
// Each deck is replayed once as written and once per automated numerator its totals
// name (with those steps automatic), each replay with its own clinicians, groups and
// hospital, so that many replays share one platform without their counts mixing. After
// every scenario the runner waits until the pipeline has consumed everything written
// (Config.Settled), then asks for each expected value and prints one line per value:
//
//	PASS|FAIL|STALE|DECK-ERROR deck scenario segment entity measure expected got
//
// STALE is exactly the decks' generic rule (deck.Deck.Stale); DECK-ERROR only a value
// in the documented list (DeckErrors, docs/conformance.md).
package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/progress"
	"github.com/attest-ehr/attest/services/platform/internal/conformance/deck"
	"github.com/attest-ehr/attest/services/platform/internal/conformance/translate"
)

// Config is what Run needs.
type Config struct {
	Decks   []deck.Deck
	API     *Client
	Source  Source                              // where the numbers are asked
	Settled func(context.Context) (bool, error) // true once everything written has been consumed
	Out     io.Writer                           // the result lines
	// Progress, when not nil, receives the run's progress (libs/progress).
	Progress io.Writer
	// SettleTimeout bounds the wait for the pipeline after a scenario; default 2 minutes.
	SettleTimeout time.Duration
}

// Status is a value's verdict.
type Status string

// The verdicts.
const (
	Pass      Status = "PASS"
	Fail      Status = "FAIL"
	Stale     Status = "STALE"
	DeckError Status = "DECK-ERROR"
	NotRun    Status = "NOT-RUN" // the deck's facts cannot be recorded through the public APIs (translate.ErrNotReplayable)
)

// Line is one expected value checked.
type Line struct {
	Status   Status
	Deck     string // e.g. 2025/EP_RT1_G2
	Scenario int
	Segment  int
	Entity   string // the deck's entity name; "hospital" for a hospital deck
	Measure  string // e.g. PI_EP_1[controlled-substances-included]:numerator
	Expected int
	Got      int    // -1 when not asked (NOT-RUN, or a DECK-ERROR no program counts)
	Why      string // NOT-RUN: why, on a deck's first line
}

func (l Line) String() string {
	got := strconv.Itoa(l.Got)
	if l.Got < 0 {
		got = "-"
	}
	s := fmt.Sprintf("%s %s %d %d %s %s %d %s", l.Status, l.Deck, l.Scenario, l.Segment,
		strings.ReplaceAll(l.Entity, " ", "_"), l.Measure, l.Expected, got)
	if l.Why != "" {
		s += " (" + l.Why + ")"
	}
	return s
}

// Result counts the verdicts.
type Result struct {
	Lines                                     []Line
	Passed, Failed, Stale, DeckErrors, NotRun int
}

// DeckName is a deck's short name in the output: edition/file without extension.
func DeckName(d deck.Deck) string {
	return d.Edition + "/" + strings.TrimSuffix(path.Base(d.File), ".json")
}

// Run replays every deck and checks every expected value. It returns an error when it
// cannot go on (a deck entry not understood, a request refused, the pipeline not
// settling); failed values are in the Result, not an error.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.SettleTimeout <= 0 {
		cfg.SettleTimeout = 2 * time.Minute
	}
	var res Result
	total := 0
	for _, d := range cfg.Decks {
		for _, sc := range d.Scenarios {
			for _, g := range sc.Segments {
				total += len(g.Expected)
			}
		}
	}
	var meter *progress.Meter
	if cfg.Progress != nil {
		meter = progress.Start(cfg.Progress, progress.Config{Label: "conformance", Total: int64(total), Unit: "expected values"})
		defer meter.Done()
	}
	seq := 0
	for _, d := range cfg.Decks {
		lines, err := runDeck(ctx, cfg, d, &seq, meter)
		for _, l := range lines {
			res.Lines = append(res.Lines, l)
			switch l.Status {
			case Pass:
				res.Passed++
			case Fail:
				res.Failed++
			case Stale:
				res.Stale++
			case DeckError:
				res.DeckErrors++
			case NotRun:
				res.NotRun++
			}
			if cfg.Out != nil {
				fmt.Fprintln(cfg.Out, l)
			}
		}
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// Summary is the two closing lines.
func (r Result) Summary() string {
	s := fmt.Sprintf("%d stale, %d deck errors\n", r.Stale, r.DeckErrors)
	if r.NotRun > 0 {
		s += fmt.Sprintf("%d not run (decks whose facts the public APIs cannot date)\n", r.NotRun)
	}
	return s + fmt.Sprintf("%d passed, %d failed\n", r.Passed, r.Failed)
}

func runDeck(ctx context.Context, cfg Config, d deck.Deck, seq *int, meter *progress.Meter) ([]Line, error) {
	name := DeckName(d)
	ed, ok := editions[d.Edition]
	if !ok {
		return nil, fmt.Errorf("deck %s: edition %q is not mapped to a program", name, d.Edition)
	}
	res := &resolver{src: cfg.Source, d: d, cache: map[string]*target{}}
	replays := map[string]translate.Replay{}
	var order []string
	for _, a := range translate.Automations(d) {
		r, err := translate.Translate(d, a, *seq, ed.year)
		if errors.Is(err, translate.ErrNotReplayable) {
			return notRun(d, err), nil
		}
		if err != nil {
			return nil, err
		}
		*seq++
		replays[a] = r
		order = append(order, a)
		if err := send(ctx, cfg, r.Setup); err != nil {
			return nil, fmt.Errorf("deck %s: directory: %w", name, err)
		}
	}
	var lines []Line
	for i, sc := range d.Scenarios {
		for _, a := range order {
			if err := send(ctx, cfg, replays[a].Scenarios[i]); err != nil {
				return lines, fmt.Errorf("deck %s scenario %d (%s), replay %q: %w", name, sc.Index, sc.Title, a, err)
			}
		}
		if err := settle(ctx, cfg); err != nil {
			return lines, fmt.Errorf("deck %s scenario %d: %w", name, sc.Index, err)
		}
		for _, g := range sc.Segments {
			for _, e := range g.Expected {
				where := fmt.Sprintf("deck %s scenario %d segment %d entity %q", name, sc.Index, g.Index, e.Entity)
				l, err := check(ctx, cfg, res, d, replays, sc, g, e)
				if err != nil {
					return lines, fmt.Errorf("%s: %w", where, err)
				}
				lines = append(lines, l)
				if meter != nil {
					meter.Add(1)
				}
			}
		}
	}
	return lines, nil
}

// check asks for one expected value and gives its verdict.
func check(ctx context.Context, cfg Config, res *resolver, d deck.Deck, replays map[string]translate.Replay,
	sc deck.Scenario, g deck.Segment, e deck.Expected) (Line, error) {
	asked, tg, err := res.where(ctx, e.Entity)
	if err != nil {
		// A documented deck error may name an entity no program counts the measure for.
		l := Line{Status: DeckError, Deck: DeckName(d), Scenario: sc.Index, Segment: g.Index, Entity: entityName(d, e.Entity),
			Measure: "-:" + strings.ReplaceAll(e.Metric, " ", "_"), Expected: e.Value, Got: -1}
		if IsDeckError(l) {
			return l, nil
		}
		return Line{}, err
	}
	variant, err := variantOf(tg.measure, d, g)
	if err != nil {
		return Line{}, err
	}
	replay, numerator := replays[""], e.Metric == "numerator"
	if a, ok := strings.CutPrefix(e.Metric, "automated: "); ok {
		replay, numerator = replays[a], true
	}
	entity, err := replay.Entities.Entity(asked)
	if err != nil {
		return Line{}, err
	}
	n, err := cfg.Source.Numbers(ctx, Query{Entity: entity, Program: tg.program, Year: tg.year, Measure: tg.measure.ID, Variant: variant})
	if err != nil {
		return Line{}, err
	}
	got := n.Denominator
	if numerator {
		got = n.Numerator
	}
	m := tg.measure.ID
	if variant != "" {
		m += "[" + variant + "]"
	}
	l := Line{Deck: DeckName(d), Scenario: sc.Index, Segment: g.Index, Entity: entityName(d, e.Entity),
		Measure: m + ":" + strings.ReplaceAll(e.Metric, " ", "_"), Expected: e.Value, Got: got}
	switch {
	case d.Stale(sc.Index, g.Index, e):
		l.Status = Stale
	case IsDeckError(l):
		l.Status = DeckError
	case got == e.Value:
		l.Status = Pass
	default:
		l.Status = Fail
	}
	return l, nil
}

// entityName is the entity column: the deck's name, or for a deck that names none the
// hospital or the sole clinician.
func entityName(d deck.Deck, name string) string {
	switch {
	case name != "":
		return name
	case d.Kind == "EH":
		return "hospital"
	}
	return "clinician"
}

// notRun is a line per expected value of a deck that cannot be replayed, saying why
// in the first.
func notRun(d deck.Deck, why error) []Line {
	var lines []Line
	for _, sc := range d.Scenarios {
		for _, g := range sc.Segments {
			for _, e := range g.Expected {
				lines = append(lines, Line{Status: NotRun, Deck: DeckName(d), Scenario: sc.Index, Segment: g.Index,
					Entity: entityName(d, e.Entity), Measure: "-:" + strings.ReplaceAll(e.Metric, " ", "_"), Expected: e.Value, Got: -1})
			}
		}
	}
	if len(lines) > 0 {
		lines[0].Why = why.Error()
	}
	return lines
}

// send posts a scenario's requests in order; each create carries its resource ID as
// the Idempotency-Key, so a retried request changes nothing. A request marked Settle
// waits until the pipeline has consumed what was written before it.
func send(ctx context.Context, cfg Config, reqs []translate.Request) error {
	c := cfg.API
	for _, r := range reqs {
		if r.Settle {
			if err := settle(ctx, cfg); err != nil {
				return err
			}
		}
		key := r.Key
		if b, ok := r.Body.(map[string]any); ok && key == "" {
			key, _ = b["id"].(string)
		}
		if err := c.Do(ctx, r.Method, r.Path, key, r.Body, nil); err != nil {
			return err
		}
	}
	return nil
}

// settle polls cfg.Settled until the pipeline has consumed everything written. The
// poll interval only paces the polling: the answer, not a duration, decides.
func settle(ctx context.Context, cfg Config) error {
	deadline := time.Now().Add(cfg.SettleTimeout)
	wait := 10 * time.Millisecond
	for {
		ok, err := cfg.Settled(ctx)
		if err != nil {
			return fmt.Errorf("waiting for the pipeline: %w", err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the pipeline did not settle within %v", cfg.SettleTimeout)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// variantOf is the measure variant a segment counts: with or without controlled
// substances, read from the segment's title (or, when a scenario leaves it out, the
// title of the segment with the same index in another scenario).
func variantOf(m Measure, d deck.Deck, g deck.Segment) (string, error) {
	if len(m.Variants) == 0 {
		return "", nil
	}
	t := strings.ToLower(g.Title)
	// Some scenarios leave the title out; segments share their index across scenarios.
	for _, sc := range d.Scenarios {
		if t == "" && g.Index <= len(sc.Segments) {
			t = strings.ToLower(sc.Segments[g.Index-1].Title)
		}
	}
	for _, v := range m.Variants {
		switch {
		case strings.Contains(v, "included") && strings.Contains(t, "include"),
			strings.Contains(v, "excluded") && strings.Contains(t, "exclude"):
			return v, nil
		}
	}
	return "", fmt.Errorf("segment %q: none of the measure's variants %v", g.Title, m.Variants)
}

// errNoMeasure: the deck names no measure the catalog has.
var errNoMeasure = errors.New("no measure of the catalog matches the deck")
