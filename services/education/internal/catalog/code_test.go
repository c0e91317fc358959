package catalog_test

import (
	"slices"
	"testing"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
)

func TestNormalizeCode(t *testing.T) {
	tests := []struct {
		name      string
		in        contract.Code
		want      contract.Code
		wantField string // "" when valid
	}{
		{"ICD-10-CM category", contract.Code{System: "icd10cm", Code: "e11"}, contract.Code{System: contract.SystemICD10CM, Code: "E11"}, ""},
		{"ICD-10-CM without its dot", contract.Code{System: contract.SystemICD10CM, Code: "E1165"}, contract.Code{System: contract.SystemICD10CM, Code: "E11.65"}, ""},
		{"ICD-10-CM by OID", contract.Code{System: "2.16.840.1.113883.6.90", Code: "U07.1"}, contract.Code{System: contract.SystemICD10CM, Code: "U07.1"}, ""},
		{"ICD-10-CM too short", contract.Code{System: "icd10cm", Code: "E1"}, contract.Code{}, "c.code"},
		{"ICD-10-CM digit first", contract.Code{System: "icd10cm", Code: "111"}, contract.Code{}, "c.code"},
		{"SNOMED CT type 2 diabetes", contract.Code{System: "snomed", Code: "44054006"}, contract.Code{System: contract.SystemSNOMED, Code: "44054006"}, ""},
		{"SNOMED CT root concept", contract.Code{System: "sct", Code: "138875005"}, contract.Code{System: contract.SystemSNOMED, Code: "138875005"}, ""},
		{"SNOMED CT typo fails Verhoeff", contract.Code{System: "snomed", Code: "44054007"}, contract.Code{}, "c.code"},
		{"SNOMED CT description ID partition", contract.Code{System: "snomed", Code: "1234567014"}, contract.Code{}, "c.code"},
		{"LOINC HbA1c", contract.Code{System: "loinc", Code: "4548-4"}, contract.Code{System: contract.SystemLOINC, Code: "4548-4"}, ""},
		{"LOINC wrong check digit", contract.Code{System: "loinc", Code: "4548-5"}, contract.Code{}, "c.code"},
		{"LOINC without check digit", contract.Code{System: "http://loinc.org", Code: "4548"}, contract.Code{}, "c.code"},
		{"RxNorm metformin", contract.Code{System: "rxnorm", Code: "6809"}, contract.Code{System: contract.SystemRxNorm, Code: "6809"}, ""},
		{"RxNorm letters", contract.Code{System: "rxnorm", Code: "68O9"}, contract.Code{}, "c.code"},
		{"unknown system", contract.Code{System: "http://www.ama-assn.org/go/cpt", Code: "99213"}, contract.Code{}, "c.system"},
		{"no system", contract.Code{Code: "E11"}, contract.Code{}, "c.system"},
		{"no code", contract.Code{System: "loinc"}, contract.Code{}, "c.code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := catalog.NormalizeCode("c", tt.in)
			if tt.wantField != "" {
				if errs.KindOf(err) != errs.Invalid || errs.FieldOf(err) != tt.wantField {
					t.Fatalf("NormalizeCode = %v, %v; want Invalid on %s", got, err, tt.wantField)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeCode = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestAncestors(t *testing.T) {
	tests := []struct {
		code contract.Code
		want []string
	}{
		{contract.Code{System: contract.SystemICD10CM, Code: "E11.651"}, []string{"E11.65", "E11.6", "E11"}},
		{contract.Code{System: contract.SystemICD10CM, Code: "E11.9"}, []string{"E11"}},
		{contract.Code{System: contract.SystemICD10CM, Code: "E11"}, nil},
		{contract.Code{System: contract.SystemLOINC, Code: "4548-4"}, nil},
	}
	for _, tt := range tests {
		if got := catalog.Ancestors(tt.code); !slices.Equal(got, tt.want) {
			t.Errorf("Ancestors(%s) = %q, want %q", tt.code.Code, got, tt.want)
		}
	}
}

// TestStarterCatalog checks the shipped catalog: big enough, every row valid (so every
// SNOMED CT and LOINC code passes its check digit), both languages, and each area
// covered.
func TestStarterCatalog(t *testing.T) {
	rows, err := catalog.Starter()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 150 {
		t.Fatalf("starter catalog has %d materials, want at least 150", len(rows))
	}
	langs := map[string]int{}
	systems := map[string]int{}
	ids := map[string]bool{}
	for _, r := range rows {
		m, err := r.Material.Normalize()
		if r.Err != nil || err != nil {
			t.Errorf("line %d: %v %v", r.Line, r.Err, err)
			continue
		}
		if ids[m.ID] {
			t.Errorf("line %d: id %s repeated", r.Line, m.ID)
		}
		ids[m.ID] = true
		langs[m.Language]++
		for _, c := range m.Codes {
			systems[c.System]++
		}
	}
	for _, r := range rows {
		if r.Material.Language != "en" && !ids[r.Material.Topic] {
			t.Errorf("line %d: translation of %q, which has no English material", r.Line, r.Material.Topic)
		}
	}
	if langs["en"] < 150 || langs["es"] < 20 {
		t.Errorf("languages = %v, want ≥150 en and ≥20 es", langs)
	}
	for _, sys := range []string{contract.SystemICD10CM, contract.SystemSNOMED, contract.SystemLOINC, contract.SystemRxNorm} {
		if systems[sys] < 20 {
			t.Errorf("%s: %d codes, want at least 20", sys, systems[sys])
		}
	}
}
