package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/measure"
)

// B's tables shaped for report-time SQL, built from the EHR tables after loading: a
// business-day calendar (the end of the 4th business day after each day, federal
// holidays skipped) and each encounter's information-available instant.
const setSchema = `
SET search_path = ehr;
DROP TABLE IF EXISTS bday, encounter_info;
CREATE TABLE bday (day date PRIMARY KEY, due4 timestamptz NOT NULL);
CREATE TABLE encounter_info AS
  SELECT e.id, e.pid, e.tin, e.npi, e.ccn, e.start_at, e.end_at,
    (e.class IN ('inpatient', 'emergency') OR e.class NOT IN ('office', 'telehealth', 'observation') AND l.pos IN ('21', '23')) AS hospital,
    COALESCE(l.cehrt, true) AS cehrt,
    COALESCE((SELECT min(a.available_at) FROM availability a LEFT JOIN results r ON r.id = a.result_id AND a.encounter_id = ''
              WHERE a.pid = e.pid AND (a.encounter_id = e.id OR r.encounter_id = e.id)), e.end_at, e.start_at) AS info_at
  FROM encounters e LEFT JOIN locations l ON l.id = e.location_id;
CREATE INDEX ON encounter_info (tin, npi, start_at);
CREATE INDEX ON encounter_info (ccn, end_at);
CREATE INDEX ON encounter_info (npi, start_at);
ANALYZE encounter_info;
`

