package attest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
)

// Format names the envelope format; Verify refuses any other.
const Format = "attest-attestation/v1"

// Payload is what an attestation signs: the frozen report and who froze it, when.
type Payload struct {
	ID       string        `json:"id"`
	FrozenAt time.Time     `json:"frozen_at"`
	FrozenBy string        `json:"frozen_by"` // the principal, "officer:u-17"
	Report   report.Report `json:"report"`
	// Computation is how the server computed the report it froze (absent for a report
	// frozen as sent): with the log positions in the report, what a recompute needs.
	Computation *Computation `json:"computation,omitempty"`
}

// Computation is what a server-computed report was asked with, beyond what the report
// itself records (program, year, entity, period, first year, CEHRT ID).
type Computation struct {
	// AsOf is the moment deadlines were judged at; absent: counted as final.
	AsOf    *time.Time `json:"as_of,omitempty"`
	Variant string     `json:"variant,omitempty"`
	Exclude []string   `json:"exclude,omitempty"`
	// Money are the money inputs given with the request (quality, cost, …), by name.
	Money map[string]string `json:"money,omitempty"`
}

// Envelope is the exported attestation file: the payload in canonical form, its
// SHA-256, the Ed25519 signature over that digest, and the key that signed it. The
// file is the canonical form (RFC 8785) of this object followed by one newline, so
// any change to any byte of it is detectable.
type Envelope struct {
	Format           string          `json:"format"`
	Canonicalization string          `json:"canonicalization"` // "RFC 8785"
	Algorithm        string          `json:"algorithm"`        // "Ed25519 over SHA-256(payload)"
	Payload          json.RawMessage `json:"payload"`          // canonical JSON of Payload
	PayloadSHA256    string          `json:"payload_sha256"`   // hex
	Signature        string          `json:"signature"`        // base64 (standard, padded)
	PublicKey        string          `json:"public_key"`       // base64 of the 32-byte Ed25519 key
	KeyID            string          `json:"key_id"`           // hex of the first 8 bytes of SHA-256(public key)
}

// KeyID names a public key: the hex of the first 8 bytes of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Seal signs p with key and returns the attestation file and its payload digest.
func Seal(p Payload, key ed25519.PrivateKey) (file []byte, digest string, err error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, "", fmt.Errorf("seal: marshal payload: %w", err)
	}
	payload, err := Canonical(raw)
	if err != nil {
		return nil, "", fmt.Errorf("seal: canonicalize payload: %w", err)
	}
	sum := sha256.Sum256(payload)
	pub := key.Public().(ed25519.PublicKey)
	env := Envelope{
		Format: Format, Canonicalization: "RFC 8785", Algorithm: "Ed25519 over SHA-256(payload)",
		Payload: payload, PayloadSHA256: hex.EncodeToString(sum[:]),
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, sum[:])),
		PublicKey: base64.StdEncoding.EncodeToString(pub), KeyID: KeyID(pub),
	}
	return append(env.canonical(), '\n'), env.PayloadSHA256, nil
}

// canonical writes the envelope in RFC 8785 form, its payload (already canonical)
// as is: members in code unit order, strings escaped as Canonical does. Writing it
// directly spares canonicalizing a payload of hundreds of megabytes twice.
func (e Envelope) canonical() []byte {
	buf := make([]byte, 0, len(e.Payload)+512)
	members := []struct{ key, value string }{ // sorted by key
		{"algorithm", e.Algorithm}, {"canonicalization", e.Canonicalization}, {"format", e.Format},
		{"key_id", e.KeyID}, {"payload", ""}, {"payload_sha256", e.PayloadSHA256},
		{"public_key", e.PublicKey}, {"signature", e.Signature},
	}
	buf = append(buf, '{')
	for i, m := range members {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(appendString(buf, m.key), ':')
		if m.key == "payload" {
			buf = append(buf, e.Payload...)
			continue
		}
		buf = appendString(buf, m.value)
	}
	return append(buf, '}')
}

// Check is one verification step and its outcome.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Verification is the outcome of Verify: every check made, in order, and when it
// succeeded, the payload.
type Verification struct {
	KeyID   string
	Checks  []Check
	Payload *Payload

	publicKey string // base64, as in the file
	digest    string
}

