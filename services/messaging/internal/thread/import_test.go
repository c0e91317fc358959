package thread_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/messaging/internal/thread"
)

// importBody is a conversation of pat-1 in the source EHR in 2020: the patient writes,
// clinician A replies, then writes to clinician B including the patient (consult).
func importBody(kind string, clinicians []string, msgs ...map[string]any) map[string]any {
	return map[string]any{"patient_id": "pat-1", "kind": kind, "clinic_id": "east", "clinicians": clinicians,
		"subject": "Imported", "messages": msgs}
}

var sent2020 = time.Date(2020, time.March, 2, 10, 0, 0, 0, time.UTC)

func imsg(role, id string, minutes int, replyTo ...int) map[string]any {
	m := map[string]any{"sender": map[string]any{"role": role, "id": id}, "body": "text", "sent": sent2020.Add(time.Duration(minutes) * time.Minute)}
	if len(replyTo) > 0 {
		m["reply_to"] = replyTo[0]
	}
	return m
}

func TestImportThread(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		before := len(e.outbox())
		body := importBody(thread.ClinicianThread, []string{npiA}, imsg("patient", "pat-1", 0), imsg("clinician", npiA, 60, 0))
		body["ccn"] = "140001"
		var im thread.Imported
		decode(t, e.must(serviceAcct, "POST", "/v1/threads/import", body, http.StatusCreated, "Idempotency-Key", `"imp-1"`), &im)
		if im.ThreadID == "" || len(im.MessageIDs) != 2 {
			t.Fatalf("imported %+v", im)
		}
		// A retry with the same key creates nothing and answers the same.
		var again thread.Imported
		r := e.must(serviceAcct, "POST", "/v1/threads/import", body, http.StatusCreated, "Idempotency-Key", `"imp-1"`)
		decode(t, r, &again)
		if again.ThreadID != im.ThreadID || len(again.MessageIDs) != 2 || again.MessageIDs[1] != im.MessageIDs[1] ||
			r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry answered %+v (%v), want the same import replayed", again, r.header)
		}

		// Two messaging.message.sent events at the clinical times, recorded now, the
		// reply a reply, credited to the hospital.
		evs := e.eventsOf(contract.MessageSent)
		if len(evs) != 2 || len(e.outbox()) != before+2 {
			t.Fatalf("published %d message events (%d in all), want 2", len(evs), len(e.outbox())-before)
		}
		if evs[0].Data["direction"] != contract.DirectionPatientToProvider || evs[1].Data["direction"] != contract.DirectionReply ||
			evs[1].Data["npi"] != npiA || evs[1].Data["ccn"] != "140001" || evs[1].Data["in_reply_to"] != im.MessageIDs[0] {
			t.Errorf("events %+v", evs)
		}
		rows, err := db.QueryContext(context.Background(), `SELECT time, recorded_at FROM outbox WHERE type = ? ORDER BY id`, contract.MessageSent)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var times []string
		for rows.Next() {
			var at, rec string
			if err := rows.Scan(&at, &rec); err != nil {
				t.Fatal(err)
			}
			when, _ := time.Parse(time.RFC3339Nano, at)
			recorded, _ := time.Parse(time.RFC3339Nano, rec)
			if when.Year() != 2020 || !recorded.Equal(start) {
				t.Errorf("event at %s recorded %s: want 2020, recorded now (%s)", at, rec, start.UTC())
			}
			times = append(times, at)
		}
		if len(times) != 2 {
			t.Errorf("times %v", times)
		}
		// Imported messages are not in the response-time ledger.
		if n := e.count("responses"); n != 0 {
			t.Errorf("%d responses ledgered for imported messages", n)
		}

		// Participants read it as usual; others do not; people cannot import.
		var page struct {
			Messages []thread.Message `json:"messages"`
		}
		decode(t, e.must(patient1, "GET", "/v1/threads/"+im.ThreadID+"/messages", nil, http.StatusOK), &page)
		if ms := page.Messages; len(ms) != 2 || !ms[0].Sent.Equal(sent2020) || ms[1].InReplyTo != ms[0].ID {
			t.Errorf("the patient reads %+v", page.Messages)
		}
		e.must(clinicianA, "GET", "/v1/threads/"+im.ThreadID, nil, http.StatusOK)
		e.must(patient2, "GET", "/v1/threads/"+im.ThreadID, nil, http.StatusNotFound)
		e.must(clinicianA, "POST", "/v1/threads/import", body, http.StatusForbidden)
		e.must(patient1, "POST", "/v1/threads/import", body, http.StatusForbidden)
	})
}

func TestImportRefusals(t *testing.T) {
	future := imsg("patient", "pat-1", 0)
	future["sent"] = start.Add(time.Hour)
	tests := []struct {
		name  string
		body  map[string]any
		field string
		code  int
	}{
		{"no messages", importBody(thread.PoolThread, nil), "messages", http.StatusBadRequest},
		{"no date", importBody(thread.PoolThread, nil, map[string]any{"sender": map[string]any{"role": "patient", "id": "pat-1"}, "body": "x"}),
			"messages[0].sent", http.StatusBadRequest},
		{"in the future", importBody(thread.PoolThread, nil, future), "messages[0].sent", http.StatusBadRequest},
		{"out of order", importBody(thread.PoolThread, nil, imsg("patient", "pat-1", 10), imsg("staff", "s1", 0)), "messages[1].sent", http.StatusBadRequest},
		{"reply to a later message", importBody(thread.PoolThread, nil, imsg("patient", "pat-1", 0, 1), imsg("staff", "s1", 5)), "messages[0].reply_to", http.StatusBadRequest},
		{"another patient as sender", importBody(thread.PoolThread, nil, imsg("patient", "pat-2", 0)), "messages[0].sender.id", http.StatusBadRequest},
		{"a clinician not in the thread", importBody(thread.ClinicianThread, []string{npiA}, imsg("clinician", npiB, 0)), "messages[0].sender.id", http.StatusBadRequest},
		{"an unknown role", importBody(thread.PoolThread, nil, imsg("service", "x", 0)), "messages[0].sender.role", http.StatusBadRequest},
		{"a bad CCN", func() map[string]any {
			b := importBody(thread.PoolThread, nil, imsg("patient", "pat-1", 0))
			b["ccn"] = "1"
			return b
		}(), "ccn", http.StatusBadRequest},
		{"a consult of one", importBody(thread.ConsultThread, []string{npiA}, imsg("clinician", npiA, 0)), "clinicians", http.StatusBadRequest},
		{"an unknown patient", func() map[string]any {
			b := importBody(thread.PoolThread, nil, imsg("staff", "s1", 0))
			b["patient_id"] = "pat-404"
			return b
		}(), "patient_id", http.StatusUnprocessableEntity},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		counts := e.counts()
		for _, tt := range tests {
			r := e.do(serviceAcct, "POST", "/v1/threads/import", tt.body)
			if r.status != tt.code || r.field(t) != tt.field {
				t.Errorf("%s: %d %s, want %d on %q", tt.name, r.status, r.body, tt.code, tt.field)
			}
		}
		if after := e.counts(); len(after) != len(counts) {
			t.Errorf("counts %v, want %v", after, counts)
		} else {
			for k, v := range counts {
				if after[k] != v {
					t.Errorf("refused imports wrote %s: %d → %d", k, v, after[k])
				}
			}
		}
	})
}
