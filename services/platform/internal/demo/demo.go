// Package demo loads a synthetic health system into a running platform through its
// public import API, so that `make run` shows real numbers the moment it starts.
//
// It generates the system with internal/generate (deterministic by seed) into a
// directory, then imports each kind's file with records' bulk import
// (POST /records/v1/import, one {"kind","body"} line per resource), kind by kind in
// generate.Kinds order so that every reference is to something already stored. Every
// line goes through the same validation, storage, outbox and event pipeline as any
// other write: nothing is written to a database or a topic directly.
package demo

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/progress"
	"github.com/attest-ehr/attest/services/platform/internal/generate"
)

// Config is what to load and where.
type Config struct {
	URL      string        // the platform's base URL (the gateway), e.g. http://127.0.0.1:8080
	Token    string        // a service account's bearer token
	Seed     uint64        // the generator's seed
	Patients int           // how many patients
	Year     int           // the calendar year of activity
	Until    time.Time     // if set, instead of Year: the 365 days before it (see generate.Config)
	Dir      string        // where the generated files are written (replaced)
	Progress io.Writer     // where progress is reported; none when nil
	Client   *http.Client  // default: a client with a 5-minute timeout
	Poll     time.Duration // how often an import's status is asked; default 200 ms
	Timings  io.Writer     // where each step's duration is written; none when nil
	// ByKind imports kind by kind (one import per kind, all patients' encounters, then
	// all their orders, ...) instead of one import of every line with each chunk of
	// patients' facts together; kept to measure the difference.
	ByKind bool
}

// Summary is what a load did.
type Summary struct {
	Generated int64 // lines generated
	Imported  int64 // resources created, each with its event
	Unchanged int64 // lines that repeated a stored resource (a load resumed after an interruption)
	Elapsed   time.Duration
}

// loadedMarker is written into Dir when a load finished, so a restart does not load again.
const loadedMarker = "loaded"

// Loaded reports whether a load into dir has finished before.
func Loaded(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, loadedMarker))
	return err == nil
}

// Load generates the health system and imports it. A refused line stops the load with
// an error naming the kind and how many lines were refused (generated data must all be
// valid: a refusal is a bug in the generator or in records).
func Load(ctx context.Context, cfg Config) (Summary, error) {
	start := time.Now()
	n, err := generateInto(ctx, cfg)
	if err != nil {
		return Summary{}, err
	}
	if cfg.Timings != nil {
		fmt.Fprintf(cfg.Timings, "demo: generated %d lines in %s\n", n, time.Since(start).Round(time.Millisecond))
	}
	s, err := Import(ctx, cfg)
	s.Generated = n
	if err != nil {
		return s, err
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, loadedMarker), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return s, fmt.Errorf("demo: %w", err)
	}
	s.Elapsed = time.Since(start)
	return s, nil
}

// Import imports the files generate wrote in cfg.Dir into the platform at cfg.URL:
// records' lines with records' bulk import — one upload of generate.ImportFiles when
// the generator wrote them (the patients first, then each chunk of patients' facts
// together), else kind by kind in generate.Kinds order — and the secure messages and
// education given through messaging's and education's import APIs
// (generate.PostServices) once those know the patients (from records' events): with
// the one upload, at the same time as the facts.
// Seed, Patients and Year are not used. It is what `attest bench` feeds Attest with.
func Import(ctx context.Context, cfg Config) (Summary, error) {
	start := time.Now()
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Minute}
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	cfg.URL = strings.TrimSuffix(cfg.URL, "/")
	var s Summary
	total, err := generate.CountLines(cfg.Dir, generate.Kinds)
	if err != nil {
		return s, err
	}
	var meter *progress.Meter
	if cfg.Progress != nil {
		meter = progress.Start(cfg.Progress, progress.Config{Label: "importing records", Total: total, Unit: "resources"})
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, generate.ImportFiles[0])); err == nil {
		// One import of every line, the patients first, then their facts with each
		// chunk of patients' together (see generate.ImportFiles). The messages and
		// education go at the same time, as soon as messaging and education know the
		// patients: they need nothing else.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var svc Summary
		svcDone := make(chan error, 1)
		go func() { svcDone <- importServices(ctx, cfg, &svc, start) }()
		var shown int64
		created, unchanged, _, err := importAll(ctx, cfg, func(done int64) {
			if meter != nil && done > shown {
				meter.Add(done - shown)
				shown = done
			}
		})
		if meter != nil {
			meter.Add(total - shown)
			meter.Done()
		}
		if cfg.Timings != nil {
			fmt.Fprintf(cfg.Timings, "demo: imported %d records lines in one import in %s\n", total, time.Since(start).Round(time.Millisecond))
		}
		s.Imported, s.Unchanged = created, unchanged
		if err != nil {
			cancel()
			<-svcDone
			return s, err
		}
		err = <-svcDone
		s.Imported += svc.Imported
		s.Elapsed = time.Since(start)
		return s, err
	}
	for _, kind := range generate.Kinds {
		began := time.Now()
		created, unchanged, lines, err := importKind(ctx, cfg, kind)
		if cfg.Timings != nil {
			fmt.Fprintf(cfg.Timings, "demo: imported %d %s in %s\n", lines, kind, time.Since(began).Round(time.Millisecond))
		}
		s.Imported += created
		s.Unchanged += unchanged
		if err != nil {
			if meter != nil {
				meter.Done()
			}
			return s, err
		}
		if meter != nil {
			meter.Add(lines)
		}
	}
	if meter != nil {
		meter.Done()
	}
	return s, importServices(ctx, cfg, &s, start)
}

