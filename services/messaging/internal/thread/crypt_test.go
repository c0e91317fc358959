package thread_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/messaging/internal/thread"
)

// canaries are unique strings put in every PHI field, to be searched for where they
// must not be.
type canaries struct{ subject, body, name, data, reason string }

func newCanaries() canaries {
	c := "ZZCANARY-" + uuid.NewString()
	return canaries{subject: c + "-subject", body: c + "-body", name: c + "-name.txt", data: c + "-data", reason: c + "-reason"}
}

func (c canaries) all() []string { return []string{c.subject, c.body, c.name, c.data, c.reason} }

// sendCanaries starts a thread with every PHI field set to a canary, and answers a
// refill request with a canary reason.
func sendCanaries(e *env, c canaries) started {
	e.t.Helper()
	st := e.startThread(patient1, map[string]any{"kind": "pool", "clinic_id": "east", "subject": c.subject,
		"message": map[string]any{"kind": "refill_request", "medication_id": "med-1", "body": c.body,
			"attachments": []map[string]any{{"content_type": "text/plain", "name": c.name, "data": []byte(c.data)}}}})
	e.must(staffEast, "POST", "/v1/requests/"+st.Message.ID+"/answer", map[string]any{"outcome": "denied", "reason": c.reason}, http.StatusCreated)
	return st
}

// TestEncryptionAtRest: subjects, bodies, reasons, attachment names and content are
// in no column of any table in clear — the outbox included — yet read back whole.
func TestEncryptionAtRest(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c := newCanaries()
		st := sendCanaries(e, c)

		noneInClear(t, db, c)

		got, err := e.svc.Message(t.Context(), patient1, st.Thread.ID, st.Message.ID)
		if err != nil || got.Body.Reveal() != c.body || len(got.Attachments) != 1 || got.Attachments[0].Name.Reveal() != c.name {
			t.Fatalf("read back = %+v, %v", got, err)
		}
		th, err := e.svc.Thread(t.Context(), patient1, st.Thread.ID)
		if err != nil || th.Subject.Reveal() != c.subject {
			t.Fatalf("thread read back = %+v, %v", th, err)
		}
		r := e.must(patient1, "GET", fmt.Sprintf("/v1/threads/%s/messages/%s/attachments/%s", st.Thread.ID, st.Message.ID,
			got.Attachments[0].ID), nil, http.StatusOK)
		if string(r.body) != c.data || r.header.Get("Content-Type") != "text/plain" ||
			!strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("attachment download = %q %v", r.body, r.header)
		}
		e.must(patient2, "GET", fmt.Sprintf("/v1/threads/%s/messages/%s/attachments/%s", st.Thread.ID, st.Message.ID,
			got.Attachments[0].ID), nil, http.StatusNotFound)
	})
}

// TestEncryptionAtRestFile searches the SQLite database's files themselves, write-ahead
// log included, for the canaries.
func TestEncryptionAtRestFile(t *testing.T) {
	t.Parallel()
	u := storetest.URL(t, store.SQLite)
	db, err := store.Open(context.Background(), store.Config{URL: u, Service: "messaging"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, db)
	c := newCanaries()
	sendCanaries(e, c)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(u, "sqlite://")
	var found int
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		found++
		for _, canary := range c.all() {
			if bytes.Contains(b, []byte(canary)) {
				t.Errorf("%s holds %q in clear", f, canary)
			}
		}
		if !bytes.Contains(b, []byte("med-1")) && f == path {
			t.Logf("%s: the medication ID is not in the main file (still in the WAL)", f)
		}
	}
	if found == 0 {
		t.Fatal("no database file to search")
	}
}

// noneInClear fails the test if any column of any table holds a canary.
func noneInClear(t *testing.T, db *store.DB, c canaries) {
	t.Helper()
	for table, dump := range dumpTables(t, db) {
		for _, canary := range c.all() {
			if bytes.Contains(dump, []byte(canary)) {
				t.Errorf("table %s holds %q in clear", table, canary)
			}
		}
	}
}

