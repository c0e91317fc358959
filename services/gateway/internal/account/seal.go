package account

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// Box seals secrets the gateway must read back — TOTP keys — with AES-256-GCM, so a
// copy of the database alone does not give an attacker anyone's second factor (ONC
// d(12)). The account ID is the additional data: a sealed key moved to another
// account does not open.
type Box struct{ aead cipher.AEAD }

// KeySize is the size of a Box key.
const KeySize = 32

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("account: seal key must be %d bytes", KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("account: seal key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("account: seal key: %w", err)
	}
	return &Box{aead: aead}, nil
}

// sealPrefix versions the sealed form.
const sealPrefix = "v1:"

// Seal returns plaintext sealed for accountID: "v1:" and the base64 of nonce and
// ciphertext. "" stays "".
func (b *Box) Seal(accountID, plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("account: nonce: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(accountID))
	return sealPrefix + base64.StdEncoding.EncodeToString(out), nil
}

// Open reverses Seal; a value sealed for another account, with another key, or
// altered does not open.
func (b *Box) Open(accountID, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, sealPrefix))
	if err != nil || !strings.HasPrefix(sealed, sealPrefix) || len(raw) < b.aead.NonceSize() {
		return "", fmt.Errorf("account: sealed secret of account %s is malformed", accountID)
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(accountID))
	if err != nil {
		return "", fmt.Errorf("account: sealed secret of account %s does not open with this key", accountID)
	}
	return string(plain), nil
}
