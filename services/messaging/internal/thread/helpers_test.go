package thread_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/cache/cachetest"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/patientdir"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/messaging/internal/clinic"
	"github.com/attest-ehr/attest/services/messaging/internal/fhir"
	"github.com/attest-ehr/attest/services/messaging/internal/keyring"
	"github.com/attest-ehr/attest/services/messaging/internal/thread"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// NPIs (valid Luhn check digits) of the clinicians in the tests.
const (
	npiA = "1234567893" // clinic east
	npiB = "1245319599" // clinic east
	npiC = "1000000004" // clinic west
)

// The callers of the tests: every kind of participant, in and out of scope.
var (
	patient1     = principal.Principal{Kind: principal.Patient, ID: "pat-1"}
	patient2     = principal.Principal{Kind: principal.Patient, ID: "pat-2"}
	proxyAll     = principal.Principal{Kind: principal.Proxy, ID: "user-9", For: "pat-1"} // read, send, request
	proxyRead    = principal.Principal{Kind: principal.Proxy, ID: "user-8", For: "pat-1"} // read only
	proxyExpired = principal.Principal{Kind: principal.Proxy, ID: "user-7", For: "pat-1"} // grant ended
	proxyOther   = principal.Principal{Kind: principal.Proxy, ID: "user-9", For: "pat-2"} // no grant for pat-2
	clinicianA   = principal.Principal{Kind: principal.Clinician, ID: npiA, Clinics: []string{"east"}}
	clinicianB   = principal.Principal{Kind: principal.Clinician, ID: npiB, Clinics: []string{"east"}}
	clinicianC   = principal.Principal{Kind: principal.Clinician, ID: npiC, Clinics: []string{"west"}}
	staffEast    = principal.Principal{Kind: principal.Staff, ID: "staff-1", Clinics: []string{"east"}}
	staffWest    = principal.Principal{Kind: principal.Staff, ID: "staff-2", Clinics: []string{"west"}}
	adminEast    = principal.Principal{Kind: principal.ClinicAdmin, ID: "admin-1", Clinics: []string{"east"}}
	officer      = principal.Principal{Kind: principal.Officer, ID: "officer-1"}
	serviceAcct  = principal.Principal{Kind: principal.Service, ID: "svc-records"}
	nobody       = principal.Principal{}
)

func testKey(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, keyring.KeySize))
}

// clock is a settable clock for the service under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// env is a service under test on one database, with its HTTP API.
type env struct {
	t     *testing.T
	db    *store.DB
	svc   *thread.Service
	h     http.Handler
	clock *clock
}

// options change an env's configuration.
type options struct {
	keys, active string
	patientRate  thread.Rate
	notifier     thread.Notifier
}

var ny = mustZone("America/New_York")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// start is the tests' default "now": Tuesday 14 January 2025, 10:00 in New York.
var start = time.Date(2025, time.January, 14, 10, 0, 0, 0, ny)

