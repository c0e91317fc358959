//go:build ignore

// gen_badinput writes the generated part of the bad-input corpus,
// testdata/badinput/gen-*, and its expectations, testdata/badinput/generated.json:
// valid resources (FHIR and the JSON API's) each broken one way — a wrong JSON type,
// a required element removed, an unknown resource type, invalid UTF-8, deep nesting,
// a huge string, a duplicate key, a truncated line, a reference to nothing, a bad code,
// date, NPI or TIN. Run it with go generate in internal/bulk; the hand-written files
// (hand.json) stay as they are.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// The valid resources the mutations start from: what the FHIR API answers for the
// records of the corpus test's fixture (Patient p-ok, Encounter e-ok, ServiceRequest
// o-ok, Organization org-1, Practitioner clin-1, Location loc-1), with new IDs.
var fhirBases = []string{
	`{"resourceType":"Patient","id":"p-new","birthDate":"1970-01-02","gender":"female","identifier":[{"system":"urn:oid:2.16.840.1.113883.19.5","value":"MRN-NEW"}],"managingOrganization":{"reference":"Organization/org-1"},"name":[{"family":"Example","given":["Ann"]}]}`,
	`{"resourceType":"Encounter","id":"e-new","class":{"code":"AMB","system":"http://terminology.hl7.org/CodeSystem/v3-ActCode"},"extension":[{"url":"https://attest.example/fhir/StructureDefinition/billing-tin","valueString":"123456789"}],"location":[{"location":{"reference":"Location/loc-1"}}],"participant":[{"individual":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}}}],"period":{"start":"2025-03-04T14:30:00Z"},"status":"finished","subject":{"reference":"Patient/p-ok"}}`,
	`{"resourceType":"MedicationRequest","id":"rx-new","authoredOn":"2025-03-04T14:45:00Z","encounter":{"reference":"Encounter/e-ok"},"extension":[{"url":"https://attest.example/fhir/StructureDefinition/prescription-kind","valueCode":"new"},{"url":"https://attest.example/fhir/StructureDefinition/permissible","valueBoolean":true}],"intent":"order","medicationCodeableConcept":{"coding":[{"code":"860975","system":"http://www.nlm.nih.gov/research/umls/rxnorm"}]},"requester":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}},"status":"active","subject":{"reference":"Patient/p-ok"}}`,
	`{"resourceType":"ServiceRequest","id":"o-new","authoredOn":"2025-03-04T14:50:00Z","category":[{"coding":[{"code":"laboratory","system":"https://attest.example/fhir/CodeSystem/order-category"}]}],"code":{"coding":[{"code":"4548-4","system":"http://loinc.org"}]},"extension":[{"url":"https://attest.example/fhir/StructureDefinition/entry-method","valueCode":"cpoe"},{"url":"https://attest.example/fhir/StructureDefinition/entered-by","valueString":"user-7"},{"url":"https://attest.example/fhir/StructureDefinition/entered-by-credential","valueCode":"CMA"}],"intent":"order","requester":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}},"status":"active","subject":{"reference":"Patient/p-ok"}}`,
	`{"resourceType":"Observation","id":"r-new","basedOn":[{"reference":"ServiceRequest/o-ok"}],"category":[{"coding":[{"code":"laboratory","system":"http://terminology.hl7.org/CodeSystem/observation-category"}]}],"code":{"coding":[{"code":"4548-4","system":"http://loinc.org"}]},"effectiveDateTime":"2025-03-04T15:00:00Z","issued":"2025-03-05T08:00:00Z","status":"final","subject":{"reference":"Patient/p-ok"},"valueQuantity":{"code":"%","system":"http://unitsofmeasure.org","unit":"%","value":7.1}}`,
	`{"resourceType":"Organization","id":"org-new","active":true,"name":"Far Clinic","type":[{"coding":[{"code":"practice","system":"https://attest.example/fhir/CodeSystem/organization-kind"}]}]}`,
	`{"resourceType":"Practitioner","id":"clin-new","identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"1245319599"}],"name":[{"family":"Nightingale"}],"qualification":[{"code":{"coding":[{"code":"NP","system":"https://attest.example/fhir/CodeSystem/credential"}]}}]}`,
	`{"resourceType":"Location","id":"loc-new","extension":[{"url":"https://attest.example/fhir/StructureDefinition/cehrt","valueBoolean":true}],"managingOrganization":{"reference":"Organization/org-1"},"name":"Suite 2","status":"active","type":[{"coding":[{"code":"11","system":"https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"}]}]}`,
}

