package measure_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/libs/measure"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/measures.md")

const (
	docPath  = "../../docs/measures.md"
	docBegin = "<!-- BEGIN GENERATED CATALOG: go test ./libs/measure -run TestMeasuresDoc -update -->"
	docEnd   = "<!-- END GENERATED CATALOG -->"
)

// TestMeasuresDoc keeps the catalog tables of docs/measures.md equal to the catalog:
// the document cannot describe a measure the code does not compute.
func TestMeasuresDoc(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated-catalog markers", docPath)
	}
	generated := renderCatalog(catalog(t))
	if *update {
		doc = doc[:i+len(docBegin)] + "\n" + generated + doc[j:]
		if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if doc[i+len(docBegin):j] != "\n"+generated {
		t.Errorf("%s is out of date with the catalog; run: go test ./libs/measure -run TestMeasuresDoc -update", docPath)
	}
}

func renderCatalog(c *measure.Catalog) string {
	var b bytes.Buffer
	for _, p := range measure.Programs() {
		fmt.Fprintf(&b, "\n### %s (`%s`)\n\n", p.Title(), p)
		fmt.Fprintln(&b, "| ID | Years | Entities | Measure | Unit · denominator · numerator | Rule | Window | Timeliness | Threshold | Variants | Flags | Sources | ⚠ / notes |")
		fmt.Fprintln(&b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, m := range c.All() {
			if m.Program != p {
				continue
			}
			unit := "yes/no"
			if m.Kind == measure.Ratio {
				unit = fmt.Sprintf("**%s** · %s · %s", m.Unit, m.Denominator, m.Numerator)
			}
			var flags []string
			if m.Required {
				flags = append(flags, "required")
			}
			if m.Bonus {
				flags = append(flags, "bonus")
			}
			if m.Transitive {
				flags = append(flags, "transitive across TINs")
			}
			for _, ex := range m.Exclusions {
				flags = append(flags, "excl.: "+ex)
			}
			var variants []string
			for _, v := range m.Variants {
				variants = append(variants, string(v))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				m.ID, m.Years, strings.Join(m.Entities, ", "), cell(m.Title), cell(unit), ruleName(m), cell(string(m.Window)),
				timely(m), m.Threshold, strings.Join(variants, ", "), cell(strings.Join(flags, "; ")),
				strings.Join(m.Sources, ", "), cell(m.Caveat))
		}
	}
	return b.String()
}

// ruleName is the evaluation rule's type and parameters, or the check's type.
func ruleName(m measure.Measure) string {
	switch {
	case m.Rule != nil:
		return cell(strings.TrimPrefix(fmt.Sprintf("%T%+v", m.Rule, m.Rule), "measure."))
	case m.Check != nil:
		return strings.TrimPrefix(fmt.Sprintf("%T", m.Check), "measure.")
	}
	return "not evaluated"
}

func timely(m measure.Measure) string {
	switch r := m.Rule.(type) {
	case measure.TimelyAccess:
		return r.Timely.String()
	case measure.VisitSummary:
		return r.Timely.String()
	case measure.Fulfilled:
		return r.Timely.String()
	}
	return ""
}

func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
