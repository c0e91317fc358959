package console

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/services/gateway/internal/guard"
)

// atRiskPoints is how close above its threshold a met measure is called "at risk":
// a few more misses would fail it.
const atRiskPoints = 5.0

// tile is one measure as the officer's page shows it.
type tile struct {
	ID, Title, Variant string
	Num, Den           int64
	Rate               string // "45.2%", or "no denominator"
	Threshold          string
	Points             string // "12 of 25 points"; "" when not scored
	Status             status
	Reason             string
	Formula            string
	Bar                template.HTML
	Spark              string // the sparkline fragment's URL
	Drill              string // the drill-down URL
	Worklist           string // the not-in-numerator list's URL
	YesNo              bool   // a yes/no measure: no ratio to draw or drill into
}

// status is a verdict in words with its icon; the colour only repeats them.
type status struct {
	Class, Icon, Word string
}

var (
	statusMet         = status{"met", "✔", "Met"}
	statusAtRisk      = status{"at-risk", "⚠", "At risk"}
	statusNotMet      = status{"not-met", "✖", "Not met"}
	statusExcluded    = status{"excluded", "⊘", "Excluded"}
	statusNotReported = status{"not-reported", "–", "Not reported"}
)

// verdict decides a tile's status from the rule book's word (or metrics' met) and
// how far the rate is above the threshold.
func verdict(word string, rate, threshold float64, hasThreshold bool) status {
	switch word {
	case "excluded":
		return statusExcluded
	case "not_reported", "substituted":
		return statusNotReported
	case "met":
		if hasThreshold && !math.IsNaN(rate) && rate-threshold < atRiskPoints {
			return statusAtRisk
		}
		return statusMet
	}
	return statusNotMet
}

func percent(num, den int64) float64 {
	if den == 0 {
		return math.NaN()
	}
	return 100 * float64(num) / float64(den)
}

func rateText(r float64) string {
	if math.IsNaN(r) {
		return "no denominator"
	}
	return strconv.FormatFloat(r, 'f', 1, 64) + "%"
}

// compliancePage is the officer's main page.
type compliancePage struct {
	Frame
	Choice      choice
	Programs    []struct{ ID, Label string }
	Periods     []struct{ ID, Label string }
	Directory   []DirEntry
	Problem     *problem // the selector or the numbers
	Tiles       []tile
	Source      string // "reporting" or "metrics"
	AsOf        string
	Report      *Report
	Met         int
	ReportNote  *problem // why score and money are missing
	Query       string   // the choice as a query string, for the lazy panels
	Services    []serviceStatus
	FreezeError *problem
}

type serviceStatus struct {
	Name  string
	Ready bool
	Note  string
}

// Compliance is the compliance officer's page: the selector, the measure tiles,
// score against the minimum, the incentive or adjustment with its formula, and
// panels (best window, forecast, worklists) loaded after the page.
func (c *Console) Compliance(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := compliancePage{Frame: c.frame(r, "Measures", "/compliance"), Programs: programs, Periods: periodKinds}
	ch, err := parseChoice(r.URL.Query(), c.opts.Now())
	p.Choice = ch
	p.Directory = c.directory(ctx)
	if caller, ok := guard.CallerFrom(ctx); ok && caller.Principal.Kind == principal.Officer {
		for _, s := range c.opts.Services {
			p.Services = append(p.Services, c.ready(ctx, s))
		}
	}
	if err != nil {
		p.Problem = problemOf(err, "The selection")
		c.render(w, r, http.StatusBadRequest, "compliance.html", p)
		return
	}
	if ch.Entity == "" {
		c.render(w, r, http.StatusOK, "compliance.html", p)
		return
	}
	p.Query = ch.query().Encode()
	sel := ch.selection()
	rep, err := c.api.report(ctx, sel)
	switch {
	case err == nil:
		p.Source, p.Report = "reporting", &rep
		p.AsOf = rep.DataAsOf.UTC().Format("2006-01-02 15:04 MST")
		for _, m := range rep.Measures {
			p.Tiles = append(p.Tiles, c.reportTile(ch, m))
		}
	case errs.KindOf(err) == errs.NotFound:
		// Reporting's report is not served here yet: the tiles come from metrics'
		// numbers, without points, score or money.
		p.ReportNote = problemOf(err, "Score, points and payment")
		p.Tiles, err = c.metricsTiles(ctx, ch)
		p.Source = "metrics"
		p.AsOf = c.opts.Now().UTC().Format("2006-01-02 15:04 MST")
		if err != nil {
			p.Problem = problemOf(err, "The measures")
			c.render(w, r, statusOf(err), "compliance.html", p)
			return
		}
	default:
		p.Problem = problemOf(err, "The report")
		c.render(w, r, statusOf(err), "compliance.html", p)
		return
	}
	for _, t := range p.Tiles {
		if t.Status == statusMet || t.Status == statusAtRisk {
			p.Met++
		}
	}
	c.render(w, r, http.StatusOK, "compliance.html", p)
}

