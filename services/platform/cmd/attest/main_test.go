package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"ATTEST_DATA_DIR": dir, "LOG_LEVEL": "error"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		args    []string
		want    string
		wantErr bool
	}{
		{[]string{"version"}, "attest dev", false},
		{[]string{"help"}, "attest run", false},
		{nil, "Usage:", true},
		{[]string{"frobnicate"}, "Usage:", true},
		{[]string{"run", "--services", "records,nonsense"}, "", true},
		{[]string{"migrate"}, "migrations applied", false},
		{[]string{"verify"}, "", true},
		{[]string{"generate", "--patients", "0"}, "", true},
		{[]string{"verify", "/nonexistent/attestation.json"}, "", true},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := run(context.Background(), tt.args, getenv, &out)
		if (err != nil) != tt.wantErr || !strings.Contains(out.String(), tt.want) {
			t.Errorf("attest %v: err=%v out=%q; want error %v and %q", tt.args, err, out.String(), tt.wantErr, tt.want)
		}
	}
	// A freshly migrated gateway's audit log verifies.
	var audit bytes.Buffer
	if err := run(context.Background(), []string{"audit", "verify"}, getenv, &audit); err != nil ||
		!strings.Contains(audit.String(), "audit log intact") {
		t.Errorf("audit verify: %v %q", err, audit.String())
	}
	if err := run(context.Background(), []string{"audit"}, getenv, &audit); err == nil {
		t.Error("attest audit without verify succeeded")
	}
	// migrate left a migrated database per service.
	for _, svc := range []string{"records", "messaging", "education", "metrics", "reporting", "gateway"} {
		if _, err := os.Stat(filepath.Join(dir, svc+".db")); err != nil {
			t.Errorf("after migrate: %v", err)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), nil, getenv, &out); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("no command: %v, want flag.ErrHelp (exit 2)", err)
	}
}

func TestBrokerCommand(t *testing.T) {
	env := map[string]string{"ATTEST_DATA_DIR": t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"broker", "--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &out)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "listening on 127.0.0.1:") {
		if time.Now().After(deadline) {
			t.Fatalf("broker did not start: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The dead-letter tools reach it by KAFKA_BROKERS.
	addr := strings.Fields(strings.SplitAfter(out.String(), "listening on ")[1])[0]
	var list bytes.Buffer
	dlqEnv := map[string]string{"KAFKA_BROKERS": addr}
	if err := run(ctx, []string{"dlq", "list", "--group", "metrics.records"}, func(k string) string { return dlqEnv[k] }, &list); err != nil ||
		!strings.Contains(list.String(), "0 dead letters on metrics.records.dlq") {
		t.Errorf("dlq list: %v %q", err, list.String())
	}
	for _, args := range [][]string{{"dlq"}, {"dlq", "list"}, {"dlq", "replay", "--group", "g"}} {
		if err := run(ctx, args, func(k string) string { return dlqEnv[k] }, &list); err == nil {
			t.Errorf("attest %v succeeded", args)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
