package bulk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/services/records/internal/fhir"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// MaxUpload bounds an import's body. The service's handler raises its body limit to
// it for the upload routes (IsUpload).
const MaxUpload = 1 << 30

// IsUpload reports whether r posts an import body, which may be up to MaxUpload.
func IsUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/fhir/$import" || r.URL.Path == "/v1/import")
}

// ndjsonTypes are the media types an upload may declare.
var ndjsonTypes = []string{"application/fhir+ndjson", "application/ndjson", "application/x-ndjson"}

// Summary is the answer of a finished import's status: what it did per resource type,
// and where its refused lines' OperationOutcomes are (the Bulk Data manifest's shape).
type Summary struct {
	TransactionTime time.Time `json:"transactionTime"`   // when the import was posted
	Request         string    `json:"request"`           // the URL it was posted to
	Status          string    `json:"status"`            // completed, cancelled, or failed (JSON format)
	Message         string    `json:"message,omitempty"` // why it failed
	Lines           int       `json:"lines"`             // lines uploaded
	Processed       int       `json:"processed"`         // lines processed
	Output          []Output  `json:"output"`            // per resource type
	Error           []Output  `json:"error"`             // the refused lines, one OperationOutcome each
}

// Output is one entry of a Summary.
type Output struct {
	Type      string `json:"type"`
	Count     int    `json:"count"`               // created, each with its event; or lines refused
	Unchanged int    `json:"unchanged,omitempty"` // repeats of stored resources: no event
	URL       string `json:"url,omitempty"`
}

// Accepted is the answer to a JSON-format upload.
type Accepted struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	URL    string `json:"url"` // the status endpoint, also in Content-Location
}

// Routes registers the import routes on m:
//
//	POST   /fhir/$import                      NDJSON of FHIR resources: 202, Content-Location of its status
//	GET    /fhir/$import-status/{job}         202 with X-Progress while it runs; 200 with a Summary
//	DELETE /fhir/$import-status/{job}         cancel a running import, or forget a finished one: 202
//	GET    /fhir/$import-status/{job}/errors  the refused lines: NDJSON of OperationOutcomes
//	POST   /v1/import, GET|DELETE /v1/import/{job}, GET /v1/import/{job}/errors: the same for
//	                                          {"kind","body"} lines of the JSON API's resources
func (im *Importer) Routes(m *resource.Mux) {
	summary := map[int]reflect.Type{http.StatusOK: resource.TypeOf[Summary](), http.StatusAccepted: nil}
	if _, ok := im.decoders[FormatFHIR]; ok {
		m.Handle("POST /fhir/$import", resource.Document(resource.Op{ID: "fhir.import",
			Summary:   "Import FHIR resources from an application/fhir+ndjson body, asynchronously",
			Responses: map[int]reflect.Type{http.StatusAccepted: resource.TypeOf[map[string]any]()}},
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { im.upload(w, r, FormatFHIR) })))
		m.Handle("GET /fhir/$import-status/{job}", resource.Document(resource.Op{ID: "fhir.import.status",
			Summary: "The status of a FHIR import", Responses: summary},
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { im.status(w, r, FormatFHIR) })))
		m.Handle("DELETE /fhir/$import-status/{job}", resource.Document(resource.Op{ID: "fhir.import.cancel",
			Summary: "Cancel a FHIR import, or forget a finished one", Responses: map[int]reflect.Type{http.StatusAccepted: nil}},
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { im.cancel(w, r, FormatFHIR) })))
		m.Handle("GET /fhir/$import-status/{job}/errors", resource.Document(resource.Op{ID: "fhir.import.errors",
			Summary:   "The refused lines of a FHIR import: application/fhir+ndjson, one OperationOutcome per line",
			Responses: map[int]reflect.Type{http.StatusOK: nil}},
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { im.errors(w, r, FormatFHIR) })))
	}
	m.Handle("POST /v1/import", resource.Document(resource.Op{ID: "import",
		Summary:   `Import resources of the JSON API from NDJSON, one {"kind": "<path>", "body": {…}} per line, asynchronously`,
		Responses: map[int]reflect.Type{http.StatusAccepted: resource.TypeOf[Accepted]()}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { im.upload(w, r, FormatJSON) })))
	m.Handle("GET /v1/import/{job}", resource.Document(resource.Op{ID: "import.status",
		Summary: "The status of an import", Responses: summary},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { im.status(w, r, FormatJSON) })))
	m.Handle("DELETE /v1/import/{job}", resource.Document(resource.Op{ID: "import.cancel",
		Summary: "Cancel an import, or forget a finished one", Responses: map[int]reflect.Type{http.StatusAccepted: nil}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { im.cancel(w, r, FormatJSON) })))
	m.Handle("GET /v1/import/{job}/errors", resource.Document(resource.Op{ID: "import.errors",
		Summary:   "The refused lines of an import: application/x-ndjson, one OperationOutcome per line",
		Responses: map[int]reflect.Type{http.StatusOK: nil}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { im.errors(w, r, FormatJSON) })))
}

