package policy_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/gateway/internal/policy"
)

// BenchmarkDecide measures matching a request to its rule and deciding it for a
// clinician in scope (a patient-clinic lookup in the fake directory).
func BenchmarkDecide(b *testing.B) {
	table, err := policy.New(policy.Rules(), dir{})
	if err != nil {
		b.Fatal(err)
	}
	p := caller(principal.Clinician, true)
	req := httptest.NewRequest("GET", "/v1/patients/p-own/facts", nil)
	ctx := context.Background()
	for b.Loop() {
		if _, err := table.Decide(ctx, &p, "metrics", req); err != nil {
			b.Fatal(err)
		}
	}
}
