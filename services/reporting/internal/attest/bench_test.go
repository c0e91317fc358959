package attest_test

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/attest-ehr/attest/services/reporting/internal/attest"
	"github.com/attest-ehr/attest/services/reporting/internal/report/reporttest"
)

// BenchmarkSeal1M canonicalizes, hashes and signs a report with 1,000,000 members.
func BenchmarkSeal1M(b *testing.B) {
	p := attest.Payload{ID: "bench", FrozenAt: time.Unix(0, 0).UTC(), FrozenBy: "officer:u-1", Report: reporttest.Large(b, benchMembers)}
	key := testKey(1)
	b.ReportAllocs()
	b.ResetTimer()
	var size int
	for b.Loop() {
		file, _, err := attest.Seal(p, key)
		if err != nil {
			b.Fatal(err)
		}
		size = len(file)
	}
	b.ReportMetric(float64(size)/1e6, "MB/file")
}

// BenchmarkVerify1M verifies the attestation file of a report with 1,000,000 members.
func BenchmarkVerify1M(b *testing.B) {
	p := attest.Payload{ID: "bench", FrozenAt: time.Unix(0, 0).UTC(), FrozenBy: "officer:u-1", Report: reporttest.Large(b, benchMembers)}
	key := testKey(1)
	file, _, err := attest.Seal(p, key)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if v := attest.Verify(file, key.Public().(ed25519.PublicKey)); !v.OK() {
			b.Fatal(v.Err())
		}
	}
}

// benchMembers is the size of the benchmarks' member lists.
const benchMembers = 1_000_000
