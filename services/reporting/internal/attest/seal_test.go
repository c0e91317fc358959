package attest_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/services/reporting/internal/attest"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
	"github.com/attest-ehr/attest/services/reporting/internal/report/reporttest"
)

// TestMain checks that no database pool or driver goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func TestCanonical(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// RFC 8785 §3.2.2 and §3.2.3: whitespace, escapes, member order by UTF-16 code units.
		{"whitespace and order", `{ "b" : [ 1 , true , null ], "a" : "x" }`, `{"a":"x","b":[1,true,null]}`},
		{"escapes", `"\u0041\u00e9\u20ac\/\"\\\b\f\n\r\t\u001f"`, `"Aé€/\"\\\b\f\n\r\t\u001f"`},
		// U+FB33 sorts after U+1F600 in UTF-16 (0xFB33 > 0xD83D), before it by code point.
		{"utf-16 order", `{"\ufb33":6,"\u20ac":1,"\ud83d\ude00":2,"\u0080":3,"1":4,"a":5}`,
			"{\"1\":4,\"a\":5,\"\u0080\":3,\"\u20ac\":1,\"\U0001F600\":2,\"\ufb33\":6}"},
		{"nested", `{"z":{"y":1,"x":[{"b":2,"a":1}]}}`, `{"z":{"x":[{"a":1,"b":2}],"y":1}}`},
		{"integers", `[0, -0, 9007199254740991, -9007199254740991, 1E3, 1.0e2]`, `[0,0,9007199254740991,-9007199254740991,1000,100]`},
	}
	for _, tt := range tests {
		got, err := attest.Canonical([]byte(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: %s, %v; want %s", tt.name, got, err, tt.want)
		}
	}
	for _, bad := range []string{`1.5`, `9007199254740992`, `{"a":1} x`, "\"\xff\"", `{"a":`, `1e16`} {
		if _, err := attest.Canonical([]byte(bad)); err == nil {
			t.Errorf("Canonical(%q) accepted", bad)
		}
	}
}

