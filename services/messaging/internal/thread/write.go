package thread

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
)

// IdempotencyWindow is how long an Idempotency-Key is remembered.
const IdempotencyWindow = 24 * time.Hour

// maxIdempotencyKey bounds the key's length; the key is stored.
const maxIdempotencyKey = 128

// RateLimitedError is a refused send; RetryAfter says when one would be admitted.
type RateLimitedError struct{ RetryAfter time.Duration }

// Error says when to retry; it holds nothing about the request.
func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limited; retry after %v", e.RetryAfter)
}

// errKeyTaken: a concurrent request with the same idempotency key committed first.
var errKeyTaken = errors.New("idempotency key taken")

// write runs a create — fn, which returns the ID of what it made — once per
// idempotency key, within the sender's rate limit, in one transaction with the key.
//
// Order matters: a retry is recognised before the rate limit, so retrying never
// costs a send, and the limit is checked before the transaction, so a refused send
// writes nothing. A key already used with a different request (another route or
// another body, compared by keyed fingerprint) is Unprocessable, as the IETF
// Idempotency-Key draft recommends.
func (s *Service) write(ctx context.Context, p principal.Principal, key, route string, req any,
	fn func(tx *store.Tx) (string, error)) (id string, replayed bool, err error) {
	caller := callerKey(p)
	var (
		body []byte
		kid  string
		fp   []byte
	)
	if key != "" {
		if body, err = json.Marshal(struct {
			Route   string `json:"route"`
			Request any    `json:"request"`
		}{route, req}); err != nil {
			return "", false, fmt.Errorf("fingerprint request: %w", err)
		}
		kid, fp = s.keys.Fingerprint(body)
		if id, ok, err := s.replay(ctx, caller, key, body); ok || err != nil {
			return id, ok, err
		}
	}
	// The send rates protect people from a flood of messages. An import (a service
	// account recording the source EHR's past conversations, in bulk) notifies no one,
	// so it is not limited by them.
	if route != importRoute {
		rate := s.rates[sideOf(roleOf(p))]
		allowed, retry, err := s.limiter.Allow(ctx, "send:"+string(p.Kind)+":"+p.ID, rate.N, rate.Per)
		if err != nil {
			return "", false, errs.Wrap(errs.Unavailable, err, "rate limiter unavailable")
		}
		if !allowed {
			return "", false, errs.Wrap(errs.RateLimited, &RateLimitedError{RetryAfter: retry},
				"too many messages from this sender; retry later")
		}
	}
	now := s.clock()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if id, err = fn(tx); err != nil || key == "" {
			return err
		}
		// An expired row for the key would block the insert; it is forgotten first.
		if err := exec(ctx, tx, "forget expired idempotency key", `DELETE FROM idempotency_keys
			WHERE caller = ? AND key = ? AND created_at <= ?`, caller, key, micros(now.Add(-IdempotencyWindow))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (caller, key, route, key_id, fingerprint,
			resource_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`, caller, key, route, kid, fp, id, micros(now))
		if store.IsUniqueViolation(err) {
			return errKeyTaken
		}
		if err != nil {
			return fmt.Errorf("remember idempotency key: %w", err)
		}
		return nil
	})
	if err != nil && key != "" {
		// A concurrent request with the same key may have committed first: its effect
		// can make this one fail (the request already answered) or clash on the key.
		// Either way, answer as its retry.
		if id, ok, rerr := s.replay(ctx, caller, key, body); ok || rerr != nil {
			return id, ok, rerr
		}
		if errors.Is(err, errKeyTaken) {
			return "", false, errs.Field(errs.Conflict, "Idempotency-Key", "a request with this key is in progress")
		}
	}
	if err != nil {
		return "", false, err
	}
	s.notify()
	return id, false, nil
}

// replay finds what an earlier request with the key created. found is false when
// the key is unused (or expired).
func (s *Service) replay(ctx context.Context, caller, key string, body []byte) (id string, found bool, err error) {
	var (
		kid string
		fp  []byte
	)
	err = s.db.QueryRowContext(ctx, `SELECT key_id, fingerprint, resource_id FROM idempotency_keys
		WHERE caller = ? AND key = ? AND created_at > ?`, caller, key, micros(s.clock().Add(-IdempotencyWindow))).
		Scan(&kid, &fp, &id)
	if isNoRows(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up idempotency key: %w", err)
	}
	if !s.keys.SameFingerprint(kid, fp, body) {
		return "", false, errs.Field(errs.Unprocessable, "Idempotency-Key", "already used for a different request")
	}
	return id, true, nil
}

// PurgeIdempotencyKeys forgets keys older than IdempotencyWindow and returns how many.
func (s *Service) PurgeIdempotencyKeys(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at <= ?`,
		micros(s.clock().Add(-IdempotencyWindow)))
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return res.RowsAffected()
}

// ParseIdempotencyKey reads an Idempotency-Key header: a string of 1 to 128 visible
// ASCII characters, optionally quoted as the IETF draft writes it (a structured-field
// string). Empty means none.
func ParseIdempotencyKey(h string) (string, error) {
	h = strings.TrimSpace(h)
	if len(h) >= 2 && h[0] == '"' && h[len(h)-1] == '"' {
		h = h[1 : len(h)-1]
	}
	if len(h) > maxIdempotencyKey {
		return "", errs.Field(errs.Invalid, "Idempotency-Key", "longer than %d characters", maxIdempotencyKey)
	}
	for i := 0; i < len(h); i++ {
		if h[i] < 0x21 || h[i] > 0x7e || h[i] == '"' || h[i] == '\\' {
			return "", errs.Field(errs.Invalid, "Idempotency-Key", "visible ASCII characters only, no quotes or backslashes")
		}
	}
	return h, nil
}

// callerKey names a caller for idempotency keys: a proxy per patient they act for.
func callerKey(p principal.Principal) string {
	k := string(p.Kind) + ":" + p.ID
	if p.Kind == principal.Proxy {
		k += ":" + p.For
	}
	return k
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
