package generate_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/cache/cachetest"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/platform/internal/generate"
	"github.com/attest-ehr/attest/services/records"
)

// writeDir generates a small system into a temporary directory.
func writeDir(t *testing.T, patients int) (string, int64) {
	t.Helper()
	dir := t.TempDir()
	d, err := generate.CreateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n, err := generate.Generate(context.Background(), generate.Config{Seed: 11, Patients: patients, Year: 2025}, d, nil)
	if err = errors.Join(err, d.Close()); err != nil {
		t.Fatal(err)
	}
	return dir, n
}

// TestPostToRecords posts a generated system to the real records service: every line
// is accepted, each writes exactly one event, and posting it all again writes none.
func TestPostToRecords(t *testing.T) {
	dir, _ := writeDir(t, 50)
	lines, err := generate.CountLines(dir, generate.Kinds) // records' lines, not messaging's or education's
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range generate.Kinds {
		if st, err := os.Stat(filepath.Join(dir, generate.FileName(kind))); err != nil || st.Size() == 0 {
			t.Fatalf("%s: nothing generated to post (%v)", kind, err)
		}
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Partitions: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		// The app is not Run: its relay stays off, so the outbox keeps every event written.
		a, err := records.New(ctx, records.Config{}, records.Deps{Log: slog.New(slog.DiscardHandler), DB: db,
			Cache: cachetest.New(t), Brokers: b.Addrs()})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		srv := httptest.NewServer(a.Handler())
		defer srv.Close()

		cfg := generate.PostConfig{Dir: dir, URL: srv.URL, Workers: 4}
		for round := 1; round <= 2; round++ {
			n, err := generate.Post(ctx, cfg)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if n != lines {
				t.Errorf("round %d: posted %d of %d lines", round, n, lines)
			}
			events, err := outbox.Pending(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if int64(events) != lines {
				t.Errorf("round %d: %d events in the outbox, want one per line (%d)", round, events, lines)
			}
		}
	})
}

// TestPostRetries checks that 503 and 429 are retried until the line goes through.
func TestPostRetries(t *testing.T) {
	dir, lines := writeDir(t, 5)
	var (
		calls atomic.Int64
		mu    sync.Mutex
		keys  = map[string]bool{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) % 3 {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			mu.Lock()
			keys[r.Header.Get("Idempotency-Key")] = true
			mu.Unlock()
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer srv.Close()
	// Records' lines, then messaging's and education's: every line once, each with its
	// own idempotency key.
	cfg := generate.PostConfig{Dir: dir, URL: srv.URL, Workers: 1, Backoff: time.Millisecond}
	n, err := generate.Post(context.Background(), cfg)
	if err == nil {
		var m int64
		m, err = generate.PostServices(context.Background(), cfg)
		n += m
	}
	if err != nil || n != lines || int64(len(keys)) != lines {
		t.Errorf("posted %d of %d lines, %d distinct keys, err %v", n, lines, len(keys), err)
	}
}

// TestPostStopsAtRefusal checks that a 4xx stops posting and names the file and line.
func TestPostStopsAtRefusal(t *testing.T) {
	dir, _ := writeDir(t, 5)
	var after atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case strings.Contains(string(body), `"id":"pt-000003"`):
			http.Error(w, `{"error":{"code":"invalid","field":"sex"}}`, http.StatusBadRequest)
		case strings.HasSuffix(r.URL.Path, "/encounters"):
			after.Add(1)
		}
	}))
	defer srv.Close()
	_, err := generate.Post(context.Background(), generate.PostConfig{Dir: dir, URL: srv.URL, Workers: 2})
	want := filepath.Join(dir, "patients.ndjson") + ":3:"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "400") {
		t.Errorf("error %v, want it to name %s and the status", err, want)
	}
	if after.Load() != 0 {
		t.Errorf("%d encounters posted after a refused patient", after.Load())
	}
}

// TestPostMissingDir checks a clear error for a directory Generate did not write.
func TestPostMissingDir(t *testing.T) {
	_, err := generate.Post(context.Background(), generate.PostConfig{Dir: filepath.Join(t.TempDir(), "none"),
		URL: "http://127.0.0.1:1"})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want not exist", err)
	}
}