func (c *Console) ready(ctx context.Context, service string) serviceStatus {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var body struct {
		Status string `json:"status"`
	}
	if err := c.api.get(ctx, "http://"+service+"/readyz", &body); err != nil {
		return serviceStatus{Name: service, Note: err.Error()}
	}
	return serviceStatus{Name: service, Ready: true, Note: "ready"}
}

func (c *Console) reportTile(ch choice, m RMeasure) tile {
	rate := percent(m.Numerator, m.Denominator)
	thr, has := thresholdPercent(m.Threshold)
	t := tile{ID: m.ID, Title: m.Title, Num: m.Numerator, Den: m.Denominator, Rate: rateText(rate),
		Threshold: m.Threshold, Reason: m.Reason, Formula: m.Formula,
		Status: verdict(m.Status, rate, thr, has)}
	if m.Kind == "yes-no" {
		// An attestation, not a ratio: no rate, trend or patient list.
		t.YesNo = true
		t.Rate = "attested"
		if m.Reason != "" {
			t.Rate = m.Reason
		}
	}
	if m.MaxPoints != "" {
		t.Points = fmt.Sprintf("%d of %s points", m.Points, m.MaxPoints)
	} else if m.Points != 0 {
		t.Points = fmt.Sprintf("%d points", m.Points)
	}
	c.links(&t, ch, rate, thr, has)
	return t
}

// metricsTiles builds the tiles from metrics: the catalog, then the numbers of each
// computed measure (the first variant of one that has variants).
func (c *Console) metricsTiles(ctx context.Context, ch choice) ([]tile, error) {
	cat, err := c.api.measures(ctx, ch.selection())
	if err != nil {
		return nil, err
	}
	var tiles []tile
	for _, m := range cat {
		if !m.Computed {
			continue
		}
		variant := ""
		if len(m.Variants) > 0 {
			variant = m.Variants[0]
		}
		n, err := c.api.numbers(ctx, ch.selection(), m.ID, variant)
		if err != nil {
			if k := errs.KindOf(err); k == errs.NotFound || k == errs.Unprocessable {
				continue // not computed for this entity kind or year
			}
			return nil, err
		}
		rate := percent(int64(n.Numerator), int64(n.Denominator))
		thr, has := thresholdPercent(n.Threshold)
		word := "not_met"
		if n.Met {
			word = "met"
		}
		st := verdict(word, rate, thr, has)
		if n.Met && n.Borderline {
			st = statusAtRisk
		}
		t := tile{ID: m.ID, Title: m.Title, Variant: variant, Num: int64(n.Numerator), Den: int64(n.Denominator),
			Rate: rateText(rate), Threshold: n.Threshold, Status: st}
		c.links(&t, ch, rate, thr, has)
		tiles = append(tiles, t)
	}
	return tiles, nil
}

