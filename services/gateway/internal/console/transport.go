package console

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"

	"github.com/attest-ehr/attest/libs/errs"
)

// Transport routes a request for http://<service>/path to that service: to its
// in-process handler when the platform runs it in this process, else to its upstream
// URL. Requests for other hosts fail.
type Transport struct {
	Local    map[string]http.Handler
	Upstream map[string]*url.URL
	Base     http.RoundTripper // for upstream calls; nil means http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if h, ok := t.Local[r.URL.Host]; ok {
		// An in-process call: the recorder buffers the whole answer, which is what
		// the console's small JSON reads need.
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	}
	if u, ok := t.Upstream[r.URL.Host]; ok {
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host = u.Scheme, u.Host
		out.URL.Path = singleJoin(u.Path, r.URL.Path)
		out.Host = u.Host
		base := t.Base
		if base == nil {
			base = http.DefaultTransport
		}
		return base.RoundTrip(out)
	}
	return nil, errs.E(errs.NotFound, "no route to service %q", r.URL.Host)
}

func singleJoin(a, b string) string {
	switch {
	case a == "" || a == "/":
		return b
	case a[len(a)-1] == '/' && len(b) > 0 && b[0] == '/':
		return a + b[1:]
	}
	return a + b
}

// Proxy returns a reverse proxy to an upstream service that strips nothing: the
// caller strips the service prefix first.
func Proxy(u *url.URL) http.Handler {
	return &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		pr.SetXForwarded()
	}}
}
