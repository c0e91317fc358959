package match_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
	"github.com/attest-ehr/attest/services/education/internal/match"
)

func icd(code string) contract.Code   { return contract.Code{System: contract.SystemICD10CM, Code: code} }
func loinc(code string) contract.Code { return contract.Code{System: contract.SystemLOINC, Code: code} }

func mat(id, topic, lang string, level int, codes ...contract.Code) catalog.Material {
	return catalog.Material{ID: id, Topic: topic, Language: lang, Title: "Title of " + id, ReadingLevel: level, Codes: codes}
}

// index is a small catalog: diabetes in English and Spanish, a more specific diabetes
// complication page, asthma only in English, an A1c page.
func index() *match.Index {
	return match.NewIndex(1, []catalog.Material{
		mat("t2d", "t2d", "en", 6, icd("E11")),
		mat("t2d.es", "t2d", "es", 6, icd("E11")),
		mat("t2d-kidney", "t2d-kidney", "en", 8, icd("E11.2")),
		mat("asthma", "asthma", "en", 5, icd("J45")),
		mat("a1c", "a1c", "en", 6, loinc("4548-4")),
		mat("a1c-exact", "a1c-exact", "en", 6, icd("E11.21")),
	})
}

func TestMatch(t *testing.T) {
	type hit struct {
		id, match, materialCode string
		fallback                bool
	}
	tests := []struct {
		name     string
		facts    []match.Fact
		language string
		want     []hit
	}{
		{"exact", []match.Fact{{Code: icd("J45"), Source: match.SourceProblem}}, "en",
			[]hit{{"asthma", contract.MatchExact, "J45", false}}},
		{"prefix through the ICD-10-CM hierarchy", []match.Fact{{Code: icd("E11.9"), Source: match.SourceProblem}}, "en",
			[]hit{{"t2d", contract.MatchPrefix, "E11", false}}},
		{"exact first, then more specific prefixes", []match.Fact{{Code: icd("E11.21"), Source: match.SourceProblem}}, "en",
			[]hit{{"a1c-exact", contract.MatchExact, "E11.21", false}, {"t2d-kidney", contract.MatchPrefix, "E11.2", false},
				{"t2d", contract.MatchPrefix, "E11", false}}},
		{"the patient's language", []match.Fact{{Code: icd("E11.9"), Source: match.SourceProblem}}, "es",
			[]hit{{"t2d.es", contract.MatchPrefix, "E11", false}}},
		{"English when there is no translation", []match.Fact{{Code: icd("J45.909"), Source: match.SourceProblem}}, "es",
			[]hit{{"asthma", contract.MatchPrefix, "J45", true}}},
		{"no match", []match.Fact{{Code: icd("I10"), Source: match.SourceProblem}}, "en", nil},
		{"problems before normal results", []match.Fact{
			{Code: loinc("4548-4"), Source: match.SourceResult}, {Code: icd("J45"), Source: match.SourceProblem}}, "en",
			[]hit{{"asthma", contract.MatchExact, "J45", false}, {"a1c", contract.MatchExact, "4548-4", false}}},
		{"a code in another system does not match by prefix", []match.Fact{{Code: loinc("4548"), Source: match.SourceResult}}, "en", nil},
	}
	ix := index()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []hit
			for _, r := range ix.Match(tt.facts, tt.language, 0) {
				got = append(got, hit{r.Material.ID, r.Reasons[0].Match, r.Reasons[0].MaterialCode.Code, r.LanguageFallback})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestMatchReasonsAndLimit(t *testing.T) {
	ix := index()
	facts := []match.Fact{{Code: icd("E11.9"), Source: match.SourceProblem}, {Code: icd("E11.65"), Source: match.SourceProblem}}
	res := ix.Match(facts, "en", 1)
	if len(res) != 1 || res[0].Material.ID != "t2d" || len(res[0].Reasons) != 2 {
		t.Fatalf("Match = %+v; want t2d with both codes as reasons", res)
	}
	if m, ok := ix.Material("asthma"); !ok || m.Topic != "asthma" {
		t.Errorf("Material(asthma) = %+v, %v", m, ok)
	}
	if _, ok := ix.Material("retired-one"); ok {
		t.Error("Material found a material that is not indexed")
	}
}

// bigCatalog is n materials, each with three ICD-10-CM codes (a category, a
// subcategory, a full code) and a LOINC code, over a thousand topics.
func bigCatalog(n int) []catalog.Material {
	r := rand.New(rand.NewPCG(1, 2))
	ms := make([]catalog.Material, n)
	for i := range ms {
		cat := fmt.Sprintf("%c%02d", 'A'+r.IntN(26), r.IntN(100))
		ms[i] = mat(fmt.Sprintf("m%05d", i), fmt.Sprintf("topic%04d", i%1000), []string{"en", "es"}[i%2], 1+r.IntN(12),
			icd(cat), icd(fmt.Sprintf("%s.%d", cat, r.IntN(10))), icd(fmt.Sprintf("%s.%d%d", cat, r.IntN(10), r.IntN(10))),
			loinc(fmt.Sprintf("%d-%d", 1000+i, 0)))
	}
	return ms
}

// BenchmarkMatch30Codes matches a patient with 30 active codes (problems with full
// ICD-10-CM codes, so every one also looks up its ancestors) against a catalog of
// 10,000 materials. Reported: ns/op is one patient's ranked matches, p99-µs the
// 99th percentile of single calls (wall clock), and on Linux p99-cpu-µs the 99th
// percentile of the CPU time of single calls (the locked thread's own): the work,
// without the waits a loaded machine adds when it preempts the call.
func BenchmarkMatch30Codes(b *testing.B) {
	ix := match.NewIndex(1, bigCatalog(10000))
	r := rand.New(rand.NewPCG(3, 4))
	facts := make([]match.Fact, 30)
	for i := range facts {
		facts[i] = match.Fact{Code: icd(fmt.Sprintf("%c%02d.%d%d", 'A'+r.IntN(26), r.IntN(100), r.IntN(10), r.IntN(10))),
			Source: match.SourceProblem}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	n := 0
	var took, cpu []time.Duration
	for b.Loop() {
		c0, ok := threadCPU()
		start := time.Now()
		n = len(ix.Match(facts, "es", 0))
		took = append(took, time.Since(start))
		if c1, _ := threadCPU(); ok {
			cpu = append(cpu, c1-c0)
		}
	}
	b.ReportMetric(float64(n), "matches")
	b.ReportMetric(float64(p99(took).Microseconds()), "p99-µs")
	if len(cpu) > 0 {
		b.ReportMetric(float64(p99(cpu).Microseconds()), "p99-cpu-µs")
	}
}

func p99(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)*99/100]
}

// BenchmarkIndex10000 builds the index of a 10,000-material catalog: the cost paid
// when the catalog changes.
func BenchmarkIndex10000(b *testing.B) {
	ms := bigCatalog(10000)
	b.ReportAllocs()
	for b.Loop() {
		match.NewIndex(1, ms)
	}
}
