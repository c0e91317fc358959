package bulk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"sync"
	"time"

	"github.com/attest-ehr/attest/services/records/internal/fhir"
	"github.com/attest-ehr/attest/services/records/internal/record"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// Config tunes an Importer. Zero values take the defaults.
type Config struct {
	// BatchLines is how many lines are written per transaction. Default: 500.
	BatchLines int
	// Lease is how long a job may go without progress before another runner (or this
	// one, after a restart) resumes it, and an upload before it is failed. Default: 1m.
	Lease time.Duration
	// Poll is how often the runner looks for jobs when nothing wakes it. Default: 2s.
	Poll time.Duration
	// Workers decode lines in parallel. Default: GOMAXPROCS.
	Workers int
}

func (c *Config) defaults() {
	if c.BatchLines <= 0 {
		c.BatchLines = 500
	}
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.Poll <= 0 {
		c.Poll = 2 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
}

// Importer runs bulk imports: it takes uploads (HTTP), keeps them as jobs in the
// record's database, and writes their lines through the record's kinds in batches.
type Importer struct {
	cfg      Config
	st       *resource.Store
	jobs     jobs
	decoders map[string]Decoder
	log      *slog.Logger
	owner    string        // this runner's identity in job leases
	wake     chan struct{} // an upload finished
}

// New returns an Importer over the record. codec decodes the FHIR format; nil leaves
// only the JSON format.
func New(svc *record.Service, codec *fhir.Codec, log *slog.Logger, cfg Config) *Importer {
	cfg.defaults()
	ks := kindsOf(svc)
	im := &Importer{
		cfg: cfg, st: svc.Store(), jobs: jobs{db: svc.Store().DB(), now: time.Now}, log: log,
		decoders: map[string]Decoder{FormatJSON: jsonDecoder{kinds: ks}},
		owner:    resource.NewID(), wake: make(chan struct{}, 1),
	}
	if codec != nil {
		im.decoders[FormatFHIR] = fhirDecoder{codec: codec, kinds: ks}
	}
	return im
}

// Run runs the jobs, oldest first, until ctx ends: those uploaded, and those a
// restart interrupted, resumed at the line they had reached.
func (im *Importer) Run(ctx context.Context) error {
	t := time.NewTicker(im.cfg.Poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			j, ok, err := im.jobs.claim(ctx, im.owner, im.cfg.Lease)
			if err != nil {
				if ctx.Err() == nil {
					im.log.WarnContext(ctx, "bulk import: finding a job failed; retrying later", "error", err.Error())
				}
				break
			}
			if !ok {
				break
			}
			im.process(ctx, j)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-im.wake:
		case <-t.C:
		}
	}
}

// Drain runs every job waiting now and returns when none is left: for tests and for
// callers that import synchronously.
func (im *Importer) Drain(ctx context.Context) error {
	for {
		j, ok, err := im.jobs.claim(ctx, im.owner, im.cfg.Lease)
		if err != nil || !ok {
			return err
		}
		im.process(ctx, j)
	}
}

func (im *Importer) notify() {
	select {
	case im.wake <- struct{}{}:
	default:
	}
}

// item is a decoded line.
type item struct {
	line   int
	typ    string
	w      resource.Write
	issues []fhir.Issue
}

// process runs one claimed job to its end, or until ctx ends or the job is cancelled
// (it is then left for a later claim, or stays cancelled).
func (im *Importer) process(ctx context.Context, j Job) {
	dec, ok := im.decoders[j.Format]
	if !ok {
		im.finish(ctx, j, StatusFailed, "this server cannot import the format "+j.Format)
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []item, 2)
	readErr := make(chan error, 1)
	go func() { readErr <- im.read(ctx, j, dec, batches) }()
	for b := range batches {
		if err := im.write(ctx, &j, b); err != nil {
			cancel()
			for range batches { // let the reader stop
			}
			<-readErr
			if errors.Is(err, errLost) || ctx.Err() != nil {
				return
			}
			im.log.ErrorContext(ctx, "bulk import: writing failed", "import", j.ID, "line", b[0].line, "error", err.Error())
			im.finish(ctx, j, StatusFailed, fmt.Sprintf("a database failure stopped the import at line %d; "+
				"the lines before it are imported", b[0].line))
			return
		}
	}
	if err := <-readErr; err != nil {
		if ctx.Err() == nil {
			im.log.ErrorContext(ctx, "bulk import: reading the upload failed", "import", j.ID, "error", err.Error())
			im.finish(ctx, j, StatusFailed, fmt.Sprintf("the stored upload could not be read after line %d", j.Done))
		}
		return
	}
	im.finish(ctx, j, StatusCompleted, "")
}

func (im *Importer) finish(ctx context.Context, j Job, status, message string) {
	if err := im.jobs.end(ctx, j.ID, im.owner, status, message); err != nil && ctx.Err() == nil {
		im.log.WarnContext(ctx, "bulk import: ending a job failed", "import", j.ID, "error", err.Error())
	}
}

