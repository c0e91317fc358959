// Package deck reads ONC's (g)(1)/(g)(2) Promoting Interoperability test decks: each
// deck is one required test (RT1 e-Prescribing, RT2a VDT, …) for eligible
// professionals/clinicians (EP) or hospitals (EH), made of scenarios replayed in order,
// each scenario of segments (e.g. "includes controlled substances"), each segment of
// entries (what happened, per patient and provider) and the expected totals after it.
//
// The decks were written by hand and are not uniform: a segment total is per provider
// or for the hospital; values are numbers or words; titles vary in spacing. This
// package reads every shape found in the published decks and reports anything else as
// an error naming the file and place, never a silent skip.
package deck

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Deck is one test deck file.
type Deck struct {
	File      string     // the path it was read from
	Edition   string     // the folder it sits in, e.g. "2025"
	Kind      string     // "EP" (eligible professional/clinician) or "EH" (hospital/CAH)
	Group     string     // "G1" or "G2", ONC's grouping of the same test
	Test      string     // "RT1", "RT2a", …
	Name      string     // the deck's test_short_name
	Programs  []Program  // the programs and measures it exercises
	Automated []string   // titles of the automated numerator variants
	Notes     []string   // test_data_notes: the rules the scenarios assume
	Scenarios []Scenario // in replay order
}

// Program is one program/measure a deck exercises.
type Program struct {
	Title       string `json:"program_title"` // e.g. "mips_2020"; empty in older decks
	Name        string `json:"program_name"`
	Objective   string `json:"measure_objective"`
	Measure     string `json:"measure_name"`
	Description string `json:"measure_description"`
}

// Scenario is one step of the test: entries to apply, then totals to check.
type Scenario struct {
	Index       int // 1-based
	Title       string
	Description string
	Segments    []Segment
}

// Segment is one calculation within a scenario, e.g. with or without controlled
// substances. Segments of one deck share their index across scenarios.
type Segment struct {
	Index    int    // 1-based
	Title    string // e.g. "Includes controlled substances"; empty when the deck has one calculation
	Entries  []Entry
	Expected []Expected
}

// Entry is one line of a scenario: what happened to each patient, per provider.
type Entry struct {
	Title       string // what happened, e.g. "Patient Seen During EHR Reporting Period"
	Denominator bool   // the entry feeds the denominator
	Numerator   bool   // the entry feeds the numerator
	Automatable string // the title of the automated step it belongs to, if any
	Values      []Value
}

// Value is an entry's value for one patient and provider: a count ("2"), a word
// ("Yes", "No", "N/A", "First encounter", "Not seen", a date or a number of days), as
// written in the deck.
type Value struct {
	Patient  string // the deck's patient name
	Provider string // "TIN A/Provider 1", "Provider 1", or "" for a hospital deck
	Value    string
}

// Expected is one expected total after a scenario.
type Expected struct {
	Entity string // "TIN A/Provider 1", "Group/TIN A", "Provider 1", or "" for the hospital
	Metric string // "denominator", "numerator", or "automated: <title>"
	Value  int
}

// Key identifies an expected value within a deck across scenarios.
func (e Expected) Key(segment int) string {
	return fmt.Sprintf("%d|%s|%s", segment, e.Entity, e.Metric)
}

var fileRE = regexp.MustCompile(`^(EP|EH)_(RT[0-9]+[a-z]?)_(G[12])\.json$`)

// raw mirrors the JSON of a deck file.
type raw struct {
	ShortName string    `json:"test_short_name"`
	Programs  []Program `json:"program_info"`
	Automated []struct {
		Title string `json:"title"`
	} `json:"automated_steps"`
	Notes     []string `json:"test_data_notes"`
	Scenarios []struct {
		Title       string `json:"scenario_title"`
		Description string `json:"scenario_description"`
		Segments    []struct {
			Title   string     `json:"segment_title"`
			Total   *rawTotals `json:"segment_total"`
			Entries []struct {
				Title       string `json:"entry_title"`
				Denom       bool   `json:"denom"`
				Numer       bool   `json:"numer"`
				Automatable *struct {
					Title string `json:"title"`
				} `json:"automatable_step"`
				Values []struct {
					Patient   string          `json:"patient_id"`
					Providers []rawValue      `json:"providers"`
					Value     json.RawMessage `json:"entry_value"`
				} `json:"entry_values"`
			} `json:"segment_entries"`
		} `json:"segments"`
	} `json:"scenarios"`
}

type rawValue struct {
	Provider string          `json:"provider"`
	Value    json.RawMessage `json:"entry_value"`
}

type rawTotal struct {
	Provider    string `json:"provider"`
	Denominator *int   `json:"denominator_value"`
	Numerator   *int   `json:"numerator_value"`
	Automated   []struct {
		Title string `json:"title"`
		Value int    `json:"value"`
	} `json:"automated_numerator_values"`
}

type rawTotals struct {
	rawTotal
	Providers []rawTotal `json:"providers"`
}

