// Package console renders the web console: server-side html/template pages with
// htmx (vendored) for partial updates, SVG charts drawn on the server, no
// single-page app and no PHI in browser storage. It reads everything it shows from
// the services' HTTP APIs through the gateway's guarded client (client.go), as the
// signed-in user, so the policy decides each read exactly as for any other client.
//
// Pages, by persona: the compliance officer's measures (officer.go), the clinic
// administrator's engagement (admin.go), the auditor's attestations and audit-log
// report (auditor.go). Every page is no-store: they may show patient IDs.
package console

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/gateway/internal/audit"
	"github.com/attest-ehr/attest/services/gateway/internal/guard"
)

//go:embed templates/*.html
var templates embed.FS

//go:embed static
var static embed.FS

// Options configure the console.
type Options struct {
	Services []string     // the services shown on the status panel, in order
	Client   *http.Client // routes http://<service>/… through the guard as the request's principal
	Log      *slog.Logger
	// Audit lists the gateway's own audit records (its database) for the audit report.
	Audit func(ctx context.Context, q audit.Query) ([]audit.Record, error)
	// EntityClinics names the clinics a reporting entity reports for: a clinic
	// administrator's engagement rows are those of their clinics.
	EntityClinics func(ctx context.Context, entity string) ([]string, error)
	Now           func() time.Time // default time.Now
}

// Console serves the pages.
type Console struct {
	opts  Options
	api   api
	pages map[string]*template.Template
	files http.Handler

	dirMu   sync.Mutex
	dir     []DirEntry
	dirTime time.Time
}

// New returns the console.
func New(o Options) *Console {
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Console{opts: o, api: api{c: o.Client, kpi: &singleflight.Group{}}, pages: map[string]*template.Template{}}
	// The layout and the KPI section (a page of its own for live updates, and part
	// of the engagement page) are shared; every other file is a page.
	base := template.Must(template.New("").ParseFS(templates, "templates/layout.html", "templates/kpis.html"))
	c.pages["kpis.html"] = base
	names, _ := fs.Glob(templates, "templates/*.html")
	for _, n := range names {
		name := strings.TrimPrefix(n, "templates/")
		if name == "layout.html" || name == "kpis.html" {
			continue
		}
		c.pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templates, n))
	}
	sub, _ := fs.Sub(static, "static") // cannot fail: the folder is embedded
	c.files = http.StripPrefix("/static/", http.FileServerFS(sub))
	return c
}

// Handlers are the console's pages by policy action; the gateway registers each
// under its rule's pattern (services/gateway/internal/policy/rules.go).
func (c *Console) Handlers() map[string]http.Handler {
	return map[string]http.Handler{
		"console.home":               http.HandlerFunc(c.Home),
		"console.compliance":         http.HandlerFunc(c.Compliance),
		"console.panel":              http.HandlerFunc(c.Panel),
		"console.members":            http.HandlerFunc(c.Members),
		"console.attestation.freeze": http.HandlerFunc(c.Freeze),
		"console.attestations":       http.HandlerFunc(c.Attestations),
		"console.attestation":        http.HandlerFunc(c.Attestation),
		"console.engagement":         http.HandlerFunc(c.Engagement),
		"console.engagement.kpis":    http.HandlerFunc(c.EngagementKPIs),
		"console.audit":              http.HandlerFunc(c.AuditReport),
		"console.audit.export":       http.HandlerFunc(c.AuditExport),
		"console.static":             http.HandlerFunc(c.Static),
	}
}

// Home shows the signed-in person's main page: the officer's measures, the clinic
// administrator's engagement, the auditor's attestations, a clinician's counts.
func (c *Console) Home(w http.ResponseWriter, r *http.Request) {
	caller, _ := guard.CallerFrom(r.Context())
	switch caller.Principal.Kind {
	case principal.Officer:
		c.Compliance(w, r)
	case principal.ClinicAdmin:
		c.Engagement(w, r)
	case principal.Auditor:
		c.Attestations(w, r)
	default:
		c.clinician(w, r)
	}
}

// Static serves the vendored htmx, the stylesheet and the console's one script.
func (c *Console) Static(w http.ResponseWriter, r *http.Request) {
	// Immutable files named by version; the policy marks them public.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	c.files.ServeHTTP(w, r)
}

// Frame is what every page's layout needs.
type Frame struct {
	Title   string
	Who     string
	Kind    principal.Kind
	CSRF    string
	Nav     []navItem
	Partial bool // an htmx request: the fragment alone
}