// importServices posts the secure messages and education given, once messaging and
// education know the patients.
func importServices(ctx context.Context, cfg Config, s *Summary, start time.Time) error {
	began := time.Now()
	if err := waitForPatients(ctx, cfg); err != nil {
		return err
	}
	n, err := generate.PostServices(ctx, generate.PostConfig{Dir: cfg.Dir, URL: cfg.URL, Token: cfg.Token, Workers: 8,
		Progress: cfg.Progress, RetryUnknownPatient: true})
	s.Imported += n
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if cfg.Timings != nil {
		fmt.Fprintf(cfg.Timings, "demo: posted %d messages and education in %s\n", n, time.Since(began).Round(time.Millisecond))
	}
	s.Elapsed = time.Since(start)
	return nil
}

// waitForPatients waits until messaging and education know the last generated
// patient: they learn patients from records' events, asynchronously.
func waitForPatients(ctx context.Context, cfg Config) error {
	id, err := lastPatient(cfg.Dir)
	if err != nil || id == "" {
		return err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for _, svc := range []string{"messaging", "education"} {
		for {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.URL+"/"+svc+"/v1/patients/"+id, nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+cfg.Token)
			resp, err := cfg.Client.Do(req)
			if err != nil {
				return fmt.Errorf("demo: does %s know the patients: %w", svc, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			if resp.StatusCode != http.StatusNotFound {
				return fmt.Errorf("demo: does %s know the patients: %s", svc, resp.Status)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("demo: %s did not learn the imported patients within 10 minutes", svc)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(cfg.Poll):
			}
		}
	}
	return nil
}

// lastPatient is the ID of the last line of the patients' file.
func lastPatient(dir string) (string, error) {
	f, err := os.Open(filepath.Join(dir, generate.FileName("patients")))
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var last []byte
	for sc.Scan() {
		last = append(last[:0], sc.Bytes()...)
	}
	if err := sc.Err(); err != nil || len(last) == 0 {
		return "", err
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(last, &p); err != nil {
		return "", fmt.Errorf("demo: the last patient: %w", err)
	}
	return p.ID, nil
}

// generateInto writes the generated files into cfg.Dir and returns how many lines.
func generateInto(ctx context.Context, cfg Config) (int64, error) {
	d, err := generate.CreateDir(cfg.Dir)
	if err != nil {
		return 0, err
	}
	if cfg.ByKind {
		for _, name := range generate.ImportFiles {
			_ = os.Remove(filepath.Join(cfg.Dir, name)) // an earlier load's
		}
	} else if err := d.WithImportFile(); err != nil {
		return 0, errors.Join(err, d.Close())
	}
	n, err := generate.Generate(ctx, generate.Config{Seed: cfg.Seed, Patients: cfg.Patients, Year: cfg.Year,
		Until: cfg.Until, Rates: generate.DefaultRates()}, d, nil)
	return n, errors.Join(err, d.Close())
}

// summary is the part of records' import status this package reads.
type summary struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Lines   int64  `json:"lines"`
	Output  []struct {
		Type      string `json:"type"`
		Count     int64  `json:"count"`
		Unchanged int64  `json:"unchanged"`
	} `json:"output"`
	Error []struct {
		Type  string `json:"type"`
		Count int64  `json:"count"`
	} `json:"error"`
}

// importKind uploads one kind's file and waits for its import to finish.
func importKind(ctx context.Context, cfg Config, kind string) (created, unchanged, lines int64, err error) {
	path := filepath.Join(cfg.Dir, generate.FileName(kind))
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("demo: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() == 0 {
		return 0, 0, 0, err
	}
	// The body is the file with each line wrapped as {"kind": kind, "body": line},
	// streamed: a 20,000-patient year is hundreds of megabytes.
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(wrap(pw, f, kind)) }()
	defer pr.Close()
	return upload(ctx, cfg, kind, pr, nil)
}

// importAll uploads generate.ImportFiles as one body, every records line in one
// import, and waits for it to finish, telling progress how many lines are done as it goes.
func importAll(ctx context.Context, cfg Config, progress func(done int64)) (created, unchanged, lines int64, err error) {
	var body []io.Reader
	for _, name := range generate.ImportFiles {
		f, err := os.Open(filepath.Join(cfg.Dir, name))
		if err != nil {
			return 0, 0, 0, fmt.Errorf("demo: %w", err)
		}
		defer f.Close()
		body = append(body, f)
	}
	return upload(ctx, cfg, "records", io.MultiReader(body...), progress)
}

// upload posts body to records' bulk import and waits for the import to finish.
func upload(ctx context.Context, cfg Config, kind string, body io.Reader, progress func(done int64)) (created, unchanged, lines int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL+"/records/v1/import", body)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("demo: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+cfg.Token)
	resp, err := cfg.Client.Do(req)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("demo: import %s: %w", kind, err)
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return 0, 0, 0, fmt.Errorf("demo: import %s: %s: %s", kind, resp.Status, strings.TrimSpace(string(answer)))
	}
	status := resp.Header.Get("Content-Location")
	if status == "" {
		return 0, 0, 0, fmt.Errorf("demo: import %s: no Content-Location in the answer", kind)
	}
	if !strings.HasPrefix(status, "http") {
		status = cfg.URL + status
	}
	sum, err := wait(ctx, cfg, status, progress)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("demo: import %s: %w", kind, err)
	}
	for _, o := range sum.Output {
		created += o.Count
		unchanged += o.Unchanged
	}
	var refused int64
	for _, e := range sum.Error {
		refused += e.Count
	}
	switch {
	case sum.Status != "completed":
		return created, unchanged, sum.Lines, fmt.Errorf("demo: import %s ended %s: %s", kind, sum.Status, sum.Message)
	case refused > 0:
		return created, unchanged, sum.Lines, fmt.Errorf("demo: import %s: %d of %d lines refused; the first: %s (all: %s/errors)",
			kind, refused, sum.Lines, firstRefusal(ctx, cfg, status+"/errors"), status)
	}
	return created, unchanged, sum.Lines, nil
}

