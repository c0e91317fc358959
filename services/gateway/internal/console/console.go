// Package console renders the web console: server-side html/template pages, no
// single-page app, no PHI in browser storage. It reads everything it shows from the
// services' HTTP APIs through the gateway's own routing, as any other client would.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/gateway/internal/guard"
)

//go:embed templates/*.html
var templates embed.FS

// Console serves the pages.
type Console struct {
	services []string     // the services shown, in order
	client   *http.Client // reaches "http://<service>/…" through the gateway's routing
	log      *slog.Logger
	page     *template.Template
}

// New returns the console. client must route http://<service>/path to that service.
func New(services []string, client *http.Client, log *slog.Logger) *Console {
	return &Console{
		services: services, client: client, log: log,
		page: template.Must(template.ParseFS(templates, "templates/*.html")),
	}
}

type status struct {
	Name  string
	Ready bool
	Note  string
}

type homePage struct {
	Who      string // the signed-in principal
	CSRF     string // the session's form token, for the sign-out form
	Services []status
	Query    url.Values
	Count    *seenCount
	Error    string
	Now      string
}

type seenCount struct {
	Entity   string `json:"entity"`
	From     string `json:"from"`
	To       string `json:"to"`
	Patients int    `json:"patients"`
}

// Home shows whether each service is ready and, when asked, how many unique patients
// an entity saw in a period. The gateway's guard has signed the caller in; the
// client's calls go through the same policy as that caller.
func (c *Console) Home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := homePage{Query: r.URL.Query(), Now: time.Now().UTC().Format(time.RFC3339)}
	caller, ok := guard.CallerFrom(ctx)
	if ok {
		p.Who = caller.Principal.String()
		if caller.Session != nil {
			p.CSRF = caller.Session.CSRF
		}
	}
	// Services' health is for the people who run the platform.
	if ok && caller.Principal.Kind == principal.Officer {
		for _, s := range c.services {
			p.Services = append(p.Services, c.ready(ctx, s))
		}
	}
	if p.Query.Get("entity") != "" {
		var n seenCount
		q := url.Values{"entity": {p.Query.Get("entity")}, "from": {p.Query.Get("from")}, "to": {p.Query.Get("to")}}
		if err := c.getJSON(ctx, "http://reporting/v1/patients-seen?"+q.Encode(), &n); err != nil {
			p.Error = err.Error()
		} else {
			p.Count = &n
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := c.page.ExecuteTemplate(w, "home.html", p); err != nil {
		c.log.ErrorContext(ctx, "render console", "err", err)
	}
}

func (c *Console) ready(ctx context.Context, service string) status {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var body struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	err := c.getJSON(ctx, "http://"+service+"/readyz", &body)
	if err != nil {
		return status{Name: service, Note: err.Error()}
	}
	return status{Name: service, Ready: true, Note: "ready"}
}

// getJSON fetches a service URL; an API error comes back with the service's message.
func (c *Console) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return errs.Wrap(errs.Unavailable, err, "service unreachable")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, httpapi.DefaultBodyLimit))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Message string `json:"message"`
				Field   string `json:"field"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
			if e.Error.Field != "" {
				return fmt.Errorf("%s: %s", e.Error.Field, e.Error.Message)
			}
			return fmt.Errorf("%s", e.Error.Message)
		}
		return fmt.Errorf("answered %d", resp.StatusCode)
	}
	return json.Unmarshal(body, v)
}
