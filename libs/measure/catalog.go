package measure

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// Catalog is every measure of every program, checked for consistency. It is built
// from the program tables (catalog_*.go) and never changes after New.
type Catalog struct {
	measures []Measure
}

// programYears are the performance years each program ran.
func programYears(p Program) Years {
	switch p {
	case Stage1:
		return Years{2011, 2014}
	case Stage2:
		return Years{2014, 2014}
	case ModifiedStage2:
		return Years{2015, 2018}
	case Stage3:
		return Years{2017, 2021}
	case HospitalPI, MIPS:
		return Years{p.first(), 2026}
	case MIPSTransition:
		return Years{2017, 2018}
	}
	return Years{}
}

func (p Program) first() int {
	if p == HospitalPI {
		return 2019
	}
	return 2017
}

// New builds the catalog and checks it: every row is complete for its kind, lies in
// its program's years, and no two rows give one ID for the same year and entity kind.
func New() (*Catalog, error) {
	var all []Measure
	for _, table := range [][]Measure{stage1(), stage2(), modifiedStage2(), stage3(), hospitalPI(), mips(), mipsTransition()} {
		all = append(all, table...)
	}
	var problems []error
	seen := map[string]bool{}
	for _, m := range all {
		problems = append(problems, check(m)...)
		for y := m.Years.From; y <= m.Years.To; y++ {
			for _, k := range m.Entities {
				key := fmt.Sprintf("%s/%s/%d/%s", m.Program, m.ID, y, k)
				if seen[key] {
					problems = append(problems, fmt.Errorf("%s: two rows for %d and %s", m.ID, y, k))
				}
				seen[key] = true
			}
		}
	}
	if err := errors.Join(problems...); err != nil {
		return nil, fmt.Errorf("measure catalog: %w", err)
	}
	slices.SortStableFunc(all, func(a, b Measure) int {
		return cmp.Or(cmp.Compare(a.Program, b.Program), cmp.Compare(a.Years.From, b.Years.From))
	})
	return &Catalog{measures: all}, nil
}

// check lists what is wrong with one row.
func check(m Measure) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s (%s): %s", m.ID, m.Years, fmt.Sprintf(format, args...)))
	}
	py := programYears(m.Program)
	if m.ID == "" || m.Title == "" || len(m.Entities) == 0 || len(m.Sources) == 0 {
		bad("ID, title, entities and sources are required")
	}
	if m.Years.From > m.Years.To || !py.Has(m.Years.From) || !py.Has(m.Years.To) {
		bad("years outside %s's %s", m.Program, py)
	}
	switch m.Kind {
	case Ratio:
		if m.Unit == NoUnit || m.Denominator == "" || m.Numerator == "" || m.Window == "" {
			bad("a ratio needs a unit, denominator, numerator and window")
		}
		if m.Rule == nil && m.Caveat == "" {
			bad("a ratio without a rule must say why in its caveat")
		}
	case YesNo:
		if m.Check == nil || m.Rule != nil || m.Threshold.Op != Attested {
			bad("a yes/no measure has a check, no rule and the threshold yes")
		}
	default:
		bad("unknown kind %q", m.Kind)
	}
	return errs
}

// All lists every row, by program and first year.
func (c *Catalog) All() []Measure { return slices.Clone(c.measures) }

// Measures lists the measures of program p for performance year y reported by entity
// kind k, in catalog order.
func (c *Catalog) Measures(p Program, y int, k EntityKind) []Measure {
	var out []Measure
	for _, m := range c.measures {
		if m.Program == p && m.Years.Has(y) && m.For(k) {
			out = append(out, m)
		}
	}
	return out
}

// Measure finds measure id of program p for year y and entity kind k.
func (c *Catalog) Measure(p Program, id string, y int, k EntityKind) (Measure, bool) {
	for _, m := range c.measures {
		if m.Program == p && m.ID == id && m.Years.Has(y) && m.For(k) {
			return m, true
		}
	}
	return Measure{}, false
}

// ratio builds a ratio row; the program is set by the table that holds it.
func ratio(id, title string, ys Years, ents []EntityKind, unit Unit, den, num string,
	rule Rule, win Window, th Threshold, sources ...string) Measure {
	return Measure{ID: id, Title: title, Years: ys, Entities: ents, Kind: Ratio, Unit: unit,
		Denominator: den, Numerator: num, Rule: rule, Window: win, Threshold: th, Sources: sources}
}

// yesNo builds a yes/no row.
func yesNo(id, title string, ys Years, ents []EntityKind, c Check, sources ...string) Measure {
	return Measure{ID: id, Title: title, Years: ys, Entities: ents, Kind: YesNo, Check: c,
		Threshold: Threshold{Op: Attested}, Sources: sources}
}

// in sets the program of every row of a table.
func in(p Program, rows ...Measure) []Measure {
	for i := range rows {
		rows[i].Program = p
	}
	return rows
}

// The row modifiers, for the tables.

func (m Measure) variants(vs ...Variant) Measure  { m.Variants = vs; return m }
func (m Measure) transitive() Measure             { m.Transitive = true; return m }
func (m Measure) required() Measure               { m.Required = true; return m }
func (m Measure) bonus() Measure                  { m.Bonus = true; return m }
func (m Measure) excludedBy(ex ...string) Measure { m.Exclusions = ex; return m }
func (m Measure) caveat(c string) Measure         { m.Caveat = c; return m }

// both is the two controlled-substance variants: CMS lets the provider include or
// exclude controlled substances, and products must compute both (ONC general notes).
func both() []Variant { return []Variant{ControlledIncluded, ControlledExcluded} }

// The entity kind sets of the tables: an eligible professional, a hospital, a MIPS
// clinician or group.
func ep() []EntityKind { return []EntityKind{NPI} }
func eh() []EntityKind { return []EntityKind{CCN} }
func ec() []EntityKind { return []EntityKind{TINNPI, TIN} }