type navItem struct {
	Href, Label string
	Current     bool
}

func (c *Console) frame(r *http.Request, title, current string) Frame {
	f := Frame{Title: title, Partial: r.Header.Get("HX-Request") == "true"}
	caller, ok := guard.CallerFrom(r.Context())
	if !ok {
		return f
	}
	f.Who, f.Kind = caller.Principal.String(), caller.Principal.Kind
	if caller.Session != nil {
		f.CSRF = caller.Session.CSRF
	}
	add := func(href, label string) {
		f.Nav = append(f.Nav, navItem{Href: href, Label: label, Current: href == current})
	}
	switch f.Kind {
	case principal.Officer:
		add("/compliance", "Measures")
		add("/engagement", "Engagement")
		add("/attestations", "Attestations")
		add("/audit", "Audit log")
	case principal.ClinicAdmin:
		add("/engagement", "Engagement")
	case principal.Auditor:
		add("/attestations", "Attestations")
		add("/audit", "Audit log")
	}
	return f
}

// render writes a page (or its fragment for htmx) with the given status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	t, ok := c.pages[page]
	if !ok {
		c.opts.Log.ErrorContext(r.Context(), "console: no template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// Rendered whole before anything is sent, so a template error is a clean 500
	// rather than half a page.
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, page, data); err != nil {
		c.opts.Log.ErrorContext(r.Context(), "render console", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// problem is an API error as a page shows it: "not available" for a route that is
// not served, "not permitted" for a refusal, the field for a wrong input.
type problem struct {
	Kind    string // "unavailable", "forbidden", "invalid", "error"
	Title   string
	Message string
	Field   string
}

func problemOf(err error, what string) *problem {
	if err == nil {
		return nil
	}
	p := &problem{Message: err.Error(), Field: errs.FieldOf(err)}
	switch errs.KindOf(err) {
	case errs.NotFound:
		p.Kind, p.Title = "unavailable", what+": not available"
		p.Message = "This deployment does not serve it yet."
	case errs.Forbidden, errs.Unauthenticated:
		p.Kind, p.Title = "forbidden", what+": not permitted"
	case errs.Invalid, errs.Unprocessable:
		p.Kind, p.Title = "invalid", what+": check the input"
	case errs.Unavailable:
		p.Kind, p.Title = "unavailable", what+": temporarily unavailable"
	default:
		p.Kind, p.Title = "error", what+": failed"
	}
	return p
}

// statusOf is the page status for an error that decides the whole page.
func statusOf(err error) int {
	switch errs.KindOf(err) {
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.Unprocessable:
		return http.StatusUnprocessableEntity
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.Unauthenticated:
		return http.StatusUnauthorized
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	}
	return http.StatusServiceUnavailable
}

// directory returns the entities the selector offers, kept a minute: the directory
// holds no PHI and changes rarely, and every role that sees the selector may read it.
func (c *Console) directory(ctx context.Context) []DirEntry {
	c.dirMu.Lock()
	defer c.dirMu.Unlock()
	if c.dir != nil && c.opts.Now().Sub(c.dirTime) < time.Minute {
		return c.dir
	}
	d, err := c.api.directory(ctx)
	if err != nil {
		c.opts.Log.WarnContext(ctx, "console: directory", "err", err)
		return c.dir
	}
	c.dir, c.dirTime = d, c.opts.Now()
	return d
}

// clinician is a clinician's page: unique patients seen by an entity in a period.
func (c *Console) clinician(w http.ResponseWriter, r *http.Request) {
	type seen struct {
		Entity   string `json:"entity"`
		From     string `json:"from"`
		To       string `json:"to"`
		Patients int    `json:"patients"`
	}
	p := struct {
		Frame
		Query   url.Values
		Count   *seen
		Problem *problem
	}{Frame: c.frame(r, "Patients seen", "/"), Query: r.URL.Query()}
	if p.Query.Get("entity") != "" {
		var n seen
		q := url.Values{"entity": {p.Query.Get("entity")}, "from": {p.Query.Get("from")}, "to": {p.Query.Get("to")}}
		if err := c.api.get(r.Context(), "http://reporting/v1/patients-seen?"+q.Encode(), &n); err != nil {
			p.Problem = problemOf(err, "Patients seen")
		} else {
			p.Count = &n
		}
	}
	c.render(w, r, http.StatusOK, "clinician.html", p)
}
