package principal_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
)

func TestRoundTrip(t *testing.T) {
	for _, p := range []principal.Principal{
		{Kind: principal.Patient, ID: "01a200d2-c714-7858-8b0c-7734c80cceb6"},
		{Kind: principal.Proxy, ID: "u-7", For: "p-1"},
		{Kind: principal.Clinician, ID: "1234567893", Clinics: []string{"north", "south"}},
	} {
		got, err := principal.Parse(p.String())
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("Parse(%q) = %+v, %v", p.String(), got, err)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{"", "patient", "king:1", "patient:", "proxy:u-1", "patient:a b", "patient:1;x=y",
		"clinician:1;clinics=a,,b", "patient:1;for="} {
		if _, err := principal.Parse(s); errs.KindOf(err) != errs.Unauthenticated {
			t.Errorf("Parse(%q) = %v, want Unauthenticated", s, err)
		}
	}
}

func TestContext(t *testing.T) {
	if _, err := principal.Require(context.Background()); errs.KindOf(err) != errs.Unauthenticated {
		t.Errorf("Require without a principal: %v", err)
	}
	p := principal.Principal{Kind: principal.Staff, ID: "s-1"}
	got, err := principal.Require(principal.NewContext(context.Background(), p))
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("Require = %+v, %v", got, err)
	}
}