// smallReport is the sample report with the member list of PI_EP_1 only (116
// members), which keeps the many verifications here fast.
func smallReport(t *testing.T) report.Report {
	t.Helper()
	in := reporttest.Input(false)
	ep := in.Measures["PI_EP_1"]
	ep.Members = reporttest.Members("PI_EP_1", ep.Numerator, ep.Denominator)
	in.Measures["PI_EP_1"] = ep
	r, err := report.Build(in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sealed(t *testing.T, key ed25519.PrivateKey) []byte {
	t.Helper()
	p := attest.Payload{ID: "0191e0a4-7c2e-7000-8000-000000000001", FrozenAt: time.Date(2025, 7, 3, 8, 0, 0, 0, time.UTC),
		FrozenBy: "officer:u-17", Report: smallReport(t)}
	file, digest, err := attest.Seal(p, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(digest) != 64 {
		t.Fatalf("digest %q", digest)
	}
	return file
}

func TestSealVerifies(t *testing.T) {
	key := testKey(1)
	file := sealed(t, key)
	v := attest.Verify(file, key.Public().(ed25519.PublicKey))
	if err := v.Err(); err != nil || !v.OK() {
		t.Fatalf("a fresh attestation does not verify: %v", err)
	}
	if v.Payload == nil || v.Payload.FrozenBy != "officer:u-17" || len(v.Payload.Report.Measures) != 16 ||
		v.Payload.Report.MemberCount() != 116 {
		t.Fatalf("payload did not survive: %+v", v.Payload)
	}
	if v.KeyID != attest.KeyID(key.Public().(ed25519.PublicKey)) {
		t.Errorf("key id %s", v.KeyID)
	}
	// Sealing is deterministic: the same payload and key give the same file.
	if again := sealed(t, key); !bytes.Equal(again, file) {
		t.Error("sealing the same payload twice gave different files")
	}
	// Without a pinned key it verifies too, and says whose key.
	if v := attest.Verify(file, nil); !v.OK() || v.KeyID == "" {
		t.Errorf("unpinned verification: %+v", v.Checks)
	}
}

// TestTamperedAttestationFails changes one byte of an attestation file at places
// that matter — a count in the payload, a patient ID, who froze it, the digest, the
// signature, the key, the key ID, the format, the JSON structure, the whitespace —
// and at evenly spaced positions, and expects verification to fail, naming the
// step.
func TestTamperedAttestationFails(t *testing.T) {
	key := testKey(2)
	pub := key.Public().(ed25519.PublicKey)
	file := sealed(t, key)
	at := func(substr string, offset int) int {
		i := bytes.Index(file, []byte(substr))
		if i < 0 {
			t.Fatalf("%q not in the file", substr)
		}
		return i + offset
	}
	var env attest.Envelope
	if err := json.Unmarshal(file, &env); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		pos   int
		to    byte // 0: flip the lowest bit
		check string
	}{
		{"numerator digit", at(`"numerator":49,`, len(`"numerator":`)), '5', "payload hash"},
		{"patient ID", at(`"patient_id":"pt-0000007"`, len(`"patient_id":"pt-000000`)), '8', "payload hash"},
		{"frozen by", at(`"frozen_by":"officer:u-17"`, len(`"frozen_by":"officer:u-1`)), '8', "payload hash"},
		{"logic version", at(`"logic_version":"measure-catalog/2025.1`, len(`"logic_version":"measure-catalog/2025.`)), '2', "payload hash"},
		{"log offset", at(`"offset":1200`, len(`"offset":12`)), '1', "payload hash"},
		{"status", at(`"status":"met"`, len(`"status":"m`)), 'a', "payload hash"},
		{"digest", at(`"payload_sha256":"`, len(`"payload_sha256":"`)), flipHex(env.PayloadSHA256[0]), "payload hash"},
		{"signature", at(`"signature":"`, len(`"signature":"`)+10), flipB64(env.Signature[10]), "signature"},
		{"public key", at(`"public_key":"`, len(`"public_key":"`)+3), flipB64(env.PublicKey[3]), "key id"},
		{"key id", at(`"key_id":"`, len(`"key_id":"`)), flipHex(env.KeyID[0]), "key id"},
		{"format", at(`"format":"attest-attestation/v1"`, len(`"format":"attest-attestation/v`)), '2', "envelope"},
		{"structure", 0, '[', "json"},
		{"whitespace", len(file) - 1, ' ', "canonical form"},
		{"member name", at(`"algorithm"`, 1), 'z', "json"},
		{"member case", at(`"algorithm"`, 1), 'A', "canonical form"},
	}
	for i := 1; i < 8; i++ {
		tests = append(tests, struct {
			name  string
			pos   int
			to    byte
			check string
		}{name: "byte " + string(rune('0'+i)) + "/8", pos: len(file) * i / 8})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := bytes.Clone(file)
			if tt.to == 0 {
				bad[tt.pos] ^= 1
			} else {
				if bad[tt.pos] == tt.to {
					t.Fatalf("byte %d is already %q", tt.pos, tt.to)
				}
				bad[tt.pos] = tt.to
			}
			v := attest.Verify(bad, pub)
			if v.OK() || v.Err() == nil {
				t.Fatalf("a file changed at byte %d verifies", tt.pos)
			}
			if tt.check != "" && !failed(v, tt.check) {
				t.Errorf("checks %+v, want %q to fail", v.Checks, tt.check)
			}
		})
	}
}

func failed(v attest.Verification, name string) bool {
	for _, c := range v.Checks {
		if c.Name == name {
			return !c.OK
		}
	}
	return false
}

func flipHex(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}

func flipB64(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

// TestResealedWithAnotherKeyFailsThePin: whoever edits the report and re-signs it
// with their own key makes a file that verifies on its own, but not against the
// service's key.
func TestResealedWithAnotherKeyFailsThePin(t *testing.T) {
	service, forger := testKey(3), testKey(4)
	file := sealed(t, forger)
	v := attest.Verify(file, service.Public().(ed25519.PublicKey))
	if v.OK() || !failed(v, "trusted key") {
		t.Fatalf("checks %+v, want the trusted key check to fail", v.Checks)
	}
	if !strings.Contains(v.Err().Error(), attest.KeyID(forger.Public().(ed25519.PublicKey))) {
		t.Errorf("error %v does not name the signing key", v.Err())
	}
}

func TestVerifyNamesTheDigest(t *testing.T) {
	key := testKey(5)
	file := sealed(t, key)
	var env attest.Envelope
	if err := json.Unmarshal(file, &env); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(env.Payload)
	if env.PayloadSHA256 != strings.ToLower(hexString(sum[:])) {
		t.Errorf("payload_sha256 %s is not SHA-256 of the payload", env.PayloadSHA256)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
