package serve_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/serve"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := serve.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// get fetches url with a client whose connections are closed afterwards.
func get(t *testing.T, url string) (int, string, error) {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestHTTPServesUntilCanceled(t *testing.T) {
	ln := listen(t)
	url := "http://" + ln.Addr().String() + "/"
	srv := serve.NewServer(ln.Addr().String(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve.HTTP(ctx, srv, ln) }()

	if code, body, err := get(t, url); err != nil || code != 200 || body != "hello" {
		t.Fatalf("GET: %d %q %v", code, body, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("HTTP after cancel = %v, want nil", err)
	}
	if _, _, err := get(t, url); err == nil {
		t.Errorf("the server still answers after shutdown")
	}
}

func TestHTTPLetsInFlightRequestsFinish(t *testing.T) {
	ln := listen(t)
	entered, release := make(chan struct{}), make(chan struct{})
	srv := serve.NewServer("", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	}))
	shuttingDown := make(chan struct{})
	srv.RegisterOnShutdown(func() { close(shuttingDown) })

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve.HTTP(ctx, srv, ln) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		_, body, err := get(t, "http://"+ln.Addr().String()+"/")
		got <- result{body, err}
	}()
	<-entered
	cancel()
	<-shuttingDown
	select {
	case err := <-done:
		t.Fatalf("HTTP returned (%v) while a request was in flight", err)
	default:
	}
	close(release)
	if r := <-got; r.err != nil || r.body != "finished" {
		t.Errorf("in-flight request: %q, %v", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Errorf("HTTP = %v, want nil", err)
	}
}

func TestHTTPReturnsServeError(t *testing.T) {
	ln := listen(t)
	ln.Close()
	err := serve.HTTP(context.Background(), serve.NewServer("", http.NotFoundHandler()), ln)
	if err == nil || !strings.Contains(err.Error(), "serve 127.0.0.1:") {
		t.Errorf("HTTP on a closed listener = %v, want a serve error", err)
	}
}

func TestHTTPAfterExternalShutdown(t *testing.T) {
	ln := listen(t)
	srv := serve.NewServer("", http.NotFoundHandler())
	shut := make(chan struct{})
	srv.RegisterOnShutdown(func() { close(shut) })
	done := make(chan error, 1)
	go func() { done <- serve.HTTP(context.Background(), srv, ln) }()
	// Wait until Serve runs, then shut it down from outside.
	if _, _, err := get(t, "http://"+ln.Addr().String()+"/"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-shut
	if err := <-done; err != nil {
		t.Errorf("HTTP = %v, want nil", err)
	}
}

func TestHTTPNilArguments(t *testing.T) {
	if err := serve.HTTP(context.Background(), nil, nil); err == nil {
		t.Error("want an error")
	}
}

func TestNewServer(t *testing.T) {
	h := http.NotFoundHandler()
	srv := serve.NewServer(":8080", h)
	tests := []struct {
		name string
		ok   bool
	}{
		{"addr", srv.Addr == ":8080"},
		{"handler", srv.Handler != nil},
		{"ReadHeaderTimeout", srv.ReadHeaderTimeout == serve.ReadHeaderTimeout && srv.ReadHeaderTimeout > 0},
		{"ReadTimeout", srv.ReadTimeout == serve.ReadTimeout && srv.ReadTimeout > 0},
		{"WriteTimeout", srv.WriteTimeout == serve.WriteTimeout && srv.WriteTimeout > 0},
		{"IdleTimeout", srv.IdleTimeout == serve.IdleTimeout && srv.IdleTimeout > 0},
		{"MaxHeaderBytes", srv.MaxHeaderBytes == serve.MaxHeaderBytes && srv.MaxHeaderBytes < http.DefaultMaxHeaderBytes},
	}
	for _, tt := range tests {
		if !tt.ok {
			t.Errorf("%s not set as documented", tt.name)
		}
	}
}

func TestListen(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"127.0.0.1:99999", false},
		{"not-an-address", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			ln, err := serve.Listen(tt.addr)
			if (err == nil) != tt.ok {
				t.Fatalf("Listen(%q) err = %v, want ok=%v", tt.addr, err, tt.ok)
			}
			if err == nil {
				ln.Close()
			} else if !strings.Contains(err.Error(), tt.addr) {
				t.Errorf("error %q does not name the address", err)
			}
		})
	}
}
