package api

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
)

func (a *API) listMaterials(ctx context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	f := catalog.Filter{Status: q.Get("status"), Topic: q.Get("topic"), After: q.Get("after")}
	var err error
	if f.Language, err = languageParam(r); err != nil {
		return nil, err
	}
	if f.Status != "" && f.Status != catalog.Active && f.Status != catalog.Retired {
		return nil, errs.Field(errs.Invalid, "status", "must be active or retired")
	}
	if f.Code, err = codeParam(r); err != nil {
		return nil, err
	}
	if f.Limit, err = intParam(r, "limit", 1, 1000); err != nil {
		return nil, err
	}
	ms, err := a.Catalog.List(ctx, f)
	if err != nil {
		return nil, err
	}
	next := ""
	if f.Limit > 0 && len(ms) == f.Limit {
		next = ms[len(ms)-1].ID
	}
	return map[string]any{"materials": ms, "next": next}, nil
}

func (a *API) addMaterial(ctx context.Context, r *http.Request) (any, error) {
	if _, err := require(ctx, catalogAdmins...); err != nil {
		return nil, err
	}
	var m catalog.Material
	if err := httpapi.DecodeJSON(r, &m); err != nil {
		return nil, err
	}
	m.Version, m.Status = 0, ""
	m, created, err := a.Catalog.Add(ctx, m)
	if err != nil {
		return nil, err
	}
	a.Matcher.Invalidate()
	return createdOr(created, m), nil
}

func (a *API) getMaterial(ctx context.Context, r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	return a.Catalog.Get(ctx, id)
}

// updateMaterial replaces a material's content. The body's version, when given, must
// be the current one; its id, when given, must be the path's; status is not changed
// here (retire has its own route).
func (a *API) updateMaterial(ctx context.Context, r *http.Request) (any, error) {
	if _, err := require(ctx, catalogAdmins...); err != nil {
		return nil, err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	var m catalog.Material
	if err := httpapi.DecodeJSON(r, &m); err != nil {
		return nil, err
	}
	if m.ID != "" && m.ID != id {
		return nil, errs.Field(errs.Invalid, "id", "differs from the material in the path")
	}
	if m.Status != "" {
		return nil, errs.Field(errs.Invalid, "status", "not changed by an update; retire the material instead")
	}
	m.ID = id
	m, err = a.Catalog.Update(ctx, m)
	if err != nil {
		return nil, err
	}
	a.Matcher.Invalidate()
	return m, nil
}

func (a *API) retireMaterial(ctx context.Context, r *http.Request) (any, error) {
	if _, err := require(ctx, catalogAdmins...); err != nil {
		return nil, err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	m, err := a.Catalog.Retire(ctx, id)
	if err != nil {
		return nil, err
	}
	a.Matcher.Invalidate()
	return m, nil
}

func (a *API) materialVersion(ctx context.Context, r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v < 1 {
		return nil, errs.Field(errs.Invalid, "version", "a version number from 1")
	}
	return a.Catalog.Version(ctx, id, v)
}

// importMaterials imports a CSV (text/csv) or JSON (application/json) file. With
// ?mode=partial the good rows are written and the bad reported; by default one bad
// row refuses the file, answered 400 with every bad row by line, and nothing is
// written.
func (a *API) importMaterials(ctx context.Context, r *http.Request) (any, error) {
	if _, err := require(ctx, catalogAdmins...); err != nil {
		return nil, err
	}
	partial := false
	switch r.URL.Query().Get("mode") {
	case "", "all":
	case "partial":
		partial = true
	default:
		return nil, errs.Field(errs.Invalid, "mode", "must be all or partial")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	var rows []catalog.Row
	switch mt {
	case "text/csv":
		rows, err = catalog.ParseCSV(r.Body)
	case "application/json":
		rows, err = catalog.ParseJSON(r.Body)
	default:
		return nil, errs.Field(errs.UnsupportedMediaType, "Content-Type", "must be text/csv or application/json")
	}
	if err != nil {
		return nil, bodyError(err)
	}
	rep, err := a.Catalog.Import(ctx, rows, partial)
	if err != nil {
		return nil, err
	}
	a.Matcher.Invalidate()
	if !rep.Imported {
		return response{http.StatusBadRequest, importRefusal{
			Error:  httpapi.ErrorDetail{Code: errs.Invalid.String(), Message: strconv.Itoa(len(rep.Errors)) + " rows are invalid; nothing was imported"},
			Report: rep,
		}}, nil
	}
	return rep, nil
}

// importRefusal is the 400 body of a refused import: the usual error, and the report
// listing every bad row.
type importRefusal struct {
	Error httpapi.ErrorDetail `json:"error"`
	catalog.Report
}

// bodyError turns a body that was cut at the limit into errs.TooLarge.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errs.E(errs.TooLarge, "the import is larger than %d bytes", ImportLimit)
	}
	return err
}