// fail answers err: an OperationOutcome on the FHIR routes, the JSON API's error body
// on the others.
func (im *Importer) fail(w http.ResponseWriter, r *http.Request, format string, err error) {
	if format != FormatFHIR {
		httpapi.WriteError(w, r, im.log, err)
		return
	}
	status := httpapi.StatusOf(err)
	is := issueOf(err, "")
	if status >= 500 {
		im.log.ErrorContext(r.Context(), "bulk import: request failed", "error", err.Error())
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_, _ = w.Write(fhir.OperationOutcome([]fhir.Issue{is}))
}

// upload stores the body as a new job, in chunks of whole lines, and queues it.
func (im *Importer) upload(w http.ResponseWriter, r *http.Request, format string) {
	ctx := r.Context()
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !slices.Contains(ndjsonTypes, mt) {
		im.fail(w, r, format, errs.Field(errs.UnsupportedMediaType, "Content-Type",
			"must be %s", strings.Join(ndjsonTypes, ", ")))
		return
	}
	self := absolute(r)
	id, err := im.jobs.create(ctx, format, self)
	if err != nil {
		im.fail(w, r, format, err)
		return
	}
	lines, err := im.store(ctx, id, r.Body)
	if err == nil && lines == 0 {
		err = errs.E(errs.Invalid, "the body holds no lines")
	}
	if err == nil {
		err = im.jobs.queue(ctx, id, lines)
	}
	if err != nil {
		if aerr := im.jobs.abandon(context.WithoutCancel(ctx), id); aerr != nil {
			im.log.WarnContext(ctx, "bulk import: forgetting a failed upload failed", "import", id, "error", aerr.Error())
		}
		im.fail(w, r, format, err)
		return
	}
	im.notify()
	loc := statusURL(self, format, id)
	w.Header().Set("Content-Location", loc)
	if format == FormatFHIR {
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(fhir.OperationOutcome([]fhir.Issue{{Severity: fhir.SeverityInformation, Code: fhir.CodeInformation,
			Diagnostics: fmt.Sprintf("import accepted: %d lines; its status is at Content-Location", lines)}}))
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, Accepted{ID: id, Status: StatusQueued, URL: loc})
}

// store reads body into the job's chunks and returns the number of lines.
func (im *Importer) store(ctx context.Context, id string, body io.Reader) (int, error) {
	rd := NewReader(body)
	var (
		c   chunker
		seq int
	)
	flush := func() error {
		if c.buf.Len() == 0 {
			return nil
		}
		seq++
		err := im.jobs.addChunk(ctx, id, seq, c.first, c.last-c.first+1, bytes.Clone(c.buf.Bytes()))
		c.buf.Reset()
		return err
	}
	for {
		l, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return 0, errs.E(errs.TooLarge, "the body is larger than %d bytes", MaxUpload)
			}
			return 0, errs.Wrap(errs.Invalid, err, "could not read the body")
		}
		c.add(l)
		if c.buf.Len() >= chunkSize {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if seq == 0 {
		return 0, nil
	}
	return rd.Lines(), nil
}

// job loads the job in the path, of the route's format.
func (im *Importer) job(r *http.Request, format string) (Job, error) {
	id := r.PathValue("job")
	if err := resource.CheckID("job", id); err != nil || id == "" {
		return Job{}, errs.E(errs.NotFound, "no such import")
	}
	j, err := im.jobs.get(r.Context(), id)
	if err != nil {
		return Job{}, err
	}
	if j.Format != format {
		return Job{}, errs.E(errs.NotFound, "no such import")
	}
	return j, nil
}

func (im *Importer) status(w http.ResponseWriter, r *http.Request, format string) {
	j, err := im.job(r, format)
	if err != nil {
		im.fail(w, r, format, err)
		return
	}
	switch {
	case !j.Finished():
		w.Header().Set("X-Progress", progress(j))
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusAccepted)
	case j.Status == StatusFailed && format == FormatFHIR:
		// Bulk Data: a job that failed answers 5xx with an OperationOutcome.
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(fhir.OperationOutcome([]fhir.Issue{{Severity: fhir.SeverityFatal, Code: fhir.CodeProcessing,
			Diagnostics: j.Message}}))
	default:
		httpapi.WriteJSON(w, http.StatusOK, summaryOf(j, statusURL(j.Request, format, j.ID)+"/errors"))
	}
}

