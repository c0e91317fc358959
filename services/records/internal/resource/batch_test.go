package resource_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// TestBatch stores writes as Create would, each refused or stored on its own, in one
// transaction: against stored state and the writes before it in the batch.
// With refsAhead, the replies' references are looked up before the writes (Def.Refs)
// and Require answers from those look-ups: the verdicts must not change.
func TestBatch(t *testing.T) {
	for _, refsAhead := range []bool{false, true} {
		t.Run(map[bool]string{false: "refs looked up one by one", true: "refs looked up ahead"}[refsAhead], func(t *testing.T) {
			testBatch(t, refsAhead)
		})
	}
}

func testBatch(t *testing.T, refsAhead bool) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		st, notes, replies, notified := batchKinds(t, db, refsAhead)
		at := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
		n := func(id, patient, slug, text string) note {
			return note{Meta: resource.Meta{ID: id}, PatientID: patient, Slug: slug, Text: text, Written: at}
		}
		for _, v := range []note{n("n0", "p1", "s0", "stored"), n("n9", "p1", "s9", "stored, no write of the batch has its ID")} {
			if _, _, err := notes.Create(t.Context(), v); err != nil {
				t.Fatal(err)
			}
		}
		before := len(outbox(t, db))
		*notified = 0
		ws := []resource.Write{
			notes.Write(n("n1", "p1", "s1", "new")),        // 0 created
			notes.Write(n("n0", "p1", "s0", "stored")),     // 1 the stored one again: unchanged
			notes.Write(n("n0", "p1", "s0", "other")),      // 2 its ID with other content
			notes.Write(n("n2", "p1", "s0", "x")),          // 3 the stored one's key
			notes.Write(n("n3", "p1", "s1", "x")),          // 4 the key line 0 took
			notes.Write(n("n4", "p1", "", "")),             // 5 invalid
			replies.Write(n("r1", "p1", "", "n1")),         // 6 refers to line 0's note
			replies.Write(n("r2", "p1", "", "nope")),       // 7 refers to nothing
			replies.Write(n("r3", "p2", "", "n0")),         // 8 another patient's note
			notes.Write(n("n1", "p1", "s1", "new")),        // 9 line 0 again: unchanged
			notes.Write(n("", "p1", "", "server chooses")), // 10 created with a new ID
			replies.Write(n("r4", "p1", "", "n9")),         // 11 refers to a stored note
		}
		outs, err := st.Batch(t.Context(), ws, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			created bool
			kind    errs.Kind
			field   string
		}{{true, errs.Other, ""}, {false, errs.Other, ""}, {false, errs.Conflict, "id"}, {false, errs.Conflict, "slug"},
			{false, errs.Conflict, "slug"}, {false, errs.Invalid, "text"}, {true, errs.Other, ""},
			{false, errs.Unprocessable, "text"}, {false, errs.Unprocessable, "text"}, {false, errs.Other, ""},
			{true, errs.Other, ""}, {true, errs.Other, ""}}
		for i, w := range want {
			o := outs[i]
			if o.Created != w.created || (w.kind == errs.Other) != (o.Err == nil) ||
				(o.Err != nil && (errs.KindOf(o.Err) != w.kind || errs.FieldOf(o.Err) != w.field)) {
				t.Errorf("write %d: %+v, want created %v, error %v at %q", i, o, w.created, w.kind, w.field)
			}
		}
		if outs[10].ID == "" || outs[0].ID != "n1" {
			t.Errorf("IDs %q, %q: want n1 and a new one", outs[0].ID, outs[10].ID)
		}
		got := outbox(t, db)[before:]
		// Line 9 reads the notes table, which writes the rows buffered before it, with
		// their events (grouped by topic); lines 10's and 11's follow.
		if types(got) != "test.note.recorded test.reply.recorded test.note.recorded test.reply.recorded" {
			t.Errorf("events %q: want one per created write", types(got))
		}
		if got[0].Data.NoteID != "n1" || got[1].Data.NoteID != "r1" || got[2].Data.NoteID != outs[10].ID || got[0].Key != "p1" {
			t.Errorf("events %+v", got)
		}
		if *notified != 1 {
			t.Errorf("relay notified %d times, want once", *notified)
		}
		// Without a read in between, one flush writes the events grouped by topic, each
		// topic's in order.
		mark := len(outbox(t, db))
		if _, err := st.Batch(t.Context(), []resource.Write{notes.Write(n("n5", "p1", "", "a")),
			replies.Write(n("r5", "p1", "", "n5")), notes.Write(n("n6", "p1", "", "b"))}, nil); err != nil {
			t.Fatal(err)
		}
		if g := outbox(t, db)[mark:]; types(g) != "test.note.recorded test.note.recorded test.reply.recorded" ||
			g[0].Data.NoteID != "n5" || g[1].Data.NoteID != "n6" {
			t.Errorf("events %+v: want n5, n6, then r5", g)
		}
		for _, id := range []string{"n1", "r1", outs[10].ID} {
			if _, err := notes.Load(t.Context(), db, id); err != nil {
				t.Errorf("load %s: %v", id, err)
			}
		}
	})
}

