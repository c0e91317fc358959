// Package session keeps signed-in sessions server-side, in Redis: the browser holds
// only a random token, and the session ends after an idle timeout (each use extends
// it) or at its absolute lifetime, whichever comes first (ONC d(5), ASVS V3).
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/attest-ehr/attest/libs/cache"
	"github.com/attest-ehr/attest/libs/errs"
)

// Defaults for the timeouts.
const (
	DefaultIdle     = 15 * time.Minute
	DefaultAbsolute = 12 * time.Hour
)

// Session is one signed-in session.
type Session struct {
	AccountID string    `json:"account_id"`
	Principal string    `json:"principal"` // principal.Principal.String()
	Method    string    `json:"method"`    // how the user signed in: "password+totp", "password", "oidc"
	Created   time.Time `json:"created"`
	CSRF      string    `json:"csrf"` // the token forms must echo
}

// Store keeps sessions in Redis under the cache's prefix.
type Store struct {
	c        *cache.Cache
	idle     time.Duration
	absolute time.Duration
	now      func() time.Time
}

// New returns a Store with the given timeouts (zero: the defaults).
func New(c *cache.Cache, idle, absolute time.Duration) *Store {
	if idle <= 0 {
		idle = DefaultIdle
	}
	if absolute <= 0 {
		absolute = DefaultAbsolute
	}
	return &Store{c: c, idle: idle, absolute: absolute, now: time.Now}
}

// Idle is the idle timeout.
func (s *Store) Idle() time.Duration { return s.idle }

// ErrExpired is the error for a token whose session is gone: timed out, signed out or
// never issued. It is errs.Unauthenticated.
var ErrExpired = &errs.Error{Kind: errs.Unauthenticated, Message: "session expired; sign in again"}

// NewToken returns n random bytes, base64url: session tokens, CSRF tokens, OIDC state.
func NewToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// key is where a token's session lives: the token's SHA-256, so Redis never holds a
// usable token.
func (s *Store) key(token string) string {
	h := sha256.Sum256([]byte(token))
	return s.c.Key("session", hex.EncodeToString(h[:]))
}

// Create stores sess (setting Created and CSRF) and returns the token for the cookie.
func (s *Store) Create(ctx context.Context, sess Session) (string, Session, error) {
	token, err := NewToken(32)
	if err != nil {
		return "", Session{}, err
	}
	if sess.CSRF, err = NewToken(24); err != nil {
		return "", Session{}, err
	}
	sess.Created = s.now().UTC()
	b, err := json.Marshal(sess)
	if err != nil {
		return "", Session{}, fmt.Errorf("session: encode: %w", err)
	}
	if err := s.c.Client().Set(ctx, s.key(token), b, min(s.idle, s.absolute)).Err(); err != nil {
		return "", Session{}, fmt.Errorf("session: store: %w", err)
	}
	return token, sess, nil
}

// Get returns the token's session and extends its idle timeout, never past its
// absolute lifetime. A gone or over-age session is ErrExpired.
func (s *Store) Get(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 128 {
		return Session{}, ErrExpired
	}
	key := s.key(token)
	b, err := s.c.Client().Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return Session{}, ErrExpired
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: read: %w", err)
	}
	var sess Session
	if err := json.Unmarshal(b, &sess); err != nil {
		return Session{}, fmt.Errorf("session: decode: %w", err)
	}
	left := s.absolute - s.now().Sub(sess.Created)
	if left <= 0 {
		_ = s.c.Client().Del(ctx, key).Err() // expiry below would remove it anyway
		return Session{}, ErrExpired
	}
	if err := s.c.Client().PExpire(ctx, key, min(s.idle, left)).Err(); err != nil {
		return Session{}, fmt.Errorf("session: extend: %w", err)
	}
	return sess, nil
}

// Delete ends the token's session; ending a gone session is not an error.
func (s *Store) Delete(ctx context.Context, token string) error {
	if err := s.c.Client().Del(ctx, s.key(token)).Err(); err != nil {
		return fmt.Errorf("session: delete: %w", err)
	}
	return nil
}