// required are, per FHIR type, top-level elements the record cannot do without.
var required = map[string][]string{
	"Patient":           {"identifier", "name", "birthDate", "gender"},
	"Encounter":         {"class", "period", "subject", "status"},
	"MedicationRequest": {"authoredOn", "intent", "medicationCodeableConcept", "requester", "status", "subject"},
	"ServiceRequest":    {"authoredOn", "category", "code", "intent", "requester", "status", "subject"},
	"Observation":       {"code", "effectiveDateTime", "issued", "status", "subject"},
	"Organization":      {"name", "type"},
	"Practitioner":      {"identifier", "name", "qualification"},
	"Location":          {"managingOrganization", "name", "type"},
}

// The valid JSON API lines the JSON-format mutations start from.
var jsonBases = []string{
	`{"kind":"patients","body":{"id":"p-new","organization_id":"org-1","mrn":{"system":"urn:oid:2.16.840.1.113883.19.5","value":"MRN-NEW"},"name":{"given":["Ann"],"family":"Example"},"birth_date":"1970-01-02","sex":"female"}}`,
	`{"kind":"encounters","body":{"id":"e-new","patient_id":"p-ok","class":"office","start":"2025-03-04T14:30:00Z","rendering_npi":"1234567893","billing_tin":"123456789","location_id":"loc-1"}}`,
	`{"kind":"prescriptions","body":{"id":"rx-new","patient_id":"p-ok","encounter_id":"e-ok","code":{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"860975"},"kind":"new","permissible":true,"written":"2025-03-04T14:45:00Z","npi":"1234567893","tin":"123456789"}}`,
	`{"kind":"results","body":{"id":"r-new","patient_id":"p-ok","order_id":"o-ok","code":{"system":"http://loinc.org","code":"4548-4"},"status":"final","category":"laboratory","effective":"2025-03-04T15:00:00Z","issued":"2025-03-05T08:00:00Z","value":{"value":7.1,"unit":"%"}}}`,
	`{"kind":"problems","body":{"id":"pr-new","patient_id":"p-ok","code":{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"},"status":"active","recorded":"2025-03-04T14:40:00Z"}}`,
}

// jsonRequired are the required fields of the JSON bases' bodies.
var jsonRequired = map[string][]string{
	"patients":      {"mrn", "name", "birth_date", "sex"},
	"encounters":    {"patient_id", "class", "start", "rendering_npi"},
	"prescriptions": {"patient_id", "code", "kind", "written", "npi"},
	"results":       {"patient_id", "code", "status", "effective", "issued"},
	"problems":      {"patient_id", "code", "status", "recorded"},
}

// Want is one file's expectation.
type Want struct {
	File   string         `json:"file"`
	Status int            `json:"status,omitempty"` // a Bundle's HTTP status
	Lines  map[int]Expect `json:"lines,omitempty"`  // NDJSON: each line's refusal
	Expect *Expect        `json:"expect,omitempty"` // a Bundle's refusal
}

// Expect is an issue the refusal must list: one of Codes at Expr (or below it, with
// Prefix).
type Expect struct {
	Codes  []string `json:"codes"`
	Expr   string   `json:"expr"`
	Prefix bool     `json:"prefix,omitempty"`
}

var (
	dir   = filepath.Join("testdata", "badinput")
	wants []Want
)