// TestBatchFailsWhole: a failure that is not a refusal (here, after's) writes nothing.
func TestBatchFailsWhole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		st, notes, _, _ := batchKinds(t, db, false)
		boom := errors.New("boom")
		ws := []resource.Write{notes.Write(note{PatientID: "p1", Text: "a", Written: time.Now()})}
		_, err := st.Batch(t.Context(), ws, func(*resource.Tx, []resource.Outcome) error { return boom })
		if !errors.Is(err, boom) {
			t.Fatalf("Batch = %v, want boom", err)
		}
		if n := len(outbox(t, db)); n != 0 {
			t.Errorf("%d events after a failed batch", n)
		}
		var rows int
		if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM notes`).Scan(&rows); err != nil || rows != 0 {
			t.Errorf("%d notes after a failed batch (%v)", rows, err)
		}
	})
}

// batchKinds are notes and replies (notes whose text is the ID of the note replied
// to, which must be the same patient's: a kind with a reference) on one store.
func batchKinds(t *testing.T, db *store.DB, refsAhead bool) (*resource.Store, *resource.Kind[note, *note], *resource.Kind[note, *note], *int) {
	t.Helper()
	if err := db.Migrate(context.Background(), migrations()); err != nil {
		t.Fatal(err)
	}
	notified := new(int)
	st := resource.NewStore(db, "test", func() { *notified++ })
	notes := resource.New(st, resource.Def[note]{
		Name: "note", Path: "notes", Table: "notes", Topic: "test.note.v1",
		Recorded: "test.note.recorded", Corrected: "test.note.corrected", Deleted: "test.note.deleted",
		Subject: func(n *note) string { return n.PatientID }, SubjectField: "patient_id",
		At:  func(n *note) time.Time { return n.Written },
		Key: func(n *note) string { return n.Slug }, KeyField: "slug",
		Validate: func(n *note) error {
			if n.Text == "" {
				return errs.Field(errs.Invalid, "text", "required")
			}
			return nil
		},
		Payload: func(n *note) any { return noteEvent{NoteID: n.ID, PatientID: n.PatientID, Text: n.Text} },
		Ref:     func(n *note) any { return noteEvent{NoteID: n.ID, PatientID: n.PatientID} },
	})
	replies := resource.New(st, resource.Def[note]{
		Name: "reply", Path: "replies", Table: "notes", Topic: "test.reply.v1",
		Recorded: "test.reply.recorded", Corrected: "test.reply.corrected", Deleted: "test.reply.deleted",
		Subject: func(n *note) string { return n.PatientID }, SubjectField: "patient_id",
		Validate: func(*note) error { return nil },
		Check: func(ctx context.Context, tx *resource.Tx, n *note) error {
			return notes.Require(ctx, tx, "text", n.Text, n.PatientID)
		},
		Payload: func(n *note) any { return noteEvent{NoteID: n.ID, PatientID: n.PatientID} },
		Ref:     func(n *note) any { return noteEvent{NoteID: n.ID, PatientID: n.PatientID} },
	})
	if refsAhead {
		replies.Refs = func(n *note, ref func(table, id string)) { ref("notes", n.Text) }
	}
	return st, notes, replies, notified
}