// newEnv migrates db, registers patients pat-1 and pat-2, grants the proxies, and
// builds the service. Rate limits are high unless opts say otherwise; Redis is the
// machine's (cachetest).
func newEnv(t *testing.T, db *store.DB, opts ...func(*options)) *env {
	t.Helper()
	o := options{keys: "k1:" + testKey(1), patientRate: thread.Rate{N: 1000, Per: time.Minute}}
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	if err := db.Migrate(ctx, thread.Migrations()); err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Parse(o.keys, o.active)
	if err != nil {
		t.Fatal(err)
	}
	clinics, err := clinic.Parse(`{"east":{"time_zone":"America/New_York","open":"08:00","close":"17:00","tin":"123456789"}}`, "")
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: start}
	svc, err := thread.New(thread.Config{
		DB: db, Keys: keys, Clinics: clinics, Limiter: cachetest.New(t),
		PatientRate: o.patientRate, CareTeamRate: thread.Rate{N: 1000, Per: time.Minute},
		Notifier: o.notifier, Now: c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	thread.Routes(mux, svc, log)
	fhir.Routes(mux, svc, "/messaging", log)
	e := &env{t: t, db: db, svc: svc, h: thread.Authenticate(httpapi.Route(mux), log), clock: c}

	dir := patientdir.New(db, "test.patients", log)
	for _, id := range []string{"pat-1", "pat-2"} {
		ev, err := event.New(contract.PatientRegistered, "records", id, start, start, contract.Patient{PatientID: id})
		if err != nil {
			t.Fatal(err)
		}
		if err := dir.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []map[string]any{
		{"proxy_id": "user-9", "patient_id": "pat-1", "scopes": []string{"read", "send", "request"}},
		{"proxy_id": "user-8", "patient_id": "pat-1", "scopes": []string{"read"}},
		{"proxy_id": "user-7", "patient_id": "pat-1", "scopes": []string{"read", "send"},
			"valid_from": start.Add(-48 * time.Hour), "valid_until": start.Add(-time.Hour)},
	} {
		e.must(staffEast, "PUT", "/v1/proxy-grants", g, http.StatusOK)
	}
	return e
}

// response is an HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// field is the field an error body names.
func (r response) field(t *testing.T) string {
	t.Helper()
	var b httpapi.ErrorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Field
}

// do sends a request as p (none when p is zero) with a JSON body (nil for none;
// []byte as is) and the headers given as name, value pairs.
func (e *env) do(p principal.Principal, method, path string, body any, header ...string) response {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.Kind != "" {
		req.Header.Set(principal.Header, p.String())
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	checkResponse(e.t, req, rec)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// must is do, failing the test unless the status is want.
func (e *env) must(p principal.Principal, method, path string, body any, want int, header ...string) response {
	e.t.Helper()
	r := e.do(p, method, path, body, header...)
	if r.status != want {
		e.t.Fatalf("%s %s as %s = %d %s, want %d", method, path, p, r.status, r.body, want)
	}
	return r
}

// started is what POST /v1/threads answered.
type started struct {
	Thread  thread.Thread  `json:"thread"`
	Message thread.Message `json:"message"`
}

// startThread starts a thread as p and returns it.
func (e *env) startThread(p principal.Principal, n map[string]any) started {
	e.t.Helper()
	var s started
	decode(e.t, e.must(p, "POST", "/v1/threads", n, http.StatusCreated), &s)
	return s
}

// send posts a message as p and returns it.
func (e *env) send(p principal.Principal, threadID string, m map[string]any) thread.Message {
	e.t.Helper()
	var msg thread.Message
	decode(e.t, e.must(p, "POST", "/v1/threads/"+threadID+"/messages", m, http.StatusCreated), &msg)
	return msg
}

func decode(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.body)
	}
}

// general is a general message with the given body.
func general(body string) map[string]any { return map[string]any{"kind": "general", "body": body} }

// poolThread is a new pool thread of pat-1 with clinic east.
func poolThread(body string) map[string]any {
	return map[string]any{"kind": "pool", "clinic_id": "east", "subject": "A question", "message": general(body)}
}

// published is one event in the outbox.
type published struct {
	Topic, Type, Key string
	Data             map[string]any
}

// outbox lists the events queued for Kafka, oldest first.
func (e *env) outbox() []published {
	e.t.Helper()
	rows, err := e.db.QueryContext(context.Background(), `SELECT topic, type, key, data FROM outbox ORDER BY id`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []published
	for rows.Next() {
		var (
			p    published
			data []byte
		)
		if err := rows.Scan(&p.Topic, &p.Type, &p.Key, &data); err != nil {
			e.t.Fatal(err)
		}
		if err := json.Unmarshal(data, &p.Data); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// eventsOf lists the outbox events of one type.
func (e *env) eventsOf(typ string) []published {
	var out []published
	for _, p := range e.outbox() {
		if p.Type == typ {
			out = append(out, p)
		}
	}
	return out
}

// count is the number of rows in a table.
func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// threadState is what a post changes in a thread's row: its message count and last
// activity.
func (e *env) threadState(id string) string {
	e.t.Helper()
	var n, at int64
	if err := e.db.QueryRowContext(context.Background(), `SELECT message_count, last_message_at FROM threads WHERE id = ?`,
		id).Scan(&n, &at); err != nil {
		e.t.Fatal(err)
	}
	return fmt.Sprintf("%d messages, last at %d", n, at)
}

// tables are every table a write may touch.
var tables = []string{"threads", "thread_clinicians", "messages", "attachments", "receipts", "requests",
	"responses", "proxy_grants", "idempotency_keys", "outbox"}

// counts is the row count of every table.
func (e *env) counts() map[string]int {
	out := map[string]int{}
	for _, t := range tables {
		out[t] = e.count(t)
	}
	return out
}