// write writes a corpus file. Each file's new resource gets an ID of its own, so that
// a file the service wrongly accepted cannot change what the next one meets.
func write(name string, data []byte, lines map[int]Expect) {
	id := fmt.Sprintf("bad%04d", len(wants))
	for _, base := range []string{"p-new", "e-new", "rx-new", "o-new", "r-new", "org-new", "clin-new", "loc-new", "pr-new"} {
		data = bytes.ReplaceAll(data, []byte(`"id":"`+base+`"`), []byte(`"id":"`+id+`"`))
	}
	data = bytes.ReplaceAll(data, []byte("MRN-NEW"), []byte("MRN-"+id))
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		panic(err)
	}
	wants = append(wants, Want{File: name, Lines: lines})
}

func one(e Expect) map[int]Expect { return map[int]Expect{1: e} }

// obj is a resource as ordered keys, so that mutations keep every other byte.
type obj struct {
	keys []string
	vals map[string]json.RawMessage
}

func parse(s string) obj {
	d := json.NewDecoder(strings.NewReader(s))
	o := obj{vals: map[string]json.RawMessage{}}
	if _, err := d.Token(); err != nil {
		panic(err)
	}
	for d.More() {
		k, _ := d.Token()
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			panic(err)
		}
		o.keys = append(o.keys, k.(string))
		o.vals[k.(string)] = v
	}
	return o
}

func (o obj) bytes() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", k, o.vals[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

func (o obj) with(k, v string) obj {
	c := obj{keys: slices.Clone(o.keys), vals: map[string]json.RawMessage{}}
	for kk, vv := range o.vals {
		c.vals[kk] = vv
	}
	if _, ok := c.vals[k]; !ok {
		c.keys = append(c.keys, k)
	}
	c.vals[k] = json.RawMessage(v)
	return c
}

func (o obj) without(k string) obj {
	c := obj{vals: map[string]json.RawMessage{}}
	for _, kk := range o.keys {
		if kk != k {
			c.keys = append(c.keys, kk)
			c.vals[kk] = o.vals[kk]
		}
	}
	return c
}

// wrongType is a value of another JSON type than v's.
func wrongType(v json.RawMessage) string {
	switch v[0] {
	case '"':
		return "12345"
	case '{':
		return `"an object was expected"`
	case '[':
		return `{"not":"an array"}`
	case 't', 'f':
		return `"yes"`
	default:
		return `["a number was expected"]`
	}
}

func typeOf(o obj) string {
	var t string
	_ = json.Unmarshal(o.vals["resourceType"], &t)
	return t
}

// nl is b and a line break, in a new slice: b may be part of a longer one.
func nl(b []byte) []byte { return append(slices.Clip(b), '\n') }

func main() {
	old, _ := filepath.Glob(filepath.Join(dir, "gen-*"))
	for _, f := range old {
		os.Remove(f)
	}
	fhirMutations()
	jsonMutations()
	sort.Slice(wants, func(i, j int) bool { return wants[i].File < wants[j].File })
	b, err := json.MarshalIndent(wants, "", "  ")
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "generated.json"), append(b, '\n'), 0o644); err != nil {
		panic(err)
	}
	fmt.Printf("wrote %d files\n", len(wants))
}

var invalidUTF8 = map[string]string{
	"ff": "\xff", "c328": "\xc3\x28", "surrogate": "\xed\xa0\x80", "fivebyte": "\xf8\x88\x80\x80\x80", "overlong": "\xc0\xaf",
}

