package attest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/services/reporting/internal/export"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
)

// Routes registers the read side of the attestation API on mux (freezing, recompute
// and diff are package freeze's):
//
//	GET  /v1/attestations?entity=&after=&limit=   summaries, in freeze order
//	GET  /v1/attestations/{id}               the summary and the frozen report, without patient lists
//	GET  /v1/attestations/{id}/export?format=json|csv|pdf|qpp|measurereport|measurereport-summary|qrda3
func Routes(mux *http.ServeMux, s *Store, log *slog.Logger) {
	mux.Handle("GET /v1/attestations", httpapi.NewServer(func(ctx context.Context, req any) (any, error) {
		list, err := s.List(ctx, req.(Query))
		if err != nil {
			return nil, err
		}
		return listResponse{Attestations: list}, nil
	}, decodeList, log))
	mux.Handle("GET /v1/attestations/{id}", httpapi.NewServer(func(ctx context.Context, req any) (any, error) {
		a, err := s.Get(ctx, req.(string))
		if err != nil {
			return nil, err
		}
		p, err := s.Open(a)
		if err != nil {
			return nil, err
		}
		return getResponse{Summary: a.Summary, Report: withoutMembers(p.Report),
			Members: "the patient lists are in the exports: format=json (signed), csv or measurereport"}, nil
	}, decodeID, log))
	mux.HandleFunc("GET /v1/attestations/{id}/export", func(w http.ResponseWriter, r *http.Request) {
		if err := exportAttestation(w, r, s); err != nil {
			httpapi.WriteError(w, r, log, err)
		}
	})
}

type listResponse struct {
	Attestations []Summary `json:"attestations"`
}

type getResponse struct {
	Summary
	Report  report.Report `json:"report"`
	Members string        `json:"members"`
}

// withoutMembers is the report without its patient lists: reading an attestation
// shows its numbers; the lists behind them are drill-down, served by the exports
// (which the gateway guards as PHI).
func withoutMembers(r report.Report) report.Report {
	r.Measures = slices.Clone(r.Measures)
	for i := range r.Measures {
		r.Measures[i].Members = nil
	}
	return r
}

func decodeList(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	out := Query{Entity: q.Get("entity"), After: q.Get("after"), Limit: 100}
	if out.Entity != "" {
		if _, err := ident.ParseEntity(out.Entity); err != nil {
			return nil, err
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxLimit {
			return nil, errs.Field(errs.Invalid, "limit", "must be a number from 1 to %d", MaxLimit)
		}
		out.Limit = n
	}
	return out, nil
}

func decodeID(_ context.Context, r *http.Request) (any, error) { return r.PathValue("id"), nil }

// exportAttestation writes a stored attestation in the requested format: json is
// the signed attestation file itself, byte for byte; the others are exports of the
// frozen report, made after the file verified with the service's key.
func exportAttestation(w http.ResponseWriter, r *http.Request, s *Store) error {
	format := r.URL.Query().Get("format")
	if format == "" {
		return errs.Field(errs.Invalid, "format", "required: json or one of %v", export.Formats())
	}
	a, err := s.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := s.Open(a)
	if err != nil {
		return err
	}
	name := "attestation-" + a.ID
	if format == "json" {
		writeFile(w, "application/json", name+".json", a.File)
		return nil
	}
	f := export.Format(format)
	if f == export.FormatCSV {
		// Streamed: a report with a million members is never held as text. A write
		// failure after the status line can only mean the client went away.
		setFileHeaders(w, export.ContentType(f), name+"-csv.csv")
		w.WriteHeader(http.StatusOK)
		_ = export.CSV(w, p.Report)
		return nil
	}
	var buf bytes.Buffer // other exports are made whole first, so a failure is still a clean error
	seal := &export.Seal{ID: a.ID, FrozenBy: a.FrozenBy, FrozenAt: a.FrozenAt, SHA256: a.PayloadSHA256, KeyID: a.KeyID}
	if err := export.Write(&buf, f, p.Report, seal); err != nil {
		return err
	}
	writeFile(w, export.ContentType(f), fmt.Sprintf("%s-%s.%s", name, f, export.Extension(f)), buf.Bytes())
	return nil
}

func writeFile(w http.ResponseWriter, contentType, name string, body []byte) {
	setFileHeaders(w, contentType, name)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // a failed write means the client went away
}

func setFileHeaders(w http.ResponseWriter, contentType, name string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}
