package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/gateway/internal/guard"
)

// engagementPage is the clinic administrator's page: engagement KPIs by clinic and
// clinician over time, with live updates.
type engagementPage struct {
	Frame
	From, To  string
	Clinic    string
	Query     string
	Clinics   []clinicKPI
	Clinician []KPIRow
	Trends    []clinicTrend
	Weeks     []string
	Problem   *problem
	Worklist  []WorkItem
	WorkNote  *problem
	Scoped    bool // the rows are limited to the caller's clinics
	Updated   string
}

type clinicKPI struct {
	KPIRow
	Response, ResponseP90, Wipe string
}

type clinicTrend struct {
	Clinic      string
	PortalUsers []int
	Messages    []int
	Portal      any // the SVG
	Msgs        any
}

// Engagement is the clinic administrator's page (officers and auditors see every
// clinic): access, portal use, messaging with response times, education,
// self-reported data and tablet wipe compliance, by clinic and clinician, by week.
func (c *Console) Engagement(w http.ResponseWriter, r *http.Request) {
	p, status := c.engagement(r)
	c.render(w, r, status, "engagement.html", p)
}

// EngagementKPIs is the KPI section alone, which the page reloads when metrics
// reports a change (the console's script listens to /metrics/v1/kpis/stream).
func (c *Console) EngagementKPIs(w http.ResponseWriter, r *http.Request) {
	p, status := c.engagement(r)
	c.render(w, r, status, "kpis.html", p)
}

func (c *Console) engagement(r *http.Request) (engagementPage, int) {
	ctx := r.Context()
	q := r.URL.Query()
	now := c.opts.Now().UTC()
	p := engagementPage{Frame: c.frame(r, "Engagement", "/engagement"), Clinic: q.Get("clinic"),
		To: now.Format(time.DateOnly), From: now.AddDate(0, 0, -83).Format(time.DateOnly),
		Updated: now.Format("15:04:05 MST")}
	for name, dst := range map[string]*string{"from": &p.From, "to": &p.To} {
		if s := q.Get(name); s != "" {
			if _, err := time.Parse(time.DateOnly, s); err != nil {
				p.Problem = problemOf(errs.Field(errs.Invalid, name, "a date, YYYY-MM-DD"), "The period")
				return p, http.StatusBadRequest
			}
			*dst = s
		}
	}
	if p.To < p.From {
		p.Problem = problemOf(errs.Field(errs.Invalid, "to", "on or after from"), "The period")
		return p, http.StatusBadRequest
	}
	p.Query = url.Values{"from": {p.From}, "to": {p.To}, "clinic": {p.Clinic}}.Encode()
	caller, _ := guard.CallerFrom(ctx)
	var mine func(row KPIRow) bool
	if caller != nil && caller.Principal.Kind == principal.ClinicAdmin {
		p.Scoped = true
		own := caller.Principal.Clinics
		cache := map[string]bool{}
		visible := func(entity string) bool {
			if v, ok := cache[entity]; ok {
				return v
			}
			cs, err := c.opts.EntityClinics(ctx, entity)
			v := err == nil && slices.ContainsFunc(cs, func(x string) bool { return slices.Contains(own, x) })
			cache[entity] = v
			return v
		}
		mine = func(row KPIRow) bool {
			switch {
			case row.Clinic != "":
				// Messaging's care-team pools are named by their organization, which
				// is what an administrator's clinics are; groups and hospitals by TIN/CCN.
				return slices.Contains(own, row.Clinic) || visible(clinicEntity(row.Clinic))
			case row.Clinician != "":
				return visible("npi:" + row.Clinician)
			}
			return false
		}
		if p.Clinic != "" && !slices.Contains(own, p.Clinic) && !visible(clinicEntity(p.Clinic)) {
			p.Problem = problemOf(errs.E(errs.Forbidden, "clinic %s is not one of yours", p.Clinic), "Engagement")
			return p, http.StatusForbidden
		}
	}
	keep := func(rows []KPIRow) []KPIRow {
		return slices.DeleteFunc(rows, func(row KPIRow) bool {
			return mine != nil && !mine(row) || p.Clinic != "" && row.Clinic != "" && row.Clinic != p.Clinic
		})
	}
	// The three reports are independent reads: asked at once, the page waits for the
	// slowest instead of their sum.
	var byClinic, byClinician, weekly KPIReport
	var errClinic, errClinician, errWeekly error
	var wg sync.WaitGroup
	wg.Go(func() { byClinic, errClinic = c.api.kpis(ctx, p.From, p.To, "clinic") })
	// Clinicians by clinic: what each clinician did at each clinic (a clinician may
	// bill under several), so an administrator sees their clinics' share of it and
	// the clinic decides the row's scope like the clinic table's.
	wg.Go(func() { byClinician, errClinician = c.api.kpis(ctx, p.From, p.To, "clinic,clinician") })
	wg.Go(func() { weekly, errWeekly = c.api.kpis(ctx, p.From, p.To, "week,clinic") })
	wg.Wait()
	if err := errClinic; err != nil {
		// Metrics not served here, or down: the page says so; a refusal or a wrong
		// input is the page's answer.
		p.Problem = problemOf(err, "Engagement KPIs")
		switch errs.KindOf(err) {
		case errs.Forbidden, errs.Invalid, errs.Unauthenticated:
			return p, statusOf(err)
		}
		return p, http.StatusOK
	}
	for _, row := range keep(byClinic.Rows) {
		if row.Clinic == "" {
			continue
		}
		p.Clinics = append(p.Clinics, clinicKPI{KPIRow: row, Response: hours(row.ResponseMedian),
			ResponseP90: hours(row.ResponseP90), Wipe: share(row.WipeCompliance)})
	}
	if errClinician == nil {
		for _, row := range keep(byClinician.Rows) {
			if row.Clinician != "" {
				p.Clinician = append(p.Clinician, row)
			}
		}
	}
	if errWeekly == nil {
		p.Trends, p.Weeks = trends(keep(weekly.Rows))
	}
	if p.Scoped {
		// The worklists of the administrator's clinics (their reporting entities, as
		// the KPI rows name them), for MIPS PI in the year the period ends in, asked
		// at once and shown in the clinics' order.
		year := p.To[:4]
		items := make([][]WorkItem, len(p.Clinics))
		failed := make([]error, len(p.Clinics))
		var wg sync.WaitGroup
		for i, row := range p.Clinics {
			if !reportingEntity(row.Clinic) {
				continue // a messaging pool: it reports nothing
			}
			wg.Go(func() {
				items[i], failed[i] = c.api.worklists(ctx, url.Values{"entity": {clinicEntity(row.Clinic)},
					"program": {"mips-pi"}, "year": {year}, "page_size": {"25"}})
			})
		}
		wg.Wait()
		for i := range p.Clinics {
			if failed[i] != nil {
				p.WorkNote = problemOf(failed[i], "Worklists")
				break
			}
			p.Worklist = append(p.Worklist, items[i]...)
		}
	}
	return p, http.StatusOK
}

