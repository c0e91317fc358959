package phi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/phi"
)

// canary is the secret every test value carries; it must never show up outside JSON
// and Reveal.
const canary = "ZZCANARY-7f3a"

// values is one value of each PHI type holding the canary. Date holds a canary too:
// its redaction does not depend on the value being a valid date.
func values() map[string]any {
	return map[string]any{
		"Name":       phi.Name(canary),
		"Date":       phi.Date(canary),
		"Text":       phi.Text(canary),
		"Contact":    phi.Contact(canary),
		"Identifier": phi.Identifier(canary),
	}
}

// Patient is a struct with exported PHI fields, as services declare them.
type Patient struct {
	ID    string
	Name  phi.Name
	Birth phi.Date
	Notes []phi.Text
	Phone *phi.Contact
	MRN   map[string]phi.Identifier
}

func TestFmtNeverShowsValue(t *testing.T) {
	// %p is missing on purpose: fmt handles it before calling any method and prints
	// a non-pointer operand raw. go vet rejects %p with a string-typed operand, so it
	// cannot reach a build; see the package doc.
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-12v", "%.3s", "%t", "%[1]v %[1]s"}
	for typ, v := range values() {
		for _, verb := range verbs {
			t.Run(typ+"/"+verb, func(t *testing.T) {
				got := fmt.Sprintf(verb, v)
				if strings.Contains(got, canary) || !strings.Contains(got, phi.Redacted) {
					t.Errorf("Sprintf(%q) = %q, want %q and no value", verb, got, phi.Redacted)
				}
			})
		}
	}
}

func TestFmtInsideContainers(t *testing.T) {
	c := phi.Contact(canary)
	p := Patient{
		ID: "p1", Name: phi.Name(canary), Birth: phi.Date(canary),
		Notes: []phi.Text{phi.Text(canary)}, Phone: &c,
		MRN: map[string]phi.Identifier{"hosp": phi.Identifier(canary)},
	}
	n := phi.Name(canary)
	// Variables, so vet lets the malformed formats through: fmt's error paths print
	// their operands too.
	noVerbs, badVerb := "x", "%!"
	tests := []struct {
		name string
		got  string
	}{
		{"struct %v", fmt.Sprintf("%v", p)},
		{"struct %+v", fmt.Sprintf("%+v", p)},
		{"struct %#v", fmt.Sprintf("%#v", p)},
		{"pointer to struct", fmt.Sprintf("%+v", &p)},
		{"pointer to value", fmt.Sprintf("%v", &n)},
		{"slice", fmt.Sprint([]phi.Name{n, n})},
		{"map", fmt.Sprint(map[phi.Name]phi.Name{n: n})},
		{"Sprint", fmt.Sprint(n)},
		//lint:ignore SA5009 a format with no verb must still not print the value
		{"extra argument", fmt.Sprintf(noVerbs, n)},
		//lint:ignore SA5009 a bad verb must still not print the value
		{"bad verb", fmt.Sprintf(badVerb, n)},
		{"Sprintln", fmt.Sprintln(n)},
		{"String", n.String()},
		{"GoString", n.GoString()},
		//lint:ignore S1028 the very idiom under test
		{"errors.New(Sprintf)", errors.New(fmt.Sprintf("patient %s not found", n)).Error()},
		{"fmt.Errorf", fmt.Errorf("register %v: %w", n, errors.New("boom")).Error()},
		{"errs.E", errs.E(errs.Invalid, "bad name %q", n).Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.got, canary) {
				t.Errorf("got %q, which shows the value", tt.got)
			}
		})
	}
}

