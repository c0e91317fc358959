// Package serve runs HTTP servers for the length of a context: every service's main
// (through package app) builds its server with NewServer, listens with Listen, and
// runs it with HTTP beside its consumers until the process is told to stop.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ShutdownGrace is how long HTTP lets in-flight requests finish once its context is
// done, before it closes their connections.
const ShutdownGrace = 5 * time.Second

// The timeouts NewServer sets. They bound what a slow or malicious client can hold:
// a connection, a goroutine, buffers.
const (
	// ReadHeaderTimeout bounds reading the request line and headers (slowloris).
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout bounds reading the whole request, body included: ample for the
	// 1 MiB bodies the APIs take (httpapi.DefaultBodyLimit).
	ReadTimeout = 30 * time.Second
	// WriteTimeout bounds writing the response, measured from the end of the
	// request headers. It is set, not left at 0, even though server-sent events
	// stream longer: an SSE handler lifts it for its own response with
	// http.NewResponseController(w).SetWriteDeadline(time.Time{}) (httpapi's
	// Instrument passes that through), so every other handler keeps the bound.
	WriteTimeout = 60 * time.Second
	// IdleTimeout bounds an idle keep-alive connection.
	IdleTimeout = 120 * time.Second
	// MaxHeaderBytes caps the request headers: 64 KiB, far above real headers (a
	// large bearer token is a few KiB) and far below the 1 MiB default.
	MaxHeaderBytes = 64 << 10
)

// NewServer returns an http.Server for h on addr with the timeouts above.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// Listen opens a TCP listener on addr (host:port; ":0" picks a free port, which
// ln.Addr reports).
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// HTTP serves srv on ln until ctx is done, then shuts it down: it stops accepting,
// lets in-flight requests finish for up to ShutdownGrace, then closes whatever is
// left (long-lived streams, stuck handlers). It returns nil after a clean shutdown,
// the error if serving fails (ln is closed then), or the shutdown error if the
// grace ran out. Connections that srv hijacked are not tracked; their handlers must
// watch their own context.
func HTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	if srv == nil || ln == nil {
		return errors.New("serve: nil server or listener")
	}
	addr := ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		if errors.Is(err, http.ErrServerClosed) {
			// Someone else shut srv down: that is a clean stop too.
			return nil
		}
		return fmt.Errorf("serve %s: %w", addr, err)
	case <-ctx.Done():
	}

	// The grace period must outlive ctx, which is already done.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
	defer cancel()
	shutErr := srv.Shutdown(sctx)
	if shutErr != nil {
		shutErr = errors.Join(fmt.Errorf("shut down %s: %w", addr, shutErr), srv.Close())
	}
	// Serve has returned ErrServerClosed by now (Shutdown closes the listener
	// first); wait for it so no goroutine outlives the call.
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(fmt.Errorf("serve %s: %w", addr, err), shutErr)
	}
	return shutErr
}
