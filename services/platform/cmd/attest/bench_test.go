package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestBenchRefusesBadArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"tier not a number", []string{"--tiers", "10000,lots"}, `"lots" is not a patient count`},
		{"tier zero", []string{"--tiers", "0"}, `"0" is not a patient count`},
		{"extra argument", []string{"now"}, `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), append([]string{"bench"}, tt.args...), func(string) string { return "" }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
