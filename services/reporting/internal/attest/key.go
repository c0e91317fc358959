package attest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/attest-ehr/attest/libs/errs"
)

// DevKeyFile is the file, in the data directory, holding the development signing
// key generated when REPORTING_SIGNING_KEY is unset.
const DevKeyFile = "reporting-signing-key"

// Key is the signing key and where it came from.
type Key struct {
	Private ed25519.PrivateKey
	// Dev is true for a key generated into (or read back from) the data directory:
	// fine for development, not evidence anyone else should trust.
	Dev  bool
	Path string // the dev key's file, when Dev
}

// ID is the key's ID (see KeyID).
func (k Key) ID() string { return KeyID(k.Public()) }

// PublicBase64 is the public key in standard base64, the form REPORTING_TRUSTED_KEYS
// and `attest verify --public-key` take. It is not a secret.
func (k Key) PublicBase64() string { return base64.StdEncoding.EncodeToString(k.Public()) }

// Public is the key's public half.
func (k Key) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// ParseSeed reads a base64 Ed25519 seed (32 bytes), the form of
// REPORTING_SIGNING_KEY. field names the input in the error; the error never
// repeats the value, which is a secret.
func ParseSeed(field, s string) (ed25519.PrivateKey, error) {
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errs.Field(errs.Invalid, field, "must be the base64 of a %d-byte Ed25519 seed", ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// ParsePublicKey reads a base64 Ed25519 public key (32 bytes).
func ParsePublicKey(field, s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errs.Field(errs.Invalid, field, "must be the base64 of a %d-byte Ed25519 public key", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// ParsePublicKeys reads a comma-separated list of base64 Ed25519 public keys, the
// form of REPORTING_TRUSTED_KEYS.
func ParsePublicKeys(field, list string) ([]ed25519.PublicKey, error) {
	if list == "" {
		return nil, nil
	}
	var out []ed25519.PublicKey
	for _, s := range strings.Split(list, ",") {
		k, err := ParsePublicKey(field, s)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// LoadKey returns the signing key: the seed when one is given (REPORTING_SIGNING_KEY),
// else the development key in dataDir, generated there (mode 0600) on first use.
func LoadKey(seed, dataDir string) (Key, error) {
	if seed != "" {
		k, err := ParseSeed("REPORTING_SIGNING_KEY", seed)
		return Key{Private: k}, err
	}
	path := filepath.Join(dataDir, DevKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := ParseSeed(path, string(b))
		return Key{Private: k, Dev: true, Path: path}, err
	case !errors.Is(err, fs.ErrNotExist):
		return Key{}, fmt.Errorf("read development signing key: %w", err)
	}
	s := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(s); err != nil {
		return Key{}, fmt.Errorf("generate development signing key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return Key{}, fmt.Errorf("create data directory: %w", err)
	}
	// O_EXCL: two processes starting at once must not each write their own key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadKey("", dataDir)
	}
	if err != nil {
		return Key{}, fmt.Errorf("write development signing key: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(s) + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		return Key{}, fmt.Errorf("write development signing key: %w", err)
	}
	return Key{Private: ed25519.NewKeyFromSeed(s), Dev: true, Path: path}, nil
}

// Keys is the service's signing key, loaded when first needed, and the public keys
// it trusts besides it (former keys, after a rotation). Loading the development
// key lazily means a service that never freezes writes nothing to the data
// directory. Keys is safe for concurrent use.
type Keys struct {
	mu      sync.Mutex
	seed    string
	dir     string
	key     Key
	former  []ed25519.PublicKey
	created func(Key) // called when a development key is generated
}

// NewKeys returns the keys: seed (REPORTING_SIGNING_KEY) when set, else the
// development key of dataDir, read now if it exists and generated at the first
// Current otherwise; created is told when that happens. former are public keys
// that signed earlier attestations (REPORTING_TRUSTED_KEYS).
func NewKeys(seed, dataDir string, former []ed25519.PublicKey, created func(Key)) (*Keys, error) {
	k := &Keys{seed: seed, dir: dataDir, former: former, created: created}
	if seed != "" {
		key, err := LoadKey(seed, dataDir)
		if err != nil {
			return nil, err
		}
		k.key = key
		return k, nil
	}
	if _, err := os.Stat(filepath.Join(dataDir, DevKeyFile)); err == nil {
		key, err := LoadKey("", dataDir)
		if err != nil {
			return nil, err
		}
		k.key = key
	}
	return k, nil
}

// Announce logs which key signs attestations, and warns when it is (or will be) a
// development key, so nobody mistakes a development attestation for evidence.
func (k *Keys) Announce(ctx context.Context, log *slog.Logger) {
	switch key, loaded := k.Loaded(); {
	case !loaded:
		log.WarnContext(ctx, "REPORTING_SIGNING_KEY is unset: the first freeze will generate a development key "+
			"into the data directory; set REPORTING_SIGNING_KEY in production", "dir", k.dir)
	case key.Dev:
		log.WarnContext(ctx, "REPORTING_SIGNING_KEY is unset: attestations are signed with the development key "+
			"in the data directory; set REPORTING_SIGNING_KEY in production", "key_id", key.ID(), "public_key", key.PublicBase64(), "path", key.Path)
	default:
		log.InfoContext(ctx, "attestations are signed with REPORTING_SIGNING_KEY", "key_id", key.ID(), "public_key", key.PublicBase64())
	}
}

// Loaded returns the signing key if it has been loaded.
func (k *Keys) Loaded() (Key, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.key, k.key.Private != nil
}

// Current returns the signing key, generating the development key if needed.
func (k *Keys) Current() (Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key.Private != nil {
		return k.key, nil
	}
	key, err := LoadKey("", k.dir)
	if err != nil {
		return Key{}, err
	}
	k.key = key
	if k.created != nil {
		k.created(key)
	}
	return key, nil
}

// Trusts reports whether pub is the signing key or a former one.
func (k *Keys) Trusts(pub ed25519.PublicKey) bool {
	if cur, ok := k.Loaded(); ok && cur.Public().Equal(pub) {
		return true
	}
	for _, f := range k.former {
		if f.Equal(pub) {
			return true
		}
	}
	return false
}
