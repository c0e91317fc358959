package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/libs/telemetry"
)

const canary = "ZZCANARY-91c2"

type patient struct {
	ID   string
	Name phi.Name
}

type opaqueID string

// groupValuer resolves to a group, as a LogValuer may.
type groupValuer struct{}

func (groupValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", "p1"), slog.String("email", canary))
}

// attrsOf logs through a PHI guard over a JSON handler and returns the record's
// attributes (time, level and msg removed).
func attrsOf(t *testing.T, log func(*slog.Logger)) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	log(slog.New(telemetry.NewPHIGuard(slog.NewJSONHandler(&buf, nil))))
	if strings.Contains(buf.String(), canary) {
		t.Errorf("PHI reached the log: %s", buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	delete(m, "time")
	delete(m, "level")
	delete(m, "msg")
	return m
}

func TestPHIGuardKeys(t *testing.T) {
	redactedKeys := []string{
		"name", "Name", "NAME", "given", "family", "birth_date", "birthDate", "BirthDate", "birthdate",
		"dob", "DOB", "patientDOB", "body", "text", "note", "comment", "address", "phone", "email",
		"ssn", "SSN", "mrn", "content", "patient_name", "patientName", "given-name", "user.email",
		"home address", "patient_birth_date", "family_name", "FirstName",
	}
	for _, k := range redactedKeys {
		t.Run(k, func(t *testing.T) {
			got := attrsOf(t, func(l *slog.Logger) { l.Info("m", k, canary) })
			if got[k] != "[REDACTED]" {
				t.Errorf("%s = %v, want [REDACTED]", k, got[k])
			}
		})
	}
	keptKeys := []string{"patient_id", "count", "route", "hostname", "context", "content_type", "status", "names_count", "textual"}
	for _, k := range keptKeys {
		t.Run(k, func(t *testing.T) {
			got := attrsOf(t, func(l *slog.Logger) { l.Info("m", k, "v") })
			if got[k] != "v" {
				t.Errorf("%s = %v, want it kept", k, got[k])
			}
		})
	}
}

func TestPHIGuardValues(t *testing.T) {
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want map[string]any
	}{
		{
			name: "nested groups",
			log: func(l *slog.Logger) {
				l.Info("m", slog.Group("patient", "id", "p1", slog.Group("contact", "phone", canary, "kind", "home")))
			},
			want: map[string]any{"patient": map[string]any{"id": "p1", "contact": map[string]any{"phone": "[REDACTED]", "kind": "home"}}},
		},
		{
			name: "group whose key names PHI",
			log:  func(l *slog.Logger) { l.Info("m", slog.Group("address", "city", canary, "zip", canary)) },
			want: map[string]any{"address": "[REDACTED]"},
		},
		{
			name: "inline group",
			log:  func(l *slog.Logger) { l.Info("m", slog.Group("", "id", "p1", "email", canary)) },
			want: map[string]any{"id": "p1", "email": "[REDACTED]"},
		},
		{
			name: "WithGroup naming PHI",
			log:  func(l *slog.Logger) { l.WithGroup("note").With("lang", canary).Info("m", "len", canary) },
			want: map[string]any{"note": map[string]any{"lang": "[REDACTED]", "len": "[REDACTED]"}},
		},
		{
			name: "With inside a group",
			log:  func(l *slog.Logger) { l.WithGroup("patient").With("name", canary, "id", "p1").Info("m") },
			want: map[string]any{"patient": map[string]any{"name": "[REDACTED]", "id": "p1"}},
		},
		{
			name: "struct",
			log:  func(l *slog.Logger) { l.Info("m", "patient", patient{ID: "p1", Name: canary}) },
			want: map[string]any{"patient": "[REDACTED:telemetry_test.patient]"},
		},
		{
			name: "pointer to struct",
			log:  func(l *slog.Logger) { l.Info("m", "p", &patient{Name: canary}) },
			want: map[string]any{"p": "[REDACTED:*telemetry_test.patient]"},
		},
		{
			name: "map, slice, array, bytes",
			log: func(l *slog.Logger) {
				l.Info("m", "m", map[string]string{"x": canary}, "s", []string{canary}, "a", [1]string{canary}, "b", []byte(canary))
			},
			want: map[string]any{"m": "[REDACTED:map[string]string]", "s": "[REDACTED:[]string]", "a": "[REDACTED:[1]string]", "b": "[REDACTED:[]uint8]"},
		},
		{
			name: "phi types under any key",
			log:  func(l *slog.Logger) { l.Info("m", "who", phi.Name(canary), "ref", phi.Identifier(canary)) },
			want: map[string]any{"who": "[REDACTED]", "ref": "[REDACTED]"},
		},
		{
			name: "LogValuer resolving to a group",
			log:  func(l *slog.Logger) { l.Info("m", "p", groupValuer{}) },
			want: map[string]any{"p": map[string]any{"id": "p1", "email": "[REDACTED]"}},
		},
		{
			name: "errors pass",
			log: func(l *slog.Logger) {
				l.Info("m", "err", errors.New("boom"), "kind", errs.E(errs.NotFound, "no such patient"))
			},
			want: map[string]any{"err": "boom", "kind": "no such patient"},
		},
		{
			name: "scalars pass",
			log: func(l *slog.Logger) {
				l.Info("m", "n", 3, "ok", true, "f", 1.5, "at", when, "took", time.Second, "id", opaqueID("p1"), "nil", nil)
			},
			want: map[string]any{
				"n": 3.0, "ok": true, "f": 1.5, "at": "2026-01-02T03:04:05Z", "took": 1e9, "id": "p1", "nil": nil,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, attrsOf(t, tt.log)); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoggerKeepsTraceAttributesTopLevel(t *testing.T) {
	f := newTelemetry(t, nil)
	ctx, span := f.tel.Tracing.Tracer("test").Start(context.Background(), "s")
	defer span.End()
	f.tel.Log.WithGroup("req").With("id", "r1").WithGroup("db").InfoContext(ctx, "m", "rows", 2, "email", canary)
	f.tel.Log.With("service", "reporting").InfoContext(ctx, "narrowed")

	got := lines(t, f.logs.String())
	if strings.Contains(f.logs.String(), canary) {
		t.Errorf("PHI reached the log: %s", f.logs.String())
	}
	for _, l := range got {
		delete(l, "time")
		delete(l, "level")
	}
	tid, sid := span.SpanContext().TraceID().String(), span.SpanContext().SpanID().String()
	want := []map[string]any{
		{
			"msg": "m", "service": "records", "trace_id": tid, "span_id": sid,
			"req": map[string]any{"id": "r1", "db": map[string]any{"rows": 2.0, "email": "[REDACTED]"}},
		},
		{"msg": "narrowed", "service": "reporting", "trace_id": tid, "span_id": sid},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
	if n := strings.Count(f.logs.String(), `"service"`); n != 2 {
		t.Errorf("%d service keys in two lines, want 2:\n%s", n, f.logs.String())
	}
}

// ExampleNewPHIGuard shows the guard on its own, as tests elsewhere use it.
func ExampleNewPHIGuard() {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	log := slog.New(telemetry.NewPHIGuard(h))
	log.Info("registered", "patient_id", "p-123", "family_name", "Lovelace", "patient", patient{ID: "p-123"})
	fmt.Print(buf.String())
	// Output: {"level":"INFO","msg":"registered","patient_id":"p-123","family_name":"[REDACTED]","patient":"[REDACTED:telemetry_test.patient]"}
}
