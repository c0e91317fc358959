// Package chart keeps the education service's projection of each patient's record
// from records' events: active problems, active medications and recent results, as
// codes only. Matching reads it; a Hook is told, inside the projection's transaction,
// when a code becomes relevant for a patient, so suggestions commit with the fact
// that caused them.
package chart

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
	"github.com/attest-ehr/attest/services/education/internal/match"
)

// Group is the consumer group that keeps the projection.
const Group = "education.chart"

// Topics are the topics Group consumes: the record's entries, and patients for
// deletions.
var Topics = []string{contract.TopicProblem, contract.TopicMed, contract.TopicResult, contract.TopicPatient}

// DefaultRecent is how long a result stays relevant by default.
const DefaultRecent = 90 * 24 * time.Hour

// Statuses that make an entry relevant.
var (
	activeProblem    = map[string]bool{"active": true, "recurrence": true, "relapse": true}
	activeMedication = map[string]bool{"active": true}
	// A result counts unless it was cancelled or entered in error.
	voidResult = map[string]bool{"cancelled": true, "entered-in-error": true}
	// Interpretations that are not abnormal (HL7 v3 ObservationInterpretation).
	normalInterpretation = map[string]bool{"": true, "N": true}
)

// Hook is told when a code becomes relevant for a patient: a problem or medication
// that became active, or a result that arrived within the recent window. It runs in
// the projection's transaction; an error rolls the event back, to be retried.
type Hook interface {
	Fact(ctx context.Context, tx *store.Tx, patientID string, f match.Fact) error
	// Forget removes what the hook holds about a patient records deleted.
	Forget(ctx context.Context, tx *store.Tx, patientID string) error
}

// Querier is what reads the projection: the database or a transaction.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Projection is the projection and its event handler.
type Projection struct {
	db     *store.DB
	recent time.Duration
	hook   Hook   // nil: nobody is told
	notify func() // wakes the outbox relay after a commit: the hook may have added events
	log    *slog.Logger
	now    func() time.Time
}

// New returns the projection in db. Results effective within recent (default
// DefaultRecent) count; hook, if not nil, is told of new relevant codes, and notify
// is called after each commit.
func New(db *store.DB, recent time.Duration, hook Hook, notify func(), log *slog.Logger) *Projection {
	if recent <= 0 {
		recent = DefaultRecent
	}
	if notify == nil {
		notify = func() {}
	}
	return &Projection{db: db, recent: recent, hook: hook, notify: notify, log: log, now: time.Now}
}

// Handle applies one records event exactly once: the processed-event mark, the
// projection change and whatever the hook writes commit together.
func (p *Projection) Handle(ctx context.Context, e event.Event) error {
	return p.HandleBatch(ctx, []event.Event{e})
}

// HandleBatch applies events in one transaction, each exactly once, in order: the
// same effect as Handle on each, at the cost of one commit. An error rolls back the
// whole batch. It is what a batching consumer would call; event.Consume hands over
// one event at a time (see docs/benchmarks/education.md).
func (p *Projection) HandleBatch(ctx context.Context, es []event.Event) error {
	err := p.db.InTx(ctx, func(tx *store.Tx) error {
		for _, e := range es {
			first, err := outbox.Processed(ctx, tx, Group, e.ID)
			if err != nil {
				return err
			}
			if !first {
				continue
			}
			if err := p.apply(ctx, tx, e); err != nil {
				return err // as it is: it may be Permanent, and the consumer logs which event
			}
		}
		return nil
	})
	if err == nil {
		p.notify()
	}
	return err
}

