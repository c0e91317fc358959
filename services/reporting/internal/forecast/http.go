package forecast

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/services/reporting/internal/window"
)

// Routes registers GET /v1/forecast?program=&year=&entity=[&from=&to=][&as_of=][&entity_type=cah].
// from and to default to the program's whole window; as_of to now.
func Routes(mux *http.ServeMux, f *Forecaster, now func() time.Time, log *slog.Logger) {
	mux.Handle("GET /v1/forecast", httpapi.NewServer(
		func(ctx context.Context, req any) (any, error) { return f.Forecast(ctx, req.(Request)) },
		func(_ context.Context, r *http.Request) (any, error) {
			q := r.URL.Query()
			c, err := window.ParseCommon(q, now)
			if err != nil {
				return nil, err
			}
			req := Request{Program: c.Program, Year: c.Year, Entity: c.Entity, CAH: c.CAH, AsOf: c.AsOf}
			if req.From, err = window.ParseDay(q, "from", time.Time{}); err != nil {
				return nil, err
			}
			if req.To, err = window.ParseDay(q, "to", time.Time{}); err != nil {
				return nil, err
			}
			if !req.From.IsZero() && !req.To.IsZero() && req.To.Before(req.From) {
				return nil, errs.Field(errs.Invalid, "to", "is before from")
			}
			return req, nil
		}, log))
}
