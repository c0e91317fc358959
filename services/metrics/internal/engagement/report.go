package engagement

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
)

// Dimensions a report can be broken down by.
const (
	ByWeek      = "week"
	ByClinic    = "clinic"
	ByClinician = "clinician"
)

// Report is the KPIs of the weeks [From, To), broken down By some dimensions.
type Report struct {
	From string   `json:"from"` // the Monday of the first week
	To   string   `json:"to"`   // the Monday after the last week
	By   []string `json:"by"`
	Rows []Row    `json:"rows"`
}

// Row is the KPIs of one week, clinic and clinician (those of the report's
// dimensions; the others are blank and summed over).
type Row struct {
	Week      string `json:"week,omitempty"`
	Clinic    string `json:"clinic,omitempty"`
	Clinician string `json:"clinician,omitempty"`

	AccessProvisioned  int `json:"access_provisioned"`
	AccessDeclined     int `json:"access_declined"`
	PatientsWithAccess int `json:"patients_with_access"`
	// PortalUsers are the patients given access here who (or whose representatives)
	// viewed, downloaded, transmitted or used the API in the row's weeks; PortalActions
	// count those actions.
	PortalUsers   int `json:"portal_users"`
	PortalActions int `json:"portal_actions"`

	MessagesSent     int `json:"messages_sent"`
	MessagesReceived int `json:"messages_received"`
	MessagesAnswered int `json:"messages_answered"`
	// ResponseMedian and ResponseP90 are the times to the first answer, counted in
	// clinic hours on business days, in seconds.
	ResponseMedian        *int64 `json:"response_median_seconds,omitempty"`
	ResponseP90           *int64 `json:"response_p90_seconds,omitempty"`
	RequestsAnswered      int    `json:"requests_answered"`
	RequestResponseMedian *int64 `json:"request_response_median_seconds,omitempty"`

	EducationProvided int `json:"education_provided"`
	EducationViewed   int `json:"education_viewed"`
	SelfReported      int `json:"self_reported_uploads"`
	DataIncorporated  int `json:"patient_data_incorporated"`
	TabletSessions    int `json:"tablet_sessions"`
	TabletsWiped      int `json:"tablets_wiped"`
	// WipeCompliance is the share of tablet sessions checked in with a complete wipe.
	WipeCompliance *float64 `json:"wipe_compliance,omitempty"`
}

// Report computes the KPIs of the weeks holding from to to (days, inclusive), broken
// down by the given dimensions.
func (k *Keeper) Report(ctx context.Context, from, to time.Time, by []string) (Report, error) {
	r, start, end, err := k.period(from, to, by)
	if err != nil {
		return Report{}, err
	}
	v, err := k.version(ctx)
	if err != nil {
		return Report{}, err
	}
	key := reportKey(r.From, r.To, by)
	if kept, ok := k.cache.get(v, key); ok {
		return kept.clone(), nil
	}
	// Read at version v or later: the rows are at least as new as the version they are
	// kept under, and a change after the read moves the version past it.
	// Shared by whoever asks meanwhile, so not cut short by the first asker going away.
	shared := context.WithoutCancel(ctx)
	in, err := k.cache.load(v, r.From, r.To, func() (inputs, error) { return k.load(shared, stamp(start), stamp(end)) })
	if err != nil {
		return Report{}, err
	}
	r.Rows = k.aggregate(in, by)
	k.cache.put(v, key, r)
	return r.clone(), nil
}

// scanReport is Report computed from the rows, without the kept reports: the
// reference the kept ones are tested against.
func (k *Keeper) scanReport(ctx context.Context, from, to time.Time, by []string) (Report, error) {
	r, start, end, err := k.period(from, to, by)
	if err != nil {
		return Report{}, err
	}
	in, err := k.load(ctx, stamp(start), stamp(end))
	if err != nil {
		return Report{}, err
	}
	r.Rows = k.aggregate(in, by)
	return r, nil
}

