package thread_test

import (
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/messaging/internal/thread"
)

func TestRefillFlow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		refill := map[string]any{"kind": "refill_request", "body": "Out of my blood pressure pills", "medication_id": "med-1"}

		// A proxy may request only with the request scope.
		e.must(proxyRead, "POST", "/v1/threads", map[string]any{"kind": "pool", "clinic_id": "east", "message": refill}, http.StatusForbidden)
		st := e.startThread(patient1, map[string]any{"kind": "pool", "clinic_id": "east", "message": refill})
		req := st.Message
		if req.Kind != contract.KindRefillRequest || req.MedicationID != "med-1" || req.Request == nil || req.Request.Status != "open" {
			t.Fatalf("request = %+v", req)
		}

		// Staff of the clinic see it in their worklist; other clinics do not.
		var list struct{ Requests []thread.RequestItem }
		decode(t, e.must(staffEast, "GET", "/v1/requests?clinic_id=east&status=open", nil, http.StatusOK), &list)
		if len(list.Requests) != 1 || list.Requests[0].RequestID != req.ID || list.Requests[0].MedicationID != "med-1" {
			t.Fatalf("east worklist = %+v", list.Requests)
		}
		decode(t, e.must(staffWest, "GET", "/v1/requests?clinic_id=east", nil, http.StatusOK), &list)
		if len(list.Requests) != 0 {
			t.Fatalf("west staff see east's requests: %+v", list.Requests)
		}

		answer := "/v1/requests/" + req.ID + "/answer"
		for _, tc := range []struct {
			name   string
			caller principal.Principal
			body   map[string]any
			want   int
			field  string
		}{
			{"the patient cannot answer", patient1, map[string]any{"outcome": "approved"}, 403, ""},
			{"other clinics cannot see it", staffWest, map[string]any{"outcome": "approved"}, 404, ""},
			{"a denial needs a reason", staffEast, map[string]any{"outcome": "denied"}, 400, "reason"},
			{"a refill is not booked", staffEast, map[string]any{"outcome": "booked"}, 400, "outcome"},
			{"no outcome", staffEast, map[string]any{"body": "hm"}, 400, "outcome"},
			{"a reason only for denials", staffEast, map[string]any{"outcome": "approved", "reason": "why not"}, 400, "reason"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.counts()
				r := e.do(tc.caller, "POST", answer, tc.body)
				if r.status != tc.want || r.field(t) != tc.field {
					t.Fatalf("answer = %d %s, want %d on %q", r.status, r.body, tc.want, tc.field)
				}
				if after := e.counts(); !maps.Equal(before, after) {
					t.Errorf("a refused answer wrote something: %v → %v", before, after)
				}
			})
		}

		var ans thread.Message
		decode(t, e.must(staffEast, "POST", answer, map[string]any{"outcome": "denied", "reason": "Due for a check-up first",
			"body": "Please book a visit"}, http.StatusCreated), &ans)
		if ans.Kind != contract.KindRequestAnswer || ans.InReplyTo != req.ID || ans.Answer == nil ||
			ans.Answer.Outcome != "denied" || ans.Answer.Reason.Reveal() != "Due for a check-up first" || ans.Body.Reveal() != "Please book a visit" {
			t.Fatalf("answer = %+v", ans)
		}
		e.must(clinicianA, "POST", answer, map[string]any{"outcome": "approved"}, http.StatusConflict)

		// The patient sees the request answered and the answer in the thread.
		var ms struct{ Messages []thread.Message }
		decode(t, e.must(patient1, "GET", "/v1/threads/"+st.Thread.ID+"/messages", nil, http.StatusOK), &ms)
		if len(ms.Messages) != 2 || ms.Messages[0].Request.Status != "denied" || ms.Messages[0].Request.AnswerMessageID != ans.ID ||
			ms.Messages[1].ID != ans.ID {
			t.Fatalf("thread after the answer = %+v", ms.Messages)
		}

		// Events: the request, the answer as a reply, and the answer itself.
		sent := e.eventsOf(contract.MessageSent)
		if len(sent) != 2 || sent[0].Data["direction"] != "patient_to_provider" || sent[0].Data["kind"] != "refill_request" ||
			sent[1].Data["direction"] != "reply" || sent[1].Data["sender_role"] != "staff" || sent[1].Data["in_reply_to"] != req.ID ||
			sent[1].Data["tin"] != "123456789" {
			t.Fatalf("message events = %+v", sent)
		}
		answered := e.eventsOf(contract.RequestAnswered)
		if len(answered) != 1 || answered[0].Topic != contract.TopicRequest || answered[0].Key != "pat-1" ||
			answered[0].Data["outcome"] != "denied" || answered[0].Data["medication_id"] != "med-1" ||
			answered[0].Data["answer_message_id"] != ans.ID || answered[0].Data["reason"] != nil {
			t.Fatalf("request events = %+v", answered)
		}
	})
}