// progress is the X-Progress of a job that has not finished.
func progress(j Job) string {
	switch j.Status {
	case StatusUploading:
		return "uploading"
	case StatusQueued:
		return fmt.Sprintf("queued: %d lines", j.Lines)
	}
	pct := 0
	if j.Lines > 0 {
		pct = j.Done * 100 / j.Lines
	}
	return fmt.Sprintf("running: %d of %d lines (%d%%), %d refused", j.Done, j.Lines, pct, j.Refused)
}

func summaryOf(j Job, errorsURL string) Summary {
	s := Summary{TransactionTime: j.Created, Request: j.Request, Status: j.Status, Message: j.Message, Lines: j.Lines, Processed: j.Done,
		Output: []Output{}, Error: []Output{}}
	types := make([]string, 0, len(j.Counts))
	for t := range j.Counts {
		types = append(types, t)
	}
	slices.Sort(types)
	for _, t := range types {
		c := j.Counts[t]
		s.Output = append(s.Output, Output{Type: t, Count: c.Created, Unchanged: c.Unchanged})
	}
	if j.Refused > 0 {
		s.Error = append(s.Error, Output{Type: "OperationOutcome", Count: j.Refused, URL: errorsURL})
	}
	return s
}

func (im *Importer) cancel(w http.ResponseWriter, r *http.Request, format string) {
	if _, err := im.job(r, format); err != nil {
		im.fail(w, r, format, err)
		return
	}
	if err := im.jobs.cancel(r.Context(), r.PathValue("job")); err != nil {
		im.fail(w, r, format, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (im *Importer) errors(w http.ResponseWriter, r *http.Request, format string) {
	j, err := im.job(r, format)
	if err != nil {
		im.fail(w, r, format, err)
		return
	}
	ct := "application/x-ndjson"
	if format == FormatFHIR {
		ct = "application/fhir+ndjson"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	err = im.jobs.outcomes(r.Context(), j.ID, func(_ int, outcome string) error {
		_, err := io.WriteString(w, outcome+"\n")
		return err
	})
	if err != nil && r.Context().Err() == nil {
		im.log.WarnContext(r.Context(), "bulk import: listing refused lines failed", "import", j.ID, "error", err.Error())
	}
}

// absolute is the URL r was sent to, as the client sent it (a path prefix the platform
// strips, such as /records, included).
func absolute(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	path := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		path = u.Path
	}
	return scheme + "://" + r.Host + path
}

// statusURL is the status endpoint of job, posted to request.
func statusURL(request, format, job string) string {
	if format == FormatFHIR {
		return strings.TrimSuffix(request, "$import") + "$import-status/" + job
	}
	return request + "/" + job
}
