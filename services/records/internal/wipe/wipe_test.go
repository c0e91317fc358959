package wipe_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/records/internal/wipe"
)

func TestVerify(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	good := wipe.Statement{Type: wipe.Type, DeviceID: "tab-1", SessionID: "ses-1",
		Wiped: time.Date(2025, 3, 4, 15, 0, 0, 0, time.UTC), Cleared: wipe.Required()}
	sign := func(k ed25519.PrivateKey, s wipe.Statement) ([]byte, []byte) {
		st, sig, err := wipe.Sign(k, s)
		if err != nil {
			t.Fatal(err)
		}
		return st, sig
	}
	with := func(f func(*wipe.Statement)) wipe.Statement {
		s := good
		s.Cleared = append([]string(nil), good.Cleared...)
		f(&s)
		return s
	}
	st, sig := sign(priv, good)
	tampered := append([]byte(nil), st...)
	tampered[len(tampered)-3] ^= 1

	type testCase struct {
		name      string
		key       ed25519.PublicKey
		statement []byte
		signature []byte
		kind      errs.Kind
		field     string
	}
	all := with(func(s *wipe.Statement) { s.Cleared = []string{"*"} })
	allSt, allSig := sign(priv, all)
	otherSt, otherSig := sign(otherPriv, good)
	tests := []testCase{
		{"good", pub, st, sig, 0, ""},
		{"everything (*)", pub, allSt, allSig, 0, ""},
		{"no statement", pub, nil, sig, errs.Invalid, "statement"},
		{"short signature", pub, st, sig[:10], errs.Invalid, "signature"},
		{"another device's key", otherPub, st, sig, errs.Unprocessable, "signature"},
		{"signed by another key", pub, otherSt, otherSig, errs.Unprocessable, "signature"},
		{"tampered statement", pub, tampered, sig, errs.Unprocessable, "signature"},
	}
	for _, bad := range []struct {
		name  string
		f     func(*wipe.Statement)
		kind  errs.Kind
		field string
	}{
		{"wrong type", func(s *wipe.Statement) { s.Type = "login" }, errs.Invalid, "statement.type"},
		{"other device", func(s *wipe.Statement) { s.DeviceID = "tab-2" }, errs.Unprocessable, "statement.device_id"},
		{"other session", func(s *wipe.Statement) { s.SessionID = "ses-0" }, errs.Unprocessable, "statement.session_id"},
		{"no time", func(s *wipe.Statement) { s.Wiped = time.Time{} }, errs.Invalid, "statement.wiped"},
		{"storage left", func(s *wipe.Statement) { s.Cleared = []string{"cache", "cookies", "executionContexts"} }, errs.Unprocessable, "statement.cleared"},
		{"nothing cleared", func(s *wipe.Statement) { s.Cleared = nil }, errs.Unprocessable, "statement.cleared"},
	} {
		s, g := sign(priv, with(bad.f))
		tests = append(tests, testCase{bad.name, pub, s, g, bad.kind, bad.field})
	}
	notJSON := []byte(`{"type":"attest.wipe.v1","extra":1}`)
	tests = append(tests, testCase{"unknown field", pub, notJSON, ed25519.Sign(priv, notJSON), errs.Invalid, "statement"})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := wipe.Verify(tt.key, tt.statement, tt.signature, "tab-1", "ses-1")
			if tt.field == "" {
				if err != nil || s.SessionID != "ses-1" {
					t.Fatalf("Verify = %+v, %v", s, err)
				}
				return
			}
			if errs.KindOf(err) != tt.kind || errs.FieldOf(err) != tt.field {
				t.Errorf("Verify: %v, want %v on %q", err, tt.kind, tt.field)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	if m := wipe.Missing([]string{"cookies", "cache"}); len(m) != 2 || m[0] != "storage" || m[1] != "executionContexts" {
		t.Errorf("Missing = %v", m)
	}
	if m := wipe.Missing([]string{"*"}); m != nil {
		t.Errorf("Missing(*) = %v", m)
	}
}
