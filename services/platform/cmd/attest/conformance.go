package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/attest-ehr/attest/services/platform/internal/conformance"
	"github.com/attest-ehr/attest/services/platform/internal/conformance/deck"
	conformancerun "github.com/attest-ehr/attest/services/platform/internal/conformance/run"
)

// decksFlag collects repeated --deck values.
type decksFlag []string

func (d *decksFlag) String() string     { return strings.Join(*d, ",") }
func (d *decksFlag) Set(v string) error { *d = append(*d, v); return nil }

// runConformance replays ONC's test decks through a fresh platform started in-process
// and checks every expected value (docs/conformance.md). It fails on any FAIL.
func runConformance(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(out)
	var files decksFlag
	fs.Var(&files, "deck", "a deck file, or a directory of decks, below an edition folder (e.g. .../2025/RT1/EP_RT1_G1.json); repeatable; default: every published deck")
	source := fs.String("source", "reporting", "where the numbers are asked: reporting (the reports officers attest) or metrics (its numbers API, to tell the two apart when they differ)")
	keep := fs.Bool("keep", false, "keep the data directory for inspection with the console (attest run with ATTEST_DATA_DIR set to it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *source != "reporting" && *source != "metrics" {
		return fmt.Errorf("--source: want reporting or metrics, got %q", *source)
	}
	decks, err := loadDecks(files)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "attest-conformance-")
	if err != nil {
		return err
	}
	pl, err := conformancerun.Start(ctx, dir, getenv)
	if err != nil {
		return errors.Join(err, os.RemoveAll(dir))
	}
	var src conformancerun.Source = conformancerun.ReportingSource{C: pl.API}
	if *source == "metrics" {
		src = conformancerun.MetricsSource{C: pl.API}
	}
	res, runErr := conformancerun.Run(ctx, conformancerun.Config{Decks: decks, API: pl.API, Source: src,
		Settled: pl.Settled, Out: out, Progress: os.Stderr})
	closeErr := pl.Close()
	fmt.Fprint(out, res.Summary())
	if *keep {
		fmt.Fprintf(out, "data directory kept: %s\n", dir)
	} else {
		closeErr = errors.Join(closeErr, os.RemoveAll(dir))
	}
	if err := errors.Join(runErr, closeErr); err != nil {
		return err
	}
	if res.Failed > 0 {
		return fmt.Errorf("%d expected values failed", res.Failed)
	}
	return nil
}

// loadDecks reads the named decks, or every published one.
func loadDecks(files []string) ([]deck.Deck, error) {
	if len(files) == 0 {
		return deck.LoadAll(conformance.Decks(), ".")
	}
	var paths []string
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			paths = append(paths, f)
			continue
		}
		err = filepath.WalkDir(f, func(p string, de fs.DirEntry, err error) error {
			if err == nil && !de.IsDir() && strings.HasSuffix(p, ".json") && (strings.HasPrefix(de.Name(), "EP_RT") || strings.HasPrefix(de.Name(), "EH_RT")) {
				paths = append(paths, p)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(paths)
	var decks []deck.Deck
	for _, p := range paths {
		// A deck's edition is the folder two levels up: <edition>/RT1/EP_RT1_G1.json.
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		root := filepath.Dir(filepath.Dir(filepath.Dir(abs)))
		rel, err := filepath.Rel(root, abs)
		if err != nil {
			return nil, err
		}
		d, err := deck.Load(os.DirFS(root), filepath.ToSlash(rel))
		if err != nil {
			return nil, err
		}
		decks = append(decks, d)
	}
	if len(decks) == 0 {
		return nil, fmt.Errorf("no deck files (EP|EH_RT<n>_G1|G2.json) in %s", strings.Join(files, ", "))
	}
	return decks, nil
}
