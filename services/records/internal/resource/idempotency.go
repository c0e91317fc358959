package resource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/store"
)

// idempotencyHeader is the request header naming a write, as in the IETF
// draft-ietf-httpapi-idempotency-key-header.
const idempotencyHeader = "Idempotency-Key"

// maxKey bounds a key: long enough for any UUID or hash a client would choose.
const maxKey = 255

// KeyTTL is how long a key is remembered; see Store.PurgeKeys.
const KeyTTL = 24 * time.Hour

// idempotency is the key of a request and the fingerprint of the request it names.
type idempotency struct {
	key         string
	fingerprint string
}

type idempotencyCtxKey struct{}

func idempotencyFrom(ctx context.Context) (idempotency, bool) {
	i, ok := ctx.Value(idempotencyCtxKey{}).(idempotency)
	return i, ok
}

// Idempotent makes a write route honour the Idempotency-Key header: the first request
// with a key is executed and its reply stored with it (Store.Write does that, in the
// write's own transaction); a later request with the same key and the same method,
// path and body gets the same reply and changes nothing, and one with the same key but
// a different request is a Conflict. Requests without the header pass through.
//
// The fingerprint is a SHA-256 of the method, path and body bytes: a retry must send
// the same bytes, which is what a client repeating a request does.
func Idempotent(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(idempotencyHeader)
		if key == "" {
			h.ServeHTTP(w, r)
			return
		}
		if err := checkKey(key); err != nil {
			httpapi.WriteError(w, r, log, err)
			return
		}
		var body []byte
		if r.Body != nil {
			b, err := io.ReadAll(io.LimitReader(r.Body, httpapi.DefaultBodyLimit+1))
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe) || len(b) > httpapi.DefaultBodyLimit:
				httpapi.WriteError(w, r, log, errs.E(errs.TooLarge, "request body is larger than %d bytes", httpapi.DefaultBodyLimit))
				return
			case err != nil:
				httpapi.WriteError(w, r, log, errs.Wrap(errs.Invalid, err, "could not read the request body"))
				return
			}
			body = b
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		sum := sha256.New()
		fmt.Fprintf(sum, "%s %s\n", r.Method, r.URL.Path)
		sum.Write(body)
		ctx := context.WithValue(r.Context(), idempotencyCtxKey{},
			idempotency{key: key, fingerprint: hex.EncodeToString(sum.Sum(nil))})
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// checkKey accepts 1 to 255 visible ASCII characters.
func checkKey(key string) error {
	if len(key) > maxKey {
		return errs.Field(errs.Invalid, idempotencyHeader, "longer than %d characters", maxKey)
	}
	for i := range len(key) {
		if key[i] < 0x21 || key[i] > 0x7e {
			return errs.Field(errs.Invalid, idempotencyHeader, "may hold only visible ASCII characters")
		}
	}
	return nil
}

// storedReply is a key's row.
type storedReply struct {
	fingerprint string
	reply       Reply
}

// answer is the stored reply for a request with the same fingerprint, or a Conflict.
func (s storedReply) answer(i idempotency) (Reply, error) {
	if s.fingerprint != i.fingerprint {
		return Reply{}, errs.Field(errs.Conflict, idempotencyHeader, "already used for a different request")
	}
	return s.reply, nil
}

func loadKey(ctx context.Context, q Querier, key string) (storedReply, bool, error) {
	var (
		s    storedReply
		data string
	)
	err := q.QueryRowContext(ctx, `SELECT fingerprint, status, body FROM idempotency_keys WHERE key = ?`, key).
		Scan(&s.fingerprint, &s.reply.Status, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return storedReply{}, false, nil
	}
	if err != nil {
		return storedReply{}, false, fmt.Errorf("load idempotency key: %w", err)
	}
	if data != "" {
		s.reply.Body = []byte(data)
	}
	return s, true, nil
}

func saveKey(ctx context.Context, tx *store.Tx, i idempotency, r Reply, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (key, fingerprint, status, body, created)
		VALUES (?, ?, ?, ?, ?)`, i.key, i.fingerprint, r.Status, string(r.Body), now)
	if err != nil {
		// A unique violation means a concurrent request took the key: Write answers its reply.
		return fmt.Errorf("save idempotency key: %w", err)
	}
	return nil
}

// PurgeKeys forgets the keys older than KeyTTL and returns how many it removed. The
// service runs it periodically; a retry after that is a new request.
func (s *Store) PurgeKeys(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created < ?`, s.now().UTC().Add(-KeyTTL))
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return n, nil
}
