package thread_test

import (
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
)

// TestWhoMayReadAndPost is the participant matrix: every kind of caller, in and out
// of scope, against a pool thread, a clinician thread and a consult. Reading is 200
// or 404 (never 403: existence does not leak); posting is 201, 403 for a caller who
// may read but not post, or 404.
func TestWhoMayReadAndPost(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		pool := e.startThread(patient1, poolThread("to the clinic"))
		clin := e.startThread(patient1, map[string]any{"kind": "clinician", "clinic_id": "east",
			"clinicians": []string{npiA}, "message": general("to Dr A")})
		consult := e.startThread(clinicianA, map[string]any{"kind": "consult", "clinic_id": "east", "patient_id": "pat-1",
			"clinicians": []string{npiA, npiB}, "message": general("what do you think, B?")})
		threads := map[string]string{"pool": pool.Thread.ID, "clinician": clin.Thread.ID, "consult": consult.Thread.ID}

		type want struct{ read, post int }
		ok, readOnly, hidden := want{200, 201}, want{200, 403}, want{404, 404}
		tests := []struct {
			name   string
			caller principal.Principal
			want   map[string]want // by thread kind
		}{
			{"the patient", patient1, map[string]want{"pool": ok, "clinician": ok, "consult": ok}},
			{"a proxy within a read-send grant", proxyAll, map[string]want{"pool": ok, "clinician": ok, "consult": ok}},
			{"a proxy within a read-only grant", proxyRead, map[string]want{"pool": readOnly, "clinician": readOnly, "consult": readOnly}},
			{"a proxy whose grant expired", proxyExpired, map[string]want{"pool": hidden, "clinician": hidden, "consult": hidden}},
			{"a proxy acting for another patient", proxyOther, map[string]want{"pool": hidden, "clinician": hidden, "consult": hidden}},
			{"another patient", patient2, map[string]want{"pool": hidden, "clinician": hidden, "consult": hidden}},
			{"the named clinician, in the pool", clinicianA, map[string]want{"pool": ok, "clinician": ok, "consult": ok}},
			{"a clinician in the pool, not named", clinicianB, map[string]want{"pool": ok, "clinician": hidden, "consult": ok}},
			{"a clinician outside the pool", clinicianC, map[string]want{"pool": hidden, "clinician": hidden, "consult": hidden}},
			{"staff of the owning clinic", staffEast, map[string]want{"pool": ok, "clinician": ok, "consult": ok}},
			{"staff of another clinic", staffWest, map[string]want{"pool": hidden, "clinician": hidden, "consult": hidden}},
			{"a compliance officer", officer, map[string]want{"pool": hidden, "clinician": hidden, "consult": hidden}},
			{"a service account", serviceAcct, map[string]want{"pool": hidden, "clinician": hidden, "consult": hidden}},
			{"no caller", nobody, map[string]want{"pool": {401, 401}, "clinician": {401, 401}, "consult": {401, 401}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for kind, id := range threads {
					w := tt.want[kind]
					for _, path := range []string{"/v1/threads/" + id, "/v1/threads/" + id + "/messages"} {
						if r := e.do(tt.caller, "GET", path, nil); r.status != w.read {
							t.Errorf("%s thread: GET %s = %d %s, want %d", kind, path, r.status, r.body, w.read)
						}
					}
					before, thBefore := e.count("messages"), e.threadState(id)
					r := e.do(tt.caller, "POST", "/v1/threads/"+id+"/messages", general("hello"))
					if r.status != w.post {
						t.Errorf("%s thread: post = %d %s, want %d", kind, r.status, r.body, w.post)
					}
					if r.status != http.StatusCreated && (e.count("messages") != before || e.threadState(id) != thBefore) {
						t.Errorf("%s thread: a refused post wrote: %d messages, thread %s → %d, %s",
							kind, before, thBefore, e.count("messages"), e.threadState(id))
					}
				}
			})
		}

		// Inboxes list exactly the threads the caller may read.
		inbox := func(p principal.Principal) []string {
			var page struct {
				Threads []struct{ ID string } `json:"threads"`
			}
			decode(t, e.must(p, "GET", "/v1/threads", nil, http.StatusOK), &page)
			var ids []string
			for _, th := range page.Threads {
				ids = append(ids, th.ID)
			}
			slices.Sort(ids)
			return ids
		}
		all := []string{pool.Thread.ID, clin.Thread.ID, consult.Thread.ID}
		slices.Sort(all)
		for _, tc := range []struct {
			name   string
			caller principal.Principal
			want   []string
		}{
			{"patient", patient1, all},
			{"read-only proxy", proxyRead, all},
			{"expired proxy", proxyExpired, nil},
			{"other patient", patient2, nil},
			{"clinician B", clinicianB, sortedOf(pool.Thread.ID, consult.Thread.ID)},
			{"clinician C", clinicianC, nil},
			{"staff east", staffEast, all},
			{"staff west", staffWest, nil},
		} {
			if got := inbox(tc.caller); !slices.Equal(got, tc.want) {
				t.Errorf("%s's inbox = %v, want %v", tc.name, got, tc.want)
			}
		}
		if r := e.do(officer, "GET", "/v1/threads", nil); r.status != http.StatusForbidden {
			t.Errorf("an officer's inbox = %d, want 403: officers take no part in threads", r.status)
		}
	})
}

func sortedOf(ids ...string) []string { slices.Sort(ids); return ids }

// TestWhoMayStart covers starting threads: patients and proxies for themselves only,
// the care team within its clinics and naming itself.
func TestWhoMayStart(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		forPat1 := func(kind string, clinicians ...string) map[string]any {
			n := map[string]any{"kind": kind, "clinic_id": "east", "patient_id": "pat-1", "message": general("hi")}
			if len(clinicians) > 0 {
				n["clinicians"] = clinicians
			}
			return n
		}
		tests := []struct {
			name   string
			caller principal.Principal
			thread map[string]any
			want   int
		}{
			{"patient, pool", patient1, forPat1("pool"), 201},
			{"patient, for another patient", patient2, forPat1("pool"), 404},
			{"patient, consult", patient1, forPat1("consult", npiA, npiB), 403},
			{"proxy within grant", proxyAll, forPat1("clinician", npiA), 201},
			{"proxy with read only", proxyRead, forPat1("pool"), 403},
			{"proxy with expired grant", proxyExpired, forPat1("pool"), 404},
			{"clinician, own thread", clinicianA, forPat1("clinician", npiA), 201},
			{"clinician, naming another", clinicianA, forPat1("clinician", npiB), 403},
			{"clinician, consult including self", clinicianB, forPat1("consult", npiA, npiB), 201},
			{"clinician, consult without self", clinicianC, forPat1("consult", npiA, npiB), 403},
			{"clinician, another clinic", clinicianC, forPat1("pool"), 403},
			{"staff, own clinic", staffEast, forPat1("pool"), 201},
			{"staff, another clinic", staffWest, forPat1("pool"), 403},
			{"staff, consult", staffEast, forPat1("consult", npiA, npiB), 403},
			{"officer", officer, forPat1("pool"), 403},
			{"nobody", nobody, forPat1("pool"), 401},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := e.counts()
				r := e.do(tt.caller, "POST", "/v1/threads", tt.thread)
				if r.status != tt.want {
					t.Fatalf("start = %d %s, want %d", r.status, r.body, tt.want)
				}
				if r.status != http.StatusCreated && !maps.Equal(before, e.counts()) {
					t.Errorf("a refused start wrote something: before %v, after %v", before, e.counts())
				}
			})
		}
	})
}
