package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/progress"
)

// The itemization table A writes one row to per counted patient or object, as
// OpenEMR's report_itemized; the counts are read back from it.
const itemizedSchema = `
DROP TABLE IF EXISTS ehr.report_itemized;
CREATE TABLE ehr.report_itemized (report_id int NOT NULL, measure text NOT NULL, entity text NOT NULL, tin text NOT NULL,
  pid text NOT NULL, object text NOT NULL, numerator boolean NOT NULL, item_details text NOT NULL);
CREATE INDEX ON ehr.report_itemized (report_id, measure, entity);
`

// BatchSize is how many patients A handles per transaction, as OpenEMR's AMC report.
const BatchSize = 100

// OpenEMR is contestant A: per measure and entity, the patient population, then per
// patient indexed queries for the patient's objects, each tested in application code,
// and one INSERT per itemized row, in batches of 100 patients.
type OpenEMR struct {
	Conn   *pgx.Conn
	Cal    *calendar.Calendar
	Year   int
	report int
}

// Prepare creates the itemization table.
func (o *OpenEMR) Prepare(ctx context.Context) error {
	_, err := o.Conn.Exec(ctx, itemizedSchema)
	return err
}

// Run computes every spec for every entity for period p, under a new report ID.
func (o *OpenEMR) Run(ctx context.Context, specs []Spec, ents Entities, p Period, meter *progress.Meter) (Results, error) {
	o.report++
	// Clinicians first: a TIN's report is read from its clinicians' itemization.
	for _, s := range specs {
		if s.Kind == measure.TIN {
			continue
		}
		for _, id := range ents[s.Kind] {
			if err := o.entity(ctx, s, id, p); err != nil {
				return nil, fmt.Errorf("(A) %s %s: %w", s.Name(), id, err)
			}
			if meter != nil {
				meter.Add(1)
			}
		}
	}
	return o.tally(ctx, specs, ents)
}

// population is the query for the entity's patients for spec s.
func population(s Spec) string {
	switch s.ID + "@" + s.Kind {
	case "PI_PEA_1@tin_npi":
		return `SELECT DISTINCT pid FROM ehr.encounters WHERE tin = $1 AND npi = $2 AND start_at >= $3 AND start_at < $4 ORDER BY pid`
	case "EHPI_PEA_1@ccn":
		return `SELECT DISTINCT pid FROM ehr.encounters WHERE ccn = $1 AND $2 = '' AND end_at >= $3 AND end_at < $4 ORDER BY pid`
	case "PI_EP_1@tin_npi":
		return `SELECT DISTINCT pid FROM ehr.prescriptions WHERE tin = $1 AND npi = $2 AND written_at >= $3 AND written_at < $4 ORDER BY pid`
	case "EHPI_EP_1@ccn":
		return `SELECT DISTINCT pid FROM ehr.prescriptions WHERE ccn = $1 AND $2 = '' AND written_at >= $3 AND written_at < $4 ORDER BY pid`
	case "PI_HIE_1@tin_npi":
		return `SELECT DISTINCT pid FROM ehr.transitions WHERE direction = 'out' AND sender_tin = $1 AND sender_npi = $2
  AND occurred_at >= $3 AND occurred_at < $4 ORDER BY pid`
	case "EHPI_HIE_1@ccn":
		return `SELECT DISTINCT pid FROM ehr.transitions WHERE direction = 'out' AND sender_ccn = $1 AND $2 = ''
  AND occurred_at >= $3 AND occurred_at < $4 ORDER BY pid`
	case "PI_HIE_4@tin_npi":
		return `SELECT DISTINCT pid FROM ehr.transitions WHERE direction = 'in' AND receiver_tin = $1 AND receiver_npi = $2
  AND received_at >= $3 AND received_at < $4 ORDER BY pid`
	case "EHPI_HIE_4@ccn":
		return `SELECT DISTINCT pid FROM ehr.transitions WHERE direction = 'in' AND receiver_ccn = $1 AND $2 = ''
  AND received_at >= $3 AND received_at < $4 ORDER BY pid`
	case "S3-EP-06.2@npi", "S3-EP-05.2@npi":
		return `SELECT DISTINCT pid FROM ehr.encounters WHERE npi = $1 AND $2 = '' AND start_at >= $3 AND start_at < $4 ORDER BY pid`
	}
	return ""
}

// item is one itemized row.
type item struct {
	object string
	num    bool
	detail string
}

