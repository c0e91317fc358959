package console

// Every call the console makes to the services' HTTP APIs is in this file, with the
// shapes it reads, so a change of an API is one place to adjust. The calls go
// through the gateway's guarded client as the signed-in user: the policy decides
// each, exactly as for a call from outside.
//
// The reporting routes marked "assumed" were being built when the console was
// written (issue #9, H4/H5); the console shows a "not available" panel when one of
// them is not served (the policy or the service answers 404).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/services/gateway/internal/guard"
)

// Entity is a reporting entity as the APIs write it.
type Entity struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

func (e Entity) String() string { return e.Kind + ":" + e.ID }

// Reason explains one decision about a member (metrics and reporting alike).
type Reason struct {
	Code string    `json:"code"`
	Ref  string    `json:"ref,omitempty"`
	At   time.Time `json:"at,omitzero"`
	Note string    `json:"note,omitempty"`
}

// Member is one patient (or counted object) behind a number; IDs only, no PHI.
type Member struct {
	PatientID     string `json:"patient_id"`
	Object        string `json:"object,omitempty"`
	InDenominator bool   `json:"in_denominator"`
	InNumerator   bool   `json:"in_numerator"`
	Denominator   Reason `json:"denominator"`
	Numerator     Reason `json:"numerator,omitzero"`
	Via           string `json:"via,omitempty"`
}

// Report is reporting's report (services/reporting/internal/report.Report), the
// fields the console shows.
type Report struct {
	Program     string     `json:"program"`
	Year        int        `json:"year"`
	Entity      Entity     `json:"entity"`
	Period      Period     `json:"period"`
	GeneratedAt time.Time  `json:"generated_at"`
	DataAsOf    time.Time  `json:"data_as_of"`
	Measures    []RMeasure `json:"measures"`
	Score       *Score     `json:"score,omitempty"`
	Pass        bool       `json:"pass"`
	Failures    []string   `json:"failures,omitempty"`
	Money       *Money     `json:"money,omitempty"`
}

// Period is a reporting period, both days included.
type Period struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// RMeasure is one measure of a report with the rule book's verdict.
type RMeasure struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Kind        string `json:"kind"`
	Reported    bool   `json:"reported"`
	Numerator   int64  `json:"numerator"`
	Denominator int64  `json:"denominator"`
	Exclusion   string `json:"exclusion,omitempty"`
	Status      string `json:"status"` // met, not_met, excluded, not_reported, substituted
	Reason      string `json:"reason"`
	Threshold   string `json:"threshold"`
	MaxPoints   string `json:"max_points,omitempty"`
	Points      int64  `json:"points"`
	Formula     string `json:"formula,omitempty"`
}

// Score is the report's score against the minimum.
type Score struct {
	Sum     int64 `json:"sum"`
	Total   int64 `json:"total"`
	Minimum int   `json:"minimum"`
}

