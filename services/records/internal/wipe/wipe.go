// Package wipe is the wipe confirmation a shared tablet gives when it is checked in: a
// statement of what it cleared, for which session, signed with the device's own
// Ed25519 key (registered when the device was enrolled).
//
// The signature covers the statement's bytes exactly as sent, so no canonical form of
// JSON is needed: the device signs the bytes it sends, the service verifies those bytes
// and only then decodes them. The statement names its type, so a device key signs
// nothing else by accident; it names the device and the session, so a statement
// cannot be replayed for another session; and it lists the Clear-Site-Data directives
// the device ran.
package wipe

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
)

// Type is the statement's type: the only thing a device key signs.
const Type = "attest.wipe.v1"

// Required returns the Clear-Site-Data directives a wipe must cover: browser cache,
// cookies, every kind of storage, and the running pages (ecosystem.md §C.5). "*" stands
// for all of them.
func Required() []string { return []string{"cache", "cookies", "storage", "executionContexts"} }

// Statement is what a device signs at check-in.
type Statement struct {
	Type      string    `json:"type"` // Type
	DeviceID  string    `json:"device_id"`
	SessionID string    `json:"session_id"`
	Wiped     time.Time `json:"wiped"`   // when the device finished clearing
	Cleared   []string  `json:"cleared"` // the Clear-Site-Data directives it ran
}

// Verify checks that signature is key's Ed25519 signature of statement, then that the
// statement is a wipe of deviceID's session sessionID clearing everything Required.
// Errors name the field at fault: "signature", "statement" or "statement.<field>".
func Verify(key ed25519.PublicKey, statement, signature []byte, deviceID, sessionID string) (Statement, error) {
	switch {
	case len(statement) == 0:
		return Statement{}, errs.Field(errs.Invalid, "statement", "required")
	case len(signature) != ed25519.SignatureSize:
		return Statement{}, errs.Field(errs.Invalid, "signature", "an Ed25519 signature is %d bytes", ed25519.SignatureSize)
	case len(key) != ed25519.PublicKeySize:
		return Statement{}, fmt.Errorf("wipe: device key is %d bytes, want %d", len(key), ed25519.PublicKeySize)
	case !ed25519.Verify(key, statement, signature):
		return Statement{}, errs.Field(errs.Unprocessable, "signature", "does not verify with the device's key")
	}
	var s Statement
	dec := json.NewDecoder(bytes.NewReader(statement))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Statement{}, errs.Field(errs.Invalid, "statement", "not a wipe statement (a JSON object of type %s)", Type)
	}
	switch {
	case s.Type != Type:
		return Statement{}, errs.Field(errs.Invalid, "statement.type", "must be %s", Type)
	case s.DeviceID != deviceID:
		return Statement{}, errs.Field(errs.Unprocessable, "statement.device_id", "not the device of the session")
	case s.SessionID != sessionID:
		return Statement{}, errs.Field(errs.Unprocessable, "statement.session_id", "not this session")
	case s.Wiped.IsZero():
		return Statement{}, errs.Field(errs.Invalid, "statement.wiped", "required")
	}
	if missing := Missing(s.Cleared); len(missing) > 0 {
		return Statement{}, errs.Field(errs.Unprocessable, "statement.cleared", "must also clear %s", strings.Join(missing, ", "))
	}
	return s, nil
}

// Missing lists the Required directives cleared does not cover.
func Missing(cleared []string) []string {
	if slices.Contains(cleared, "*") {
		return nil
	}
	var missing []string
	for _, r := range Required() {
		if !slices.Contains(cleared, r) {
			missing = append(missing, r)
		}
	}
	return missing
}

// Sign encodes s and signs it with key: what a device does at check-in (and tests).
func Sign(key ed25519.PrivateKey, s Statement) (statement, signature []byte, err error) {
	statement, err = json.Marshal(s)
	if err != nil {
		return nil, nil, fmt.Errorf("wipe: encode statement: %w", err)
	}
	return statement, ed25519.Sign(key, statement), nil
}