// Load reads one deck file from fsys.
func Load(fsys fs.FS, file string) (Deck, error) {
	m := fileRE.FindStringSubmatch(path.Base(file))
	if m == nil {
		return Deck{}, fmt.Errorf("%s: not a deck file name (want EP|EH_RT<n>_G1|G2.json)", file)
	}
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return Deck{}, err
	}
	var r raw
	if err := json.Unmarshal(b, &r); err != nil {
		return Deck{}, fmt.Errorf("%s: %w", file, err)
	}
	d := Deck{File: file, Edition: path.Base(path.Dir(path.Dir(file))), Kind: m[1], Test: m[2], Group: m[3],
		Name: strings.TrimSpace(r.ShortName), Programs: r.Programs, Notes: r.Notes}
	for _, a := range r.Automated {
		d.Automated = append(d.Automated, a.Title)
	}
	for si, rs := range r.Scenarios {
		sc := Scenario{Index: si + 1, Title: strings.TrimSpace(rs.Title), Description: strings.TrimSpace(rs.Description)}
		for gi, rg := range rs.Segments {
			where := fmt.Sprintf("%s: scenario %d segment %d", file, si+1, gi+1)
			seg := Segment{Index: gi + 1, Title: strings.TrimSpace(rg.Title)}
			for _, re := range rg.Entries {
				e := Entry{Title: normalize(re.Title), Denominator: re.Denom, Numerator: re.Numer}
				if re.Automatable != nil {
					e.Automatable = normalize(re.Automatable.Title)
				}
				for _, rv := range re.Values {
					if len(rv.Providers) == 0 { // a hospital deck: one value per patient
						v, err := scalar(rv.Value)
						if err != nil {
							return Deck{}, fmt.Errorf("%s entry %q patient %q: %w", where, e.Title, rv.Patient, err)
						}
						e.Values = append(e.Values, Value{Patient: rv.Patient, Value: v})
						continue
					}
					for _, p := range rv.Providers {
						v, err := scalar(p.Value)
						if err != nil {
							return Deck{}, fmt.Errorf("%s entry %q patient %q: %w", where, e.Title, rv.Patient, err)
						}
						e.Values = append(e.Values, Value{Patient: rv.Patient, Provider: p.Provider, Value: v})
					}
				}
				seg.Entries = append(seg.Entries, e)
			}
			if rg.Total == nil {
				return Deck{}, fmt.Errorf("%s: no segment_total", where)
			}
			units := rg.Total.Providers
			if len(units) == 0 {
				units = []rawTotal{rg.Total.rawTotal}
			}
			for _, u := range units {
				if u.Denominator != nil {
					seg.Expected = append(seg.Expected, Expected{Entity: u.Provider, Metric: "denominator", Value: *u.Denominator})
				}
				if u.Numerator != nil {
					seg.Expected = append(seg.Expected, Expected{Entity: u.Provider, Metric: "numerator", Value: *u.Numerator})
				}
				for _, a := range u.Automated {
					seg.Expected = append(seg.Expected, Expected{Entity: u.Provider, Metric: "automated: " + normalize(a.Title), Value: a.Value})
				}
			}
			if len(seg.Expected) == 0 {
				return Deck{}, fmt.Errorf("%s: a segment_total with no values", where)
			}
			sc.Segments = append(sc.Segments, seg)
		}
		d.Scenarios = append(d.Scenarios, sc)
	}
	if len(d.Scenarios) == 0 {
		return Deck{}, fmt.Errorf("%s: no scenarios", file)
	}
	return d, nil
}

// LoadAll reads every deck file below root in fsys, in path order.
func LoadAll(fsys fs.FS, root string) ([]Deck, error) {
	var files []string
	err := fs.WalkDir(fsys, root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !de.IsDir() && fileRE.MatchString(de.Name()) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var decks []Deck
	for _, f := range files {
		d, err := Load(fsys, f)
		if err != nil {
			return nil, err
		}
		decks = append(decks, d)
	}
	return decks, nil
}

// scalar renders a JSON number or string as written.
func scalar(m json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(m, &s); err == nil {
		return strings.TrimSpace(s), nil
	}
	var n json.Number
	if err := json.Unmarshal(m, &n); err == nil {
		if _, err := strconv.ParseFloat(string(n), 64); err == nil {
			return string(n), nil
		}
	}
	return "", fmt.Errorf("entry_value %s is neither a number nor text", m)
}

// normalize folds the runs of spaces the decks' titles contain.
func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

// EntryLess reports whether a scenario adds no facts: none of its segments has an entry.
func (s Scenario) EntryLess() bool {
	for _, g := range s.Segments {
		if len(g.Entries) > 0 {
			return false
		}
	}
	return true
}

// Stale reports whether an expected value cannot be right by the decks' own logic: its
// scenario adds no facts, so every total must equal the previous scenario's, and this
// one differs. This is the only rule by which a value is set aside as stale.
func (d Deck) Stale(scenario, segment int, e Expected) bool {
	if scenario < 2 || scenario > len(d.Scenarios) || !d.Scenarios[scenario-1].EntryLess() {
		return false
	}
	prev, ok := d.expected(scenario-1, segment, e)
	return ok && prev != e.Value
}

func (d Deck) expected(scenario, segment int, want Expected) (int, bool) {
	sc := d.Scenarios[scenario-1]
	if segment > len(sc.Segments) {
		return 0, false
	}
	for _, e := range sc.Segments[segment-1].Expected {
		if e.Entity == want.Entity && e.Metric == want.Metric {
			return e.Value, true
		}
	}
	return 0, false
}
