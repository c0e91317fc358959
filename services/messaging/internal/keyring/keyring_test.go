package keyring_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/messaging/internal/keyring"
)

func key(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, keyring.KeySize))
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, keys, active string
		wantActive         string
		wantField          string // "" when valid
	}{
		{"one key, active implied", "k1:" + key(1), "", "k1", ""},
		{"two keys, active named", "k1:" + key(1) + ", k2:" + key(2), "k2", "k2", ""},
		{"URL base64 without padding", "k1:" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), "", "k1", ""},
		{"empty", "", "", "", "MESSAGING_KEYS"},
		{"no colon", key(1), "", "", "MESSAGING_KEYS"},
		{"bad key ID", "k 1:" + key(1), "", "", "MESSAGING_KEYS"},
		{"short key", "k1:" + base64.StdEncoding.EncodeToString([]byte("short")), "", "", "MESSAGING_KEYS"},
		{"not base64", "k1:!!!", "", "", "MESSAGING_KEYS"},
		{"duplicate ID", "k1:" + key(1) + ",k1:" + key(2), "k1", "", "MESSAGING_KEYS"},
		{"two keys, no active", "k1:" + key(1) + ",k2:" + key(2), "", "", "MESSAGING_ACTIVE_KEY"},
		{"active not listed", "k1:" + key(1), "k9", "", "MESSAGING_ACTIVE_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := keyring.Parse(tt.keys, tt.active)
			if tt.wantField != "" {
				if errs.KindOf(err) != errs.Invalid || errs.FieldOf(err) != tt.wantField {
					t.Fatalf("Parse error = %v, want Invalid on %s", err, tt.wantField)
				}
				if strings.Contains(err.Error(), key(1)) || strings.Contains(err.Error(), key(2)) {
					t.Errorf("error reveals key material: %v", err)
				}
				return
			}
			if err != nil || k.Active() != tt.wantActive {
				t.Fatalf("Parse = %v, %v; want active %s", k, err, tt.wantActive)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	old, err := keyring.Parse("k1:"+key(1), "")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := keyring.Parse("k1:"+key(1)+",k2:"+key(2), "k2")
	if err != nil {
		t.Fatal(err)
	}
	onlyNew, err := keyring.Parse("k2:"+key(2), "")
	if err != nil {
		t.Fatal(err)
	}
	plaintext, aad := []byte("ZZCANARY message body"), []byte("message:m1:content")
	kid, sealed, err := old.Seal(plaintext, aad)
	if err != nil || kid != "k1" {
		t.Fatalf("Seal = %q, %v", kid, err)
	}
	if bytes.Contains(sealed, plaintext) {
		t.Fatal("sealed value contains the plaintext")
	}
	_, again, _ := old.Seal(plaintext, aad)
	if bytes.Equal(sealed, again) {
		t.Error("two seals of one plaintext are equal: the nonce is not random")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1

	tests := []struct {
		name   string
		k      *keyring.Keyring
		kid    string
		sealed []byte
		aad    []byte
		ok     bool
	}{
		{"same keyring", old, "k1", sealed, aad, true},
		{"after rotation the old key still opens", rotated, "k1", sealed, aad, true},
		{"old key removed", onlyNew, "k1", sealed, aad, false},
		{"moved to another row", old, "k1", sealed, []byte("message:m2:content"), false},
		{"tampered", old, "k1", tampered, aad, false},
		{"truncated", old, "k1", sealed[:10], aad, false},
		{"wrong key ID", rotated, "k2", sealed, aad, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.k.Open(tt.kid, tt.sealed, tt.aad)
			if tt.ok != (err == nil) {
				t.Fatalf("Open error = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && !bytes.Equal(got, plaintext) {
				t.Errorf("Open = %q", got)
			}
			if err != nil && bytes.Contains([]byte(err.Error()), plaintext) {
				t.Errorf("error reveals the plaintext: %v", err)
			}
		})
	}
	if kid, _, _ := rotated.Seal(plaintext, aad); kid != "k2" {
		t.Errorf("rotated keyring seals under %q, want k2", kid)
	}
}

func TestFingerprint(t *testing.T) {
	k, err := keyring.Parse("k1:"+key(1)+",k2:"+key(2), "k1")
	if err != nil {
		t.Fatal(err)
	}
	kid, sum := k.Fingerprint([]byte("request"))
	if kid != "k1" || !k.SameFingerprint(kid, sum, []byte("request")) {
		t.Fatal("a fingerprint does not match its own data")
	}
	if k.SameFingerprint(kid, sum, []byte("other request")) {
		t.Error("a fingerprint matches other data")
	}
	if k.SameFingerprint("k2", sum, []byte("request")) || k.SameFingerprint("k9", sum, []byte("request")) {
		t.Error("a fingerprint matches under another or an unknown key")
	}
	g, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Parse("gen:"+g, ""); err != nil {
		t.Errorf("a generated key does not parse: %v", err)
	}
}