// OK reports whether every check passed.
func (v Verification) OK() bool {
	for _, c := range v.Checks {
		if !c.OK {
			return false
		}
	}
	return len(v.Checks) > 0
}

// Err is nil when every check passed, else an error naming each failed check.
func (v Verification) Err() error {
	var failed []string
	for _, c := range v.Checks {
		if !c.OK {
			failed = append(failed, c.Name+": "+c.Detail)
		}
	}
	if len(failed) == 0 && len(v.Checks) > 0 {
		return nil
	}
	return errs.E(errs.Unprocessable, "attestation does not verify: %s", strings.Join(failed, "; "))
}

func (v *Verification) check(name string, ok bool, detail string, args ...any) bool {
	v.Checks = append(v.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(detail, args...)})
	return ok
}

// Verify checks an attestation file offline: it is an envelope of this format in
// JSON, byte for byte its RFC 8785 canonical form (one trailing newline allowed);
// its payload hashes to payload_sha256; the key ID names the public key; the
// signature over the digest is the key's; the payload decodes as an attestation of
// a report. pinned, when not nil, is the key the file must be signed with (the
// reporting service's); without it anyone's key that signs correctly passes, and
// the result says which key that was. Verify stops at the first failed step that
// makes later ones meaningless and reports every step it made.
func Verify(file []byte, pinned ed25519.PublicKey) Verification {
	var v Verification
	body := bytes.TrimSuffix(file, []byte("\n"))
	var env Envelope
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(&env)
	if !v.check("json", err == nil && utf8.Valid(body), "%s", okOr(err, "the file is a JSON attestation envelope")) {
		return v
	}
	payload, err := Canonical(env.Payload)
	if !v.check("payload json", err == nil, "%s", okOr(err, "the payload is JSON")) {
		return v
	}
	canon := env
	canon.Payload = payload
	want := canon.canonical()
	if !v.check("canonical form", bytes.Equal(want, body), "%s",
		diffAt(body, want, "the file is byte for byte its RFC 8785 canonical form")) {
		return v
	}
	if !v.check("envelope", env.Format == Format, "format %q, want %q", env.Format, Format) {
		return v
	}
	sum := sha256.Sum256(env.Payload)
	if !v.check("payload hash", hex.EncodeToString(sum[:]) == env.PayloadSHA256,
		"SHA-256 of the payload is %x; the file says %s", sum, env.PayloadSHA256) {
		return v
	}
	v.publicKey, v.digest = env.PublicKey, env.PayloadSHA256
	pubBytes, err := base64.StdEncoding.DecodeString(env.PublicKey)
	if !v.check("public key", err == nil && len(pubBytes) == ed25519.PublicKeySize, "a %d-byte Ed25519 key in base64", ed25519.PublicKeySize) {
		return v
	}
	pub := ed25519.PublicKey(pubBytes)
	v.KeyID = KeyID(pub)
	if !v.check("key id", v.KeyID == env.KeyID, "the public key's ID is %s; the file says %s", v.KeyID, env.KeyID) {
		return v
	}
	if pinned != nil {
		v.check("trusted key", bytes.Equal(pinned, pub), "signed by key %s; the trusted key is %s", v.KeyID, KeyID(pinned))
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signature)
	if !v.check("signature", err == nil && ed25519.Verify(pub, sum[:], sig), "Ed25519 signature over the payload digest by key %s", v.KeyID) {
		return v
	}
	var p Payload
	dec = json.NewDecoder(bytes.NewReader(env.Payload))
	dec.DisallowUnknownFields()
	err = dec.Decode(&p)
	v.check("payload", err == nil, "%s", okOr(err, "the payload is an attestation of a report"))
	if err == nil {
		v.Payload = &p
	}
	return v
}

func okOr(err error, ok string) string {
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return e.Error()
		}
		return "not valid: " + err.Error()
	}
	return ok
}

// diffAt says where got first differs from want, or ok when they are equal.
func diffAt(got, want []byte, ok string) string {
	if bytes.Equal(got, want) {
		return ok
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("the file differs from its canonical form at byte %d: it was edited or re-encoded", i)
}
