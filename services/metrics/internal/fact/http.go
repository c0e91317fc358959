package fact

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/store"
)

// Held is one fact held now, with how many events support it.
type Held struct {
	Kind    string          `json:"kind"`
	Entity  contract.Entity `json:"entity"`
	Day     string          `json:"day"`
	Support int             `json:"support"`
}

// PatientFacts lists the facts held about a patient, oldest day first.
func PatientFacts(ctx context.Context, db *store.DB, patientID string) ([]Held, error) {
	rows, err := db.QueryContext(ctx, `SELECT entity_kind, entity_id, day, support FROM seen_facts
		WHERE patient_id = ? ORDER BY day, entity_kind, entity_id`, patientID)
	if err != nil {
		return nil, fmt.Errorf("list facts: %w", err)
	}
	defer rows.Close()
	out := []Held{}
	for rows.Next() {
		h := Held{Kind: contract.FactSeen}
		if err := rows.Scan(&h.Entity.Kind, &h.Entity.ID, &h.Day, &h.Support); err != nil {
			return nil, fmt.Errorf("scan fact: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// Routes registers the facts API on mux: GET /v1/patients/{id}/facts.
func Routes(mux *http.ServeMux, db *store.DB, log *slog.Logger) {
	mux.Handle("GET /v1/patients/{id}/facts", httpapi.NewServer(
		func(ctx context.Context, req any) (any, error) {
			facts, err := PatientFacts(ctx, db, req.(string))
			return map[string]any{"patient_id": req, "facts": facts}, err
		},
		func(_ context.Context, r *http.Request) (any, error) {
			id := r.PathValue("id")
			if id == "" || len(id) > 64 {
				return nil, errs.Field(errs.Invalid, "id", "a patient ID of 1 to 64 characters")
			}
			return id, nil
		}, log))
}
