package resource_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// TestSearchByDay: GET /v1/<kind>?patient_id=…&from=…&to=… lists the patient's facts
// whose clinical time falls on those days (UTC, both ends included), by ID, in pages;
// bad parameters are 400 naming the parameter.
func TestSearchByDay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		notes, _ := newNotes(t, db)
		for id, at := range map[string]string{
			"n1": "2025-03-03T23:59:59.999999Z", // the day before from
			"n2": "2025-03-04T00:00:00Z",        // the first instant of from
			"n3": "2025-03-04T12:30:00.5Z",
			"n4": "2025-03-05T23:30:00-05:00", // 04:30 on the 6th in UTC: after to
			"n5": "2025-03-05T23:59:59.999999Z",
			"n6": "2025-03-06T00:00:00Z", // the first instant after to
		} {
			written, err := time.Parse(time.RFC3339Nano, at)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := notes.Create(ctx, note{Meta: resource.Meta{ID: id}, PatientID: "p1", Text: id, Written: written}); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := notes.Create(ctx, note{Meta: resource.Meta{ID: "n0"}, PatientID: "p2", Text: "other",
			Written: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		h := routes(notes)

		tests := []struct {
			name, query string
			want        string // the IDs of every page, by ID
		}{
			{"both days", "patient_id=p1&from=2025-03-04&to=2025-03-05", "n2,n3,n5"},
			{"one day", "patient_id=p1&from=2025-03-04&to=2025-03-04", "n2,n3"},
			{"from only", "patient_id=p1&from=2025-03-05", "n4,n5,n6"},
			{"to only", "patient_id=p1&to=2025-03-03", "n1"},
			{"no days", "patient_id=p1", "n1,n2,n3,n4,n5,n6"},
			{"pages of one", "patient_id=p1&from=2025-03-04&to=2025-03-05&limit=1", "n2,n3,n5"},
			{"after a cursor", "patient_id=p1&from=2025-03-04&to=2025-03-05&after=n2", "n3,n5"},
			{"nothing on the days", "patient_id=p1&from=2024-01-01&to=2024-12-31", ""},
			{"another patient", "patient_id=p2&from=2025-03-04&to=2025-03-04", "n0"},
		}
		for _, tt := range tests {
			if got := pages(t, h, "/v1/notes?"+tt.query); got != tt.want {
				t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
			}
		}
	})
}

// pages follows a list's pages from path and returns every item's ID.
func pages(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	var ids []string
	for next := path; next != ""; {
		code, body := call(t, h, http.MethodGet, next, "", "")
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", next, code, body)
		}
		var p resource.Page[note]
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		for _, n := range p.Items {
			ids = append(ids, n.ID)
		}
		next = ""
		if p.Next != "" {
			base, _, _ := strings.Cut(path, "&after=")
			next = base + "&after=" + p.Next
		}
	}
	return strings.Join(ids, ",")
}

func TestSearchBadInput(t *testing.T) {
	db := storetest.Open(t, store.SQLite, storetest.Service)
	notes, _ := newNotes(t, db)
	h := routes(notes)
	tests := []struct {
		name, query, field string
	}{
		{"no patient", "from=2025-03-04", "patient_id"},
		{"from not a date", "patient_id=p1&from=2025-13-01", "from"},
		{"from with a time", "patient_id=p1&from=2025-03-04T00:00:00Z", "from"},
		{"from in another form", "patient_id=p1&from=03/04/2025", "from"},
		{"to not a date", "patient_id=p1&to=tomorrow", "to"},
		{"to before from", "patient_id=p1&from=2025-03-05&to=2025-03-04", "to"},
		{"limit zero", "patient_id=p1&limit=0", "limit"},
		{"limit too big", "patient_id=p1&limit=1001", "limit"},
		{"cursor not an id", "patient_id=p1&after=a%2Fb", "after"},
	}
	for _, tt := range tests {
		code, body := call(t, h, http.MethodGet, "/v1/notes?"+tt.query, "", "")
		if code != http.StatusBadRequest || !strings.Contains(body, `"field":"`+tt.field+`"`) {
			t.Errorf("%s: %d %s, want 400 naming %s", tt.name, code, body, tt.field)
		}
	}

	// A kind without a clinical time has no days to search by.
	undated := resource.New(resource.NewStore(db, "test", func() {}), resource.Def[note]{
		Name: "note", Path: "undated", Table: "notes", SubjectField: "patient_id",
		Subject: func(n *note) string { return n.PatientID }})
	code, body := call(t, routes(undated), http.MethodGet, "/v1/undated?patient_id=p1&to=2025-03-04", "", "")
	if code != http.StatusBadRequest || !strings.Contains(body, `"field":"to"`) {
		t.Errorf("undated kind: %d %s, want 400 naming to", code, body)
	}
}