// Money is the incentive or adjustment with how it was computed.
type Money struct {
	Kind        string          `json:"kind"`
	PaymentYear int             `json:"payment_year"`
	Outcome     string          `json:"outcome"`
	Amount      json.RawMessage `json:"amount,omitempty"`
	Percent     string          `json:"percent,omitempty"`
	Explanation struct {
		Formula string `json:"formula"`
		Inputs  []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"inputs"`
		Steps []string `json:"steps"`
	} `json:"explanation"`
}

// Numbers is metrics' answer for one measure, entity and period.
type Numbers struct {
	Measure     string `json:"measure"`
	Title       string `json:"title"`
	From        string `json:"from"`
	To          string `json:"to"`
	Numerator   int    `json:"numerator"`
	Denominator int    `json:"denominator"`
	Threshold   string `json:"threshold"`
	Met         bool   `json:"met"`
	Borderline  bool   `json:"borderline"`
}

// CatalogMeasure is a row of metrics' measure catalog.
type CatalogMeasure struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Kind      string   `json:"kind"`
	Threshold string   `json:"threshold"`
	Variants  []string `json:"variants,omitempty"`
	Required  bool     `json:"required"`
	Computed  bool     `json:"computed"`
}

// MemberPage is one page of the members behind a number.
type MemberPage struct {
	Members   []Member `json:"members"`
	Total     int      `json:"total"`
	NextToken string   `json:"next_token,omitempty"`
}

// BestWindow is reporting's best reporting window of a length within a year.
type BestWindow struct {
	Days    int    `json:"days"`
	Rule    string `json:"rule"`
	Windows int    `json:"windows_evaluated"`
	Ranking string `json:"ranking"`
	Best    Window `json:"best"`
}

// Window is one candidate window.
type Window struct {
	From          string `json:"from"`
	To            string `json:"to"`
	RequiredMet   int    `json:"required_met"`
	RequiredTotal int    `json:"required_total"`
	Score         *int64 `json:"score,omitempty"`
	Pass          bool   `json:"pass"`
	Margin        string `json:"margin"`
}

// Forecast is reporting's projection of each measure to the end of the period.
type Forecast struct {
	Method        string `json:"method"`
	DaysElapsed   int    `json:"days_elapsed"`
	DaysRemaining int    `json:"days_remaining"`
	Measures      []struct {
		ID        string `json:"id"`
		Threshold string `json:"threshold"`
		Variant   string `json:"variant,omitempty"`
		Now       struct {
			Numerator   int64  `json:"numerator"`
			Denominator int64  `json:"denominator"`
			Percent     string `json:"percent,omitempty"`
		} `json:"now"`
		Projected struct {
			Percent     string `json:"percent,omitempty"`
			PercentLow  string `json:"percent_low,omitempty"`
			PercentHigh string `json:"percent_high,omitempty"`
		} `json:"projected"`
		Status string `json:"status"` // likely, at_risk, unlikely, met, not_met, no_threshold
	} `json:"measures"`
}

// WorkItem is one row of reporting's worklist: a patient not yet in a measure's
// numerator, why, and by when.
type WorkItem struct {
	PatientID string    `json:"patient_id"`
	Measure   string    `json:"measure"`
	Clinician string    `json:"clinician,omitempty"`
	Reason    string    `json:"reason"` // pending, missing, out-of-window
	Deadline  time.Time `json:"deadline,omitzero"`
}

// Attestation is reporting's attestation summary.
type Attestation struct {
	ID            string    `json:"id"`
	Program       string    `json:"program"`
	Year          int       `json:"year"`
	Entity        string    `json:"entity"`
	PeriodFrom    string    `json:"period_from"`
	PeriodTo      string    `json:"period_to"`
	LogicVersion  string    `json:"logic_version"`
	FrozenBy      string    `json:"frozen_by"`
	FrozenAt      time.Time `json:"frozen_at"`
	PayloadSHA256 string    `json:"payload_sha256"`
	KeyID         string    `json:"key_id"`
}

// AttestationDetail is an attestation with its frozen report.
type AttestationDetail struct {
	Attestation
	Report Report `json:"report"`
}

// Check is one verification check of an exported attestation.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// KPIRow is one row of metrics' engagement KPIs.
type KPIRow struct {
	Week               string   `json:"week,omitempty"`
	Clinic             string   `json:"clinic,omitempty"`
	Clinician          string   `json:"clinician,omitempty"`
	AccessProvisioned  int      `json:"access_provisioned"`
	PatientsWithAccess int      `json:"patients_with_access"`
	PortalUsers        int      `json:"portal_users"`
	PortalActions      int      `json:"portal_actions"`
	MessagesSent       int      `json:"messages_sent"`
	MessagesReceived   int      `json:"messages_received"`
	MessagesAnswered   int      `json:"messages_answered"`
	ResponseMedian     *int64   `json:"response_median_seconds,omitempty"`
	ResponseP90        *int64   `json:"response_p90_seconds,omitempty"`
	RequestsAnswered   int      `json:"requests_answered"`
	EducationProvided  int      `json:"education_provided"`
	EducationViewed    int      `json:"education_viewed"`
	SelfReported       int      `json:"self_reported_uploads"`
	DataIncorporated   int      `json:"patient_data_incorporated"`
	TabletSessions     int      `json:"tablet_sessions"`
	TabletsWiped       int      `json:"tablets_wiped"`
	WipeCompliance     *float64 `json:"wipe_compliance,omitempty"`
}

// KPIReport is metrics' KPI answer.
type KPIReport struct {
	From string   `json:"from"`
	To   string   `json:"to"`
	By   []string `json:"by"`
	Rows []KPIRow `json:"rows"`
}

// DirEntry is one reporting entity the selector offers, from records' directory.
type DirEntry struct {
	Entity string
	Label  string
}

// selection is what a page asks about: program, year, entity and period.
type selection struct {
	Program, Entity string
	Year            int
	From, To        string
}

func (s selection) values() url.Values {
	return url.Values{"program": {s.Program}, "year": {strconv.Itoa(s.Year)}, "entity": {s.Entity},
		"from": {s.From}, "to": {s.To}}
}

// api is the console's client of the services.
type api struct {
	c *http.Client
	// kpi lets identical KPI reads in flight at the same moment share one answer.
	kpi *singleflight.Group
}

// report: GET /reporting/v1/reports?program=&year=&entity=&from=&to= (assumed: the
// report.Report JSON).
func (a api) report(ctx context.Context, s selection) (Report, error) {
	var r Report
	err := a.get(ctx, "http://reporting/v1/reports?"+s.values().Encode(), &r)
	return r, err
}

// reportMembers: GET /reporting/v1/reports/members?…&measure=&in=&page_token= (assumed:
// the same page shape as metrics' members).
func (a api) reportMembers(ctx context.Context, s selection, measure, in, token string) (MemberPage, error) {
	q := s.values()
	q.Set("measure", measure)
	q.Set("in", in)
	q.Set("page_size", "50")
	if token != "" {
		q.Set("page_token", token)
	}
	var p MemberPage
	err := a.get(ctx, "http://reporting/v1/reports/members?"+q.Encode(), &p)
	return p, err
}

// bestWindow: GET /reporting/v1/best-window?program=&year=&entity=&days=.
func (a api) bestWindow(ctx context.Context, s selection, days int) (BestWindow, error) {
	q := url.Values{"program": {s.Program}, "year": {strconv.Itoa(s.Year)}, "entity": {s.Entity}, "days": {strconv.Itoa(days)}}
	var w BestWindow
	err := a.get(ctx, "http://reporting/v1/best-window?"+q.Encode(), &w)
	return w, err
}

// forecast: GET /reporting/v1/forecast?program=&year=&entity=&from=&to=.
func (a api) forecast(ctx context.Context, s selection) (Forecast, error) {
	var f Forecast
	err := a.get(ctx, "http://reporting/v1/forecast?"+s.values().Encode(), &f)
	return f, err
}

// worklists: GET /reporting/v1/worklists?program=&year=&entity=[&from=&to=&page_size=]
// → {"items":[…], "total": n, …}.
func (a api) worklists(ctx context.Context, q url.Values) ([]WorkItem, error) {
	var body struct {
		Items []WorkItem `json:"items"`
	}
	err := a.get(ctx, "http://reporting/v1/worklists?"+q.Encode(), &body)
	return body.Items, err
}

// freeze: POST /reporting/v1/attestations with {program, year, entity, from, to}
// (assumed shape: reporting computes and freezes the report server-side); answers
// the summary.
func (a api) freeze(ctx context.Context, s selection) (Attestation, error) {
	body, _ := json.Marshal(map[string]any{"program": s.Program, "year": s.Year, "entity": s.Entity,
		"from": s.From, "to": s.To})
	var out Attestation
	err := a.do(ctx, http.MethodPost, "http://reporting/v1/attestations", body, &out)
	return out, err
}

// attestations: GET /reporting/v1/attestations?limit=.
func (a api) attestations(ctx context.Context) ([]Attestation, error) {
	var body struct {
		Attestations []Attestation `json:"attestations"`
	}
	err := a.get(ctx, "http://reporting/v1/attestations?limit=200", &body)
	return body.Attestations, err
}

// attestation: GET /reporting/v1/attestations/{id}.
func (a api) attestation(ctx context.Context, id string) (AttestationDetail, error) {
	var d AttestationDetail
	err := a.get(ctx, "http://reporting/v1/attestations/"+url.PathEscape(id), &d)
	return d, err
}

// verifyAttestation: GET /reporting/v1/attestations/{id}/export?format=json, then the
// signed document's checks (the same as `attest verify`): the console shows whether
// the stored attestation still verifies.
func (a api) exportJSON(ctx context.Context, id string) (json.RawMessage, error) {
	var raw json.RawMessage
	err := a.get(ctx, "http://reporting/v1/attestations/"+url.PathEscape(id)+"/export?format=json", &raw)
	return raw, err
}

// measures: GET /metrics/v1/measures?program=&year=&entity_kind=.
func (a api) measures(ctx context.Context, s selection) ([]CatalogMeasure, error) {
	kind, _, _ := strings.Cut(s.Entity, ":")
	q := url.Values{"program": {s.Program}, "year": {strconv.Itoa(s.Year)}, "entity_kind": {kind}}
	var body struct {
		Measures []CatalogMeasure `json:"measures"`
	}
	err := a.get(ctx, "http://metrics/v1/measures?"+q.Encode(), &body)
	return body.Measures, err
}

// numbers: GET /metrics/v1/numbers?entity=&program=&year=&measure=&from=&to=[&variant=].
func (a api) numbers(ctx context.Context, s selection, measure, variant string) (Numbers, error) {
	q := s.values()
	q.Set("measure", measure)
	if variant != "" {
		q.Set("variant", variant)
	}
	var n Numbers
	err := a.get(ctx, "http://metrics/v1/numbers?"+q.Encode(), &n)
	return n, err
}

// members: GET /metrics/v1/members?<numbers>&in=&page_size=&page_token=.
func (a api) members(ctx context.Context, s selection, measure, variant, in, token string) (MemberPage, error) {
	q := s.values()
	q.Set("measure", measure)
	if variant != "" {
		q.Set("variant", variant)
	}
	q.Set("in", in)
	q.Set("page_size", "50")
	if token != "" {
		q.Set("page_token", token)
	}
	var p MemberPage
	err := a.get(ctx, "http://metrics/v1/members?"+q.Encode(), &p)
	return p, err
}

// kpis: GET /metrics/v1/kpis?from=&to=&by=.
//
// Each answer is metrics adding up every KPI row of the period, and many people open
// the engagement page at once (the same three reports each): identical reads that
// arrive while one is in flight wait for it and share its answer instead of asking
// again. The answer is never kept after that, so it is as current as a read of its
// own. metrics.kpis.read is organization-wide for every kind it admits (the policy
// test TestKPIReadIsOrganizationWide), so the policy's answer depends on the
// caller's kind alone, which is part of the key; callers without a session never
// share.
func (a api) kpis(ctx context.Context, from, to, by string) (KPIReport, error) {
	u := "http://metrics/v1/kpis?" + url.Values{"from": {from}, "to": {to}, "by": {by}}.Encode()
	read := func(ctx context.Context) (KPIReport, error) {
		var k KPIReport
		err := a.get(ctx, u, &k)
		return k, err
	}
	caller, ok := guard.CallerFrom(ctx)
	if !ok || a.kpi == nil {
		return read(ctx)
	}
	// The shared read must not end when the first caller goes away: the others wait on it.
	v, err, _ := a.kpi.Do(string(caller.Principal.Kind)+" "+u, func() (any, error) { return read(context.WithoutCancel(ctx)) })
	k := v.(KPIReport)
	// Callers filter the rows in place: each gets its own slice.
	k.Rows = slices.Clone(k.Rows)
	return k, err
}

// directory: GET /records/v1/groups, /clinicians and /hospitals (first 1000 each):
// the entities the selector offers. Directory rows hold no PHI.
func (a api) directory(ctx context.Context) ([]DirEntry, error) {
	var out []DirEntry
	var groups struct {
		Items []struct {
			TIN  string `json:"tin"`
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := a.get(ctx, "http://records/v1/groups?limit=1000", &groups); err != nil {
		return nil, err
	}
	for _, g := range groups.Items {
		out = append(out, DirEntry{Entity: "tin:" + g.TIN, Label: g.Name + " (group TIN " + g.TIN + ")"})
	}
	var hospitals struct {
		Items []struct {
			CCN  string `json:"ccn"`
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := a.get(ctx, "http://records/v1/hospitals?limit=1000", &hospitals); err == nil {
		for _, h := range hospitals.Items {
			out = append(out, DirEntry{Entity: "ccn:" + h.CCN, Label: h.Name + " (hospital CCN " + h.CCN + ")"})
		}
	}
	var clinicians struct {
		Items []struct {
			NPI  string `json:"npi"`
			Name struct {
				Family string `json:"family"`
			} `json:"name"`
			Credential string `json:"credential"`
		} `json:"items"`
	}
	if err := a.get(ctx, "http://records/v1/clinicians?limit=1000", &clinicians); err == nil {
		for _, c := range clinicians.Items {
			out = append(out, DirEntry{Entity: "npi:" + c.NPI,
				Label: strings.TrimSpace(c.Name.Family+" "+c.Credential) + " (clinician NPI " + c.NPI + ")"})
		}
	}
	return out, nil
}

func (a api) get(ctx context.Context, u string, v any) error {
	return a.do(ctx, http.MethodGet, u, nil, v)
}

// do calls a service. A non-2xx answer comes back as an error of the matching kind
// with the service's message (which names the field for a 400), so a page can say
// "not available" for 404, "not permitted" for 403, and the field for 400.
func (a api) do(ctx context.Context, method, u string, body []byte, v any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.c.Do(req)
	if err != nil {
		// The guard refuses before the call: the error carries the policy's kind.
		var ue *url.Error
		if errors.As(err, &ue) && errs.KindOf(ue.Err) != errs.Other {
			return ue.Err
		}
		return errs.Wrap(errs.Unavailable, err, "service unreachable")
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, httpapi.DefaultBodyLimit))
	if err != nil {
		return errs.Wrap(errs.Unavailable, err, "reading the answer")
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Message string `json:"message"`
				Field   string `json:"field"`
			} `json:"error"`
		}
		msg := fmt.Sprintf("answered %d", resp.StatusCode)
		if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		k := kindOfStatus(resp.StatusCode)
		if e.Error.Field != "" {
			return errs.Field(k, e.Error.Field, "%s", msg)
		}
		return errs.E(k, "%s", msg)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errs.Wrap(errs.Unavailable, err, "unexpected answer")
	}
	return nil
}

func kindOfStatus(code int) errs.Kind {
	switch code {
	case http.StatusBadRequest:
		return errs.Invalid
	case http.StatusUnprocessableEntity:
		return errs.Unprocessable
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return errs.NotFound
	case http.StatusConflict:
		return errs.Conflict
	case http.StatusUnauthorized:
		return errs.Unauthenticated
	case http.StatusForbidden:
		return errs.Forbidden
	case http.StatusTooManyRequests:
		return errs.RateLimited
	}
	return errs.Unavailable
}
