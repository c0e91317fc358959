package seen

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/libs/store"
)

type countRequest struct {
	entity contract.Entity
	period Period
}

// Routes registers GET /v1/patients-seen?entity=npi:…&from=YYYY-MM-DD&to=YYYY-MM-DD.
func Routes(mux *http.ServeMux, db *store.DB, log *slog.Logger) {
	mux.Handle("GET /v1/patients-seen", httpapi.NewServer(
		func(ctx context.Context, req any) (any, error) {
			r := req.(countRequest)
			return UniquePatients(ctx, db, r.entity, r.period)
		}, decodeCount, log))
}

func decodeCount(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	ent, err := ident.ParseEntity(q.Get("entity"))
	if err != nil {
		return nil, err
	}
	from, err := parseDay(q.Get("from"), "from")
	if err != nil {
		return nil, err
	}
	to, err := parseDay(q.Get("to"), "to")
	if err != nil {
		return nil, err
	}
	if to.Before(from) {
		return nil, errs.Field(errs.Invalid, "to", "before from")
	}
	return countRequest{ent, Period{from.Format(time.DateOnly), to.Format(time.DateOnly)}}, nil
}

func parseDay(s, field string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errs.Field(errs.Invalid, field, "required (YYYY-MM-DD)")
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, errs.Field(errs.Invalid, field, "not a date in YYYY-MM-DD form")
	}
	return t, nil
}
