// Package keyring seals and opens messaging's PHI at rest — message bodies, subjects,
// attachments — with AES-256-GCM under keys from configuration, each named by a key
// ID. One key is active and seals everything new; the others only open what they
// sealed before, so keys rotate without rewriting data at once (a re-encryption job
// moves old rows to the active key when convenient).
//
// Every sealed value is bound to where it is stored by additional authenticated data
// (e.g. "message:<id>:content"): ciphertext copied to another row does not open.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/attest-ehr/attest/libs/errs"
)

// KeySize is the size of a key in bytes: AES-256.
const KeySize = 32

// nonceSize is GCM's standard nonce size. Nonces are random; NIST SP 800-38D bounds
// random 96-bit nonces to 2^32 seals per key, far beyond a key's life here.
const nonceSize = 12

// Keyring holds the configured keys. It is safe for concurrent use.
type Keyring struct {
	active string
	aeads  map[string]cipher.AEAD
	macs   map[string][]byte // per key, a separate key for fingerprints (HKDF)
}

// Parse reads keys in the form "kid1:base64key,kid2:base64key" (standard or URL
// base64 of 32 bytes) and the ID of the active one. With a single key, active may be
// empty. Errors name the setting and never contain key material.
func Parse(keys, active string) (*Keyring, error) {
	m := map[string][]byte{}
	var order []string
	for i, part := range strings.Split(keys, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kid, b64, ok := strings.Cut(part, ":")
		if !ok || !validKeyID(kid) {
			return nil, errs.Field(errs.Invalid, "MESSAGING_KEYS", "entry %d must be kid:base64key with a key ID of 1 to 32 letters, digits, '-' or '_'", i+1)
		}
		if _, dup := m[kid]; dup {
			return nil, errs.Field(errs.Invalid, "MESSAGING_KEYS", "key ID %q is listed twice", kid)
		}
		key, err := decodeKey(b64)
		if err != nil {
			return nil, errs.Field(errs.Invalid, "MESSAGING_KEYS", "key %q: %s", kid, err.Error())
		}
		m[kid] = key
		order = append(order, kid)
	}
	if len(m) == 0 {
		return nil, errs.Field(errs.Invalid, "MESSAGING_KEYS", "no keys")
	}
	if active == "" {
		if len(order) > 1 {
			return nil, errs.Field(errs.Invalid, "MESSAGING_ACTIVE_KEY", "required when MESSAGING_KEYS lists more than one key")
		}
		active = order[0]
	}
	if _, ok := m[active]; !ok {
		return nil, errs.Field(errs.Invalid, "MESSAGING_ACTIVE_KEY", "names a key ID that MESSAGING_KEYS does not list")
	}
	return New(active, m)
}

// New returns a keyring of the given keys (key ID → 32-byte key) sealing with active.
func New(active string, keys map[string][]byte) (*Keyring, error) {
	k := &Keyring{active: active, aeads: map[string]cipher.AEAD{}, macs: map[string][]byte{}}
	for kid, key := range keys {
		if !validKeyID(kid) {
			return nil, errs.E(errs.Invalid, "keyring: invalid key ID %q", kid)
		}
		if len(key) != KeySize {
			return nil, errs.E(errs.Invalid, "keyring: key %q is %d bytes, want %d", kid, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", kid, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", kid, err)
		}
		k.aeads[kid] = aead
		mac, err := hkdf.Key(sha256.New, key, nil, "attest messaging fingerprint", sha256.Size)
		if err != nil {
			return nil, fmt.Errorf("keyring: derive fingerprint key of %q: %w", kid, err)
		}
		k.macs[kid] = mac
	}
	if _, ok := k.aeads[active]; !ok {
		return nil, errs.E(errs.Invalid, "keyring: active key %q is not among the keys", active)
	}
	return k, nil
}

// Generate returns a fresh random key, base64-encoded as Parse reads it.
func Generate() (string, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("keyring: generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(key), nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, errs.E(errs.Invalid, "must decode to %d bytes, got %d", KeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, errs.E(errs.Invalid, "is not base64")
}

func validKeyID(kid string) bool {
	if kid == "" || len(kid) > 32 {
		return false
	}
	for _, c := range kid {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Active is the ID of the key that seals.
func (k *Keyring) Active() string { return k.active }

// Has reports whether the keyring holds the key kid.
func (k *Keyring) Has(kid string) bool { _, ok := k.aeads[kid]; return ok }

// Seal encrypts plaintext under the active key, bound to aad, and returns the key ID
// and nonce || ciphertext || tag.
func (k *Keyring) Seal(plaintext, aad []byte) (kid string, sealed []byte, err error) {
	aead := k.aeads[k.active]
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return "", nil, fmt.Errorf("keyring: nonce: %w", err)
	}
	return k.active, aead.Seal(out, out, plaintext, aad), nil
}

// Open decrypts what Seal returned under key kid with the same aad. A key the
// keyring lacks, or a value that does not authenticate (tampered with, moved to
// another row, or under another key), is an error naming the key ID only.
func (k *Keyring) Open(kid string, sealed, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[kid]
	if !ok {
		return nil, fmt.Errorf("keyring: key %q is not configured (add it to MESSAGING_KEYS until data is re-encrypted)", kid)
	}
	if len(sealed) < nonceSize+aead.Overhead() {
		return nil, fmt.Errorf("keyring: sealed value under key %q is too short", kid)
	}
	pt, err := aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], aad)
	if err != nil {
		return nil, fmt.Errorf("keyring: value under key %q does not authenticate", kid)
	}
	return pt, nil
}

// Fingerprint is an HMAC-SHA256 of data under a key derived from the active key,
// with the key ID: a way to recognise a repeated request without storing it, or an
// unkeyed hash that low-entropy PHI could be guessed from.
func (k *Keyring) Fingerprint(data []byte) (kid string, sum []byte) {
	return k.active, k.mac(k.active, data)
}

// SameFingerprint reports whether sum is data's fingerprint under key kid. A key the
// keyring lacks never matches.
func (k *Keyring) SameFingerprint(kid string, sum, data []byte) bool {
	if _, ok := k.macs[kid]; !ok {
		return false
	}
	return hmac.Equal(sum, k.mac(kid, data))
}

func (k *Keyring) mac(kid string, data []byte) []byte {
	h := hmac.New(sha256.New, k.macs[kid])
	h.Write(data)
	return h.Sum(nil)
}
