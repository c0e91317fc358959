package resource_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// TestMain checks that no test leaves a goroutine behind (the concurrency tests start some).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// note is the test kind: a patient's note with a natural key.
type note struct {
	resource.Meta
	PatientID string    `json:"patient_id"`
	Slug      string    `json:"slug,omitempty"` // the natural key
	Text      string    `json:"text"`
	Written   time.Time `json:"written"`
}

type noteEvent struct {
	NoteID    string `json:"note_id"`
	PatientID string `json:"patient_id"`
	Text      string `json:"text,omitempty"`
}

const noteTable = `CREATE TABLE notes (
    id TEXT PRIMARY KEY, subject TEXT NOT NULL, at %[1]s NOT NULL, unique_key TEXT UNIQUE, body TEXT NOT NULL,
    version INTEGER NOT NULL, created %[1]s NOT NULL, updated %[1]s NOT NULL);
CREATE TABLE idempotency_keys (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
    body TEXT NOT NULL, created %[1]s NOT NULL);`

func migrations() fstest.MapFS {
	sql := func(ts string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(strings.ReplaceAll(noteTable, "%[1]s", ts))}
	}
	return fstest.MapFS{
		"sqlite/000100_notes.up.sql":     sql("TIMESTAMP"),
		"sqlite/000100_notes.down.sql":   &fstest.MapFile{Data: []byte("DROP TABLE notes; DROP TABLE idempotency_keys;")},
		"postgres/000100_notes.up.sql":   sql("TIMESTAMPTZ"),
		"postgres/000100_notes.down.sql": &fstest.MapFile{Data: []byte("DROP TABLE notes; DROP TABLE idempotency_keys;")},
	}
}

func newNotes(t *testing.T, db *store.DB) (*resource.Kind[note, *note], *int) {
	t.Helper()
	if err := db.Migrate(context.Background(), migrations()); err != nil {
		t.Fatal(err)
	}
	notified := new(int)
	st := resource.NewStore(db, "test", func() { *notified++ })
	return resource.New(st, resource.Def[note]{
		Name: "note", Path: "notes", Table: "notes", Topic: "test.note.v1",
		Recorded: "test.note.recorded", Corrected: "test.note.corrected", Deleted: "test.note.deleted",
		Subject: func(n *note) string { return n.PatientID }, SubjectField: "patient_id",
		At:  func(n *note) time.Time { return n.Written },
		Key: func(n *note) string { return n.Slug }, KeyField: "slug",
		Validate: func(n *note) error {
			if n.PatientID == "" {
				return errs.Field(errs.Invalid, "patient_id", "required")
			}
			if n.Text == "" {
				return errs.Field(errs.Invalid, "text", "required")
			}
			return nil
		},
		Payload: func(n *note) any { return noteEvent{NoteID: n.ID, PatientID: n.PatientID, Text: n.Text} },
		Ref:     func(n *note) any { return noteEvent{NoteID: n.ID, PatientID: n.PatientID} },
	}), notified
}

type queued struct {
	Topic, Type, Key string
	Time             time.Time
	Data             noteEvent
}

func outbox(t *testing.T, db *store.DB) []queued {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT topic, type, key, time, data FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []queued
	for rows.Next() {
		var (
			q        queued
			at, data string
		)
		if err := rows.Scan(&q.Topic, &q.Type, &q.Key, &at, &data); err != nil {
			t.Fatal(err)
		}
		q.Time, _ = time.Parse(time.RFC3339Nano, at)
		if err := json.Unmarshal([]byte(data), &q.Data); err != nil {
			t.Fatal(err)
		}
		out = append(out, q)
	}
	return out
}

func types(qs []queued) string {
	var s []string
	for _, q := range qs {
		s = append(s, q.Type)
	}
	return strings.Join(s, " ")
}

var written = time.Date(2025, 3, 4, 14, 30, 0, 0, time.UTC)

func TestLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		notes, notified := newNotes(t, db)

		n, created, err := notes.Create(ctx, note{PatientID: "p1", Slug: "a", Text: "one", Written: written})
		if err != nil || !created || n.ID == "" || n.Version != 1 || n.Created.IsZero() {
			t.Fatalf("Create = %+v, %v, %v", n, created, err)
		}
		// The same ID and content again is a retry: the stored note, nothing published.
		again, created, err := notes.Create(ctx, note{Meta: resource.Meta{ID: n.ID}, PatientID: "p1", Slug: "a", Text: "one", Written: written})
		if err != nil || created || !again.Created.Equal(n.Created) {
			t.Fatalf("retry = %+v, %v, %v", again, created, err)
		}
		// The same ID with other content, or another note with the same natural key, clash.
		if _, _, err := notes.Create(ctx, note{Meta: resource.Meta{ID: n.ID}, PatientID: "p1", Text: "two", Written: written}); errs.FieldOf(err) != "id" || !errs.Is(errs.Conflict, err) {
			t.Errorf("same id, other content: %v", err)
		}
		if _, _, err := notes.Create(ctx, note{PatientID: "p2", Slug: "a", Text: "two", Written: written}); errs.FieldOf(err) != "slug" || !errs.Is(errs.Conflict, err) {
			t.Errorf("same key: %v", err)
		}
		if _, _, err := notes.Create(ctx, note{PatientID: "p1", Written: written}); errs.FieldOf(err) != "text" || !errs.Is(errs.Invalid, err) {
			t.Errorf("invalid: %v", err)
		}

		// A correction that changes nothing publishes nothing; one that does is the next version.
		if c, err := notes.Correct(ctx, again); err != nil || c.Version != 1 {
			t.Fatalf("no-op correction = %+v, %v", c, err)
		}
		changed := again
		changed.Text, changed.Written = "one, amended", written.Add(time.Hour)
		c, err := notes.Correct(ctx, changed)
		if err != nil || c.Version != 2 || c.Text != "one, amended" || !c.Created.Equal(n.Created) {
			t.Fatalf("correction = %+v, %v", c, err)
		}
		stale := changed
		stale.Text, stale.Version = "late", 1
		if _, err := notes.Correct(ctx, stale); errs.FieldOf(err) != "version" || !errs.Is(errs.Conflict, err) {
			t.Errorf("stale version: %v", err)
		}
		moved := c
		moved.PatientID = "p2"
		if _, err := notes.Correct(ctx, moved); errs.FieldOf(err) != "patient_id" || !errs.Is(errs.Unprocessable, err) {
			t.Errorf("move to another patient: %v", err)
		}
		if _, err := notes.Correct(ctx, note{Meta: resource.Meta{ID: "nothing"}, PatientID: "p1", Text: "x"}); !errs.Is(errs.NotFound, err) {
			t.Errorf("correct a missing note: %v", err)
		}

		if err := notes.Delete(ctx, n.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := notes.Get(ctx, n.ID); !errs.Is(errs.NotFound, err) {
			t.Errorf("Get after Delete: %v", err)
		}
		if err := notes.Delete(ctx, n.ID); !errs.Is(errs.NotFound, err) {
			t.Errorf("second Delete: %v", err)
		}

		evs := outbox(t, db)
		if got, want := types(evs), "test.note.recorded test.note.corrected test.note.deleted"; got != want {
			t.Fatalf("events %q, want %q", got, want)
		}
		for _, e := range evs {
			if e.Topic != "test.note.v1" || e.Key != "p1" || e.Data.NoteID != n.ID {
				t.Errorf("event %+v", e)
			}
		}
		if !evs[0].Time.Equal(written) || !evs[1].Time.Equal(written.Add(time.Hour)) {
			t.Errorf("clinical times %v, %v: want the notes' written times", evs[0].Time, evs[1].Time)
		}
		if *notified != 3 {
			t.Errorf("relay notified %d times, want once per write that published", *notified)
		}
	})
}

func TestListPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		notes, _ := newNotes(t, db)
		for _, id := range []string{"n1", "n2", "n3", "n4", "n5"} {
			patient := "p1"
			if id == "n3" {
				patient = "p2"
			}
			if _, _, err := notes.Create(ctx, note{Meta: resource.Meta{ID: id}, PatientID: patient, Text: id, Written: written}); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		after := ""
		for range 10 {
			p, err := notes.List(ctx, "p1", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range p.Items {
				got = append(got, n.ID)
			}
			if p.Next == "" {
				break
			}
			after = p.Next
		}
		if strings.Join(got, ",") != "n1,n2,n4,n5" {
			t.Errorf("pages of p1 = %v", got)
		}
	})
}

// call sends a request to h and returns the status, the body and the response.
func call(t *testing.T, h http.Handler, method, path, key, body string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Code, rec.Body.String()
}

func routes(notes *resource.Kind[note, *note]) http.Handler {
	mux := http.NewServeMux()
	notes.Routes(resource.NewMux(mux, slog.New(slog.DiscardHandler)))
	return mux
}

func TestIdempotencyKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		notes, _ := newNotes(t, db)
		h := routes(notes)
		body := `{"patient_id":"p1","text":"hello","written":"2025-03-04T14:30:00Z"}`

		code, first := call(t, h, http.MethodPost, "/v1/notes", "k-1", body)
		if code != http.StatusCreated {
			t.Fatalf("first: %d %s", code, first)
		}
		// The same key and request: the same answer, byte for byte, and no second note.
		code, again := call(t, h, http.MethodPost, "/v1/notes", "k-1", body)
		if code != http.StatusCreated || again != first {
			t.Errorf("replay: %d %s, want 201 %s", code, again, first)
		}
		// The same key with another request is a conflict naming the header.
		code, other := call(t, h, http.MethodPost, "/v1/notes", "k-1", strings.Replace(body, "hello", "bye", 1))
		if code != http.StatusConflict || !strings.Contains(other, `"field":"Idempotency-Key"`) {
			t.Errorf("same key, other body: %d %s", code, other)
		}
		if code, msg := call(t, h, http.MethodPost, "/v1/notes", "k\x01", body); code != http.StatusBadRequest ||
			!strings.Contains(msg, `"field":"Idempotency-Key"`) {
			t.Errorf("bad key: %d %s", code, msg)
		}
		// A failed request stores nothing under its key: fixed and retried, it runs.
		if code, _ := call(t, h, http.MethodPost, "/v1/notes", "k-2", `{"patient_id":"p1"}`); code != http.StatusBadRequest {
			t.Errorf("invalid with key: %d", code)
		}
		if code, _ := call(t, h, http.MethodPost, "/v1/notes", "k-2", body); code != http.StatusCreated {
			t.Errorf("fixed with the same key: %d", code)
		}
		var n note
		if err := json.Unmarshal([]byte(first), &n); err != nil {
			t.Fatal(err)
		}
		if code, _ := call(t, h, http.MethodDelete, "/v1/notes/"+n.ID, "k-3", ""); code != http.StatusNoContent {
			t.Errorf("delete: %d", code)
		}
		if code, _ := call(t, h, http.MethodDelete, "/v1/notes/"+n.ID, "k-3", ""); code != http.StatusNoContent {
			t.Errorf("delete replayed: %d, want the same 204", code)
		}
		if got, want := types(outbox(t, db)), "test.note.recorded test.note.recorded test.note.deleted"; got != want {
			t.Errorf("events %q, want %q", got, want)
		}
	})
}

