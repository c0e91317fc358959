package bulk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/attest-ehr/attest/services/records/internal/fhir"
	"github.com/attest-ehr/attest/services/records/internal/record"
)

// corpusSeeds adds the bad-input corpus's NDJSON files as seeds.
func corpusSeeds(f *testing.F, prefix string) {
	files, _ := filepath.Glob(filepath.Join("testdata", "badinput", prefix))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
}

// FuzzNDJSONReader reads arbitrary bytes as NDJSON, then stores the lines as an
// upload's chunks do and reads them back: line numbers only grow, no line holds a
// break or is over MaxLine, and a chunk gives back exactly the lines put in it.
func FuzzNDJSONReader(f *testing.F) {
	f.Add([]byte("{}\n\n{\"a\":1}\r\n  \n[1]"))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte("no newline at the end"))
	f.Add(append(bytes.Repeat([]byte("x"), MaxLine+3), []byte("\n{}\n")...))
	corpusSeeds(f, "*ndjson-hand-*")
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		var (
			lines []Line
			c     chunker
		)
		for {
			l, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) > 0 && l.N <= lines[len(lines)-1].N {
				t.Fatalf("line %d after line %d", l.N, lines[len(lines)-1].N)
			}
			if bytes.IndexByte(l.Data, '\n') >= 0 || len(l.Data) > MaxLine || len(bytes.TrimSpace(l.Data)) == 0 {
				t.Fatalf("line %d: %q", l.N, l.Data)
			}
			lines = append(lines, l)
			c.add(l)
		}
		if n := bytes.Count(data, []byte("\n")); r.Lines() < n || r.Lines() > n+1 {
			t.Fatalf("%d lines counted in a body of %d line breaks", r.Lines(), n)
		}
		if len(lines) == 0 {
			return
		}
		got := splitChunk(c.buf.Bytes(), c.first, 0)
		if len(got) != len(lines) {
			t.Fatalf("chunk gave %d lines back, want %d", len(got), len(lines))
		}
		for i := range got {
			if got[i].N != lines[i].N || !bytes.Equal(got[i].Data, lines[i].Data) {
				t.Fatalf("chunk line %d = %d %q, want %d %q", i, got[i].N, got[i].Data, lines[i].N, lines[i].Data)
			}
		}
		if done := lines[len(lines)/2].N; len(splitChunk(c.buf.Bytes(), c.first, done)) != len(lines)-len(lines)/2-1 {
			t.Fatalf("resuming after line %d does not skip exactly the lines up to it", done)
		}
	})
}

// checkIssues checks what every refusal must be: errors, each with a FHIR issue code.
func checkIssues(t *testing.T, line []byte, issues []fhir.Issue) {
	t.Helper()
	for _, is := range issues {
		switch is.Code {
		case "structure", "required", "value", "invariant", "not-supported", "not-found", "conflict",
			"business-rule", "duplicate", "too-long", "forbidden":
		default:
			t.Fatalf("line %q: issue code %q", line, is.Code)
		}
		if is.Severity != fhir.SeverityError {
			t.Fatalf("line %q: issue severity %q", line, is.Severity)
		}
	}
}

// decoders are the two formats' decoders over a record with no database: decoding
// reads no stored state.
func decoders(t testing.TB) (jsonDecoder, fhirDecoder) {
	svc := record.NewService(nil, func() {}, record.Config{})
	codec, err := fhir.New(svc)
	if err != nil {
		t.Fatal(err)
	}
	// Compile the R4 schema now: compiled on a first input, it takes longer than the
	// fuzzing coordinator waits for a worker.
	codec.Warm(context.Background())
	ks := kindsOf(svc)
	return jsonDecoder{kinds: ks}, fhirDecoder{codec: codec, kinds: ks}
}

// fuzzDecoder checks a decoder on arbitrary input: it answers a write or the issues
// refusing the line, never both and never neither, and a write it answers is valid.
func fuzzDecoder(t *testing.T, d Decoder, line []byte) {
	w, typ, issues := d.Decode(line)
	switch {
	case w == nil && len(issues) == 0:
		t.Fatalf("line %q: neither a write nor a refusal", line)
	case w != nil && len(issues) > 0:
		t.Fatalf("line %q: a write and issues %+v", line, issues)
	case w != nil:
		if typ == "" || w.Kind() == "" {
			t.Fatalf("line %q: a write of no type", line)
		}
		if err := w.Validate(); err != nil {
			t.Fatalf("line %q: the write answered is invalid: %v", line, err)
		}
	}
	checkIssues(t, line, issues)
}

