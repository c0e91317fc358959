package account_test

import (
	"testing"

	"github.com/attest-ehr/attest/services/gateway/internal/account"
)

// BenchmarkHashPassword measures one argon2id hash at the OWASP parameters: the cost
// of every sign-in, and of every guess an attacker with the table makes.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := account.HashPassword("correct horse battery", account.OWASP()); err != nil {
			b.Fatal(err)
		}
	}
}