func fhirMutations() {
	whole := Expect{Codes: []string{"structure"}, Expr: ""}
	for _, s := range fhirBases {
		o := parse(s)
		t := typeOf(o)
		for _, k := range o.keys {
			if k == "resourceType" || k == "id" {
				continue
			}
			write(fmt.Sprintf("gen-ndjson-wrongtype-%s-%s.ndjson", t, k), nl(o.with(k, wrongType(o.vals[k])).bytes()),
				one(Expect{Codes: []string{"structure", "value"}, Expr: t + "." + k, Prefix: true}))
			write(fmt.Sprintf("gen-ndjson-duplicate-%s-%s.ndjson", t, k),
				nl(append(bytes.TrimSuffix(o.bytes(), []byte("}")), []byte(fmt.Sprintf(",%q:%s}", k, o.vals[k]))...)), one(whole))
		}
		for _, k := range required[t] {
			write(fmt.Sprintf("gen-ndjson-missing-%s-%s.ndjson", t, k), nl(o.without(k).bytes()),
				one(Expect{Codes: []string{"required", "structure", "value"}, Expr: t + "." + k, Prefix: true}))
		}
		for name, bad := range invalidUTF8 {
			b := bytes.Replace(o.bytes(), []byte(`"`+t+`"`), []byte(`"`+t+`","x":"`+bad+`"`), 1)
			write(fmt.Sprintf("gen-ndjson-utf8-%s-%s.ndjson", t, name), nl(b), one(whole))
		}
		full := o.bytes()
		for _, frac := range []int{1, 25, 50, 75, 99} {
			write(fmt.Sprintf("gen-ndjson-truncated-%s-%02d.ndjson", t, frac), nl(full[:len(full)*frac/100]), one(whole))
		}
		// A huge string where the record bounds text, and an unknown element of any size.
		write(fmt.Sprintf("gen-ndjson-unknownelement-%s.ndjson", t), nl(o.with("madeUpElement", `"x"`).bytes()),
			one(Expect{Codes: []string{"structure", "not-supported"}, Expr: t + ".madeUpElement", Prefix: true}))
	}
	for _, rt := range []string{"Patientx", "Foo", "patient", "PATIENT", "Bundle", "Binary", "Account", "Medication",
		"Questionnaire", "Parameters", "OperationOutcome", "Pat ient", "Patient\u00e9"} {
		o := parse(fhirBases[0]).with("resourceType", fmt.Sprintf("%q", rt))
		name := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
				return r
			}
			return '_'
		}, rt)
		write("gen-ndjson-unknowntype-"+name+".ndjson", nl(o.bytes()), one(Expect{Codes: []string{"not-supported"},
			Expr: rt + ".resourceType"}))
	}
	for name, v := range map[string]string{"empty": `""`, "number": `42`, "null": `null`, "object": `{"a":1}`} {
		o := parse(fhirBases[0]).with("resourceType", v)
		write("gen-ndjson-resourcetype-"+name+".ndjson", nl(o.bytes()),
			one(Expect{Codes: []string{"required", "structure", "not-supported"}, Expr: "Resource.resourceType"}))
	}
	for _, depth := range []int{65, 100, 1000, 10000} {
		if depth <= 1000 {
			inner := `"v"`
			for range depth {
				inner = `{"extension":[{"url":"https://x.example/e","valueString":"a"},` + inner + `]}`
			}
			o := parse(fhirBases[5]).with("extension", "["+inner+"]")
			write(fmt.Sprintf("gen-ndjson-deep-%d.ndjson", depth), nl(o.bytes()), one(whole))
		}
		arr := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		write(fmt.Sprintf("gen-ndjson-deeparray-%d.ndjson", depth), nl(parse(fhirBases[5]).with("name", arr).bytes()), one(whole))
	}
	huge := func(n int) string { return `"` + strings.Repeat("A", n) + `"` }
	for _, n := range []int{201, 5000, 100000} {
		write(fmt.Sprintf("gen-ndjson-huge-Patient-family-%d.ndjson", n),
			nl(parse(fhirBases[0]).with("name", `[{"family":`+huge(n)+`,"given":["Ann"]}]`).bytes()),
			one(Expect{Codes: []string{"value", "too-long"}, Expr: "Patient.name[0].family"}))
		write(fmt.Sprintf("gen-ndjson-huge-Organization-name-%d.ndjson", n),
			nl(parse(fhirBases[5]).with("name", huge(n)).bytes()),
			one(Expect{Codes: []string{"value", "too-long"}, Expr: "Organization.name"}))
	}
	write("gen-ndjson-huge-line.ndjson", nl(parse(fhirBases[5]).with("text", `{"status":"generated","div":`+huge(1<<20)+`}`).bytes()),
		one(Expect{Codes: []string{"too-long"}, Expr: ""}))

	ref := func(base int, key, val, expr string) {
		o := parse(fhirBases[base])
		write(fmt.Sprintf("gen-ndjson-dangling-%s-%s.ndjson", typeOf(o), key), nl(o.with(key, val).bytes()),
			one(Expect{Codes: []string{"not-found"}, Expr: expr, Prefix: true}))
	}
	ref(0, "managingOrganization", `{"reference":"Organization/nowhere"}`, "Patient.managingOrganization")
	ref(1, "subject", `{"reference":"Patient/nobody"}`, "Encounter.subject")
	ref(1, "location", `[{"location":{"reference":"Location/nowhere"}}]`, "Encounter.location")
	ref(2, "subject", `{"reference":"Patient/nobody"}`, "MedicationRequest.subject")
	ref(2, "encounter", `{"reference":"Encounter/never"}`, "MedicationRequest.encounter")
	ref(3, "subject", `{"reference":"Patient/nobody"}`, "ServiceRequest.subject")
	ref(4, "subject", `{"reference":"Patient/nobody"}`, "Observation.subject")
	ref(4, "basedOn", `[{"reference":"ServiceRequest/none"}]`, "Observation.basedOn")
	ref(7, "managingOrganization", `{"reference":"Organization/nowhere"}`, "Location.managingOrganization")
	ref(5, "partOf", `{"reference":"Organization/nowhere"}`, "Organization.partOf")

	bad := func(base int, name, key, val, expr string, codes ...string) {
		if len(codes) == 0 {
			codes = []string{"value"}
		}
		o := parse(fhirBases[base])
		write(fmt.Sprintf("gen-ndjson-bad-%s-%s.ndjson", typeOf(o), name), nl(o.with(key, val).bytes()),
			one(Expect{Codes: codes, Expr: expr, Prefix: true}))
	}
	for i, d := range []string{"1970-13-01", "1970-02-30", "yesterday", "2999-01-01", "1800-01-01", "1970-1-2"} {
		bad(0, fmt.Sprintf("birthDate%d", i), "birthDate", fmt.Sprintf("%q", d), "Patient.birthDate", "value", "structure")
	}
	bad(0, "gender", "gender", `"f"`, "Patient.gender", "value", "structure")
	for i, d := range []string{"2025-03-04T25:00:00Z", "2025-02-30T10:00:00Z", "March 4th", "2025-03-04T14:30:00"} {
		bad(1, fmt.Sprintf("start%d", i), "period", fmt.Sprintf(`{"start":%q}`, d), "Encounter.period", "value", "structure", "required")
	}
	bad(1, "endBeforeStart", "period", `{"start":"2025-03-04T14:30:00Z","end":"2025-03-03T14:30:00Z"}`, "Encounter.period", "invariant", "value")
	for i, n := range []string{"1234567890", "123", "abcdefghij", "12345678901", "0000000000"} {
		bad(1, fmt.Sprintf("npi%d", i), "participant", fmt.Sprintf(`[{"individual":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":%q}}}]`, n),
			"Encounter.participant", "value", "structure")
		bad(6, fmt.Sprintf("npi%d", i), "identifier", fmt.Sprintf(`[{"system":"http://hl7.org/fhir/sid/us-npi","value":%q}]`, n),
			"Practitioner.identifier", "value", "structure")
	}
	for i, t := range []string{"12345678", "12-3456789", "abcdefghi", "1234567890"} {
		bad(1, fmt.Sprintf("tin%d", i), "extension", fmt.Sprintf(`[{"url":"https://attest.example/fhir/StructureDefinition/billing-tin","valueString":%q}]`, t),
			"Encounter.extension", "value", "structure")
	}
	for i, c := range []string{"4548-5", "4548", "ABCD-4", "45484"} {
		bad(3, fmt.Sprintf("loinc%d", i), "code", fmt.Sprintf(`{"coding":[{"code":%q,"system":"http://loinc.org"}]}`, c), "ServiceRequest.code")
		bad(4, fmt.Sprintf("loinc%d", i), "code", fmt.Sprintf(`{"coding":[{"code":%q,"system":"http://loinc.org"}]}`, c), "Observation.code")
	}
	for i, c := range []string{"abc", "86-0975", ""} {
		bad(2, fmt.Sprintf("rxnorm%d", i), "medicationCodeableConcept",
			fmt.Sprintf(`{"coding":[{"code":%q,"system":"http://www.nlm.nih.gov/research/umls/rxnorm"}]}`, c),
			"MedicationRequest.medicationCodeableConcept", "value", "structure", "required")
	}
	bad(2, "system", "medicationCodeableConcept", `{"coding":[{"code":"860975","system":"http://snomed.info/sct"}]}`,
		"MedicationRequest.medicationCodeableConcept", "value")
	bad(4, "status", "status", `"done"`, "Observation.status", "value", "structure")
	bad(3, "intent", "intent", `"wish"`, "ServiceRequest.intent", "value", "structure")
}

