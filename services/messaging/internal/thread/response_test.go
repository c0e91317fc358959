package thread_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/messaging/internal/thread"
)

// TestResponseTimes measures patient messages in clinic east's business hours
// (America/New_York, 08:00–17:00, target one business day = 9 hours) across the
// weekend of 18–19 January 2025 and Monday 20 January 2025, Martin Luther King, Jr.
// Day, a federal holiday.
func TestResponseTimes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		at := func(day, hour, minute int) time.Time {
			return time.Date(2025, time.January, day, hour, minute, 0, 0, ny)
		}

		e.clock.Set(at(17, 10, 0)) // Friday 10:00
		early := e.startThread(patient1, poolThread("sent Friday morning"))
		e.clock.Set(at(17, 16, 0)) // Friday 16:00
		late := e.startThread(proxyAll, poolThread("sent Friday afternoon by a representative"))
		e.clock.Set(at(17, 16, 30))
		again := e.send(patient1, late.Thread.ID, general("and one more thing"))
		e.clock.Set(at(21, 9, 30)) // Tuesday 09:30: Fri 16:00–17:00 + Tue 08:00–09:30
		e.send(staffEast, late.Thread.ID, general("answered Tuesday"))
		e.clock.Set(at(21, 12, 0)) // Tuesday noon

		// Friday 10:00 → Tuesday 12:00 is 7 + 4 = 11 business hours: past the target.
		// Friday 16:00 was answered after 2.5 business hours.
		var overdue struct{ Messages []thread.ResponseTime }
		decode(t, e.must(staffEast, "GET", "/v1/clinics/east/overdue", nil, http.StatusOK), &overdue)
		if len(overdue.Messages) != 1 || overdue.Messages[0].MessageID != early.Message.ID || overdue.Messages[0].BusinessHours != 11 {
			t.Fatalf("overdue = %+v, want only the Friday-morning message at 11 business hours", overdue.Messages)
		}

		var rep thread.ResponseReport
		decode(t, e.must(adminEast, "GET", "/v1/clinics/east/response-times?from=2025-01-17&to=2025-01-22", nil, http.StatusOK), &rep)
		want := map[string]struct {
			outcome string
			hours   float64
			within  bool
		}{
			early.Message.ID: {"open", 11, false},
			late.Message.ID:  {"responded", 2.5, true},
			again.ID:         {"responded", 2, true}, // Fri 16:30–17:00 + Tue 08:00–09:30
		}
		if len(rep.Messages) != len(want) || rep.TargetHours != 9 {
			t.Fatalf("report = %+v", rep)
		}
		for _, m := range rep.Messages {
			w := want[m.MessageID]
			if m.Outcome != w.outcome || m.BusinessHours != w.hours || m.WithinTarget != w.within {
				t.Errorf("message %s: %s %.2fh within=%v, want %s %.2fh within=%v", m.MessageID, m.Outcome,
					m.BusinessHours, m.WithinTarget, w.outcome, w.hours, w.within)
			}
		}
		s := rep.Summary
		if s.Messages != 3 || s.Responded != 2 || s.Open != 1 || s.WithinTarget != 2 || s.MedianHours != 2 || s.P90Hours != 2.5 {
			t.Errorf("summary = %+v", s)
		}

		// Closing the thread takes the waiting message off the overdue list.
		e.must(patient1, "POST", "/v1/threads/"+early.Thread.ID+"/close", nil, http.StatusOK)
		decode(t, e.must(staffEast, "GET", "/v1/clinics/east/overdue", nil, http.StatusOK), &overdue)
		if len(overdue.Messages) != 0 {
			t.Errorf("overdue after closing = %+v", overdue.Messages)
		}
		decode(t, e.must(officer, "GET", "/v1/clinics/east/response-times?from=2025-01-17&to=2025-01-22", nil, http.StatusOK), &rep)
		if rep.Summary.Closed != 1 || rep.Summary.Open != 0 {
			t.Errorf("summary after closing = %+v", rep.Summary)
		}

		for _, tc := range []struct {
			name   string
			caller principal.Principal
			path   string
			want   int
		}{
			{"staff of another clinic", staffWest, "/v1/clinics/east/overdue", 403},
			{"a patient", patient1, "/v1/clinics/east/overdue", 403},
			{"no period", staffEast, "/v1/clinics/east/response-times", 400},
			{"a period backwards", staffEast, "/v1/clinics/east/response-times?from=2025-02-01&to=2025-01-01", 400},
			{"a period over a year", staffEast, "/v1/clinics/east/response-times?from=2024-01-01&to=2025-06-01", 400},
			{"not a date", staffEast, "/v1/clinics/east/response-times?from=yesterday&to=2025-01-01", 400},
		} {
			if r := e.do(tc.caller, "GET", tc.path, nil); r.status != tc.want {
				t.Errorf("%s: GET %s = %d %s, want %d", tc.name, tc.path, r.status, r.body, tc.want)
			}
		}
	})
}
