// Package httpapi is the HTTP edge every service shares: the one mapping from error
// kinds (package errs) to status codes and JSON error bodies, strict JSON request
// decoding, JSON responses for go-kit endpoints, health and readiness endpoints,
// and the middleware that instruments a service's handler (spans, RED metrics,
// request IDs, panic recovery).
//
// Services route with the standard library's ServeMux (Go 1.22 patterns such as
// "GET /v1/patients/{id}", read with r.PathValue) and build one go-kit
// transport/http Server per route with NewServer.
//
// Nothing in this package writes a request's input back in a response or a log: the
// input may be PHI. Error bodies name the field at fault and the rule it breaks.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/attest-ehr/attest/libs/errs"
)

// StatusOf is the one mapping from an error to an HTTP status:
//
//	errs.Invalid 400, errs.Unauthenticated 401, errs.Forbidden 403, errs.NotFound 404,
//	errs.Conflict 409, errs.TooLarge 413, errs.UnsupportedMediaType 415,
//	errs.Unprocessable 422, errs.RateLimited 429, errs.Unavailable 503,
//	errs.Other 500.
//
// An error without a kind (or of kind Other) is classified by cause:
// context.DeadlineExceeded is 503 — a server-side budget ran out waiting on a
// dependency, worth retrying; context.Canceled is 408 — the client went away or
// gave up (it rarely sees the answer), and a 4xx keeps client disconnects out of
// the 5xx error rate that alerts page on; *http.MaxBytesError is 413. Anything else
// is 500. nil is 200.
func StatusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	switch errs.KindOf(err) {
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.Unprocessable:
		return http.StatusUnprocessableEntity
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.Unauthenticated:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.RateLimited:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	case errs.UnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return http.StatusRequestTimeout
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON body of every error response:
// {"error":{"code":"not_found","message":"no such patient","field":"id"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`            // errs.Kind.String(), or "canceled"
	Message string `json:"message"`         // what is wrong, for the caller; generic for 5xx
	Field   string `json:"field,omitempty"` // the input field at fault, as a JSON path
}

// WriteError answers the request with err as an ErrorBody and StatusOf(err).
//
// For a 4xx the message and field come from the errs.Error in err's chain. For a
// 5xx the caller learns only "internal error" or "service unavailable"; the real
// error is logged with r's context (so with trace_id), never sent. log may be nil,
// for no logging.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	writeError(r.Context(), w, log, err)
}

// ErrorEncoder is WriteError as a go-kit ErrorEncoder, for kithttp.ServerErrorEncoder.
func ErrorEncoder(log *slog.Logger) kithttp.ErrorEncoder {
	return func(ctx context.Context, err error, w http.ResponseWriter) {
		writeError(ctx, w, log, err)
	}
}

func writeError(ctx context.Context, w http.ResponseWriter, log *slog.Logger, err error) {
	status := StatusOf(err)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	attrs := []slog.Attr{slog.Int("status", status)}
	if id := RequestID(ctx); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if status >= 500 {
		log.LogAttrs(ctx, slog.LevelError, "request failed", append(attrs, slog.Any("error", err))...)
	} else {
		// The error text is left out on purpose: a wrapped decoder or parser error
		// can quote the input. The code and field say what went wrong.
		log.LogAttrs(ctx, slog.LevelDebug, "request rejected",
			append(attrs, slog.String("code", codeOf(err)), slog.String("field", errs.FieldOf(err)))...)
	}
	writeJSON(w, status, errorBody(err, status))
}

// errorBody builds the body for err, answered with status.
func errorBody(err error, status int) ErrorBody {
	d := ErrorDetail{Code: codeOf(err)}
	switch {
	case status == http.StatusServiceUnavailable:
		d.Message = "service unavailable"
	case status >= 500:
		d.Message = "internal error"
	default:
		d.Message, d.Field = messageOf(err), errs.FieldOf(err)
		if d.Message == "" {
			d.Message = defaultMessage(status)
		}
	}
	return ErrorBody{Error: d}
}

// codeOf is the machine-readable code for err: its kind's, or for kindless errors
// the code of the status StatusOf gives them.
func codeOf(err error) string {
	if k := errs.KindOf(err); k != errs.Other {
		return k.String()
	}
	switch StatusOf(err) {
	case http.StatusServiceUnavailable:
		return errs.Unavailable.String()
	case http.StatusRequestTimeout:
		return "canceled"
	case http.StatusRequestEntityTooLarge:
		return errs.TooLarge.String()
	}
	return errs.Other.String()
}

// messageOf returns the first non-empty errs.Error message in err's chain. Messages
// of other errors are never used: they are not written for callers.
func messageOf(err error) string {
	for err != nil {
		var e *errs.Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Message != "" {
			return e.Message
		}
		err = e.Err
	}
	return ""
}

func defaultMessage(status int) string {
	switch status {
	case http.StatusRequestTimeout:
		return "request canceled"
	case http.StatusRequestEntityTooLarge:
		return "request body too large"
	}
	return http.StatusText(status)
}