func (o *OpenEMR) entity(ctx context.Context, s Spec, id string, p Period) error {
	q := population(s)
	if q == "" {
		return fmt.Errorf("no population query")
	}
	a, b := id, ""
	if s.Kind == measure.TINNPI {
		a, b, _ = cut(id)
	}
	rows, err := o.Conn.Query(ctx, q, a, b, p.From, p.To)
	if err != nil {
		return err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	w := numeratorWindow(s, p, o.Year)
	entity := s.Kind + ":" + id
	tin := ""
	if s.Kind == measure.TINNPI {
		tin = a
	}
	for start := 0; start < len(pids); start += BatchSize {
		batch := pids[start:min(start+BatchSize, len(pids))]
		tx, err := o.Conn.Begin(ctx)
		if err != nil {
			return err
		}
		for _, pid := range batch {
			items, err := o.patient(ctx, tx, s, a, b, pid, p, w)
			if err != nil {
				_ = tx.Rollback(ctx)
				return fmt.Errorf("patient %s: %w", pid, err)
			}
			for _, it := range items {
				if _, err := tx.Exec(ctx, `INSERT INTO ehr.report_itemized VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
					o.report, s.Name(), entity, tin, pid, it.object, it.num, it.detail); err != nil {
					_ = tx.Rollback(ctx)
					return err
				}
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
	}
	return nil
}

func cut(id string) (string, string, bool) {
	for i := range len(id) {
		if id[i] == '/' {
			return id[:i], id[i+1:], true
		}
	}
	return id, "", false
}

func in(t time.Time, w Period) bool { return !t.Before(w.From) && t.Before(w.To) }

func inPtr(t *time.Time, w Period) bool { return t != nil && in(*t, w) }

// patient evaluates one patient for one measure and entity (a, b: TIN and NPI, or the
// CCN or NPI and ""), reading the patient's objects with indexed queries.
func (o *OpenEMR) patient(ctx context.Context, tx pgx.Tx, s Spec, a, b, pid string, p, w Period) ([]item, error) {
	switch s.ID {
	case "PI_PEA_1", "EHPI_PEA_1":
		return o.access(ctx, tx, s, a, b, pid, p, w)
	case "PI_EP_1", "EHPI_EP_1":
		q := `SELECT id, permissible, schedule, discharge, kind, method, outcome, transmitted_at FROM ehr.prescriptions
  WHERE pid = $1 AND tin = $2 AND npi = $3 AND written_at >= $4 AND written_at < $5`
		if s.Kind == measure.CCN {
			q = `SELECT id, permissible, schedule, discharge, kind, method, outcome, transmitted_at FROM ehr.prescriptions
  WHERE pid = $1 AND ccn = $2 AND $3 = '' AND written_at >= $4 AND written_at < $5`
		}
		rows, err := tx.Query(ctx, q, pid, a, b, p.From, p.To)
		if err != nil {
			return nil, err
		}
		var out []item
		var id, schedule, kind, method, outcome string
		var permissible, discharge bool
		var at *time.Time
		_, err = pgx.ForEachRow(rows, []any{&id, &permissible, &schedule, &discharge, &kind, &method, &outcome, &at}, func() error {
			switch {
			case !permissible, s.Variant == measure.ControlledExcluded && schedule != "":
				return nil
			case s.Kind == measure.CCN && (!discharge || kind != "new" && kind != "changed"):
				return nil
			}
			ok := method == "electronic" && outcome != "failed" && inPtr(at, w)
			out = append(out, item{object: id, num: ok, detail: fmt.Sprintf(`{"method":%q,"outcome":%q}`, method, outcome)})
			return nil
		})
		return out, err
	case "PI_HIE_1", "EHPI_HIE_1":
		q := `SELECT id, receiver_npi, receiver_ccn, summary_created, problems, medications, allergies, sent_at, transport, confirmed_at
  FROM ehr.transitions WHERE pid = $1 AND direction = 'out' AND sender_tin = $2 AND sender_npi = $3 AND occurred_at >= $4 AND occurred_at < $5`
		if s.Kind == measure.CCN {
			q = `SELECT id, receiver_npi, receiver_ccn, summary_created, problems, medications, allergies, sent_at, transport, confirmed_at
  FROM ehr.transitions WHERE pid = $1 AND direction = 'out' AND sender_ccn = $2 AND $3 = '' AND occurred_at >= $4 AND occurred_at < $5`
		}
		rows, err := tx.Query(ctx, q, pid, a, b, p.From, p.To)
		if err != nil {
			return nil, err
		}
		var out []item
		var id, rNPI, rCCN, pr, me, al, transport string
		var created, sent, confirmed *time.Time
		_, err = pgx.ForEachRow(rows, []any{&id, &rNPI, &rCCN, &created, &pr, &me, &al, &sent, &transport, &confirmed}, func() error {
			if s.Kind == measure.CCN && rCCN != "" && rCCN == a || s.Kind != measure.CCN && rNPI != "" && rNPI == b {
				return nil // the same billing identity: not a transition
			}
			complete := func(c string) bool { return c == "present" || c == "none" }
			electronic := slices.Contains([]string{"direct", "hie", "ehealth-exchange", "tefca", "fhir", "other-electronic"}, transport)
			ok := sent != nil && created != nil && complete(pr) && complete(me) && complete(al) && electronic &&
				inPtr(confirmed, w) && in(*sent, w)
			out = append(out, item{object: id, num: ok, detail: fmt.Sprintf(`{"transport":%q}`, transport)})
			return nil
		})
		return out, err
	case "PI_HIE_4", "EHPI_HIE_4":
		q := `SELECT id FROM ehr.transitions WHERE pid = $1 AND direction = 'in' AND receiver_tin = $2 AND receiver_npi = $3
  AND received_at >= $4 AND received_at < $5`
		if s.Kind == measure.CCN {
			q = `SELECT id FROM ehr.transitions WHERE pid = $1 AND direction = 'in' AND receiver_ccn = $2 AND $3 = ''
  AND received_at >= $4 AND received_at < $5`
		}
		rows, err := tx.Query(ctx, q, pid, a, b, p.From, p.To)
		if err != nil {
			return nil, err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		var out []item
		for _, id := range ids {
			var m, al, pr *time.Time
			if err := tx.QueryRow(ctx, `SELECT min(medications_at), min(allergies_at), min(problems_at) FROM ehr.reconciliations
  WHERE pid = $1 AND transition_id = $2`, pid, id).Scan(&m, &al, &pr); err != nil {
				return nil, err
			}
			out = append(out, item{object: id, num: inPtr(m, w) && inPtr(al, w) && inPtr(pr, w), detail: "{}"})
		}
		return out, nil
	case "S3-EP-06.2", "S3-EP-05.2":
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM ehr.encounters e LEFT JOIN ehr.locations l ON l.id = e.location_id
  WHERE e.pid = $1 AND e.npi = $2 AND e.start_at >= $3 AND e.start_at < $4 AND COALESCE(l.cehrt, true)`, pid, a, p.From, p.To).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil // seen only at locations without CEHRT
		}
		q := `SELECT count(*) FROM ehr.messages WHERE pid = $1 AND sent_at >= $3 AND sent_at < $4
  AND (direction IN ('provider_to_patient', 'reply') OR direction = 'provider_to_provider' AND patient_included)
  AND (npi = $2 OR npi = '' AND tin = '' AND ccn = '')`
		if s.ID == "S3-EP-05.2" {
			q = `SELECT count(*) FROM ehr.education WHERE pid = $1 AND electronic AND provided_at >= $3 AND provided_at < $4
  AND (npi = $2 OR npi = '' AND tin = '' AND ccn = '')`
		}
		if err := tx.QueryRow(ctx, q, pid, a, w.From, w.To).Scan(&n); err != nil {
			return nil, err
		}
		return []item{{num: n > 0, detail: "{}"}}, nil
	}
	return nil, fmt.Errorf("no per-patient rule for %s", s.Name())
}

// access is the timely-access rule for one patient: every qualifying encounter's
// information shared through VDT and API no later than the deadline and within the
// window; the first encounter sets the numerator, a later untimely one takes the
// patient out.
func (o *OpenEMR) access(ctx context.Context, tx pgx.Tx, s Spec, a, b, pid string, p, w Period) ([]item, error) {
	type enc struct {
		id          string
		start, done time.Time
	}
	q := `SELECT e.id, e.start_at, e.end_at FROM ehr.encounters e
  WHERE e.pid = $1 AND e.tin = $2 AND e.npi = $3 AND e.start_at >= $4 AND e.start_at < $5 ORDER BY e.start_at, e.id`
	if s.Kind == measure.CCN {
		q = `SELECT e.id, e.start_at, e.end_at FROM ehr.encounters e LEFT JOIN ehr.locations l ON l.id = e.location_id
  WHERE e.pid = $1 AND e.ccn = $2 AND $3 = '' AND e.end_at >= $4 AND e.end_at < $5
    AND (e.class IN ('inpatient', 'emergency') OR e.class NOT IN ('office', 'telehealth', 'observation') AND l.pos IN ('21', '23'))
  ORDER BY e.end_at, e.id`
	}
	rows, err := tx.Query(ctx, q, pid, a, b, p.From, p.To)
	if err != nil {
		return nil, err
	}
	var encs []enc
	var e enc
	var end *time.Time
	if _, err := pgx.ForEachRow(rows, []any{&e.id, &e.start, &end}, func() error {
		x := e
		if end != nil {
			x.done = *end
		}
		encs = append(encs, x)
		return nil
	}); err != nil {
		return nil, err
	}
	if len(encs) == 0 {
		return nil, nil
	}
	// When each encounter's information became available: its own or its results'.
	rows, err = tx.Query(ctx, `SELECT COALESCE(NULLIF(a.encounter_id, ''), r.encounter_id, ''), a.available_at
  FROM ehr.availability a LEFT JOIN ehr.results r ON r.id = a.result_id AND a.encounter_id = '' WHERE a.pid = $1`, pid)
	if err != nil {
		return nil, err
	}
	avail := map[string]time.Time{}
	var id string
	var at time.Time
	if _, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error {
		if prev, ok := avail[id]; !ok || at.Before(prev) {
			avail[id] = at
		}
		return nil
	}); err != nil {
		return nil, err
	}
	type grant struct {
		kind, enc string
		at        time.Time
	}
	rows, err = tx.Query(ctx, `SELECT kind, encounter_id, granted_at FROM ehr.access_log WHERE pid = $1`, pid)
	if err != nil {
		return nil, err
	}
	var grants []grant
	var g grant
	if _, err := pgx.ForEachRow(rows, []any{&g.kind, &g.enc, &g.at}, func() error { grants = append(grants, g); return nil }); err != nil {
		return nil, err
	}
	met := true
	for _, x := range encs {
		info := x.start
		switch t, ok := avail[x.id]; {
		case ok:
			info = t
		case !x.done.IsZero():
			info = x.done
		}
		deadline := o.Cal.AddBusinessDays(info, 4)
		if s.Kind == measure.CCN {
			deadline = x.done.Add(36 * time.Hour)
		}
		for _, ch := range []string{"vdt", "api"} {
			var first time.Time
			for _, g := range grants {
				if g.kind == ch && (g.enc == x.id || g.enc == "" && !info.After(g.at)) && (first.IsZero() || g.at.Before(first)) {
					first = g.at
				}
			}
			if first.IsZero() || first.After(deadline) || !in(first, w) {
				met = false
			}
		}
		if !met {
			break
		}
	}
	return []item{{num: met, detail: "{}"}}, nil
}

// tally reads the counts back from the itemization; a TIN is the union of its
// clinicians' rows.
func (o *OpenEMR) tally(ctx context.Context, specs []Spec, ents Entities) (Results, error) {
	out := Results{}
	member := `CASE WHEN object = '' THEN pid ELSE pid || '/' || object END`
	for _, s := range specs {
		q := `SELECT entity, COALESCE(array_agg(` + member + `), '{}'), COALESCE(array_agg(` + member + `) FILTER (WHERE numerator), '{}')
  FROM ehr.report_itemized WHERE report_id = $1 AND measure = $2 GROUP BY entity`
		name := s.Name()
		if s.Kind == measure.TIN {
			clin := s
			clin.Kind = measure.TINNPI
			name = clin.Name()
			q = `WITH x AS (SELECT tin, ` + member + ` AS m, bool_or(numerator) AS num FROM ehr.report_itemized
    WHERE report_id = $1 AND measure = $2 GROUP BY 1, 2)
  SELECT 'tin:' || tin, array_agg(m), COALESCE(array_agg(m) FILTER (WHERE num), '{}') FROM x GROUP BY tin`
		}
		rows, err := o.Conn.Query(ctx, q, o.report, name)
		if err != nil {
			return nil, fmt.Errorf("(A) tally %s: %w", s.Name(), err)
		}
		got := map[string]Tally{}
		var entity string
		var den, num []string
		if _, err := pgx.ForEachRow(rows, []any{&entity, &den, &num}, func() error {
			got[entity] = Tally{Den: slices.Clone(den), Num: slices.Clone(num)}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("(A) tally %s: %w", s.Name(), err)
		}
		for _, id := range ents[s.Kind] {
			k := Key{s, s.Kind + ":" + id}
			t := got[k.Entity]
			out.put(k, t.Den, t.Num)
		}
	}
	return out, nil
}