func TestSlogNeverShowsValue(t *testing.T) {
	n := phi.Name(canary)
	p := Patient{Name: n}
	logs := []struct {
		name string
		log  func(*slog.Logger)
	}{
		{"key-value", func(l *slog.Logger) { l.Info("x", "name", n) }},
		{"slog.Any", func(l *slog.Logger) { l.Info("x", slog.Any("v", phi.Identifier(canary))) }},
		{"group", func(l *slog.Logger) { l.Info("x", slog.Group("patient", "birth", phi.Date(canary))) }},
		{"With", func(l *slog.Logger) { l.With("contact", phi.Contact(canary)).Info("x") }},
		{"message via Sprintf", func(l *slog.Logger) { l.Info(fmt.Sprintf("note %v", phi.Text(canary))) }},
		{"error value", func(l *slog.Logger) { l.Info("x", "err", fmt.Errorf("name %s", n)) }},
		// The text handler formats structs with fmt, so their PHI fields redact;
		// the JSON handler would marshal them (see telemetry's PHI guard).
		{"struct, text handler only", func(l *slog.Logger) { l.Info("x", "patient", p) }},
	}
	for _, tt := range logs {
		handlers := map[string]func(*bytes.Buffer) slog.Handler{
			"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
			"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		}
		for hname, h := range handlers {
			if strings.HasSuffix(tt.name, "text handler only") && hname != "text" {
				continue
			}
			t.Run(tt.name+"/"+hname, func(t *testing.T) {
				var buf bytes.Buffer
				tt.log(slog.New(h(&buf)))
				if strings.Contains(buf.String(), canary) {
					t.Errorf("log line shows the value: %s", buf.String())
				}
			})
		}
	}
}

func TestJSONCarriesValue(t *testing.T) {
	type record struct {
		Name    phi.Name       `json:"name"`
		Birth   phi.Date       `json:"birth_date"`
		Note    phi.Text       `json:"note"`
		Email   phi.Contact    `json:"email"`
		MRN     phi.Identifier `json:"mrn"`
		Missing *phi.Name      `json:"missing"`
	}
	in := record{Name: "Ada Lovelace", Birth: "1815-12-10", Note: "line\n\"quoted\"", Email: "ada@example.org", MRN: "MRN-1"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	want := `{"name":"Ada Lovelace","birth_date":"1815-12-10","note":"line\n\"quoted\"","email":"ada@example.org","mrn":"MRN-1","missing":null}`
	if string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var out record
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if out.Name.Reveal() != "Ada Lovelace" || out.Birth.Reveal() != "1815-12-10" || out.Email.Reveal() != "ada@example.org" ||
		out.Note.Reveal() != "line\n\"quoted\"" || out.MRN.Reveal() != "MRN-1" {
		t.Errorf("Reveal did not return the decoded values")
	}
}

func TestUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantName phi.Name
		wantDate phi.Date
		wantErr  string // substring; "" for success
	}{
		{name: "strings", in: `{"n":"Ada","d":"2000-02-29"}`, wantName: "Ada", wantDate: "2000-02-29"},
		{name: "null keeps value", in: `{"n":null,"d":null}`, wantName: "keep", wantDate: "1999-01-01"},
		{name: "empty date is unknown", in: `{"d":""}`, wantName: "keep", wantDate: ""},
		{name: "number for name", in: `{"n":12345}`, wantErr: "cannot unmarshal number into Go struct field .n of type phi.Name"},
		{name: "object for name", in: `{"n":{"x":"` + canary + `"}}`, wantErr: "cannot unmarshal object"},
		{name: "bad date", in: `{"d":"` + canary + `"}`, wantErr: "must be a date in the form YYYY-MM-DD"},
		{name: "impossible date", in: `{"d":"2001-02-29"}`, wantErr: "must be a date in the form YYYY-MM-DD"},
		{name: "date with time", in: `{"d":"2001-02-01T00:00:00Z"}`, wantErr: "must be a date in the form YYYY-MM-DD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := struct {
				N phi.Name `json:"n"`
				D phi.Date `json:"d"`
			}{N: "keep", D: "1999-01-01"}
			err := json.Unmarshal([]byte(tt.in), &v)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "2001-02") {
					t.Errorf("error repeats the input: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if v.N != tt.wantName || v.D != tt.wantDate {
				t.Errorf("got (%s, %s), want (%s, %s)", v.N.Reveal(), v.D.Reveal(), tt.wantName.Reveal(), tt.wantDate.Reveal())
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		kind errs.Kind
	}{
		{"2024-01-31", true, errs.Other},
		{"2024-02-30", false, errs.Invalid},
		{"24-01-31", false, errs.Invalid},
		{"", false, errs.Invalid},
		{canary, false, errs.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := phi.ParseDate(tt.in)
			if tt.ok {
				if err != nil || d.Reveal() != tt.in {
					t.Fatalf("ParseDate(%q) = %q, %v", tt.in, d.Reveal(), err)
				}
				return
			}
			if errs.KindOf(err) != tt.kind || strings.Contains(err.Error(), tt.in) && tt.in != "" {
				t.Errorf("ParseDate(%q) err = %v, want kind %v without the input", tt.in, err, tt.kind)
			}
		})
	}
}
