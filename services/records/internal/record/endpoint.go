package record

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/go-kit/kit/endpoint"
)

// response is an endpoint's answer with its HTTP status; it encodes as its body.
type response struct {
	status int
	body   any
}

// StatusCode is the HTTP status to answer with.
func (r response) StatusCode() int { return r.status }

// MarshalJSON encodes the body alone.
func (r response) MarshalJSON() ([]byte, error) { return json.Marshal(r.body) }

// createdOr is 201 for a new resource, 200 for an idempotent retry.
func createdOr(created bool, body any) response {
	if created {
		return response{http.StatusCreated, body}
	}
	return response{http.StatusOK, body}
}

// Endpoints are the record use cases as go-kit endpoints.
type Endpoints struct {
	RegisterPatient, GetPatient, DeletePatient                       endpoint.Endpoint
	RecordEncounter, GetEncounter, CorrectEncounter, DeleteEncounter endpoint.Endpoint
}

// MakeEndpoints adapts s.
func MakeEndpoints(s *Service) Endpoints {
	return Endpoints{
		RegisterPatient: func(ctx context.Context, req any) (any, error) {
			p, created, err := s.RegisterPatient(ctx, req.(Patient))
			return createdOr(created, p), err
		},
		GetPatient: func(ctx context.Context, req any) (any, error) {
			return s.Patient(ctx, req.(string))
		},
		DeletePatient: func(ctx context.Context, req any) (any, error) {
			return response{status: http.StatusNoContent}, s.DeletePatient(ctx, req.(string))
		},
		RecordEncounter: func(ctx context.Context, req any) (any, error) {
			e, created, err := s.RecordEncounter(ctx, req.(Encounter))
			return createdOr(created, e), err
		},
		GetEncounter: func(ctx context.Context, req any) (any, error) {
			return s.Encounter(ctx, req.(string))
		},
		CorrectEncounter: func(ctx context.Context, req any) (any, error) {
			return s.CorrectEncounter(ctx, req.(Encounter))
		},
		DeleteEncounter: func(ctx context.Context, req any) (any, error) {
			return response{status: http.StatusNoContent}, s.DeleteEncounter(ctx, req.(string))
		},
	}
}