// firstRefusal is the first line of an import's error file (which names the line and
// the field), or why it could not be read.
func firstRefusal(ctx context.Context, cfg Config, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+cfg.Token)
	resp, err := cfg.Client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

// wrap copies r's lines to w, each as {"kind": kind, "body": <line>}.
func wrap(w io.Writer, r io.Reader, kind string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	bw := bufio.NewWriterSize(w, 256<<10)
	prefix := []byte(`{"kind":"` + kind + `","body":`)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		bw.Write(prefix)
		bw.Write(line)
		if _, err := bw.WriteString("}\n"); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return bw.Flush()
}

// wait polls an import's status until it is finished, telling progress (when not nil)
// how many lines are done from the status's X-Progress ("running: 1500 of 22004 lines").
func wait(ctx context.Context, cfg Config, url string, progress func(done int64)) (summary, error) {
	t := time.NewTicker(cfg.Poll)
	defer t.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return summary{}, err
		}
		req.Header.Set("Authorization", "Bearer "+cfg.Token)
		resp, err := cfg.Client.Do(req)
		if err != nil {
			return summary{}, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return summary{}, err
		}
		switch resp.StatusCode {
		case http.StatusOK:
			var s summary
			if err := json.Unmarshal(body, &s); err != nil {
				return summary{}, fmt.Errorf("status: %w", err)
			}
			return s, nil
		case http.StatusAccepted:
			var done, total int64
			if _, err := fmt.Sscanf(resp.Header.Get("X-Progress"), "running: %d of %d", &done, &total); err == nil && progress != nil {
				progress(done)
			}
		default:
			return summary{}, fmt.Errorf("status: %s: %s", resp.Status, strings.TrimSpace(string(body)))
		}
		select {
		case <-ctx.Done():
			return summary{}, ctx.Err()
		case <-t.C:
		}
	}
}
