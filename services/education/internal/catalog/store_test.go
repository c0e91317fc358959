package catalog_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
	"github.com/attest-ehr/attest/services/education/internal/schema"
)

func newCatalog(t *testing.T, db *store.DB) *catalog.Catalog {
	t.Helper()
	if err := db.Migrate(context.Background(), schema.Migrations()); err != nil {
		t.Fatal(err)
	}
	return catalog.New(db)
}

func material(id string) catalog.Material {
	return catalog.Material{
		ID: id, Language: "en", Title: "Living with type 2 diabetes", Summary: "What to do every day.",
		ReadingLevel: 6, Format: catalog.FormatWeb, Content: "Eat well, move, take your medicines.",
		Codes: []contract.Code{{System: "icd10cm", Code: "E11"}, {System: "snomed", Code: "44054006"}},
	}
}

func TestMaterialLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newCatalog(t, db)
		gen0, err := c.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m, created, err := c.Add(ctx, material("t2d"))
		if err != nil || !created || m.Version != 1 || m.Status != catalog.Active || m.Topic != "t2d" {
			t.Fatalf("Add = %+v, %v, %v", m, created, err)
		}
		if m.Codes[0] != (contract.Code{System: contract.SystemICD10CM, Code: "E11"}) {
			t.Errorf("codes not normalized: %v", m.Codes)
		}
		if _, created, err := c.Add(ctx, material("t2d")); err != nil || created {
			t.Fatalf("identical Add: created=%v err=%v, want an idempotent success", created, err)
		}
		other := material("t2d")
		other.Title = "Another title"
		if _, _, err := c.Add(ctx, other); errs.KindOf(err) != errs.Conflict {
			t.Fatalf("Add of a different material with the same id: %v, want Conflict", err)
		}

		other.Version = 1
		upd, err := c.Update(ctx, other)
		if err != nil || upd.Version != 2 || upd.Title != "Another title" || !upd.Created.Equal(m.Created) {
			t.Fatalf("Update = %+v, %v", upd, err)
		}
		if _, err := c.Update(ctx, other); errs.KindOf(err) != errs.Conflict || errs.FieldOf(err) != "version" {
			t.Fatalf("stale Update: %v, want Conflict on version", err)
		}
		other.Version = 0
		if same, err := c.Update(ctx, other); err != nil || same.Version != 2 {
			t.Fatalf("Update changing nothing = %+v, %v; want version 2 kept", same, err)
		}
		if _, err := c.Update(ctx, material("nope")); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("Update of an unknown material: %v", err)
		}

		ret, err := c.Retire(ctx, "t2d")
		if err != nil || ret.Status != catalog.Retired || ret.Version != 3 {
			t.Fatalf("Retire = %+v, %v", ret, err)
		}
		if again, err := c.Retire(ctx, "t2d"); err != nil || again.Version != 3 {
			t.Fatalf("second Retire = %+v, %v; want no new version", again, err)
		}
		v1, err := c.Version(ctx, "t2d", 1)
		if err != nil || v1.Title != "Living with type 2 diabetes" || v1.Content == "" {
			t.Fatalf("Version 1 = %+v, %v", v1, err)
		}
		if _, err := c.Version(ctx, "t2d", 9); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("missing version: %v", err)
		}
		active, err := c.ActiveMaterials(ctx)
		if err != nil || len(active) != 0 {
			t.Fatalf("ActiveMaterials after retirement = %v, %v", active, err)
		}
		if gen, _ := c.Generation(ctx); gen <= gen0 {
			t.Errorf("generation %d did not move from %d", gen, gen0)
		}
	})
}

func TestListFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newCatalog(t, db)
		es := material("t2d.es")
		es.Topic, es.Language = "t2d", "es"
		asthma := material("asthma")
		asthma.Codes = []contract.Code{{System: "icd10cm", Code: "J45"}}
		for _, m := range []catalog.Material{material("t2d"), es, asthma} {
			if _, _, err := c.Add(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		e11 := contract.Code{System: contract.SystemICD10CM, Code: "E11"}
		tests := []struct {
			name string
			f    catalog.Filter
			want []string
		}{
			{"all", catalog.Filter{}, []string{"asthma", "t2d", "t2d.es"}},
			{"by language", catalog.Filter{Language: "es"}, []string{"t2d.es"}},
			{"by topic", catalog.Filter{Topic: "t2d"}, []string{"t2d", "t2d.es"}},
			{"by code", catalog.Filter{Code: &e11}, []string{"t2d", "t2d.es"}},
			{"a page", catalog.Filter{Limit: 2}, []string{"asthma", "t2d"}},
			{"the next page", catalog.Filter{After: "t2d"}, []string{"t2d.es"}},
			{"retired", catalog.Filter{Status: catalog.Retired}, nil},
		}
		for _, tt := range tests {
			ms, err := c.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.ID)
				if m.Content != "" {
					t.Errorf("%s: List returned stored content", tt.name)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
	})
}

const goodCSV = `id,topic,language,title,summary,reading_level,format,url,content,codes
asthma,,en,Asthma,Breathing.,6,web,,Use your inhaler.,icd10cm|J45;snomed|195967001
asthma.es,asthma,es,Asma,Respirar.,6,web,,Use su inhalador.,icd10cm|J45
hba1c,,en,A1c test,Average sugar.,6,web,https://example.org/a1c,,loinc|4548-4
`

