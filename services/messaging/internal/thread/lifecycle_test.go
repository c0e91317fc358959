package thread_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/messaging/internal/thread"
)

// TestReadReceipts: the first read by someone other than the sender is recorded and
// published once; unread counts follow.
func TestReadReceipts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		st := e.startThread(patient1, poolThread("question"))
		reply := e.send(clinicianA, st.Thread.ID, general("answer"))
		unread := func() int {
			var th thread.Thread
			decode(t, e.must(patient1, "GET", "/v1/threads/"+st.Thread.ID, nil, http.StatusOK), &th)
			return th.Unread
		}
		if n := unread(); n != 1 {
			t.Fatalf("unread before reading = %d, want 1", n)
		}
		read := "/v1/threads/" + st.Thread.ID + "/messages/" + reply.ID + "/read"
		e.must(patient1, "POST", read, nil, http.StatusNoContent)
		e.must(patient1, "POST", read, nil, http.StatusNoContent)                                                           // again: nothing new
		e.must(clinicianA, "POST", read, nil, http.StatusNoContent)                                                         // one's own: nothing
		e.must(patient2, "POST", read, nil, http.StatusNotFound)                                                            // not a participant
		e.must(patient1, "POST", "/v1/threads/"+st.Thread.ID+"/messages/nope/read", nil, http.StatusNotFound)               // no such message
		e.must(patient1, "POST", "/v1/threads/"+st.Thread.ID+"/messages/"+st.Message.ID+"/read", nil, http.StatusNoContent) // own
		if n := unread(); n != 0 {
			t.Fatalf("unread after reading = %d, want 0", n)
		}
		evs := e.eventsOf(contract.MessageRead)
		if len(evs) != 1 || evs[0].Data["message_id"] != reply.ID || evs[0].Data["reader_role"] != "patient" ||
			evs[0].Data["reader_id"] != "pat-1" || evs[0].Key != "pat-1" {
			t.Fatalf("read events = %+v", evs)
		}
		m, err := e.svc.Message(t.Context(), clinicianA, st.Thread.ID, reply.ID)
		if err != nil || len(m.ReadBy) != 1 || m.ReadBy[0].Role != "patient" {
			t.Fatalf("receipts = %+v, %v", m.ReadBy, err)
		}
	})
}

func TestClose(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		st := e.startThread(patient1, poolThread("question"))
		path := "/v1/threads/" + st.Thread.ID + "/close"
		e.must(proxyRead, "POST", path, nil, http.StatusForbidden)
		e.must(patient2, "POST", path, nil, http.StatusNotFound)
		var th thread.Thread
		decode(t, e.must(staffEast, "POST", path, nil, http.StatusOK), &th)
		if th.Status != "closed" || th.ClosedBy == nil || th.ClosedBy.Role != "staff" || th.Closed == nil {
			t.Fatalf("closed thread = %+v", th)
		}
		e.must(patient1, "POST", path, nil, http.StatusOK) // closing again changes nothing
		before := e.threadState(st.Thread.ID)
		r := e.do(patient1, "POST", "/v1/threads/"+st.Thread.ID+"/messages", general("one more"))
		if r.status != http.StatusConflict {
			t.Fatalf("posting to a closed thread = %d %s, want 409", r.status, r.body)
		}
		if after := e.threadState(st.Thread.ID); after != before {
			t.Errorf("posting to a closed thread changed it: %s → %s", before, after)
		}
		evs := e.eventsOf(contract.ThreadClosed)
		if len(evs) != 1 || evs[0].Topic != contract.TopicThread || evs[0].Data["closed_by_role"] != "staff" ||
			evs[0].Data["thread_id"] != st.Thread.ID {
			t.Fatalf("close events = %+v", evs)
		}
		var page thread.Page
		decode(t, e.must(patient1, "GET", "/v1/threads?status=open", nil, http.StatusOK), &page)
		if len(page.Threads) != 0 {
			t.Errorf("open threads after closing = %+v", page.Threads)
		}
	})
}

