package console

import (
	"cmp"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/gateway/internal/audit"
)

// exportFormats are reporting's attestation exports, as the pages link them.
var exportFormats = []struct{ ID, Label string }{
	{"json", "Signed JSON"}, {"csv", "CSV"}, {"pdf", "PDF"}, {"qpp", "QPP JSON"},
	{"measurereport", "FHIR MeasureReport"}, {"qrda3", "QRDA III"},
}

type attestationsPage struct {
	Frame
	Items   []Attestation
	Problem *problem
	Formats []struct{ ID, Label string }
}

// Attestations lists the frozen attestations with links to their evidence and exports
// (the auditor's main page; read-only).
func (c *Console) Attestations(w http.ResponseWriter, r *http.Request) {
	p := attestationsPage{Frame: c.frame(r, "Attestations", "/attestations"), Formats: exportFormats}
	items, err := c.api.attestations(r.Context())
	p.Items, p.Problem = items, problemOf(err, "Attestations")
	slices.SortFunc(p.Items, func(a, b Attestation) int { return b.FrozenAt.Compare(a.FrozenAt) })
	c.render(w, r, http.StatusOK, "attestations.html", p)
}

type attestationPage struct {
	Frame
	A       AttestationDetail
	Problem *problem
	Checks  []Check
	Verify  *problem // why verification could not run
	Formats []struct{ ID, Label string }
	Verdict status
}

// Attestation shows one attestation: what was frozen, by whom and when, the measures
// with their verdicts (the evidence; patient lists are in the exports), and whether
// the stored, signed file still verifies.
func (c *Console) Attestation(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	p := attestationPage{Frame: c.frame(r, "Attestation "+id, ""), Formats: exportFormats}
	a, err := c.api.attestation(ctx, id)
	if err != nil {
		p.Problem = problemOf(err, "The attestation")
		c.render(w, r, statusOf(err), "attestation.html", p)
		return
	}
	p.A = a
	raw, err := c.api.exportJSON(ctx, id)
	if err != nil {
		p.Verify = problemOf(err, "Verification")
	} else {
		p.Checks = verifyEnvelope(raw, a.Attestation)
		p.Verdict = statusMet
		p.Verdict.Word = "Verified"
		for _, ch := range p.Checks {
			if !ch.OK {
				p.Verdict = statusNotMet
				p.Verdict.Word = "Does not verify"
			}
		}
	}
	c.render(w, r, http.StatusOK, "attestation.html", p)
}

// verifyEnvelope checks an exported attestation file the way `attest verify` does:
// the payload's digest, the Ed25519 signature over it, and that both match what
// reporting recorded when it froze the attestation.
func verifyEnvelope(raw []byte, a Attestation) []Check {
	var env struct {
		Payload       json.RawMessage `json:"payload"`
		PayloadSHA256 string          `json:"payload_sha256"`
		Signature     string          `json:"signature"`
		PublicKey     string          `json:"public_key"`
		KeyID         string          `json:"key_id"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return []Check{{Name: "format", Detail: "not an attestation file"}}
	}
	sum := sha256.Sum256(env.Payload)
	digest := hex.EncodeToString(sum[:])
	checks := []Check{
		{Name: "payload digest", OK: digest == env.PayloadSHA256, Detail: "SHA-256 of the payload is " + digest},
		{Name: "digest recorded at freeze", OK: digest == a.PayloadSHA256, Detail: "recorded " + a.PayloadSHA256},
	}
	pub, err1 := base64.StdEncoding.DecodeString(env.PublicKey)
	sig, err2 := base64.StdEncoding.DecodeString(env.Signature)
	ok := err1 == nil && err2 == nil && len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, sum[:], sig)
	checks = append(checks, Check{Name: "Ed25519 signature", OK: ok, Detail: "key " + env.KeyID})
	keySum := sha256.Sum256(pub)
	checks = append(checks, Check{Name: "signing key", OK: err1 == nil && hex.EncodeToString(keySum[:8]) == a.KeyID,
		Detail: "recorded key " + a.KeyID})
	return checks
}

// auditColumns are the audit report's columns, each sortable.
var auditColumns = []struct{ ID, Label string }{
	{"seq", "#"}, {"at", "Time (UTC)"}, {"actor", "User"}, {"action", "Action"}, {"patient", "Patient ID"},
	{"remote", "From"}, {"outcome", "Outcome"}, {"detail", "Detail"},
}

type auditPage struct {
	Frame
	Filter  url.Values
	Rows    []audit.Record
	Columns []auditColumn
	Problem *problem
	Next    string
	Export  string
	Limit   int
}

type auditColumn struct {
	ID, Label, Href, Sort string // Sort: "ascending", "descending" or "none" (aria-sort)
}

// auditPageSize is how many records a page of the report shows; sorting orders them.
const auditPageSize = 200

// AuditReport is the audit-log report: filter by period, user, patient and action,
// sort on any column, page by sequence, export as CSV.
func (c *Console) AuditReport(w http.ResponseWriter, r *http.Request) {
	p := auditPage{Frame: c.frame(r, "Audit log", "/audit"), Filter: r.URL.Query(), Limit: auditPageSize}
	q, sortBy, desc, err := auditQuery(r.URL.Query())
	if err != nil {
		p.Problem = problemOf(err, "The filter")
		p.Columns = columns(r.URL.Query(), "seq", false)
		c.render(w, r, http.StatusBadRequest, "audit.html", p)
		return
	}
	q.Limit = auditPageSize
	rows, err := c.opts.Audit(r.Context(), q)
	if err != nil {
		p.Problem = problemOf(err, "The audit log")
		c.render(w, r, statusOf(err), "audit.html", p)
		return
	}
	if len(rows) == auditPageSize {
		next := r.URL.Query()
		next.Set("after", strconv.FormatInt(rows[len(rows)-1].Seq, 10))
		p.Next = "/audit?" + next.Encode()
	}
	sortRecords(rows, sortBy, desc)
	p.Rows = rows
	p.Columns = columns(r.URL.Query(), sortBy, desc)
	exp := r.URL.Query()
	exp.Del("after")
	p.Export = "/audit/export?" + exp.Encode()
	c.render(w, r, http.StatusOK, "audit.html", p)
}

// AuditExport writes the filtered audit records as CSV (every match, in sequence
// order). The export itself is audited by the guard (an export rule).
func (c *Console) AuditExport(w http.ResponseWriter, r *http.Request) {
	q, _, _, err := auditQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-log.csv"`)
	out := csv.NewWriter(w)
	_ = out.Write([]string{"seq", "at", "actor", "action", "patient_id", "remote", "outcome", "detail", "hash"})
	q.Limit = audit.MaxList
	for {
		rows, err := c.opts.Audit(r.Context(), q)
		if err != nil {
			c.opts.Log.ErrorContext(r.Context(), "console: audit export", "err", err)
			return // the CSV ends short; the status is already sent
		}
		for _, rec := range rows {
			_ = out.Write([]string{strconv.FormatInt(rec.Seq, 10), rec.At, cell(rec.Actor), cell(rec.Action),
				cell(rec.PatientID), cell(rec.Remote), string(rec.Outcome), cell(rec.Detail), rec.Hash})
		}
		if len(rows) < q.Limit {
			break
		}
		q.AfterSeq = rows[len(rows)-1].Seq
	}
	out.Flush()
}