// reportingEntity reports whether a KPI clinic key names a reporting entity (a
// group's TIN or a hospital's CCN) rather than messaging's organization pool.
func reportingEntity(clinic string) bool {
	if kind, _, ok := strings.Cut(clinic, ":"); ok {
		return kind == "tin" || kind == "ccn"
	}
	if len(clinic) != 9 && len(clinic) != 6 {
		return false
	}
	for _, r := range clinic {
		if (r < '0' || r > '9') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// clinicEntity is the reporting entity a KPI clinic key names: "tin:…" or "ccn:…"
// as metrics writes it, or a bare 9-digit TIN or CCN.
func clinicEntity(clinic string) string {
	if strings.Contains(clinic, ":") { // already kind:id, as metrics writes it
		return clinic
	}
	if len(clinic) == 9 {
		return "tin:" + clinic
	}
	return "ccn:" + clinic
}

// trends turns week × clinic rows into per-clinic series over the weeks seen.
func trends(rows []KPIRow) ([]clinicTrend, []string) {
	var weeks []string
	for _, r := range rows {
		if r.Week != "" && !slices.Contains(weeks, r.Week) {
			weeks = append(weeks, r.Week)
		}
	}
	slices.Sort(weeks)
	idx := map[string]int{}
	for i, wk := range weeks {
		idx[wk] = i
	}
	byClinic := map[string]*clinicTrend{}
	var order []string
	for _, r := range rows {
		if r.Clinic == "" || r.Week == "" {
			continue
		}
		t, ok := byClinic[r.Clinic]
		if !ok {
			t = &clinicTrend{Clinic: r.Clinic, PortalUsers: make([]int, len(weeks)), Messages: make([]int, len(weeks))}
			byClinic[r.Clinic] = t
			order = append(order, r.Clinic)
		}
		t.PortalUsers[idx[r.Week]] += r.PortalUsers
		t.Messages[idx[r.Week]] += r.MessagesReceived
	}
	slices.Sort(order)
	out := make([]clinicTrend, 0, len(order))
	for _, clinic := range order {
		t := byClinic[clinic]
		t.Portal = trendBars(floats(t.PortalUsers), fmt.Sprintf("Portal users per week, %d weeks, last week %d", len(weeks), last(t.PortalUsers)))
		t.Msgs = trendBars(floats(t.Messages), fmt.Sprintf("Messages received per week, %d weeks, last week %d", len(weeks), last(t.Messages)))
		out = append(out, *t)
	}
	return out, weeks
}

func floats(v []int) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func last(v []int) int {
	if len(v) == 0 {
		return 0
	}
	return v[len(v)-1]
}

// hours writes a response time in clinic hours: "2 h 05 min", or "—" when none.
func hours(seconds *int64) string {
	if seconds == nil {
		return "—"
	}
	d := time.Duration(*seconds) * time.Second
	return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
}

func share(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100**v)
}