func (c *Console) links(t *tile, ch choice, rate, thr float64, has bool) {
	bar := rate
	if math.IsNaN(bar) {
		bar = 0
	}
	t.Bar = rateBar(bar, thr, has)
	q := ch.query()
	q.Set("measure", t.ID)
	if t.Variant != "" {
		q.Set("variant", t.Variant)
	}
	t.Spark = "/panels/spark?" + q.Encode()
	q.Set("in", "denominator")
	t.Drill = "/members?" + q.Encode()
	q.Set("in", "not-numerator")
	t.Worklist = "/members?" + q.Encode()
}

// Panel answers the officer page's lazily loaded fragments: a measure's 12-week
// sparkline, the best 90- and 180-day windows, the forecast, the worklists.
func (c *Console) Panel(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ch, err := parseChoice(r.URL.Query(), c.opts.Now())
	if err == nil && ch.Entity == "" {
		err = errs.Field(errs.Invalid, "entity", "required")
	}
	data := struct {
		Name    string
		Problem *problem
		Spark   template.HTML
		Weeks   int
		Windows []windowRow
		Fc      *Forecast
		Items   []WorkItem
		Choice  choice
	}{Name: r.PathValue("name"), Choice: ch}
	if err != nil {
		data.Problem = problemOf(err, "The panel")
		c.render(w, r, http.StatusBadRequest, "panel.html", data)
		return
	}
	switch data.Name {
	case "spark":
		data.Spark, data.Weeks, err = c.spark(ctx, ch, r.URL.Query().Get("measure"), r.URL.Query().Get("variant"))
		data.Problem = problemOf(err, "The trend")
	case "best-window":
		for _, days := range []int{90, 180} {
			win, err := c.api.bestWindow(ctx, ch.selection(), days)
			row := windowRow{Days: days, W: win}
			if errs.KindOf(err) == errs.Invalid && errs.FieldOf(err) == "days" {
				// The program's rule has no period of this length (MIPS PI 2025 asks for
				// 180 days, Medicaid 2021 for 90): not a mistake of the person's input,
				// a length that does not apply, said with the rule's reason.
				row.NotApplicable = strings.TrimPrefix(err.Error(), "days: ")
			} else {
				row.Problem = problemOf(err, "The best window")
			}
			data.Windows = append(data.Windows, row)
		}
	case "forecast":
		f, err := c.api.forecast(ctx, ch.selection())
		if err == nil {
			data.Fc = &f
		}
		data.Problem = problemOf(err, "The forecast")
	case "worklist":
		data.Items, err = c.api.worklists(ctx, url.Values{"entity": {ch.Entity}, "from": {ch.From}, "to": {ch.To},
			"program": {ch.Program}, "year": {strconv.Itoa(ch.Year)}, "page_size": {"50"}})
		data.Problem = problemOf(err, "The worklist")
	default:
		data.Problem = problemOf(errs.Field(errs.NotFound, "name", "no such panel"), "The panel")
		c.render(w, r, http.StatusNotFound, "panel.html", data)
		return
	}
	c.render(w, r, http.StatusOK, "panel.html", data)
}

type windowRow struct {
	Days          int
	W             BestWindow
	Problem       *problem
	NotApplicable string // why the program has no period of this length
}

// spark draws a measure's rate in each of the last 12 weeks of the period.
func (c *Console) spark(ctx context.Context, ch choice, measure, variant string) (template.HTML, int, error) {
	if measure == "" {
		return "", 0, errs.Field(errs.Invalid, "measure", "required")
	}
	if variant == "" {
		// Reporting's report names no variant; metrics needs one for a measure that
		// has them (e-Prescribing): take the catalog's first, as the tiles do.
		if cat, err := c.api.measures(ctx, ch.selection()); err == nil {
			for _, m := range cat {
				if m.ID == measure && len(m.Variants) > 0 {
					variant = m.Variants[0]
				}
			}
		}
	}
	ws := weeks(ch.From, ch.To, 12)
	rates := make([]float64, len(ws))
	threshold, has := 0.0, false
	for i, wk := range ws {
		s := ch.selection()
		s.From, s.To = wk[0], wk[1]
		n, err := c.api.numbers(ctx, s, measure, variant)
		if err != nil {
			return "", 0, err
		}
		rates[i] = percent(int64(n.Numerator), int64(n.Denominator))
		threshold, has = thresholdPercent(n.Threshold)
	}
	label := "Weekly rate over the last " + strconv.Itoa(len(ws)) + " weeks"
	if len(rates) > 0 {
		label += ": first " + rateText(rates[0]) + ", last " + rateText(rates[len(rates)-1])
	}
	return sparkline(rates, threshold, has, label), len(ws), nil
}