// TestEventsPublished checks the secure-message event of every direction and sender
// role, and that no event carries content.
func TestEventsPublished(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		pool := e.startThread(patient1, poolThread("ZZBODY patient asks")) // patient → provider
		reply := e.send(clinicianA, pool.Thread.ID, map[string]any{"kind": "general", "body": "ZZBODY reply",
			"in_reply_to": pool.Message.ID}) // reply
		e.send(proxyAll, pool.Thread.ID, general("ZZBODY proxy writes")) // patient → provider, by a proxy
		e.send(staffEast, pool.Thread.ID, general("ZZBODY staff writes, not replying to anyone in particular"))
		consult := e.startThread(clinicianA, map[string]any{"kind": "consult", "clinic_id": "east", "patient_id": "pat-1",
			"clinicians": []string{npiA, npiB}, "message": general("ZZBODY consult")}) // provider → provider incl. patient

		type want struct{ direction, role, sender, npi string }
		wants := []want{
			{"patient_to_provider", "patient", "pat-1", ""},
			{"reply", "clinician", npiA, npiA},
			{"patient_to_provider", "proxy", "user-9", ""},
			{"provider_to_patient", "staff", "staff-1", ""},
			{"provider_to_provider", "clinician", npiA, npiA},
		}
		sent := e.eventsOf(contract.MessageSent)
		if len(sent) != len(wants) {
			t.Fatalf("%d message events, want %d", len(sent), len(wants))
		}
		for i, w := range wants {
			d := sent[i].Data
			npi, _ := d["npi"].(string)
			if d["direction"] != w.direction || d["sender_role"] != w.role || d["sender_id"] != w.sender || npi != w.npi ||
				d["tin"] != "123456789" || d["clinic_id"] != "east" || sent[i].Key != "pat-1" || sent[i].Topic != contract.TopicMessage {
				t.Errorf("event %d = %+v (key %s), want %+v", i, d, sent[i].Key, w)
			}
		}
		if sent[1].Data["in_reply_to"] != pool.Message.ID || sent[1].Data["message_id"] != reply.ID {
			t.Errorf("the reply's event = %+v", sent[1].Data)
		}
		if got := sent[4].Data["recipient_npis"]; !slices.Equal(toStrings(got), []string{npiB}) || sent[4].Data["thread_id"] != consult.Thread.ID {
			t.Errorf("the consult's recipients = %v", got)
		}
		for _, ev := range e.outbox() {
			for k, v := range ev.Data {
				if s, ok := v.(string); ok && len(s) >= 6 && s[:6] == "ZZBODY" {
					t.Errorf("%s carries content in %s", ev.Type, k)
				}
			}
			if _, ok := contract.Lookup(ev.Type); !ok {
				t.Errorf("%s is not in the contract", ev.Type)
			}
		}
	})
}

// TestNotifications: the other side is told, through the outbox by default or any
// Notifier configured, and never the sender.
func TestNotifications(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		recipients := func() []string {
			var out []string
			for _, ev := range e.eventsOf(contract.NotificationRequested) {
				out = append(out, ev.Data["recipient_kind"].(string)+":"+ev.Data["recipient_id"].(string))
			}
			return out
		}
		pool := e.startThread(patient1, poolThread("to the clinic"))
		clin := e.startThread(proxyAll, map[string]any{"kind": "clinician", "clinic_id": "east", "clinicians": []string{npiA},
			"message": general("to Dr A")})
		e.send(clinicianA, clin.Thread.ID, general("from Dr A"))
		want := []string{
			"clinic:east",                                   // the patient wrote to the pool
			"clinician:" + npiA,                             // the proxy wrote to Dr A
			"patient:pat-1", "proxy:user-8", "proxy:user-9", // Dr A wrote back: the patient and the readers
		}
		if got := recipients(); !slices.Equal(got, want) {
			t.Fatalf("notified %v, want %v", got, want)
		}
		for _, ev := range e.eventsOf(contract.NotificationRequested) {
			if len(ev.Data) != 5 || ev.Topic != contract.TopicNotification {
				t.Errorf("notification carries %v, want only the five IDs", ev.Data)
			}
		}
		_ = pool

		rec := &recorder{}
		other := newEnv(t, db, func(o *options) { o.notifier = rec })
		other.send(staffEast, pool.Thread.ID, general("through another notifier"))
		if got := rec.recipients(); !slices.Equal(got, []string{"patient:pat-1", "proxy:user-8", "proxy:user-9"}) {
			t.Errorf("a configured notifier was told %v", got)
		}
	})
}

// recorder is a Notifier that remembers whom it was asked to tell.
type recorder struct {
	mu sync.Mutex
	ns []contract.Notification
}

func (r *recorder) Notify(_ context.Context, _ *store.Tx, n contract.Notification, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ns = append(r.ns, n)
	return nil
}

