package patientdir

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
)

// Routes registers GET /v1/patients/{id}: 200 with the patient's opaque ID and
// organization when this service knows the patient, 404 otherwise.
func (d *Directory) Routes(mux *http.ServeMux, log *slog.Logger) {
	mux.Handle("GET /v1/patients/{id}", httpapi.NewServer(
		func(ctx context.Context, req any) (any, error) { return d.Lookup(ctx, req.(string)) },
		func(_ context.Context, r *http.Request) (any, error) {
			id := r.PathValue("id")
			if id == "" || len(id) > 64 {
				return nil, errs.Field(errs.Invalid, "id", "a patient ID of 1 to 64 characters")
			}
			return id, nil
		}, log))
}
