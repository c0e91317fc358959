package ident_test

import (
	"testing"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/ident"
)

func TestValidNPI(t *testing.T) {
	tests := []struct {
		npi  string
		want bool
	}{
		{"1234567893", true},  // CMS's worked example
		{"1245319599", true},  // a real-format NPI
		{"1234567890", false}, // wrong check digit
		{"123456789", false},  // nine digits
		{"12345678931", false},
		{"123456789X", false},
		{"0234567893", false}, // NPIs start with 1 or 2
		{"", false},
	}
	for _, tt := range tests {
		if got := ident.ValidNPI(tt.npi); got != tt.want {
			t.Errorf("ValidNPI(%q) = %v, want %v", tt.npi, got, tt.want)
		}
	}
}

// TestValidNPIExhaustiveCheckDigit: for a fixed prefix exactly one check digit is valid.
func TestValidNPIExhaustiveCheckDigit(t *testing.T) {
	for _, prefix := range []string{"123456789", "100000000", "299999999", "150803921"} {
		n := 0
		for d := '0'; d <= '9'; d++ {
			if ident.ValidNPI(prefix + string(d)) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("prefix %s: %d valid check digits, want 1", prefix, n)
		}
	}
}

func TestTINAndCCN(t *testing.T) {
	if !ident.ValidTIN("123456789") || ident.ValidTIN("12-3456789") || ident.ValidTIN("12345678") {
		t.Error("ValidTIN")
	}
	for s, want := range map[string]bool{"123456": true, "12C345": true, "12c345": false, "1234567": false, "AB1234": false} {
		if ident.ValidCCN(s) != want {
			t.Errorf("ValidCCN(%q) != %v", s, want)
		}
	}
}

func TestParseEntity(t *testing.T) {
	tests := []struct {
		in      string
		want    contract.Entity
		wantErr bool
	}{
		{"npi:1234567893", contract.Entity{Kind: "npi", ID: "1234567893"}, false},
		{"tin:123456789", contract.Entity{Kind: "tin", ID: "123456789"}, false},
		{"tin_npi:123456789/1234567893", contract.Entity{Kind: "tin_npi", ID: "123456789/1234567893"}, false},
		{"ccn:12C345", contract.Entity{Kind: "ccn", ID: "12C345"}, false},
		{"npi:1234567890", contract.Entity{}, true},
		{"tin_npi:123456789", contract.Entity{}, true},
		{"group:1", contract.Entity{}, true},
		{"1234567893", contract.Entity{}, true},
	}
	for _, tt := range tests {
		got, err := ident.ParseEntity(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseEntity(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			if errs.KindOf(err) != errs.Invalid || errs.FieldOf(err) != "entity" {
				t.Errorf("ParseEntity(%q) error %v: want an Invalid error about field entity", tt.in, err)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("ParseEntity(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