// read decodes the job's lines after j.Done, in batches, into out, and closes it.
func (im *Importer) read(ctx context.Context, j Job, dec Decoder, out chan<- []item) error {
	defer close(out)
	seq, pending := 0, []Line(nil)
	for {
		c, ok, err := im.jobs.nextChunk(ctx, j.ID, seq, j.Done)
		if err != nil {
			return err
		}
		if ok {
			seq = c.seq
			pending = append(pending, splitChunk(c.data, c.first, j.Done)...)
		}
		for len(pending) >= im.cfg.BatchLines || (!ok && len(pending) > 0) {
			n := min(len(pending), im.cfg.BatchLines)
			select {
			case out <- im.decode(ctx, dec, pending[:n]):
			case <-ctx.Done():
				return nil
			}
			pending = pending[n:]
		}
		if !ok {
			return nil
		}
	}
}

// decode decodes lines on the workers.
func (im *Importer) decode(ctx context.Context, dec Decoder, lines []Line) []item {
	items := make([]item, len(lines))
	var wg sync.WaitGroup
	per := (len(lines) + im.cfg.Workers - 1) / im.cfg.Workers
	for start := 0; start < len(lines); start += per {
		end := min(start+per, len(lines))
		wg.Go(func() {
			for i := start; i < end; i++ {
				items[i] = im.decodeLine(ctx, dec, lines[i])
			}
		})
	}
	wg.Wait()
	return items
}

// decodeLine decodes one line; a decoder that panics refuses the line rather than
// stopping the import (and is a bug, logged).
func (im *Importer) decodeLine(ctx context.Context, dec Decoder, l Line) (it item) {
	it.line = l.N
	defer func() {
		if p := recover(); p != nil {
			im.log.ErrorContext(ctx, "bulk import: decoding a line panicked", "line", l.N, "panic", fmt.Sprint(p))
			it = item{line: l.N, issues: []fhir.Issue{{Severity: fhir.SeverityFatal, Code: fhir.CodeProcessing,
				Diagnostics: "the line could not be processed"}}}
		}
	}()
	if bytes.Equal(l.Data, tooLong) {
		it.issues = []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.CodeTooLong,
			Diagnostics: fmt.Sprintf("the line is longer than %d bytes", MaxLine)}}
		return it
	}
	it.w, it.typ, it.issues = dec.Decode(l.Data)
	if it.w == nil && len(it.issues) == 0 { // a decoder must say why it refuses
		it.issues = []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.CodeProcessing, Diagnostics: "refused"}}
	}
	return it
}

// write stores a batch of decoded lines and the job's progress in one transaction. A
// database failure is retried line by line, so that it is pinned to one line.
func (im *Importer) write(ctx context.Context, j *Job, items []item) error {
	err := im.writeBatch(ctx, j, items)
	if err == nil || errors.Is(err, errLost) || ctx.Err() != nil || len(items) == 1 {
		return err
	}
	for i := range items {
		if err := im.writeBatch(ctx, j, items[i:i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (im *Importer) writeBatch(ctx context.Context, j *Job, items []item) error {
	var ws []resource.Write
	for _, it := range items {
		if it.w != nil {
			ws = append(ws, it.w)
		}
	}
	next := *j
	_, err := im.st.Batch(ctx, ws, func(tx *resource.Tx, outs []resource.Outcome) error {
		next.Counts = maps.Clone(j.Counts)
		if next.Counts == nil {
			next.Counts = map[string]Count{}
		}
		next.Refused, next.Done = j.Refused, items[len(items)-1].line
		outcomes, refused := map[int][]byte{}, []int(nil)
		o := 0
		for _, it := range items {
			issues := it.issues
			if it.w != nil {
				out := outs[o]
				o++
				switch {
				case out.Err != nil:
					issues = issuesOf(out.Err, "body")
				case out.Created:
					c := next.Counts[it.typ]
					c.Created++
					next.Counts[it.typ] = c
				default:
					c := next.Counts[it.typ]
					c.Unchanged++
					next.Counts[it.typ] = c
				}
			}
			if len(issues) > 0 {
				outcomes[it.line] = lineOutcome(it.line, issues)
				refused = append(refused, it.line)
				next.Refused++
			}
		}
		return im.jobs.progress(ctx, tx, &next, im.owner, outcomes, refused)
	})
	if err != nil {
		return err
	}
	*j = next
	return nil
}

// LineExtension is the URL of the extension that numbers, in an OperationOutcome of
// the errors file, the NDJSON line it is about.
const LineExtension = "https://attest.example/fhir/StructureDefinition/ndjson-line"

// lineOutcome is the OperationOutcome of a refused line, numbered.
func lineOutcome(line int, issues []fhir.Issue) []byte {
	var oo map[string]any
	if err := json.Unmarshal(fhir.OperationOutcome(issues), &oo); err != nil {
		oo = map[string]any{"resourceType": "OperationOutcome"}
	}
	oo["id"] = fmt.Sprintf("line-%d", line)
	oo["extension"] = []map[string]any{{"url": LineExtension, "valueInteger": line}}
	b, _ := json.Marshal(oo) // maps of strings and numbers
	return b
}