func (p *Projection) apply(ctx context.Context, tx *store.Tx, e event.Event) error {
	switch e.Type {
	case contract.ProblemRecorded, contract.ProblemCorrected:
		var v contract.Problem
		if err := decode(e, &v, func() (string, string, contract.Code) { return v.ProblemID, v.PatientID, v.Code }); err != nil {
			return err
		}
		return p.upsert(ctx, tx, entry{table: "chart_problems", key: "problem_id", id: v.ProblemID,
			patientID: v.PatientID, code: v.Code, status: v.Status, source: match.SourceProblem,
			relevant: activeProblem[v.Status]})
	case contract.MedicationRecorded, contract.MedicationCorrected:
		var v contract.Medication
		if err := decode(e, &v, func() (string, string, contract.Code) { return v.MedicationID, v.PatientID, v.Code }); err != nil {
			return err
		}
		return p.upsert(ctx, tx, entry{table: "chart_medications", key: "medication_id", id: v.MedicationID,
			patientID: v.PatientID, code: v.Code, status: v.Status, source: match.SourceMedication,
			relevant: activeMedication[v.Status]})
	case contract.ResultRecorded, contract.ResultCorrected:
		var v contract.Result
		if err := decode(e, &v, func() (string, string, contract.Code) { return v.ResultID, v.PatientID, v.Code }); err != nil {
			return err
		}
		return p.upsertResult(ctx, tx, v)
	case contract.ProblemDeleted:
		var v contract.ProblemRef
		return p.remove(ctx, tx, e, &v, "chart_problems", "problem_id", func() string { return v.ProblemID })
	case contract.MedicationDeleted:
		var v contract.MedicationRef
		return p.remove(ctx, tx, e, &v, "chart_medications", "medication_id", func() string { return v.MedicationID })
	case contract.ResultDeleted:
		var v contract.ResultRef
		return p.remove(ctx, tx, e, &v, "chart_results", "result_id", func() string { return v.ResultID })
	case contract.PatientDeleted:
		var v contract.PatientRef
		if err := e.Decode(&v); err != nil {
			return err
		}
		return p.forget(ctx, tx, v.PatientID)
	default:
		// Patient registrations and updates are the directory's; types added later are
		// additive. Neither changes the chart.
		p.log.DebugContext(ctx, "ignoring event type", "type", e.Type, "id", e.ID)
		return nil
	}
}

// decode reads e's payload into v and checks that the entry ID, patient ID and code
// that fields returns from it are present: an entry without them is unusable.
func decode(e event.Event, v any, fields func() (id, patientID string, code contract.Code)) error {
	if err := e.Decode(v); err != nil {
		return err
	}
	id, patientID, code := fields()
	if id == "" || patientID == "" || code.System == "" || code.Code == "" {
		return event.Permanent(fmt.Errorf("%s %s: the entry ID, patient_id and code are required", e.Type, e.ID))
	}
	return nil
}

// entry is a problem or medication as the projection holds it.
type entry struct {
	table, key, id, patientID string
	code                      contract.Code
	status, source            string
	relevant                  bool // whether the entry counts for matching now
}

// upsert stores a problem or medication and tells the hook when its code became
// relevant: new and active, activated, or recoded while active.
func (p *Projection) upsert(ctx context.Context, tx *store.Tx, en entry) error {
	en.code = canonical(en.code)
	var oldSystem, oldCode, oldStatus string
	err := tx.QueryRowContext(ctx, `SELECT system, code, status FROM `+en.table+` WHERE `+en.key+` = ?`, en.id).
		Scan(&oldSystem, &oldCode, &oldStatus)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("load %s: %w", en.source, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO `+en.table+` (`+en.key+`, patient_id, system, code, status)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (`+en.key+`) DO UPDATE SET patient_id = excluded.patient_id,
		system = excluded.system, code = excluded.code, status = excluded.status`,
		en.id, en.patientID, en.code.System, en.code.Code, en.status)
	if err != nil {
		return fmt.Errorf("store %s: %w", en.source, err)
	}
	wasRelevant := exists && (en.source == match.SourceProblem && activeProblem[oldStatus] ||
		en.source == match.SourceMedication && activeMedication[oldStatus]) &&
		oldSystem == en.code.System && oldCode == en.code.Code
	if !en.relevant || wasRelevant {
		return nil
	}
	return p.tell(ctx, tx, en.patientID, match.Fact{Code: en.code, Source: en.source})
}

// upsertResult stores a result and tells the hook when a recent result arrives or is
// recoded.
func (p *Projection) upsertResult(ctx context.Context, tx *store.Tx, r contract.Result) error {
	r.Code = canonical(r.Code)
	var oldSystem, oldCode string
	err := tx.QueryRowContext(ctx, `SELECT system, code FROM chart_results WHERE result_id = ?`, r.ResultID).
		Scan(&oldSystem, &oldCode)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("load result: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO chart_results (result_id, patient_id, system, code, status,
		interpretation, effective) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (result_id) DO UPDATE SET
		patient_id = excluded.patient_id, system = excluded.system, code = excluded.code, status = excluded.status,
		interpretation = excluded.interpretation, effective = excluded.effective`,
		r.ResultID, r.PatientID, r.Code.System, r.Code.Code, r.Status, r.Interpretation, r.Effective.UTC())
	if err != nil {
		return fmt.Errorf("store result: %w", err)
	}
	recent := !r.Effective.Before(p.now().Add(-p.recent))
	if voidResult[r.Status] || !recent || exists && oldSystem == r.Code.System && oldCode == r.Code.Code {
		return nil
	}
	return p.tell(ctx, tx, r.PatientID, match.Fact{Code: r.Code, Source: match.SourceResult,
		Abnormal: !normalInterpretation[r.Interpretation]})
}