// period checks a report's dimensions and rounds the days from to to (inclusive) out
// to whole weeks [start, end); r is the report's empty frame.
func (k *Keeper) period(from, to time.Time, by []string) (r Report, start, end time.Time, err error) {
	for _, d := range by {
		if !slices.Contains([]string{ByWeek, ByClinic, ByClinician}, d) {
			return Report{}, start, end, errs.Field(errs.Invalid, "by", "a list of week, clinic, clinician")
		}
	}
	loc := k.cal.Location()
	first := weekOf(time.Date(from.Year(), from.Month(), from.Day(), 12, 0, 0, 0, loc), loc)
	start, _ = time.ParseInLocation(time.DateOnly, first, loc)
	end = time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	if !end.After(start) || end.Sub(start) > 2*366*24*time.Hour {
		return Report{}, start, end, errs.Field(errs.Invalid, "to", "a day after from, at most two years later")
	}
	for end.Weekday() != time.Monday { // whole weeks
		end = end.AddDate(0, 0, 1)
	}
	r = Report{From: start.Format(time.DateOnly), To: end.Format(time.DateOnly), By: by, Rows: []Row{}}
	return r, start, end, nil
}

// load reads the rows a report of [from, to) adds up.
func (k *Keeper) load(ctx context.Context, from, to string) (inputs, error) {
	var in inputs
	var err error
	if in.rows, err = k.rows(ctx, from, to); err != nil {
		return inputs{}, err
	}
	if in.use, err = k.portalUse(ctx, from, to); err != nil {
		return inputs{}, err
	}
	if in.answers, err = k.answers(ctx, from, to); err != nil {
		return inputs{}, err
	}
	return in, nil
}

// aggregate adds a period's rows up by the dimensions by.
func (k *Keeper) aggregate(in inputs, by []string) []Row {
	agg := aggregator{by: by, rows: map[string]*acc{}, loc: k.cal.Location()}
	for _, it := range in.rows {
		agg.add(it)
	}
	for _, u := range in.use {
		agg.use(u)
	}
	for _, a := range in.answers {
		agg.answer(a.item, k.cal.BusinessDuration(a.asked, a.at, k.hours))
	}
	return agg.result()
}

// rows loads the rows dated in [from, to), but the answers and portal use, which
// have their own queries.
func (k *Keeper) rows(ctx context.Context, from, to string) ([]item, error) {
	q := fmt.Sprintf(`SELECT kpi, item_id, patient_id, at, clinic, clinician, value FROM %s
		WHERE at >= ? AND at < ? AND kpi NOT IN (?, ?, ?)`, k.table)
	return k.scan(ctx, q, from, to, MessageAnswered, RequestAnswered, PortalUse)
}

func (k *Keeper) scan(ctx context.Context, q string, args ...any) ([]item, error) {
	rs, err := k.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("load KPI rows: %w", err)
	}
	defer rs.Close()
	var out []item
	for rs.Next() {
		var it item
		var at string
		if err := rs.Scan(&it.kpi, &it.id, &it.patient, &at, &it.clinic, &it.clinician, &it.value); err != nil {
			return nil, fmt.Errorf("scan KPI row: %w", err)
		}
		if it.at, err = parseStamp(at); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rs.Err()
}

// portalUse is every VDT action in [from, to) attributed to each clinic and clinician
// that gave the patient access: a patient's use of their record counts for whoever
// gave them access to it.
//
// The two sides are read by their keys and joined here rather than in SQL: without
// statistics SQLite joined the grants through the primary key's kpi prefix instead of
// the patient index — every use against every grant, 36 s at the 20,000-patient demo.
func (k *Keeper) portalUse(ctx context.Context, from, to string) ([]item, error) {
	uses, err := k.scan(ctx, fmt.Sprintf(`SELECT kpi, item_id, patient_id, at, clinic, clinician, value FROM %s
		WHERE kpi = ? AND at >= ? AND at < ?`, k.table), PortalUse, from, to)
	if err != nil || len(uses) == 0 {
		return nil, err
	}
	grants, err := k.scan(ctx, fmt.Sprintf(`SELECT kpi, item_id, patient_id, at, clinic, clinician, value FROM %s
		WHERE kpi = ?`, k.table), AccessProvisioned)
	if err != nil {
		return nil, err
	}
	byPatient := make(map[string][]item, len(grants))
	for _, g := range grants {
		byPatient[g.patient] = append(byPatient[g.patient], g)
	}
	var out []item
	for _, u := range uses {
		for _, g := range byPatient[u.patient] {
			u.clinic, u.clinician = g.clinic, g.clinician
			out = append(out, u)
		}
	}
	return out, nil
}

// answer is an answer with when it was asked.
type answer struct {
	item
	asked time.Time
}

