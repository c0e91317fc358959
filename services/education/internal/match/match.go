// Package match ranks catalog materials for a patient's codes. An Index is an
// immutable, in-memory view of the active catalog keyed by code, so matching a
// patient with dozens of codes against tens of thousands of materials is a handful of
// map lookups; Matcher keeps one current, rebuilding it when the catalog's generation
// moves.
//
// A patient's code matches a material's code exactly (same system and code) or by
// prefix: in ICD-10-CM the hierarchy is the code itself, so a material coded E11 (type
// 2 diabetes) covers E11.65. Translations of one material share a topic; a patient is
// shown each topic once, in their language when the catalog has it, else in English.
package match

import (
	"cmp"
	"slices"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
)

// Sources of a patient's code.
const (
	SourceProblem    = "problem"
	SourceMedication = "medication"
	SourceResult     = "result"
)

// Fallback is the language shown when a topic has no material in the patient's.
const Fallback = "en"

// Fact is one code in a patient's record: an active problem, an active medication
// or a recent result.
type Fact struct {
	Code     contract.Code `json:"code"`
	Source   string        `json:"source"`             // problem, medication or result
	Abnormal bool          `json:"abnormal,omitempty"` // a result flagged outside its normal range
}

// Reason is why a material matched: which of the patient's codes matched which of the
// material's, and how.
type Reason struct {
	Code         contract.Code `json:"code"`          // the patient's code
	Source       string        `json:"source"`        // where it is in the record
	MaterialCode contract.Code `json:"material_code"` // the material's code it matched
	Match        string        `json:"match"`         // exact or prefix
}

// Result is one matched material with its reasons, strongest first.
type Result struct {
	Material catalog.Material `json:"material"`
	Reasons  []Reason         `json:"reasons"`
	// LanguageFallback is true when the material is in English because the catalog has
	// no translation of it in the language asked for.
	LanguageFallback bool `json:"language_fallback"`
}

// Index is the active catalog arranged for matching. It is immutable and safe for
// concurrent use.
type Index struct {
	generation int64
	byCode     map[contract.Code][]int // material code → materials (indexes into ms)
	byTopic    map[string][]int        // topic → its translations
	byID       map[string]int          // material ID → its index
	ms         []catalog.Material
}

// NewIndex indexes the active materials ms, as of the catalog's generation.
func NewIndex(generation int64, ms []catalog.Material) *Index {
	ix := &Index{generation: generation, byCode: map[contract.Code][]int{}, byTopic: map[string][]int{},
		byID: make(map[string]int, len(ms)), ms: ms}
	for i, m := range ms {
		for _, c := range m.Codes {
			ix.byCode[c] = append(ix.byCode[c], i)
		}
		ix.byTopic[m.Topic] = append(ix.byTopic[m.Topic], i)
		ix.byID[m.ID] = i
	}
	return ix
}

// Generation is the catalog generation the index was built from.
func (ix *Index) Generation() int64 { return ix.generation }

// Len is the number of materials indexed.
func (ix *Index) Len() int { return len(ix.ms) }

// Material returns an indexed (so active) material, and whether it is indexed.
func (ix *Index) Material(id string) (catalog.Material, bool) {
	i, ok := ix.byID[id]
	if !ok {
		return catalog.Material{}, false
	}
	return ix.ms[i], true
}

// topicHit collects the reasons one topic matched, and then the keys it is ranked
// by, computed once: sorting compares small integers and moves pointers.
type topicHit struct {
	topic    string
	reasons  []Reason
	material int  // index of the translation shown
	fallback bool // not in the language asked for
	kind     int  // of the strongest reason: 0 exact, 1 prefix
	source   int  // of the strongest reason: see sourceRank
	specific int  // of the strongest reason: length of the material code
}

