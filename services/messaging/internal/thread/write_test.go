package thread_test

import (
	"bytes"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/messaging/internal/thread"
)

func TestIdempotentRetries(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		first := e.must(patient1, "POST", "/v1/threads", poolThread("only once"), http.StatusCreated, "Idempotency-Key", `"key-1"`)
		after := e.counts()
		retry := e.must(patient1, "POST", "/v1/threads", poolThread("only once"), http.StatusCreated, "Idempotency-Key", "key-1")
		var a, b started
		decode(t, first, &a)
		decode(t, retry, &b)
		if a.Thread.ID != b.Thread.ID || a.Message.ID != b.Message.ID || retry.header.Get("Idempotent-Replayed") != "true" ||
			first.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("retry answered %s/%s (replayed %q), first %s/%s", b.Thread.ID, b.Message.ID,
				retry.header.Get("Idempotent-Replayed"), a.Thread.ID, a.Message.ID)
		}
		if !maps.Equal(after, e.counts()) {
			t.Fatalf("a retry wrote: %v → %v", after, e.counts())
		}
		// What a write answers is exactly what reading it back gives.
		if !bytes.Equal(first.body, retry.body) {
			t.Errorf("first answer and replay differ:\n%s\n%s", first.body, retry.body)
		}
		slot := start.Add(72 * time.Hour).In(time.FixedZone("", -7*3600))
		rich := map[string]any{"kind": "appointment_request", "body": "soon please",
			"preferred_slots": []map[string]any{{"start": slot, "end": slot.Add(time.Hour)}},
			"attachments":     []map[string]any{{"content_type": "image/png", "name": "rash.png", "data": []byte("\x89PNG\r\n\x1a\n....")}}}
		sent := e.must(patient1, "POST", "/v1/threads/"+a.Thread.ID+"/messages", rich, http.StatusCreated, "Idempotency-Key", "rich")
		again := e.must(patient1, "POST", "/v1/threads/"+a.Thread.ID+"/messages", rich, http.StatusCreated, "Idempotency-Key", "rich")
		if !bytes.Equal(sent.body, again.body) {
			t.Errorf("a sent message and its replay differ:\n%s\n%s", sent.body, again.body)
		}
		after = e.counts()

		// The same key for something else is refused and writes nothing.
		r := e.do(patient1, "POST", "/v1/threads", poolThread("something else"), "Idempotency-Key", "key-1")
		if r.status != http.StatusUnprocessableEntity || r.field(t) != "Idempotency-Key" {
			t.Fatalf("key reused for another body = %d %s", r.status, r.body)
		}
		r = e.do(patient1, "POST", "/v1/threads/"+a.Thread.ID+"/messages", general("only once"), "Idempotency-Key", "key-1")
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("key reused on another route = %d %s", r.status, r.body)
		}
		if !maps.Equal(after, e.counts()) {
			t.Fatalf("refused reuses wrote: %v → %v", after, e.counts())
		}
		// Keys belong to their caller: another caller's key-1 is a new request.
		e.must(staffEast, "POST", "/v1/threads", map[string]any{"kind": "pool", "clinic_id": "east", "patient_id": "pat-1",
			"message": general("only once")}, http.StatusCreated, "Idempotency-Key", "key-1")

		// Sends and answers retry the same way, even concurrently.
		ids := concurrently(t, 6, func() response {
			return e.do(patient1, "POST", "/v1/threads/"+a.Thread.ID+"/messages",
				map[string]any{"kind": "refill_request", "body": "refill", "medication_id": "med-2"}, "Idempotency-Key", "send-1")
		})
		if len(ids) != 1 {
			t.Fatalf("concurrent retries of a send created %v", ids)
		}
		var requestID string
		for id := range ids {
			requestID = id
		}
		before := e.count("messages")
		ids = concurrently(t, 6, func() response {
			return e.do(staffEast, "POST", "/v1/requests/"+requestID+"/answer", map[string]any{"outcome": "approved"},
				"Idempotency-Key", "answer-1")
		})
		if len(ids) != 1 || e.count("messages") != before+1 || len(e.eventsOf(contract.RequestAnswered)) != 1 {
			t.Fatalf("concurrent answers created %v, %d messages, %d events", ids, e.count("messages")-before,
				len(e.eventsOf(contract.RequestAnswered)))
		}

		for _, bad := range []string{strings.Repeat("k", 129), "with space", `"unterminated`, "ünïcode"} {
			r := e.do(patient1, "POST", "/v1/threads", poolThread("x"), "Idempotency-Key", bad)
			if r.status != http.StatusBadRequest || r.field(t) != "Idempotency-Key" {
				t.Errorf("Idempotency-Key %q = %d %s, want 400", bad, r.status, r.body)
			}
		}
	})
}

