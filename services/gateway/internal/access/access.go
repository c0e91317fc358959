// Package access records every request the gateway routes — who, what, when, from
// where, outcome — in the gateway's database. Records are written in batches by a
// background writer so the request path does not wait on the disk; when the writer
// falls behind, requests wait for room rather than lose a record.
package access

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
)

// Record is one routed request. It names the service and method, never the path:
// paths can hold identifiers, and the audit log proper records patients explicitly.
type Record struct {
	At      time.Time
	Actor   string // the signed-in principal ("officer:u-1"), or "anonymous"
	Method  string
	Service string
	Status  int
	Remote  string
}

// Log buffers records and writes them in batches.
type Log struct {
	db  *store.DB
	log *slog.Logger
	ch  chan Record
}

// New returns a Log writing to db; Run must be running for records to be written.
func New(db *store.DB, log *slog.Logger) *Log {
	return &Log{db: db, log: log, ch: make(chan Record, 4096)}
}

// Add queues a record, waiting for room when the buffer is full.
func (l *Log) Add(ctx context.Context, r Record) {
	select {
	case l.ch <- r:
	case <-ctx.Done():
	}
}

// Run writes queued records until ctx is done, then writes what is still queued.
func (l *Log) Run(ctx context.Context) error {
	batch := make([]Record, 0, 256)
	for {
		select {
		case r := <-l.ch:
			batch = append(batch[:0], r)
		drain:
			for len(batch) < cap(batch) {
				select {
				case r := <-l.ch:
					batch = append(batch, r)
				default:
					break drain
				}
			}
			if err := l.write(context.WithoutCancel(ctx), batch); err != nil {
				return err
			}
		case <-ctx.Done():
			for {
				select {
				case r := <-l.ch:
					if err := l.write(context.WithoutCancel(ctx), []Record{r}); err != nil {
						return err
					}
				default:
					return nil
				}
			}
		}
	}
}

func (l *Log) write(ctx context.Context, batch []Record) error {
	return l.db.InTx(ctx, func(tx *store.Tx) error {
		for _, r := range batch {
			if _, err := tx.ExecContext(ctx, `INSERT INTO access_log (at, actor, method, service, status, remote)
				VALUES (?, ?, ?, ?, ?, ?)`, r.At.UTC().Format(time.RFC3339Nano), r.Actor, r.Method, r.Service,
				r.Status, r.Remote); err != nil {
				return fmt.Errorf("write access log: %w", err)
			}
		}
		return nil
	})
}

// Count returns how many records are stored (for tests and the console).
func (l *Log) Count(ctx context.Context) (int, error) {
	var n int
	err := l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM access_log`).Scan(&n)
	return n, err
}

// Middleware records every request h serves for service.
func (l *Log) Middleware(service string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := NewStatusWriter(w)
		h.ServeHTTP(sw, r)
		remote := r.RemoteAddr
		if i := strings.LastIndexByte(remote, ':'); i > 0 {
			remote = remote[:i]
		}
		actor := "anonymous"
		if p, ok := principal.FromContext(r.Context()); ok {
			actor = p.String()
		}
		l.Add(r.Context(), Record{At: time.Now(), Actor: actor, Method: r.Method, Service: service,
			Status: sw.Status, Remote: remote})
	})
}

// StatusWriter is a ResponseWriter that remembers the status it answered with.
type StatusWriter struct {
	http.ResponseWriter
	Status int // 200 until WriteHeader says otherwise
}

// NewStatusWriter wraps w.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter {
	return &StatusWriter{ResponseWriter: w, Status: http.StatusOK}
}

// WriteHeader records code and passes it on.
func (w *StatusWriter) WriteHeader(code int) {
	w.Status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer (flushing for
// server-sent events).
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