// answers are the answers given in [from, to) with when the patient asked (answers
// to messages or requests metrics never saw are left out).
func (k *Keeper) answers(ctx context.Context, from, to string) ([]answer, error) {
	rs, err := k.db.QueryContext(ctx, fmt.Sprintf(`SELECT a.kpi, a.item_id, a.patient_id, a.at, a.clinic, a.clinician, q.at
		FROM %[1]s a JOIN %[1]s q ON q.kpi = ? AND q.item_id = a.item_id
		WHERE a.kpi IN (?, ?) AND a.at >= ? AND a.at < ?`, k.table), MessageReceived, MessageAnswered, RequestAnswered, from, to)
	if err != nil {
		return nil, fmt.Errorf("load answers: %w", err)
	}
	defer rs.Close()
	var out []answer
	for rs.Next() {
		var a answer
		var at, asked string
		if err := rs.Scan(&a.kpi, &a.id, &a.patient, &at, &a.clinic, &a.clinician, &asked); err != nil {
			return nil, fmt.Errorf("scan answer: %w", err)
		}
		if a.at, err = parseStamp(at); err != nil {
			return nil, err
		}
		if a.asked, err = parseStamp(asked); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rs.Err()
}

// aggregator adds rows up by the report's dimensions.
type aggregator struct {
	by   []string
	rows map[string]*acc
	loc  *time.Location
}

// acc is one row being added up.
type acc struct {
	Row
	withAccess, users, actions map[string]bool
	responses, requests        []int64
}

func (g *aggregator) of(it item, week string) *acc {
	var r Row
	if slices.Contains(g.by, ByWeek) {
		r.Week = week
	}
	if slices.Contains(g.by, ByClinic) {
		r.Clinic = it.clinic
	}
	if slices.Contains(g.by, ByClinician) {
		r.Clinician = it.clinician
	}
	key := strings.Join([]string{r.Week, r.Clinic, r.Clinician}, "\x00")
	a, ok := g.rows[key]
	if !ok {
		a = &acc{Row: r, withAccess: map[string]bool{}, users: map[string]bool{}, actions: map[string]bool{}}
		g.rows[key] = a
	}
	return a
}

func (g *aggregator) add(it item) {
	a := g.of(it, weekOf(it.at, g.loc))
	switch it.kpi {
	case AccessProvisioned:
		a.AccessProvisioned++
		a.withAccess[it.patient] = true
	case AccessDeclined:
		a.AccessDeclined++
	case MessageSent:
		a.MessagesSent++
	case MessageReceived:
		a.MessagesReceived++
	case EducationProvided:
		a.EducationProvided++
	case EducationViewed:
		a.EducationViewed++
	case SelfReported:
		a.SelfReported++
	case DataIncorporated:
		a.DataIncorporated++
	case TabletSession:
		a.TabletSessions++
	case TabletWiped:
		a.TabletsWiped++
	}
}

func (g *aggregator) use(it item) {
	a := g.of(it, weekOf(it.at, g.loc))
	a.users[it.patient] = true
	a.actions[it.id] = true
}

func (g *aggregator) answer(it item, took time.Duration) {
	a := g.of(it, weekOf(it.at, g.loc))
	s := int64(took / time.Second)
	if it.kpi == RequestAnswered {
		a.RequestsAnswered++
		a.requests = append(a.requests, s)
		return
	}
	a.MessagesAnswered++
	a.responses = append(a.responses, s)
}

// result finishes the rows, in dimension order.
func (g *aggregator) result() []Row {
	out := make([]Row, 0, len(g.rows))
	for _, a := range g.rows {
		r := a.Row
		r.PatientsWithAccess, r.PortalUsers, r.PortalActions = len(a.withAccess), len(a.users), len(a.actions)
		r.ResponseMedian, r.ResponseP90 = quantile(a.responses, 50), quantile(a.responses, 90)
		r.RequestResponseMedian = quantile(a.requests, 50)
		if r.TabletSessions > 0 {
			share := float64(r.TabletsWiped) / float64(r.TabletSessions)
			r.WipeCompliance = &share
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Week, b.Week), cmp.Compare(a.Clinic, b.Clinic), cmp.Compare(a.Clinician, b.Clinician))
	})
	return out
}

// quantile is the q-th percentile of vs (nearest rank), nil for none.
func quantile(vs []int64, q int) *int64 {
	if len(vs) == 0 {
		return nil
	}
	s := slices.Sorted(slices.Values(vs))
	i := (q*len(s)+99)/100 - 1
	v := s[max(i, 0)]
	return &v
}
