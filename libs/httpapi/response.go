package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/attest-ehr/attest/libs/errs"
)

// StatusCoder is implemented by responses that answer with a status other than 200,
// e.g. 201 Created. It has the shape of go-kit's kithttp.StatusCoder, so a type
// satisfies both.
type StatusCoder interface {
	StatusCode() int
}

// Headerer is implemented by responses that set headers, e.g. Location after a
// create. Same shape as kithttp.Headerer.
type Headerer interface {
	Headers() http.Header
}

// NewServer builds the go-kit HTTP server for one route: dec turns the request into
// the endpoint's request, e runs it, EncodeResponse writes the result, and every
// error — from dec, e, or a response's Failed — is written by ErrorEncoder(log).
// opts come after these defaults, so they may replace the error encoder.
func NewServer(e endpoint.Endpoint, dec kithttp.DecodeRequestFunc, log *slog.Logger, opts ...kithttp.ServerOption) *kithttp.Server {
	all := append([]kithttp.ServerOption{kithttp.ServerErrorEncoder(ErrorEncoder(log))}, opts...)
	return kithttp.NewServer(e, dec, EncodeResponse, all...)
}

// EncodeResponse writes an endpoint's response as JSON; it is a
// kithttp.EncodeResponseFunc.
//
// A response implementing go-kit's endpoint.Failer with a non-nil Failed is not
// written: the error is returned, and kithttp.Server passes it to its ErrorEncoder
// (ErrorEncoder, with NewServer), which writes it and logs it. Headers from a
// Headerer are set; the status is 200, or a StatusCoder's. A nil response, or a
// 204 or 304 status, gets no body.
func EncodeResponse(_ context.Context, w http.ResponseWriter, response any) error {
	if f, ok := response.(endpoint.Failer); ok {
		if err := f.Failed(); err != nil {
			return err
		}
	}
	if h, ok := response.(Headerer); ok {
		for k, vs := range h.Headers() {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
	}
	status := http.StatusOK
	if sc, ok := response.(StatusCoder); ok {
		status = sc.StatusCode()
	}
	if response == nil {
		if status == http.StatusOK {
			status = http.StatusNoContent
		}
		w.WriteHeader(status)
		return nil
	}
	if status == http.StatusNoContent || status == http.StatusNotModified {
		w.WriteHeader(status)
		return nil
	}
	b, err := marshal(response)
	if err != nil {
		// Nothing is written yet, so the error encoder can still answer 500.
		return errs.Wrap(errs.Other, err, "encode response")
	}
	writeBody(w, status, b)
	return nil
}

// WriteJSON writes v as JSON with the given status. Unless the handler has set
// Cache-Control already, it sets no-store: API responses may carry PHI, which
// must not sit in browser or proxy caches. If v cannot be encoded (a bug: a
// channel, a func, NaN) the response is a 500 ErrorBody instead.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = marshal(errorBody(errs.E(errs.Other, "encode response"), status))
	}
	writeBody(w, status, b)
}

func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", v, err)
	}
	return append(b, '\n'), nil
}

// writeBody writes b as the JSON body. Write errors are not reported: they mean the
// client has gone, and there is no one left to tell.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
