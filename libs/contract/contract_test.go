package contract_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/libs/contract"
)

var update = flag.Bool("update", false, "rewrite docs/events.md from the contract")

var (
	topicRE = regexp.MustCompile(`^[a-z]+\.[a-z-]+\.v[1-9][0-9]*$`)
	// Past tense: regular verbs end in -ed; the irregular ones in use are listed.
	typeRE = regexp.MustCompile(`^[a-z]+\.[a-z-]+\.([a-z]+ed|sent|read)$`)
)

func TestCatalogNames(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range contract.Catalog {
		if seen[s.Type] {
			t.Errorf("%s: listed twice", s.Type)
		}
		seen[s.Type] = true
		if !topicRE.MatchString(s.Topic) {
			t.Errorf("%s: topic %q is not <owner>.<entity>.v<major>", s.Type, s.Topic)
		}
		if !typeRE.MatchString(s.Type) {
			t.Errorf("%s: type is not <owner>.<entity>.<past-tense verb>", s.Type)
		}
		owner, entity := strings.Split(s.Type, ".")[0], strings.Split(s.Type, ".")[1]
		if !strings.HasPrefix(s.Topic, owner+"."+entity+".") {
			t.Errorf("%s: published on %s, which is not its owner's %s.%s topic", s.Type, s.Topic, owner, entity)
		}
		if s.Owner != owner {
			t.Errorf("%s: owner %q, want %q", s.Type, s.Owner, owner)
		}
		if s.Doc == "" || s.Key == "" {
			t.Errorf("%s: Doc and Key must be written", s.Type)
		}
	}
}

// TestGoldens decodes the golden sample of every type into today's payload struct,
// refusing unknown fields, and checks that it re-encodes to the same JSON. A field
// removed or renamed in a struct breaks an old producer's events, and fails here.
func TestGoldens(t *testing.T) {
	for _, s := range contract.Catalog {
		t.Run(s.Type, func(t *testing.T) {
			golden, err := os.ReadFile(filepath.Join("testdata", s.Type+".json"))
			if err != nil {
				t.Fatalf("every event type needs a golden sample: %v", err)
			}
			v := reflect.New(reflect.TypeOf(s.Payload))
			dec := json.NewDecoder(bytes.NewReader(golden))
			dec.DisallowUnknownFields()
			if err := dec.Decode(v.Interface()); err != nil {
				t.Fatalf("golden does not decode into %T: %v", s.Payload, err)
			}
			again, err := json.Marshal(v.Interface())
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, golden, again) {
				t.Errorf("round trip changed the golden:\n got %s\nwant %s", again, bytes.TrimSpace(golden))
			}
		})
	}
}

func TestLookup(t *testing.T) {
	if s, ok := contract.Lookup(contract.EncounterRecorded); !ok || s.Topic != contract.TopicEncounter {
		t.Errorf("Lookup(%s) = %+v, %v", contract.EncounterRecorded, s, ok)
	}
	if _, ok := contract.Lookup("records.nothing.happened"); ok {
		t.Error("Lookup of an unknown type succeeded")
	}
}

// TestEventsDoc fails when docs/events.md no longer matches the contract.
// Regenerate with: go test ./contract -run TestEventsDoc -update (or make docs).
func TestEventsDoc(t *testing.T) {
	got := eventsDoc(t)
	path := filepath.Join("..", "..", "docs", "events.md")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with make docs)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/events.md is stale: run make docs")
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// eventsDoc renders the catalogue as Markdown, with each payload's fields and the
// comments written beside them in this package's source.
func eventsDoc(t *testing.T) []byte {
	t.Helper()
	comments := fieldComments(t)
	var b bytes.Buffer
	b.WriteString("# Event catalogue\n\nGenerated from `libs/contract` by `make docs`; do not edit. ")
	b.WriteString("Every event travels as a CloudEvents 1.0 message in Kafka binary mode: attributes in `ce_*` headers ")
	b.WriteString("(`ce_id`, `ce_type`, `ce_source`, `ce_subject`, `ce_time` = clinical time, `ce_recordedtime` = when it ")
	b.WriteString("was recorded), W3C `traceparent`, the JSON payload as the value, and the subject as the key.\n\n")
	b.WriteString("| type | topic | owner | key | payload |\n|---|---|---|---|---|\n")
	for _, s := range contract.Catalog {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | [%s](#%s) |\n", s.Type, s.Topic, s.Owner, s.Key,
			reflect.TypeOf(s.Payload).Name(), strings.ToLower(reflect.TypeOf(s.Payload).Name()))
	}
	b.WriteString("\n## Events\n\n")
	for _, s := range contract.Catalog {
		fmt.Fprintf(&b, "- `%s`: %s\n", s.Type, s.Doc)
	}
	b.WriteString("\n## Payloads\n")
	done := map[reflect.Type]bool{}
	var types []reflect.Type
	for _, s := range contract.Catalog {
		types = append(types, reflect.TypeOf(s.Payload))
	}
	for len(types) > 0 {
		typ := types[0]
		types = types[1:]
		if done[typ] {
			continue
		}
		done[typ] = true
		fmt.Fprintf(&b, "\n### %s\n\n| field | type | meaning |\n|---|---|---|\n", typ.Name())
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			ft := f.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath() {
				types = append(types, ft)
			}
			if f.Anonymous {
				// An embedded struct's fields are inline in the JSON.
				fmt.Fprintf(&b, "| (inline) | [%s](#%s) | its fields, at this level |\n", ft.Name(), strings.ToLower(ft.Name()))
				continue
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", name, jsonType(f.Type), comments[typ.Name()+"."+f.Name])
		}
	}
	return b.Bytes()
}

func jsonType(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.Pointer:
		return jsonType(t.Elem()) + " (optional)"
	case t.String() == "time.Time":
		return "RFC 3339 time"
	case t.Kind() == reflect.Slice:
		return "array of " + jsonType(t.Elem())
	case t.Kind() == reflect.Struct:
		return "[" + t.Name() + "](#" + strings.ToLower(t.Name()) + ")"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		return "number"
	}
	return "string"
}

// fieldComments maps "Struct.Field" to the comment beside or above the field.
func fieldComments(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, fld := range st.Fields.List {
				text := strings.TrimSpace(fld.Comment.Text() + " " + fld.Doc.Text())
				text = strings.Join(strings.Fields(text), " ")
				for _, n := range fld.Names {
					out[ts.Name.Name+"."+n.Name] = strings.ReplaceAll(text, "|", "\\|")
				}
			}
			return false
		})
	}
	return out
}