// concurrently runs do n times at once; every answer must be 201. It returns the
// distinct IDs created.
func concurrently(t *testing.T, n int, do func() response) map[string]bool {
	t.Helper()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[string]bool{}
	)
	for range n {
		wg.Go(func() {
			r := do()
			var m thread.Message
			mu.Lock()
			defer mu.Unlock()
			if r.status != http.StatusCreated {
				t.Errorf("a concurrent retry = %d %s", r.status, r.body)
				return
			}
			decode(t, r, &m)
			ids[m.ID] = true
		})
	}
	wg.Wait()
	return ids
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, func(o *options) { o.patientRate = thread.Rate{N: 3, Per: time.Minute} })
		st := e.startThread(patient1, poolThread("one"))
		e.must(patient1, "POST", "/v1/threads/"+st.Thread.ID+"/messages", general("two"), http.StatusCreated, "Idempotency-Key", "two")
		e.send(patient1, st.Thread.ID, general("three"))
		before := e.counts()
		r := e.do(patient1, "POST", "/v1/threads/"+st.Thread.ID+"/messages", general("four"))
		retry, err := strconv.Atoi(r.header.Get("Retry-After"))
		if r.status != http.StatusTooManyRequests || err != nil || retry < 1 || retry > 60 {
			t.Fatalf("fourth send = %d %s, Retry-After %q; want 429 within a minute", r.status, r.body, r.header.Get("Retry-After"))
		}
		if !maps.Equal(before, e.counts()) {
			t.Fatalf("a refused send wrote: %v → %v", before, e.counts())
		}
		// A retry is recognised before the limit: it costs nothing and still answers.
		e.must(patient1, "POST", "/v1/threads/"+st.Thread.ID+"/messages", general("two"), http.StatusCreated, "Idempotency-Key", "two")
		// Limits are per sender: the care team and other patients still send.
		e.send(staffEast, st.Thread.ID, general("the care team is not limited by the patient"))
		e.startThread(patient2, poolThread("another patient"))
		e.must(patient1, "POST", "/v1/threads", poolThread("five"), http.StatusTooManyRequests)
	})
}