func jsonMutations() {
	for _, s := range jsonBases {
		outer := parse(s)
		var kind string
		_ = json.Unmarshal(outer.vals["kind"], &kind)
		body := parse(string(outer.vals["body"]))
		put := func(b obj) []byte { return nl(outer.with("body", string(b.bytes())).bytes()) }
		for _, k := range body.keys {
			if k == "id" {
				continue
			}
			write(fmt.Sprintf("gen-json-wrongtype-%s-%s.ndjson", kind, k), put(body.with(k, wrongType(body.vals[k]))),
				one(Expect{Codes: []string{"value", "structure"}, Expr: "body." + k, Prefix: true}))
			write(fmt.Sprintf("gen-json-duplicate-%s-%s.ndjson", kind, k),
				nl([]byte(strings.Replace(string(outer.bytes()), `"body":{`, fmt.Sprintf(`"body":{%q:%s,`, k, body.vals[k]), 1))),
				one(Expect{Codes: []string{"value", "structure"}, Expr: "body." + k, Prefix: true}))
		}
		for _, k := range jsonRequired[kind] {
			write(fmt.Sprintf("gen-json-missing-%s-%s.ndjson", kind, k), put(body.without(k)),
				one(Expect{Codes: []string{"value", "required"}, Expr: "body." + k, Prefix: true}))
		}
		write(fmt.Sprintf("gen-json-unknownfield-%s.ndjson", kind), put(body.with("made_up", `1`)),
			one(Expect{Codes: []string{"value", "structure"}, Expr: "body.made_up"}))
		full := outer.bytes()
		for _, frac := range []int{10, 50, 90} {
			write(fmt.Sprintf("gen-json-truncated-%s-%02d.ndjson", kind, frac), nl(full[:len(full)*frac/100]),
				one(Expect{Codes: []string{"structure"}, Expr: ""}))
		}
		for name, bad := range invalidUTF8 {
			b := bytes.Replace(full, []byte(`"kind"`), []byte(`"x`+bad+`":1,"kind"`), 1)
			write(fmt.Sprintf("gen-json-utf8-%s-%s.ndjson", kind, name), nl(b), one(Expect{Codes: []string{"structure"}, Expr: ""}))
		}
	}
	for _, k := range []string{"Patient", "patient", "tablet-sessions", "secrets", ""} {
		name := k
		if name == "" {
			name = "empty"
		}
		code := "not-supported"
		if k == "" {
			code = "required"
		}
		write("gen-json-unknownkind-"+name+".ndjson", nl([]byte(fmt.Sprintf(`{"kind":%q,"body":{"id":"x"}}`, k))),
			one(Expect{Codes: []string{code}, Expr: "kind"}))
	}
	dangling := func(base int, key, val string) {
		outer := parse(jsonBases[base])
		var kind string
		_ = json.Unmarshal(outer.vals["kind"], &kind)
		body := parse(string(outer.vals["body"]))
		write(fmt.Sprintf("gen-json-dangling-%s-%s.ndjson", kind, key), nl(outer.with("body", string(body.with(key, val).bytes())).bytes()),
			one(Expect{Codes: []string{"not-found"}, Expr: "body." + key}))
	}
	dangling(0, "organization_id", `"nowhere"`)
	dangling(1, "patient_id", `"nobody"`)
	dangling(1, "location_id", `"nowhere"`)
	dangling(2, "encounter_id", `"never"`)
	dangling(3, "order_id", `"none"`)
	dangling(4, "patient_id", `"nobody"`)
}
