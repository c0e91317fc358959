package worklist

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/services/reporting/internal/window"
)

// Routes registers GET /v1/worklists?program=&year=&entity=tin:…|ccn:…[&measure=][&as_of=][&from=&to=][&page_size=&page_token=].
func Routes(mux *http.ServeMux, l *Lister, now func() time.Time, log *slog.Logger) {
	mux.Handle("GET /v1/worklists", httpapi.NewServer(
		func(ctx context.Context, req any) (any, error) { return l.List(ctx, req.(Request)) },
		func(_ context.Context, r *http.Request) (any, error) {
			q := r.URL.Query()
			c, err := window.ParseCommon(q, now)
			if err != nil {
				return nil, err
			}
			req := Request{Program: c.Program, Year: c.Year, Entity: c.Entity, CAH: c.CAH, AsOf: c.AsOf,
				Measure: q.Get("measure"), PageToken: q.Get("page_token")}
			if req.From, err = window.ParseDay(q, "from", time.Time{}); err != nil {
				return nil, err
			}
			if req.To, err = window.ParseDay(q, "to", time.Time{}); err != nil {
				return nil, err
			}
			if s := q.Get("page_size"); s != "" {
				if req.PageSize, err = strconv.Atoi(s); err != nil || req.PageSize < 1 {
					return nil, errs.Field(errs.Invalid, "page_size", "must be 1 to %d", maxPage)
				}
			}
			return req, nil
		}, log))
}