func TestAppointmentFlow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		slot := func(dayOffset, hour int) map[string]any {
			s := start.AddDate(0, 0, dayOffset).Add(time.Duration(hour) * time.Hour)
			return map[string]any{"start": s, "end": s.Add(30 * time.Minute)}
		}
		appt := func(slots ...map[string]any) map[string]any {
			m := map[string]any{"kind": "appointment_request", "body": "Follow-up please"}
			if slots != nil {
				m["preferred_slots"] = slots
			}
			return map[string]any{"kind": "clinician", "clinic_id": "east", "clinicians": []string{npiA}, "message": m}
		}
		backwards := slot(2, 1)
		backwards["end"] = start.AddDate(0, 0, 2)
		for _, tc := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"no slots", appt(), "message.preferred_slots"},
			{"a slot in the past", appt(slot(-1, 0)), "message.preferred_slots[0].start"},
			{"a slot ending before it starts", appt(slot(1, 0), backwards), "message.preferred_slots[1].end"},
			{"too many slots", appt(slot(1, 0), slot(1, 1), slot(1, 2), slot(1, 3), slot(1, 4), slot(1, 5)), "message.preferred_slots"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.counts()
				r := e.do(patient1, "POST", "/v1/threads", tc.body)
				if r.status != http.StatusBadRequest || r.field(t) != tc.field {
					t.Fatalf("= %d %s, want 400 on %s", r.status, r.body, tc.field)
				}
				if !maps.Equal(before, e.counts()) {
					t.Error("a refused request wrote something")
				}
			})
		}
		st := e.startThread(patient1, appt(slot(3, 0), slot(4, 5)))
		if len(st.Message.PreferredSlots) != 2 {
			t.Fatalf("preferred slots = %+v", st.Message.PreferredSlots)
		}
		answer := "/v1/requests/" + st.Message.ID + "/answer"
		e.must(clinicianA, "POST", answer, map[string]any{"outcome": "booked"}, http.StatusBadRequest)
		booked := slot(4, 5)
		var ans thread.Message
		decode(t, e.must(clinicianA, "POST", answer, map[string]any{"outcome": "booked", "booked_slot": booked}, http.StatusCreated), &ans)
		if ans.Answer == nil || ans.Answer.Outcome != "booked" || ans.Answer.BookedSlot == nil ||
			!ans.Answer.BookedSlot.Start.Equal(booked["start"].(time.Time)) {
			t.Fatalf("answer = %+v", ans)
		}
		got, err := e.svc.Message(t.Context(), patient1, st.Thread.ID, st.Message.ID)
		if err != nil || got.Request.Status != "booked" {
			t.Fatalf("request after booking = %+v, %v", got.Request, err)
		}
		answered := e.eventsOf(contract.RequestAnswered)
		if len(answered) != 1 || answered[0].Data["outcome"] != "booked" || answered[0].Data["npi"] != npiA ||
			answered[0].Data["kind"] != "appointment_request" {
			t.Fatalf("request events = %+v", answered)
		}
	})
}