// FuzzDecodeJSONLine decodes arbitrary lines of the JSON format: strict JSON and the
// record's validators of every kind (internal/record).
func FuzzDecodeJSONLine(f *testing.F) {
	f.Add([]byte(`{"kind":"patients","body":{"mrn":{"system":"s","value":"v"},"name":{"family":"F"},"birth_date":"1970-01-02","sex":"female"}}`))
	f.Add([]byte(`{"kind":"encounters","body":{"patient_id":"p","class":"office","start":"2025-03-04T14:30:00Z","rendering_npi":"1234567893"}}`))
	f.Add([]byte(`{"kind":"vital-signs","body":{"patient_id":"p","code":{"system":"http://loinc.org","code":"85354-9"},"effective":"2025-03-04T14:35:00Z","performer":"practitioner","components":[]}}`))
	corpusSeeds(f, "gen-json-*")
	j, _ := decoders(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		fuzzDecoder(t, j, line)
		checkOnePass(t, j, line)
	})
}

// checkOnePass holds the JSON format's one-pass decoding to the strict path: it
// accepts only what the strict path accepts, with the same write.
func checkOnePass(t *testing.T, d jsonDecoder, line []byte) {
	t.Helper()
	w, kind, ok := d.decodeOnePass(line)
	if !ok {
		return // Decode runs the strict path
	}
	sw, skind, issues := d.decodeStrict(line)
	if len(issues) > 0 {
		t.Fatalf("line %q: the one pass accepted what the strict path refuses: %+v", line, issues)
	}
	if kind != skind || !reflect.DeepEqual(w, sw) {
		t.Fatalf("line %q: the one pass decoded %s %+v, the strict path %s %+v", line, kind, w, skind, sw)
	}
}

// The one pass agrees with the strict path on the bad-input corpus, line by line,
// and accepts a synthetic year's lines (else it would be no faster).
func TestJSONOnePassAgrees(t *testing.T) {
	j, _ := decoders(t)
	d := j
	files, _ := filepath.Glob(filepath.Join("testdata", "badinput", "*"))
	if len(files) < 300 {
		t.Fatalf("found %d corpus files", len(files))
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			checkOnePass(t, d, line)
		}
	}
	for _, line := range onePassLines {
		if _, _, ok := d.decodeOnePass([]byte(line)); !ok {
			t.Errorf("the one pass refused %s", line)
		}
		checkOnePass(t, d, []byte(line))
	}
	for _, line := range onePassRefused {
		if _, _, ok := d.decodeOnePass([]byte(line)); ok {
			t.Errorf("the one pass accepted %s", line)
		}
	}
}

// onePassLines are valid lines of the JSON format.
var onePassLines = []string{
	`{"kind":"patients","body":{"mrn":{"system":"s","value":"v"},"name":{"family":"F"},"birth_date":"1970-01-02","sex":"female"}}`,
	` {"body": {"patient_id":"p","class":"office","start":"2025-03-04T14:30:00Z","rendering_npi":"1234567893"}, "kind":"encounters"} `,
}

// onePassRefused are lines the strict path refuses, each for a reason the one pass
// must see.
var onePassRefused = []string{
	`{"kind":"patients","body":{"mrn":{"system":"s","value":"v"},"name":{"family":"F","family":"G"},"birth_date":"1970-01-02","sex":"female"}}`,
	`{"kind":"patients","body":{"mrn":{"system":"s","value":"v"},"name":{"family":"F","Family":"G"},"birth_date":"1970-01-02","sex":"female"}}`,
	`{"kind":"patients","kind":"patients","body":{"mrn":{"system":"s","value":"v"},"name":{"family":"F"},"birth_date":"1970-01-02","sex":"female"}}`,
	`{"kind":"patients","body":{"mrn":{"system":"s","value":"v"},"name":{"family":"F"},"birth_date":"1970-01-02","sex":"female","x":1}}`,
	`{"kind":"patients","body":{"mrn":{"system":"s","value":"v"},"name":{"family":"F"},"birth_date":"1970-01-02","sex":"female"}} {}`,
	`{"kind":"patients","body":{"mrn":{"system":"s","value":"v"},"name":{"family":"F"},"birth_date":"1970-13-02","sex":"female"}}`,
	`{"kind":"patients","body":null}`, `null`, `{"kind":"nothing","body":{}}`, `{"kind":"patients","body":{}`,
}

// FuzzDecodeFHIR decodes arbitrary lines as FHIR resources: the FHIR codec's parsing,
// R4 schema validation and mapping (internal/fhir), then the record's validators.
func FuzzDecodeFHIR(f *testing.F) {
	corpusSeeds(f, "gen-ndjson-*")
	_, d := decoders(f)
	f.Fuzz(func(t *testing.T, line []byte) { fuzzDecoder(t, d, line) })
}