// badCSV has a good row, then bad rows on lines 3, 4 (a quoted field spanning two
// lines, 4 and 5), 6, 7 and 8.
const badCSV = `id,language,title,summary,reading_level,format,content,codes
ok,en,Fine,Fine.,6,web,Text.,icd10cm|E11
bad-level,en,Title,Summary.,twelve,web,Text.,icd10cm|E11
bad-code,en,"Two
lines",Summary.,6,web,Text.,loinc|4548-5
ok,en,Again,Repeated id.,6,web,Text.,icd10cm|E11
no-link,en,Title,Summary.,6,pdf,Text.,icd10cm|E11
short,en,Title
`

func TestImportCSV(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newCatalog(t, db)

		rows, err := catalog.ParseCSV(strings.NewReader(badCSV))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := c.Import(ctx, rows, false)
		if err != nil {
			t.Fatal(err)
		}
		want := []catalog.RowError{
			{Line: 3, Field: "reading_level", Message: "a whole number from 1 to 16"},
			{Line: 4, Field: "codes[0].code", Message: "not a LOINC code (check digit mismatch)"},
			{Line: 6, Field: "id", Message: "repeats the id of line 2"},
			{Line: 7, Field: "url", Message: "required for pdf materials"},
			{Line: 8, Message: "3 fields, want 8 like the header"},
		}
		if rep.Imported || !slices.Equal(rep.Errors, want) {
			t.Fatalf("report = %+v\nwant errors %+v", rep, want)
		}
		if ms, _ := c.List(ctx, catalog.Filter{}); len(ms) != 0 {
			t.Fatalf("a refused import wrote %d materials", len(ms))
		}

		rep, err = c.Import(ctx, rows, true)
		if err != nil || !rep.Imported || rep.Added != 1 || len(rep.Errors) != 5 {
			t.Fatalf("partial import = %+v, %v; want the good row added and 5 errors", rep, err)
		}

		rows, err = catalog.ParseCSV(strings.NewReader(goodCSV))
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := c.Import(ctx, rows, false); err != nil || rep.Added != 3 || len(rep.Errors) != 0 {
			t.Fatalf("good import = %+v, %v", rep, err)
		}
		if rep, err := c.Import(ctx, rows, false); err != nil || rep.Unchanged != 3 {
			t.Fatalf("re-import = %+v, %v; want every row unchanged", rep, err)
		}
		edited, err := catalog.ParseCSV(strings.NewReader(strings.Replace(goodCSV, "Use your inhaler.", "Use it daily.", 1)))
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := c.Import(ctx, edited, false); err != nil || rep.Updated != 1 || rep.Unchanged != 2 {
			t.Fatalf("edited import = %+v, %v", rep, err)
		}
		if m, err := c.Get(ctx, "asthma"); err != nil || m.Version != 2 || m.Content != "Use it daily." {
			t.Fatalf("asthma after the edit = %+v, %v", m, err)
		}
	})
}

func TestParseCSVHeader(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"empty", "", "empty"},
		{"unknown column", "id,colour\n", `unknown column "colour"`},
		{"missing column", "id,language,title\n", `missing column "summary"`},
		{"repeated column", "id,id\n", "appears twice"},
	}
	for _, tt := range tests {
		_, err := catalog.ParseCSV(strings.NewReader(tt.body))
		if errs.KindOf(err) != errs.Invalid || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want Invalid mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestImportJSON(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newCatalog(t, db)
		body := `[
  {"id": "a", "language": "en", "title": "A", "summary": "A.", "reading_level": 5, "format": "web",
   "content": "Text.", "codes": [{"system": "loinc", "code": "2345-7"}]},
  {"id": "b", "language": "en", "title": "B", "summary": "B.", "reading_level": 5, "format": "web",
   "content": "Text.", "codes": [], "colour": "red"},
  {"id": "c", "language": "english", "title": "C", "summary": "C.", "reading_level": 5, "format": "web",
   "content": "Text.", "codes": [{"system": "loinc", "code": "2345-7"}]}
]`
		rows, err := catalog.ParseJSON(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := c.Import(ctx, rows, false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Imported || len(rep.Errors) != 2 || rep.Errors[0].Line != 4 || rep.Errors[1].Line != 6 ||
			rep.Errors[1].Field != "language" {
			t.Fatalf("report = %+v; want lines 4 and 6 refused", rep)
		}
		for _, bad := range []string{``, `{}`, `[{"id": "x"}`} {
			if _, err := catalog.ParseJSON(strings.NewReader(bad)); errs.KindOf(err) != errs.Invalid {
				t.Errorf("ParseJSON(%q) = %v, want Invalid", bad, err)
			}
		}
	})
}

func TestLoadStarter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newCatalog(t, db)
		n, err := c.LoadStarter(ctx)
		if err != nil || n < 150 {
			t.Fatalf("LoadStarter = %d, %v", n, err)
		}
		if _, err := c.Retire(ctx, "asthma"); err != nil {
			t.Fatal(err)
		}
		if n, err := c.LoadStarter(ctx); err != nil || n != 0 {
			t.Fatalf("second LoadStarter = %d, %v; want nothing loaded into a catalog that has materials", n, err)
		}
		if m, _ := c.Get(ctx, "asthma"); m.Status != catalog.Retired {
			t.Errorf("the starter catalog undid a retirement")
		}
	})
}
