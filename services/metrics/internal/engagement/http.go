package engagement

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
)

// Routes registers the KPI API on mux:
//
//	GET /v1/kpis?from=YYYY-MM-DD&to=YYYY-MM-DD&by=week,clinic,clinician
//	GET /v1/kpis/stream   server-sent events: a "change" event per commit that changed KPIs or measure facts
func Routes(mux *http.ServeMux, k *Keeper, b *Broadcaster, log *slog.Logger) {
	mux.Handle("GET /v1/kpis", httpapi.NewServer(
		func(ctx context.Context, req any) (any, error) {
			q := req.(reportQuery)
			return k.Report(ctx, q.from, q.to, q.by)
		},
		func(_ context.Context, r *http.Request) (any, error) { return parseReportQuery(r, time.Now()) }, log))
	mux.Handle("GET /v1/kpis/stream", stream(b, log))
}

type reportQuery struct {
	from, to time.Time
	by       []string
}

// parseReportQuery reads from and to (default: the last four weeks to now) and by
// (default: week).
func parseReportQuery(r *http.Request, now time.Time) (reportQuery, error) {
	v := r.URL.Query()
	q := reportQuery{to: now, from: now.AddDate(0, 0, -27), by: []string{ByWeek}}
	for name, dst := range map[string]*time.Time{"from": &q.from, "to": &q.to} {
		if s := v.Get(name); s != "" {
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return reportQuery{}, errs.Field(errs.Invalid, name, "a day written YYYY-MM-DD")
			}
			*dst = t
		}
	}
	if s := v.Get("by"); s != "" {
		q.by = strings.Split(s, ",")
	}
	return q, nil
}
