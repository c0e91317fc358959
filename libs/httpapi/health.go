package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"syscall"
	"time"
	"unicode/utf8"
)

// CheckTimeout bounds each readiness check.
const CheckTimeout = 2 * time.Second

// Check is one readiness check: a dependency the service cannot serve without.
type Check struct {
	Name string                          // the key in the /readyz body, e.g. "database"
	Fn   func(ctx context.Context) error // nil when ready; ctx carries CheckTimeout
}

// Health registers the liveness and readiness endpoints on mux:
//
//   - GET /healthz answers 200 {"status":"ok"} while the process can serve HTTP at
//     all. It checks nothing else, so an orchestrator restarts the process only
//     when it is truly stuck, not when a dependency is down.
//   - GET /readyz runs every check concurrently, each under CheckTimeout, and
//     answers 200 {"status":"ready","checks":{"database":"ok",…}} or 503
//     {"status":"not ready","checks":{"database":"failed: timeout",…}}.
//
// A failure's reason is short and scrubbed — a class such as "timeout" or
// "connection refused", else the error's text without URL credentials or
// key=value secrets, cut to 120 characters — because /readyz is often reachable
// without authentication. A check that panics fails; one that ignores its context
// is reported as timed out after CheckTimeout (its goroutine is left to finish).
//
// Like any ServeMux registration, Health panics if mux already has these patterns:
// that is a wiring bug, found at start.
func Health(mux *http.ServeMux, checks ...Check) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		results, ok := runChecks(r.Context(), checks)
		body := readiness{Status: "ready", Checks: results}
		status := http.StatusOK
		if !ok {
			body.Status, status = "not ready", http.StatusServiceUnavailable
		}
		WriteJSON(w, status, body)
	})
}

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// runChecks runs checks concurrently and returns each one's result by name, and
// whether all passed.
func runChecks(ctx context.Context, checks []Check) (map[string]string, bool) {
	type result struct {
		i   int
		err error
	}
	done := make(chan result, len(checks)) // buffered: a late check never blocks
	for i, c := range checks {
		go func() {
			ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
			defer cancel()
			done <- result{i, runCheck(ctx, c.Fn)}
		}()
	}
	out := make(map[string]string, len(checks))
	ok := true
	reported := make([]bool, len(checks))
	// A little past CheckTimeout, for checks that do not watch their context.
	timer := time.NewTimer(CheckTimeout + 100*time.Millisecond)
	defer timer.Stop()
	for range checks {
		select {
		case r := <-done:
			reported[r.i] = true
			if r.err != nil {
				ok = false
				out[checks[r.i].Name] = "failed: " + reason(r.err)
			} else {
				out[checks[r.i].Name] = "ok"
			}
		case <-timer.C:
			for i, c := range checks {
				if !reported[i] {
					out[c.Name] = "failed: timeout"
				}
			}
			return out, false
		}
	}
	return out, ok
}

var errCheckPanicked = errors.New("check panicked")

// runCheck calls fn, turning a panic into an error: the check runs on its own
// goroutine, where no recovery above it would catch one.
func runCheck(ctx context.Context, fn func(context.Context) error) (err error) {
	if fn == nil {
		return errors.New("no check function")
	}
	defer func() {
		if recover() != nil {
			err = errCheckPanicked
		}
	}()
	return fn(ctx)
}

var (
	urlCredentials = regexp.MustCompile(`://[^/@\s]*@`)
	secretValue    = regexp.MustCompile(`(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|auth)\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)`)
)

// reason is a short, scrubbed account of a failed check.
func reason(err error) string {
	var (
		dns *net.DNSError
		ne  net.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, errCheckPanicked):
		return "panic"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dns):
		return "name resolution failed"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	s := urlCredentials.ReplaceAllString(err.Error(), "://***@")
	s = secretValue.ReplaceAllString(s, "${1}***")
	const maxReason = 120
	if len(s) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