// cell keeps a spreadsheet from running a value as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// auditQuery reads the report's filter: from, to (dates, to inclusive), user,
// patient, action, after; sort and dir.
func auditQuery(v url.Values) (q audit.Query, sortBy string, desc bool, err error) {
	if s := v.Get("from"); s != "" {
		t, perr := time.Parse(time.DateOnly, s)
		if perr != nil {
			return q, "", false, errs.Field(errs.Invalid, "from", "a date, YYYY-MM-DD")
		}
		q.From = t
	}
	if s := v.Get("to"); s != "" {
		t, perr := time.Parse(time.DateOnly, s)
		if perr != nil {
			return q, "", false, errs.Field(errs.Invalid, "to", "a date, YYYY-MM-DD")
		}
		q.To = t.AddDate(0, 0, 1)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return q, "", false, errs.Field(errs.Invalid, "to", "on or after from")
	}
	q.Actor, q.PatientID, q.Action = strings.TrimSpace(v.Get("user")), strings.TrimSpace(v.Get("patient")), strings.TrimSpace(v.Get("action"))
	if s := v.Get("after"); s != "" {
		n, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil || n < 0 {
			return q, "", false, errs.Field(errs.Invalid, "after", "a whole number ≥ 0")
		}
		q.AfterSeq = n
	}
	sortBy = cmp.Or(v.Get("sort"), "seq")
	if !slices.ContainsFunc(auditColumns, func(c struct{ ID, Label string }) bool { return c.ID == sortBy }) {
		return q, "", false, errs.Field(errs.Invalid, "sort", "one of the report's columns")
	}
	switch v.Get("dir") {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return q, "", false, errs.Field(errs.Invalid, "dir", "asc or desc")
	}
	return q, sortBy, desc, nil
}

func sortRecords(rows []audit.Record, by string, desc bool) {
	key := func(r audit.Record) string {
		switch by {
		case "at":
			return r.At
		case "actor":
			return r.Actor
		case "action":
			return r.Action
		case "patient":
			return r.PatientID
		case "remote":
			return r.Remote
		case "outcome":
			return string(r.Outcome)
		case "detail":
			return r.Detail
		}
		return ""
	}
	slices.SortStableFunc(rows, func(a, b audit.Record) int {
		c := cmp.Compare(key(a), key(b))
		if c == 0 {
			c = cmp.Compare(a.Seq, b.Seq)
		}
		if desc {
			return -c
		}
		return c
	})
}

// columns are the header links: each sorts by its column, the current one toggles.
func columns(v url.Values, sortBy string, desc bool) []auditColumn {
	out := make([]auditColumn, 0, len(auditColumns))
	for _, col := range auditColumns {
		q := url.Values{}
		for k, vs := range v {
			q[k] = vs
		}
		q.Set("sort", col.ID)
		q.Set("dir", "asc")
		c := auditColumn{ID: col.ID, Label: col.Label, Sort: "none"}
		if col.ID == sortBy {
			c.Sort = "ascending"
			if desc {
				c.Sort = "descending"
			} else {
				q.Set("dir", "desc")
			}
		}
		c.Href = "/audit?" + q.Encode()
		out = append(out, c)
	}
	return out
}