// dumpTables returns every table's rows, every column, as bytes.
func dumpTables(t *testing.T, db *store.DB) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if db.Dialect() == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	if len(names) < len(tables) {
		t.Fatalf("found only tables %v", names)
	}
	out := map[string][]byte{}
	for _, name := range names {
		rows, err := db.QueryContext(ctx, "SELECT * FROM "+name)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var dump bytes.Buffer
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					dump.Write(b)
				} else {
					fmt.Fprint(&dump, v)
				}
				dump.WriteByte(0)
			}
		}
		rows.Close()
		out[name] = dump.Bytes()
	}
	if !bytes.Contains(out["outbox"], []byte("refill_request")) {
		t.Fatal("the dump does not see the outbox's payloads; the search would prove nothing")
	}
	return out
}

// TestKeyRotation: data sealed under an old key stays readable once a new key is
// active, new data goes under the new key, re-encryption moves everything, and then
// the old key can go.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		old := newEnv(t, db)
		c := newCanaries()
		st := sendCanaries(old, c)

		rotated := withKeys(t, db, "k1:"+testKey(1)+",k2:"+testKey(2), "k2")
		got, err := rotated.svc.Message(t.Context(), patient1, st.Thread.ID, st.Message.ID)
		if err != nil || got.Body.Reveal() != c.body {
			t.Fatalf("an old message after rotation = %+v, %v", got, err)
		}
		fresh := rotated.send(staffEast, st.Thread.ID, general("sealed under k2"))
		keyOf := func(table, id string) string {
			var kid string
			if err := db.QueryRowContext(t.Context(), "SELECT key_id FROM "+table+" WHERE id = ?", id).Scan(&kid); err != nil {
				t.Fatal(err)
			}
			return kid
		}
		if keyOf("messages", st.Message.ID) != "k1" || keyOf("messages", fresh.ID) != "k2" {
			t.Fatalf("keys: old message %s, new message %s; want k1, k2", keyOf("messages", st.Message.ID), keyOf("messages", fresh.ID))
		}

		// With k1 gone too early, old data cannot be opened: a 500, saying nothing more.
		newOnly := withKeys(t, db, "k2:"+testKey(2), "")
		r := newOnly.do(patient1, "GET", "/v1/threads/"+st.Thread.ID+"/messages", nil)
		if r.status != http.StatusInternalServerError || bytes.Contains(r.body, []byte("k1")) {
			t.Fatalf("reading with the old key removed = %d %s, want a bare 500", r.status, r.body)
		}

		rotated.must(staffEast, "POST", "/v1/keys/reencrypt", nil, http.StatusForbidden)
		var moved thread.Reencrypted
		decode(t, rotated.must(serviceAcct, "POST", "/v1/keys/reencrypt", nil, http.StatusOK), &moved)
		// The thread, the request and its answer, and the attachment were under k1.
		if moved.ActiveKey != "k2" || moved.Rows["threads"] != 1 || moved.Rows["messages"] != 2 || moved.Rows["attachments"] != 1 {
			t.Fatalf("re-encrypted %+v", moved)
		}
		decode(t, rotated.must(serviceAcct, "POST", "/v1/keys/reencrypt", nil, http.StatusOK), &moved)
		if moved.Rows["threads"]+moved.Rows["messages"]+moved.Rows["attachments"] != 0 {
			t.Fatalf("a second run moved %+v, want nothing", moved)
		}

		var ms struct{ Messages []thread.Message }
		decode(t, newOnly.must(patient1, "GET", "/v1/threads/"+st.Thread.ID+"/messages", nil, http.StatusOK), &ms)
		if len(ms.Messages) != 3 || ms.Messages[0].Body.Reveal() != c.body || ms.Messages[1].Answer.Reason.Reveal() != c.reason {
			t.Fatalf("after re-encryption, with k2 only: %+v", ms.Messages)
		}
		r = newOnly.must(patient1, "GET", fmt.Sprintf("/v1/threads/%s/messages/%s/attachments/%s", st.Thread.ID,
			st.Message.ID, ms.Messages[0].Attachments[0].ID), nil, http.StatusOK)
		if string(r.body) != c.data {
			t.Fatalf("attachment after re-encryption = %q", r.body)
		}
		noneInClear(t, db, c)
	})
}

// withKeys is another service on the same database, with other keys. Setting up
// patients and grants again changes nothing.
func withKeys(t *testing.T, db *store.DB, keys, active string) *env {
	t.Helper()
	return newEnv(t, db, func(o *options) { o.keys, o.active = keys, active })
}