// TestBadInput: every malformed request is a 4xx naming the field, and writes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		st := e.startThread(patient1, poolThread("first"))
		other := e.startThread(patient1, poolThread("another thread"))
		limits := e.svc.Limits()
		msg := func(kv ...any) map[string]any {
			m := general("hello")
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		}
		thr := func(kv ...any) map[string]any {
			n := poolThread("hello")
			for i := 0; i+1 < len(kv); i += 2 {
				n[kv[i].(string)] = kv[i+1]
			}
			return n
		}
		file := func(ct string, data []byte) []map[string]any {
			return []map[string]any{{"content_type": ct, "name": "scan.pdf", "data": data}}
		}
		pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 100)...)
		threads := "/v1/threads"
		send := "/v1/threads/" + st.Thread.ID + "/messages"
		tests := []struct {
			name, path string
			body       any
			status     int
			field      string
		}{
			{"oversized body", send, msg("body", strings.Repeat("é", thread.MaxBodyRunes+1)), 413, "body"},
			{"oversized attachment", send, msg("attachments", file("application/pdf", append(pdf, make([]byte, limits.MaxAttachmentBytes)...))), 413, "attachments[0].data"},
			{"request body over the route's limit", send, msg("body", strings.Repeat("a", 20<<20)), 413, ""},
			{"attachment type not accepted", send, msg("attachments", file("image/gif", []byte("GIF89a..."))), 400, "attachments[0].content_type"},
			{"attachment not what it claims", send, msg("attachments", file("application/pdf", []byte("just text"))), 400, "attachments[0].data"},
			{"too many attachments", send, msg("attachments", append(append(file("application/pdf", pdf), file("application/pdf", pdf)...), append(file("application/pdf", pdf), file("application/pdf", pdf)...)...)), 400, "attachments"},
			{"attachment name with a path", send, msg("attachments", []map[string]any{{"content_type": "application/pdf", "name": "../etc/passwd", "data": pdf}}), 400, "attachments[0].name"},
			{"unknown message kind", send, msg("kind", "gossip"), 400, "kind"},
			{"answers are not sent directly", send, msg("kind", "request_answer"), 400, "kind"},
			{"no body", send, msg("body", "  "), 400, "body"},
			{"control character", send, msg("body", "bell\x07"), 400, "body"},
			{"medication on a general message", send, msg("medication_id", "med-1"), 400, "medication_id"},
			{"reply to another thread's message", send, msg("in_reply_to", other.Message.ID), 400, "in_reply_to"},
			{"reply to no message", send, msg("in_reply_to", "nope"), 400, "in_reply_to"},
			{"unknown field", send, msg("priority", "urgent"), 400, "priority"},
			{"not JSON", send, []byte("{"), 400, ""},
			{"unknown thread kind", threads, thr("kind", "group"), 400, "kind"},
			{"clinician thread without its clinician", threads, thr("kind", "clinician"), 400, "clinicians"},
			{"consult with one clinician", threads, thr("kind", "consult", "clinicians", []string{npiA}), 400, "clinicians"},
			{"pool thread naming clinicians", threads, thr("clinicians", []string{npiA}), 400, "clinicians"},
			{"no clinic", threads, thr("clinic_id", ""), 400, "clinic_id"},
			{"not an NPI", threads, thr("kind", "clinician", "clinicians", []string{"1234567890"}), 400, "clinicians[0]"},
			{"reply in a new thread", threads, thr("message", msg("in_reply_to", st.Message.ID)), 400, "message.in_reply_to"},
			{"unknown kind in a new thread", threads, thr("message", msg("kind", "gossip")), 400, "message.kind"},
			{"oversized subject", threads, thr("subject", strings.Repeat("s", thread.MaxSubjectRunes+1)), 413, "subject"},
			{"unknown patient", threads, thr("patient_id", "pat-404"), 404, "patient_id"},
			{"no such thread", "/v1/threads/nope/messages", msg(), 404, ""},
			{"a bad thread ID", "/v1/threads/a%20b/messages", msg(), 400, "id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := e.counts()
				r := e.do(patient1, "POST", tt.path, tt.body)
				if r.status != tt.status || r.field(t) != tt.field {
					t.Fatalf("= %d %s, want %d on %q", r.status, r.body, tt.status, tt.field)
				}
				if after := e.counts(); !maps.Equal(before, after) {
					t.Errorf("wrote something: %v → %v", before, after)
				}
			})
		}

		// The care team naming a patient the directory does not know.
		before := e.counts()
		r := e.do(staffEast, "POST", threads, thr("patient_id", "pat-404"))
		if r.status != http.StatusUnprocessableEntity || r.field(t) != "patient_id" || !maps.Equal(before, e.counts()) {
			t.Errorf("unknown patient = %d %s", r.status, r.body)
		}
		r = e.do(patient1, "POST", send, []byte(`{"kind":"general","body":"x"}`), "Content-Type", "text/plain")
		if r.status != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain body = %d", r.status)
		}
		for _, q := range []string{"?status=pending", "?limit=500", "?limit=-1", "?cursor=!!!", "?cursor=bm90LWEtY3Vyc29y"} {
			if r := e.do(patient1, "GET", "/v1/threads"+q, nil); r.status != http.StatusBadRequest {
				t.Errorf("GET /v1/threads%s = %d %s, want 400", q, r.status, r.body)
			}
		}
		if r := e.do(patient1, "GET", send+"?after=x", nil); r.status != http.StatusBadRequest || r.field(t) != "after" {
			t.Errorf("after=x = %d %s", r.status, r.body)
		}
	})
}