// TestPurgeKeys forgets keys older than KeyTTL and keeps the others.
func TestPurgeKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		notes, _ := newNotes(t, db)
		h := routes(notes)
		if code, _ := call(t, h, http.MethodPost, "/v1/notes", "fresh", `{"patient_id":"p1","text":"x"}`); code != http.StatusCreated {
			t.Fatalf("POST: %d", code)
		}
		old := time.Now().UTC().Add(-resource.KeyTTL - time.Minute)
		if _, err := db.ExecContext(ctx, `INSERT INTO idempotency_keys (key, fingerprint, status, body, created)
			VALUES ('stale', 'f', 201, '{}', ?)`, old); err != nil {
			t.Fatal(err)
		}
		n, err := resource.NewStore(db, "test", func() {}).PurgeKeys(ctx)
		if err != nil || n != 1 {
			t.Fatalf("PurgeKeys = %d, %v; want the stale key only", n, err)
		}
		var left []string
		rows, err := db.QueryContext(ctx, `SELECT key FROM idempotency_keys`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			left = append(left, k)
		}
		if strings.Join(left, ",") != "fresh" {
			t.Errorf("keys left: %v", left)
		}
	})
}

// TestIdempotencyKeyConcurrent sends one request with one key many times at once:
// exactly one executes, and every caller gets its answer.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		notes, _ := newNotes(t, db)
		h := routes(notes)
		body := `{"patient_id":"p1","text":"once","written":"2025-03-04T14:30:00Z"}`
		const n = 8
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			answers = map[string]int{}
		)
		for range n {
			wg.Go(func() {
				code, got := call(t, h, http.MethodPost, "/v1/notes", "same-key", body)
				mu.Lock()
				defer mu.Unlock()
				if code != http.StatusCreated {
					t.Errorf("answer %d %s", code, got)
				}
				answers[got]++
			})
		}
		wg.Wait()
		if len(answers) != 1 {
			t.Errorf("%d different answers: %v", len(answers), answers)
		}
		if got := types(outbox(t, db)); got != "test.note.recorded" {
			t.Errorf("events %q, want one recorded", got)
		}
	})
}

func TestRoutesRefuseBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		notes, _ := newNotes(t, db)
		h := routes(notes)
		tests := []struct {
			method, path, body string
			code               int
			field              string
		}{
			{http.MethodPost, "/v1/notes", `{"patient_id":"p1","text":"x","written":"yesterday"}`, 400, "written"},
			{http.MethodPost, "/v1/notes", `{"patient_id":"p1","text":"x","colour":"red"}`, 400, "colour"},
			{http.MethodPost, "/v1/notes", `{"patient_id":"p1","text":"x","id":"a/b"}`, 400, "id"},
			{http.MethodPost, "/v1/notes", `{"patient_id":"p1","text":`, 400, ""},
			{http.MethodPut, "/v1/notes/n1", `{"id":"n2","patient_id":"p1","text":"x"}`, 400, "id"},
			{http.MethodPut, "/v1/notes/n1", `{"patient_id":"p1","text":"x"}`, 404, ""},
			{http.MethodGet, "/v1/notes", ``, 400, "patient_id"},
			{http.MethodGet, "/v1/notes?patient_id=p1&limit=5000", ``, 400, "limit"},
			{http.MethodGet, "/v1/notes/n%201", ``, 400, "id"},
		}
		for _, tt := range tests {
			code, body := call(t, h, tt.method, tt.path, "", tt.body)
			if code != tt.code || tt.field != "" && !strings.Contains(body, `"field":"`+tt.field+`"`) {
				t.Errorf("%s %s %s: %d %s, want %d naming %q", tt.method, tt.path, tt.body, code, body, tt.code, tt.field)
			}
		}
		if evs := outbox(t, db); len(evs) != 0 {
			t.Errorf("refused requests published %d events", len(evs))
		}
		var n int
		if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM notes`).Scan(&n); err != nil || n != 0 {
			t.Errorf("refused requests stored %d notes (%v)", n, err)
		}
	})
}

func TestReplyIsTheBody(t *testing.T) {
	r, err := resource.JSON(http.StatusOK, map[string]int{"a": 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil || !bytes.Equal(b, []byte(`{"a":1}`)) || r.StatusCode() != http.StatusOK {
		t.Errorf("Reply encodes as %s (%v), status %d", b, err, r.StatusCode())
	}
}
