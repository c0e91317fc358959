package record

import (
	"context"
	"log/slog"
	"net/http"

	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
)

// Routes registers the JSON API on mux.
func Routes(mux *http.ServeMux, e Endpoints, log *slog.Logger) {
	h := func(ep func(context.Context, any) (any, error), dec kithttp.DecodeRequestFunc) http.Handler {
		return httpapi.NewServer(ep, dec, log)
	}
	mux.Handle("POST /v1/patients", h(e.RegisterPatient, decodeBody[Patient]))
	mux.Handle("GET /v1/patients/{id}", h(e.GetPatient, decodeID))
	mux.Handle("DELETE /v1/patients/{id}", h(e.DeletePatient, decodeID))
	mux.Handle("POST /v1/encounters", h(e.RecordEncounter, decodeBody[Encounter]))
	mux.Handle("GET /v1/encounters/{id}", h(e.GetEncounter, decodeID))
	mux.Handle("PUT /v1/encounters/{id}", h(e.CorrectEncounter, decodeEncounterPut))
	mux.Handle("DELETE /v1/encounters/{id}", h(e.DeleteEncounter, decodeID))
}

func decodeBody[T any](_ context.Context, r *http.Request) (any, error) {
	var v T
	if err := httpapi.DecodeJSON(r, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func decodeID(_ context.Context, r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	return id, nil
}

// decodeEncounterPut takes the encounter's ID from the path; a body naming another ID
// is refused rather than silently overridden.
func decodeEncounterPut(ctx context.Context, r *http.Request) (any, error) {
	id, err := decodeID(ctx, r)
	if err != nil {
		return nil, err
	}
	v, err := decodeBody[Encounter](ctx, r)
	if err != nil {
		return nil, err
	}
	e := v.(Encounter)
	if e.ID != "" && e.ID != id {
		return nil, errs.Field(errs.Invalid, "id", "differs from the encounter in the path")
	}
	e.ID = id.(string)
	return e, nil
}