// canonical is a code in the catalog's canonical form (ICD-10-CM with its dot, systems
// as FHIR URIs), so "E1165" from one source matches "E11.65" from another. A code the
// catalog cannot read is kept as it came: it matches nothing.
func canonical(c contract.Code) contract.Code {
	if n, err := catalog.NormalizeCode("code", c); err == nil {
		return n
	}
	return c
}

func (p *Projection) tell(ctx context.Context, tx *store.Tx, patientID string, f match.Fact) error {
	if p.hook == nil {
		return nil
	}
	return p.hook.Fact(ctx, tx, patientID, f)
}

// remove deletes an entry named by a deletion event.
func (p *Projection) remove(ctx context.Context, tx *store.Tx, e event.Event, ref any, table, key string, id func() string) error {
	if err := e.Decode(ref); err != nil {
		return err
	}
	if id() == "" {
		return event.Permanent(fmt.Errorf("%s %s: the entry ID is required", e.Type, e.ID))
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+key+` = ?`, id()); err != nil {
		return fmt.Errorf("delete from %s: %w", table, err)
	}
	return nil
}

// forget removes everything the projection holds about a deleted patient.
func (p *Projection) forget(ctx context.Context, tx *store.Tx, patientID string) error {
	for _, table := range []string{"chart_problems", "chart_medications", "chart_results"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE patient_id = ?`, patientID); err != nil {
			return fmt.Errorf("forget patient in %s: %w", table, err)
		}
	}
	if p.hook == nil {
		return nil
	}
	return p.hook.Forget(ctx, tx, patientID)
}

// Facts returns the codes that matching uses for a patient: active problems, active
// medications and results effective since since, in that order.
func Facts(ctx context.Context, q Querier, patientID string, since time.Time) ([]match.Fact, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT 'problem', system, code, status, '' FROM chart_problems WHERE patient_id = ?
		UNION ALL SELECT 'medication', system, code, status, '' FROM chart_medications WHERE patient_id = ?
		UNION ALL SELECT 'result', system, code, status, interpretation FROM chart_results
			WHERE patient_id = ? AND effective >= ?`,
		patientID, patientID, patientID, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("load chart: %w", err)
	}
	defer rows.Close()
	facts := []match.Fact{}
	for rows.Next() {
		var f match.Fact
		var status, interpretation string
		if err := rows.Scan(&f.Source, &f.Code.System, &f.Code.Code, &status, &interpretation); err != nil {
			return nil, fmt.Errorf("scan chart: %w", err)
		}
		switch f.Source {
		case match.SourceProblem:
			if !activeProblem[status] {
				continue
			}
		case match.SourceMedication:
			if !activeMedication[status] {
				continue
			}
		case match.SourceResult:
			if voidResult[status] {
				continue
			}
			f.Abnormal = !normalInterpretation[interpretation]
		}
		facts = append(facts, f)
	}
	return facts, rows.Err()
}
