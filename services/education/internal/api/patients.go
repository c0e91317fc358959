package api

import (
	"context"
	"net/http"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/education/internal/provision"
)

// patient returns the path's patient ID once the caller may see that patient's data.
func patient(ctx context.Context, r *http.Request) (string, principal.Principal, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return "", principal.Principal{}, err
	}
	p, err := requirePatientAccess(ctx, id)
	return id, p, err
}

// careTeamPatient is patient for routes only the care team uses.
func careTeamPatient(ctx context.Context, r *http.Request) (string, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return "", err
	}
	_, err = require(ctx, careTeam...)
	return id, err
}

type preferences struct {
	Language string `json:"language"`
}

func (a *API) setPreferences(ctx context.Context, r *http.Request) (any, error) {
	id, _, err := patient(ctx, r)
	if err != nil {
		return nil, err
	}
	var p preferences
	if err := httpapi.DecodeJSON(r, &p); err != nil {
		return nil, err
	}
	if err := a.Provisions.SetLanguage(ctx, id, p.Language); err != nil {
		return nil, err
	}
	return map[string]any{"patient_id": id, "language": p.Language}, nil
}

func (a *API) chart(ctx context.Context, r *http.Request) (any, error) {
	id, err := careTeamPatient(ctx, r)
	if err != nil {
		return nil, err
	}
	facts, err := a.Provisions.Facts(ctx, id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"patient_id": id, "facts": facts}, nil
}

func (a *API) matches(ctx context.Context, r *http.Request) (any, error) {
	id, err := careTeamPatient(ctx, r)
	if err != nil {
		return nil, err
	}
	lang, err := languageParam(r)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r, "limit", 1, 1000)
	if err != nil {
		return nil, err
	}
	ms, err := a.Provisions.Matches(ctx, id, lang, limit)
	if err != nil {
		return nil, err
	}
	return map[string]any{"patient_id": id, "matches": ms}, nil
}

func (a *API) suggestions(ctx context.Context, r *http.Request) (any, error) {
	id, err := careTeamPatient(ctx, r)
	if err != nil {
		return nil, err
	}
	sgs, err := a.Provisions.Suggestions(ctx, id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"patient_id": id, "suggestions": sgs}, nil
}

func (a *API) patientProvisions(ctx context.Context, r *http.Request) (any, error) {
	id, _, err := patient(ctx, r)
	if err != nil {
		return nil, err
	}
	ps, err := a.Provisions.List(ctx, id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"patient_id": id, "provisions": ps}, nil
}

func (a *API) provide(ctx context.Context, r *http.Request) (any, error) {
	who, err := principal.Require(ctx)
	if err != nil {
		return nil, err
	}
	var req provision.Request
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	p, created, err := a.Provisions.Provide(ctx, who, req)
	if err != nil {
		return nil, err
	}
	return createdOr(created, p), nil
}

// visibleProvision returns a provision the caller may see.
func (a *API) visibleProvision(ctx context.Context, r *http.Request) (provision.Provision, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return provision.Provision{}, err
	}
	if _, err := principal.Require(ctx); err != nil {
		return provision.Provision{}, err
	}
	p, err := a.Provisions.Get(ctx, id)
	if err != nil {
		return provision.Provision{}, err
	}
	if _, err := requirePatientAccess(ctx, p.PatientID); err != nil {
		return provision.Provision{}, errs.E(errs.NotFound, "no such provision")
	}
	return p, nil
}

func (a *API) getProvision(ctx context.Context, r *http.Request) (any, error) {
	return a.visibleProvision(ctx, r)
}

// open is the patient opening a provided material: the view is recorded and the
// material, as provided, returned.
func (a *API) open(ctx context.Context, r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	who, err := principal.Require(ctx)
	if err != nil {
		return nil, err
	}
	p, m, err := a.Provisions.Open(ctx, who, id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"provision": p, "material": m}, nil
}

func (a *API) medlinePlus(ctx context.Context, r *http.Request) (any, error) {
	if _, err := principal.Require(ctx); err != nil {
		return nil, err
	}
	if a.MedlinePlus == nil {
		return nil, errs.E(errs.NotFound, "the MedlinePlus Connect connector is off (EDUCATION_MEDLINEPLUS)")
	}
	code, err := codeParam(r)
	if err != nil {
		return nil, err
	}
	if code == nil {
		return nil, errs.Field(errs.Invalid, "code", "system and code are required")
	}
	lang, err := languageParam(r)
	if err != nil {
		return nil, err
	}
	if lang == "" {
		lang = "en"
	}
	return a.MedlinePlus.Lookup(ctx, *code, lang)
}