func (r *recorder) recipients() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.ns {
		out = append(out, n.RecipientKind+":"+n.RecipientID)
	}
	return out
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestGrants(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		g := map[string]any{"proxy_id": "user-5", "patient_id": "pat-2", "scopes": []string{"send", "read", "read"}}
		e.must(patient2, "PUT", "/v1/proxy-grants", g, http.StatusForbidden)
		e.must(clinicianA, "PUT", "/v1/proxy-grants", g, http.StatusForbidden)
		var got thread.Grant
		decode(t, e.must(serviceAcct, "PUT", "/v1/proxy-grants", g, http.StatusOK), &got)
		if !slices.Equal(got.Scopes, []string{"read", "send"}) || got.GrantedBy.Role != "service" || got.ValidUntil != nil {
			t.Fatalf("grant = %+v", got)
		}
		for _, tc := range []struct {
			body  map[string]any
			want  int
			field string
		}{
			{map[string]any{"proxy_id": "user-5", "patient_id": "pat-2", "scopes": []string{"send"}}, 400, "scopes"},
			{map[string]any{"proxy_id": "user-5", "patient_id": "pat-2", "scopes": []string{"read", "admin"}}, 400, "scopes[1]"},
			{map[string]any{"proxy_id": "user-5", "patient_id": "pat-404", "scopes": []string{"read"}}, 422, "patient_id"},
			{map[string]any{"proxy_id": "user-5", "patient_id": "pat-2", "scopes": []string{"read"},
				"valid_from": start, "valid_until": start.Add(-time.Hour)}, 400, "valid_until"},
			{map[string]any{"patient_id": "pat-2", "scopes": []string{"read"}}, 400, "proxy_id"},
		} {
			r := e.do(staffEast, "PUT", "/v1/proxy-grants", tc.body)
			if r.status != tc.want || r.field(t) != tc.field {
				t.Errorf("PUT %v = %d %s, want %d on %s", tc.body, r.status, r.body, tc.want, tc.field)
			}
		}
		proxy := proxyOther
		proxy.ID, proxy.For = "user-5", "pat-2"
		e.startThread(proxy, poolThread("for pat-2, by user-5"))

		var list struct{ Grants []thread.Grant }
		decode(t, e.must(patient2, "GET", "/v1/proxy-grants?patient_id=pat-2", nil, http.StatusOK), &list)
		if len(list.Grants) != 1 || list.Grants[0].ProxyID != "user-5" {
			t.Fatalf("pat-2's grants = %+v", list.Grants)
		}
		decode(t, e.must(proxy, "GET", "/v1/proxy-grants?proxy_id=user-5", nil, http.StatusOK), &list)
		if len(list.Grants) != 1 {
			t.Fatalf("user-5's grants = %+v", list.Grants)
		}
		e.must(patient1, "GET", "/v1/proxy-grants?patient_id=pat-2", nil, http.StatusForbidden)
		e.must(staffEast, "GET", "/v1/proxy-grants", nil, http.StatusBadRequest)

		// The patient revokes: the representative loses access at once.
		e.must(patient2, "DELETE", "/v1/proxy-grants?proxy_id=user-5&patient_id=pat-2", nil, http.StatusNoContent)
		var page thread.Page
		decode(t, e.must(proxy, "GET", "/v1/threads", nil, http.StatusOK), &page)
		if len(page.Threads) != 0 {
			t.Fatalf("a revoked representative still sees %d threads", len(page.Threads))
		}
		e.must(proxy, "POST", "/v1/threads", poolThread("after revocation"), http.StatusNotFound)
	})
}

// TestPaging walks an inbox and a thread page by page.
func TestPaging(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		var ids []string
		for i := range 5 {
			e.clock.Set(start.Add(time.Duration(i) * time.Minute))
			ids = append(ids, e.startThread(patient1, poolThread("thread")).Thread.ID)
		}
		var seen []string
		next := ""
		for range 10 {
			var page thread.Page
			decode(t, e.must(patient1, "GET", "/v1/threads?limit=2&cursor="+next, nil, http.StatusOK), &page)
			for _, th := range page.Threads {
				seen = append(seen, th.ID)
			}
			if next = page.Next; next == "" {
				break
			}
		}
		slices.Reverse(ids)
		if !slices.Equal(seen, ids) {
			t.Fatalf("paged through %v, want %v (newest first)", seen, ids)
		}
		for range 4 {
			e.send(patient1, ids[0], general("more"))
		}
		var ms struct{ Messages []thread.Message }
		decode(t, e.must(patient1, "GET", "/v1/threads/"+ids[0]+"/messages?after=2&limit=2", nil, http.StatusOK), &ms)
		if len(ms.Messages) != 2 || ms.Messages[0].Seq != 3 || ms.Messages[1].Seq != 4 {
			t.Fatalf("messages after 2 = %+v", ms.Messages)
		}
	})
}