// membersPage is the drill-down: the patients behind a number, with the reason for each.
type membersPage struct {
	Frame
	Choice           choice
	Measure, Variant string
	In               string
	Page             MemberPage
	Problem          *problem
	Next             string // the next page's URL
	Back             string
	Source           string
}

// Members is the drill-down: the patients (opaque IDs, never names) behind a measure's
// number, a page at a time, each with the reason it is in or out. Reporting's
// member list when it is served, else metrics' (the same shape).
func (c *Console) Members(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	ch, err := parseChoice(q, c.opts.Now())
	p := membersPage{Frame: c.frame(r, "Patients behind the number", ""), Choice: ch, Measure: q.Get("measure"),
		Variant: q.Get("variant"), In: q.Get("in")}
	if p.In == "" {
		p.In = "denominator"
	}
	back := ch.query()
	p.Back = "/compliance?" + back.Encode()
	switch {
	case err != nil:
	case ch.Entity == "":
		err = errs.Field(errs.Invalid, "entity", "required")
	case p.Measure == "":
		err = errs.Field(errs.Invalid, "measure", "required")
	case p.In != "denominator" && p.In != "numerator" && p.In != "not-numerator" && p.In != "not-eligible":
		err = errs.Field(errs.Invalid, "in", "denominator, numerator, not-numerator or not-eligible")
	}
	if err == nil {
		token := q.Get("page_token")
		p.Page, err = c.api.reportMembers(ctx, ch.selection(), p.Measure, p.In, token)
		p.Source = "reporting"
		// Metrics answers the same list where reporting's route is not served or its
		// rule does not cover the caller (a clinic administrator, whom metrics' rule
		// scopes to their clinics); metrics' own rule then decides.
		if k := errs.KindOf(err); k == errs.NotFound || k == errs.Forbidden {
			p.Page, err = c.api.members(ctx, ch.selection(), p.Measure, p.Variant, p.In, token)
			p.Source = "metrics"
		}
	}
	if err != nil {
		p.Problem = problemOf(err, "The patient list")
		c.render(w, r, statusOf(err), "members.html", p)
		return
	}
	if p.Page.NextToken != "" {
		next := r.URL.Query()
		next.Set("page_token", p.Page.NextToken)
		p.Next = "/members?" + next.Encode()
	}
	c.render(w, r, http.StatusOK, "members.html", p)
}

// Freeze freezes the selected report as an attestation (reporting computes and signs
// it) and shows it.
func (c *Console) Freeze(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.render(w, r, http.StatusBadRequest, "error.html", struct {
			Frame
			Problem *problem
		}{c.frame(r, "Freeze", ""), problemOf(errs.E(errs.Invalid, "unreadable form"), "Freezing")})
		return
	}
	ch, err := parseChoice(r.PostForm, c.opts.Now())
	if err == nil && ch.Entity == "" {
		err = errs.Field(errs.Invalid, "entity", "required")
	}
	var a Attestation
	if err == nil {
		a, err = c.api.freeze(r.Context(), ch.selection())
	}
	if err != nil {
		c.render(w, r, statusOf(err), "error.html", struct {
			Frame
			Problem *problem
		}{c.frame(r, "Freeze", ""), problemOf(err, "Freezing the attestation")})
		return
	}
	http.Redirect(w, r, "/attestations/"+url.PathEscape(a.ID), http.StatusSeeOther)
}

// MetStatus and NotMetStatus are the report's overall verdict, for the template.
func (compliancePage) MetStatus() status { return status{"met", "✔", "Passes"} }

// NotMetStatus is the failing verdict.
func (compliancePage) NotMetStatus() status { return status{"not-met", "✖", "Does not pass"} }