// PrepareSet builds B's calendar and encounter tables for year y (and the years
// around it, so deadlines crossing New Year are right).
func PrepareSet(ctx context.Context, conn *pgx.Conn, year int) error {
	if _, err := conn.Exec(ctx, setSchema); err != nil {
		return fmt.Errorf("(B) tables: %w", err)
	}
	cal := calendar.New(time.UTC)
	var rows [][]any
	for d := time.Date(year-1, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() <= year+1; d = d.AddDate(0, 0, 1) {
		due := cal.AddBusinessDays(d, 4).Add(time.Nanosecond) // the instant after the last timely one
		rows = append(rows, []any{d, due})
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"ehr", "bday"}, []string{"day", "due4"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("(B) calendar: %w", err)
	}
	_, err := conn.Exec(ctx, "ANALYZE ehr.bday")
	return err
}

// Statement parts: each measure's rows are (entity, member, in numerator), grouped by
// entity at the end with COUNT(DISTINCT …) FILTER. $1/$2: the period [from, to);
// $3/$4: the numerator window.
const (
	electronicSent = `t.sent_at IS NOT NULL AND t.summary_created IS NOT NULL
  AND t.problems IN ('present', 'none') AND t.medications IN ('present', 'none') AND t.allergies IN ('present', 'none')
  AND t.transport IN ('direct', 'hie', 'ehealth-exchange', 'tefca', 'fhir', 'other-electronic')`
	sentNumerator = electronicSent + `
  AND t.confirmed_at IS NOT NULL AND t.confirmed_at >= $3 AND t.confirmed_at < $4 AND t.sent_at >= $3 AND t.sent_at < $4`
	transmitted = `p.method = 'electronic' AND p.outcome <> 'failed' AND p.transmitted_at >= $3 AND p.transmitted_at < $4`
	reconciled  = `r.m >= $3 AND r.m < $4 AND r.a >= $3 AND r.a < $4 AND r.p >= $3 AND r.p < $4`
)

// timelyAccess is the per-encounter test of PI_PEA_1 / EHPI_PEA_1: the first VDT
// and the first API share of the encounter no later than the deadline and within the
// window. due is the SQL expression of the exclusive deadline.
func timelyAccess(due string) (string, string) {
	return `LEFT JOIN LATERAL (
    SELECT min(g.granted_at) FILTER (WHERE g.kind = 'vdt') AS vdt, min(g.granted_at) FILTER (WHERE g.kind = 'api') AS api
    FROM ehr.access_log g
    WHERE g.encounter_id = e.id OR g.encounter_id = '' AND g.pid = e.pid AND g.granted_at >= e.info_at) s ON true`,
		`(s.vdt < ` + due + ` AND s.vdt >= $3 AND s.vdt < $4 AND s.api < ` + due + ` AND s.api >= $3 AND s.api < $4)`
}

// setSQL is B's statement for spec s: rows of (entity, count of denominator,
// count of numerator, denominator members, numerator members).
func setSQL(s Spec) (string, error) {
	grouped := func(rows, entity string) string {
		return `WITH x AS (` + rows + `)
SELECT ` + entity + `, COUNT(DISTINCT m), COUNT(DISTINCT m) FILTER (WHERE num),
  array_agg(DISTINCT m), COALESCE(array_agg(DISTINCT m) FILTER (WHERE num), '{}')
FROM x GROUP BY 1`
	}
	// A TIN is its clinicians' union: in the denominator (numerator) when in any one's.
	byTIN := func(rows string) string {
		return `WITH c AS (` + rows + `), x AS (SELECT tin, m, bool_or(num) AS num FROM c GROUP BY tin, m)
SELECT tin, COUNT(DISTINCT m), COUNT(DISTINCT m) FILTER (WHERE num),
  array_agg(DISTINCT m), COALESCE(array_agg(DISTINCT m) FILTER (WHERE num), '{}')
FROM x GROUP BY tin`
	}
	ec := func(rows string) (string, error) {
		switch s.Kind {
		case measure.TINNPI:
			return grouped(rows, `tin || '/' || npi`), nil
		case measure.TIN:
			return byTIN(rows), nil
		}
		return "", fmt.Errorf("%s: no B statement", s.Name())
	}
	switch s.ID {
	case "PI_PEA_1":
		join, met := timelyAccess("c.due4")
		return ec(`SELECT e.tin, e.npi, e.pid AS m, bool_and(COALESCE(` + met + `, false)) AS num
  FROM ehr.encounter_info e JOIN ehr.bday c ON c.day = (e.info_at AT TIME ZONE 'UTC')::date ` + join + `
  WHERE e.tin <> '' AND e.npi <> '' AND e.start_at >= $1 AND e.start_at < $2
  GROUP BY e.tin, e.npi, e.pid`)
	case "EHPI_PEA_1":
		join, met := timelyAccess("e.end_at + interval '36 hours 1 microsecond'")
		return grouped(`SELECT e.ccn, e.pid AS m, bool_and(COALESCE(`+met+`, false)) AS num
  FROM ehr.encounter_info e `+join+`
  WHERE e.ccn <> '' AND e.hospital AND e.end_at >= $1 AND e.end_at < $2
  GROUP BY e.ccn, e.pid`, "ccn"), nil
	case "PI_EP_1":
		return ec(`SELECT p.tin, p.npi, p.pid || '/' || p.id AS m, COALESCE(` + transmitted + `, false) AS num
  FROM ehr.prescriptions p
  WHERE p.tin <> '' AND p.npi <> '' AND p.written_at >= $1 AND p.written_at < $2 AND p.permissible
    AND ($5 OR p.schedule = '')`)
	case "EHPI_EP_1":
		return grouped(`SELECT p.ccn, p.pid || '/' || p.id AS m, COALESCE(`+transmitted+`, false) AS num
  FROM ehr.prescriptions p
  WHERE p.ccn <> '' AND p.written_at >= $1 AND p.written_at < $2 AND p.permissible AND p.discharge
    AND p.kind IN ('new', 'changed') AND ($5 OR p.schedule = '')`, "ccn"), nil
	case "PI_HIE_1":
		return ec(`SELECT t.sender_tin AS tin, t.sender_npi AS npi, t.pid || '/' || t.id AS m, (` + sentNumerator + `) AS num
  FROM ehr.transitions t
  WHERE t.direction = 'out' AND t.sender_tin <> '' AND t.sender_npi <> '' AND t.occurred_at >= $1 AND t.occurred_at < $2
    AND NOT (t.receiver_npi <> '' AND t.receiver_npi = t.sender_npi)`)
	case "EHPI_HIE_1":
		return grouped(`SELECT t.sender_ccn AS ccn, t.pid || '/' || t.id AS m, (`+sentNumerator+`) AS num
  FROM ehr.transitions t
  WHERE t.direction = 'out' AND t.sender_ccn <> '' AND t.occurred_at >= $1 AND t.occurred_at < $2
    AND NOT (t.receiver_ccn <> '' AND t.receiver_ccn = t.sender_ccn)`, "ccn"), nil
	case "PI_HIE_4", "EHPI_HIE_4":
		rec := `LEFT JOIN LATERAL (SELECT min(medications_at) AS m, min(allergies_at) AS a, min(problems_at) AS p
    FROM ehr.reconciliations WHERE transition_id = t.id) r ON true`
		if s.ID == "EHPI_HIE_4" {
			return grouped(`SELECT t.receiver_ccn AS ccn, t.pid || '/' || t.id AS m, COALESCE(`+reconciled+`, false) AS num
  FROM ehr.transitions t `+rec+`
  WHERE t.direction = 'in' AND t.receiver_ccn <> '' AND t.received_at >= $1 AND t.received_at < $2`, "ccn"), nil
		}
		return ec(`SELECT t.receiver_tin AS tin, t.receiver_npi AS npi, t.pid || '/' || t.id AS m, COALESCE(` + reconciled + `, false) AS num
  FROM ehr.transitions t ` + rec + `
  WHERE t.direction = 'in' AND t.receiver_tin <> '' AND t.receiver_npi <> '' AND t.received_at >= $1 AND t.received_at < $2`)
	case "S3-EP-06.2", "S3-EP-05.2":
		acted := `EXISTS (SELECT 1 FROM ehr.messages a WHERE a.pid = e.pid AND a.sent_at >= $3 AND a.sent_at < $4
      AND (a.direction IN ('provider_to_patient', 'reply') OR a.direction = 'provider_to_provider' AND a.patient_included)
      AND (a.npi = e.npi OR a.npi = '' AND a.tin = '' AND a.ccn = ''))`
		if s.ID == "S3-EP-05.2" {
			acted = `EXISTS (SELECT 1 FROM ehr.education a WHERE a.pid = e.pid AND a.electronic
      AND a.provided_at >= $3 AND a.provided_at < $4 AND (a.npi = e.npi OR a.npi = '' AND a.tin = '' AND a.ccn = ''))`
		}
		return grouped(`SELECT e.npi, e.pid AS m, bool_or(`+acted+`) AS num
  FROM ehr.encounter_info e
  WHERE e.npi <> '' AND e.cehrt AND e.start_at >= $1 AND e.start_at < $2
  GROUP BY e.npi, e.pid`, "npi"), nil
	}
	return "", fmt.Errorf("%s: no B statement", s.Name())
}

// numeratorWindow is where s's numerator actions may fall for period p of year y:
// the period itself from 2019 (MIPS and hospital PI), the calendar year for Stage 3.
func numeratorWindow(s Spec, p Period, year int) Period {
	if s.Program == measure.Stage3 {
		return Year(year)
	}
	return p
}

// RunSet runs B: one statement per measure for period p, every entity at once.
func RunSet(ctx context.Context, conn *pgx.Conn, specs []Spec, ents Entities, year int, p Period) (Results, error) {
	out := Results{}
	for _, s := range specs {
		if err := runSetOne(ctx, conn, s, ents, year, p, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func runSetOne(ctx context.Context, conn *pgx.Conn, s Spec, ents Entities, year int, p Period, out Results) error {
	q, err := setSQL(s)
	if err != nil {
		return err
	}
	w := numeratorWindow(s, p, year)
	args := []any{p.From, p.To, w.From, w.To}
	if s.Variant != measure.NoVariant {
		args = append(args, s.Variant == measure.ControlledIncluded)
	} else if s.ID == "PI_EP_1" || s.ID == "EHPI_EP_1" {
		args = append(args, true)
	}
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("(B) %s: %w", s.Name(), err)
	}
	got := map[string]Tally{}
	for rows.Next() {
		var entity string
		var nDen, nNum int
		var den, num []string
		if err := rows.Scan(&entity, &nDen, &nNum, &den, &num); err != nil {
			rows.Close()
			return fmt.Errorf("(B) %s: %w", s.Name(), err)
		}
		if nDen != len(den) || nNum != len(num) {
			rows.Close()
			return fmt.Errorf("(B) %s %s: counts %d/%d and lists %d/%d differ", s.Name(), entity, nNum, nDen, len(num), len(den))
		}
		got[entity] = Tally{Den: den, Num: num}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("(B) %s: %w", s.Name(), err)
	}
	for _, id := range ents[s.Kind] {
		t := got[id]
		out.put(Key{s, s.Kind + ":" + id}, t.Den, t.Num)
	}
	return nil
}