// Match returns the materials matching facts, one per topic, in language (falling
// back to English), ranked by their strongest reason — exact matches before prefix
// matches, then problems before abnormal results before medications before other
// results, then more specific material codes — then more reasons first, the
// patient's language before a fallback, easier reading, title and ID. limit ≤ 0
// means no limit.
func (ix *Index) Match(facts []Fact, language string, limit int) []Result {
	hits := make(map[string]*topicHit, len(facts))
	var order []*topicHit
	add := func(topic string, r Reason) {
		h := hits[topic]
		if h == nil {
			h = &topicHit{topic: topic}
			hits[topic] = h
			order = append(order, h)
		}
		if !slices.Contains(h.reasons, r) {
			h.reasons = append(h.reasons, r)
		}
	}
	for _, f := range facts {
		for _, i := range ix.byCode[f.Code] {
			add(ix.ms[i].Topic, Reason{Code: f.Code, Source: f.Source, MaterialCode: f.Code, Match: contract.MatchExact})
		}
		for _, a := range catalog.Ancestors(f.Code) {
			mc := contract.Code{System: f.Code.System, Code: a}
			for _, i := range ix.byCode[mc] {
				add(ix.ms[i].Topic, Reason{Code: f.Code, Source: f.Source, MaterialCode: mc, Match: contract.MatchPrefix})
			}
		}
	}
	var abnormal map[contract.Code]bool // nil, and never written, without abnormal results
	for _, f := range facts {
		if f.Abnormal {
			if abnormal == nil {
				abnormal = map[contract.Code]bool{}
			}
			abnormal[f.Code] = true
		}
	}
	for _, h := range order {
		if len(h.reasons) > 1 {
			slices.SortFunc(h.reasons, func(a, b Reason) int { return compareReasons(a, b, abnormal) })
		}
		best := h.reasons[0]
		h.kind, h.source, h.specific = matchRank(best.Match), sourceRank(best, abnormal), len(best.MaterialCode.Code)
		h.material, h.fallback = ix.pick(h.topic, language)
	}
	slices.SortFunc(order, func(a, b *topicHit) int {
		if c := cmp.Compare(a.kind, b.kind); c != 0 {
			return c
		}
		if c := cmp.Compare(a.source, b.source); c != 0 {
			return c
		}
		if c := cmp.Compare(b.specific, a.specific); c != 0 {
			return c
		}
		if c := cmp.Compare(len(b.reasons), len(a.reasons)); c != 0 {
			return c
		}
		if c := cmp.Compare(boolRank(a.fallback), boolRank(b.fallback)); c != 0 {
			return c
		}
		ma, mb := &ix.ms[a.material], &ix.ms[b.material]
		return cmp.Or(cmp.Compare(ma.ReadingLevel, mb.ReadingLevel), cmp.Compare(ma.Title, mb.Title), cmp.Compare(ma.ID, mb.ID))
	})
	if limit > 0 && len(order) > limit {
		order = order[:limit]
	}
	out := make([]Result, len(order))
	for i, h := range order {
		out[i] = Result{Material: ix.ms[h.material], Reasons: h.reasons, LanguageFallback: h.fallback}
	}
	return out
}

// pick chooses the translation of topic to show: the one in language, else English,
// else the first in ID order. fallback reports a translation other than language.
func (ix *Index) pick(topic, language string) (material int, fallback bool) {
	list := ix.byTopic[topic]
	for _, want := range []string{language, Fallback} {
		for _, i := range list {
			if ix.ms[i].Language == want {
				return i, want != language
			}
		}
	}
	return list[0], true
}

// compareReasons orders reasons strongest first: exact before prefix, then by
// source, then longer (more specific) material codes first.
func compareReasons(a, b Reason, abnormal map[contract.Code]bool) int {
	return cmp.Or(
		cmp.Compare(matchRank(a.Match), matchRank(b.Match)),
		cmp.Compare(sourceRank(a, abnormal), sourceRank(b, abnormal)),
		cmp.Compare(len(b.MaterialCode.Code), len(a.MaterialCode.Code)),
		cmp.Compare(a.Code.System, b.Code.System),
		cmp.Compare(a.Code.Code, b.Code.Code),
	)
}

func matchRank(kind string) int {
	if kind == contract.MatchExact {
		return 0
	}
	return 1
}

func sourceRank(r Reason, abnormal map[contract.Code]bool) int {
	switch {
	case r.Source == SourceProblem:
		return 0
	case r.Source == SourceResult && abnormal[r.Code]:
		return 1
	case r.Source == SourceMedication:
		return 2
	}
	return 3
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
