package generate

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/attest-ehr/attest/libs/progress"
)

// PostConfig says where and how to post a generated directory.
type PostConfig struct {
	Dir         string        // the directory Generate wrote
	URL         string        // records' base URL, e.g. http://localhost:8080/records
	Token       string        // bearer token; none when empty
	Workers     int           // requests in flight; default 8
	MaxAttempts int           // tries per line on 5xx, 429 or a network error; default 8
	Backoff     time.Duration // the first retry's wait, doubled each time up to 5s; default 100ms
	Client      *http.Client  // default: a client with a 30s timeout
	Progress    io.Writer     // where progress is reported; none when nil
	// RetryUnknownPatient retries a 422 like a 5xx: messaging and education refuse a
	// patient they have not learnt from records' events yet.
	RetryUnknownPatient bool
}

// Post sends every line of the generated files to records, kind by kind in Kinds
// order, each line as POST <URL>/v1/<kind> with Idempotency-Key set to the line's id.
// Lines run on cfg.Workers workers, a patient's lines always on the same one, so a
// patient's facts arrive in file order; the directory's lines go in file order. A retried or repeated post changes nothing,
// so running Post again after a failure resumes it. It stops at the first line
// refused with a 4xx, naming the file and line. It returns how many lines it posted.
func Post(ctx context.Context, cfg PostConfig) (int64, error) {
	cfg = postDefaults(cfg)
	return postKinds(ctx, cfg, Kinds, "posting", func(kind string) string { return cfg.URL + "/v1/" + kind })
}

// PostServices sends the lines of ServiceKinds (secure messages, education given) to
// the services that own them, cfg.URL being the platform's base URL (the gateway), each
// line as POST <URL><ServicePath(kind)>. Messaging and education know a patient only
// once records' event for it went through the pipeline: call it after Post (or an
// import) has settled. Like Post, it can be run again: every line carries its
// idempotency key (its id, or for a thread a hash of the line).
func PostServices(ctx context.Context, cfg PostConfig) (int64, error) {
	cfg = postDefaults(cfg)
	return postKinds(ctx, cfg, ServiceKinds, "posting messages and education",
		func(kind string) string { return cfg.URL + ServicePath(kind) })
}

// postKinds posts kinds' files in order, each line to endpoint(kind), with one meter.
func postKinds(ctx context.Context, cfg PostConfig, kinds []string, label string, endpoint func(string) string) (int64, error) {
	total, err := CountLines(cfg.Dir, kinds)
	if err != nil {
		return 0, err
	}
	var meter *progress.Meter
	if cfg.Progress != nil {
		meter = progress.Start(cfg.Progress, progress.Config{Label: label, Total: total, Unit: "requests"})
		defer meter.Done()
	}
	var posted int64
	for _, kind := range kinds {
		n, err := postFile(ctx, cfg, kind, endpoint(kind), meter)
		posted += n
		if err != nil {
			return posted, err
		}
	}
	return posted, nil
}

func postDefaults(cfg PostConfig) PostConfig {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 100 * time.Millisecond
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	cfg.URL = strings.TrimSuffix(cfg.URL, "/")
	return cfg
}

// job is one line to post.
type job struct {
	line []byte
	id   string
	n    int // the line number in its file
}

// postFile posts one kind's file and waits for every line of it, so that the next
// kind can refer to it.
func postFile(ctx context.Context, cfg PostConfig, kind, endpoint string, meter *progress.Meter) (int64, error) {
	path := filepath.Join(cfg.Dir, FileName(kind))
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("post: %w", err)
	}
	defer f.Close()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	queues := make([]chan job, cfg.Workers)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		posted int64
	)
	for i := range queues {
		queues[i] = make(chan job, 64)
		wg.Go(func() {
			for j := range queues[i] {
				if ctx.Err() != nil {
					continue // drain after a failure
				}
				if err := postLine(ctx, cfg, kind, endpoint, j); err != nil {
					cancel(fmt.Errorf("%s:%d: %w", path, j.n, err))
					continue
				}
				mu.Lock()
				posted++
				mu.Unlock()
				if meter != nil {
					meter.Add(1)
				}
			}
		})
	}
	readErr := func() error {
		defer func() {
			for _, q := range queues {
				close(q)
			}
		}()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for n := 1; sc.Scan(); n++ {
			var keys struct {
				ID        string `json:"id"`
				PatientID string `json:"patient_id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &keys); err != nil || keys.ID == "" && keys.PatientID == "" {
				return fmt.Errorf("%s:%d: not a generated line (a JSON object with an id or a patient_id)", path, n)
			}
			if keys.ID == "" {
				// A thread import has no id of its own: the line, deterministic by
				// seed, is its identity.
				sum := sha256.Sum256(sc.Bytes())
				keys.ID = kind + "-" + hex.EncodeToString(sum[:16])
			}
			// Directory lines (no patient) go in file order on one worker: they may
			// refer to each other (an organization part of another).
			h := fnv.New32a()
			h.Write([]byte(keys.PatientID))
			select {
			case queues[h.Sum32()%uint32(len(queues))] <- job{line: bytes.Clone(sc.Bytes()), id: keys.ID, n: n}:
			case <-ctx.Done():
				return nil
			}
		}
		return sc.Err()
	}()
	wg.Wait()
	if readErr != nil {
		return posted, fmt.Errorf("post: %w", readErr)
	}
	if err := context.Cause(ctx); err != nil {
		return posted, fmt.Errorf("post: %w", err)
	}
	return posted, nil
}

// errRefused is a line the service refused (4xx): retrying cannot help.
var errRefused = errors.New("refused")

// postLine posts one line, retrying 5xx, 429 and network errors with backoff.
func postLine(ctx context.Context, cfg PostConfig, kind, endpoint string, j job) error {
	wait := cfg.Backoff
	var last error
	for attempt := 1; attempt <= cfg.MaxAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
			wait = min(2*wait, 5*time.Second)
		}
		status, body, err := send(ctx, cfg, endpoint, j)
		switch {
		case err != nil:
			last = err
		case status < 300:
			return nil
		case status == http.StatusTooManyRequests || status >= 500,
			status == http.StatusUnprocessableEntity && cfg.RetryUnknownPatient:
			last = fmt.Errorf("POST %s: status %d", kind, status)
		default:
			return fmt.Errorf("%w: POST %s: status %d: %s", errRefused, kind, status, bytes.TrimSpace(body))
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("after %d attempts: %w", cfg.MaxAttempts, last)
}

func send(ctx context.Context, cfg PostConfig, endpoint string, j job) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(j.line))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", j.id)
	if cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.Token)
	}
	resp, err := cfg.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, body, err
}

// CountLines counts the lines of each of kinds' files in dir.
func CountLines(dir string, kinds []string) (int64, error) {
	var total int64
	buf := make([]byte, 256<<10)
	for _, kind := range kinds {
		f, err := os.Open(filepath.Join(dir, FileName(kind)))
		if err != nil {
			return 0, fmt.Errorf("post: %w", err)
		}
		for {
			n, err := f.Read(buf)
			total += int64(bytes.Count(buf[:n], []byte{'\n'}))
			if err == io.EOF {
				break
			}
			if err != nil {
				f.Close()
				return 0, fmt.Errorf("post: %w", err)
			}
		}
		f.Close()
	}
	return total, nil
}
