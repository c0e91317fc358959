package record

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/google/uuid"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/libs/store"
)

//go:embed migrations
var migrations embed.FS

// Migrations are the service's schema migrations, one folder per dialect.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the folder is embedded
	return sub
}

// source is the ce_source of every event records publishes.
const source = "records"

// Service holds the record's use cases.
type Service struct {
	db     *store.DB
	notify func()           // wakes the outbox relay after a commit
	now    func() time.Time // the recording clock
}

// NewService returns the use cases over db. notify is called after every commit that
// wrote events; pass the relay's Notify.
func NewService(db *store.DB, notify func()) *Service {
	return &Service{db: db, notify: notify, now: time.Now}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// RegisterPatient stores a new patient and publishes records.patient.registered.
// A patient whose ID already exists with the same content is returned as it is, with
// created false and no event (an idempotent retry); with different content it is a
// Conflict. An MRN already used by another patient is a Conflict too.
func (s *Service) RegisterPatient(ctx context.Context, p Patient) (_ Patient, created bool, err error) {
	if err := p.Validate(); err != nil {
		return Patient{}, false, err
	}
	if p.ID == "" {
		p.ID = newID()
	}
	now := s.now().UTC()
	p.Version, p.Created, p.Updated = 1, now, now
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		old, err := getPatient(ctx, tx, p.ID)
		switch {
		case err == nil && old.sameAs(p):
			p = old
			return nil
		case err == nil:
			return errs.Field(errs.Conflict, "id", "a different patient with this id exists")
		case !errs.Is(errs.NotFound, err):
			return err
		}
		if err := insertPatient(ctx, tx, p); err != nil {
			return err
		}
		created = true
		ev, err := event.New(contract.PatientRegistered, source, p.ID, now, now,
			contract.Patient{PatientID: p.ID, OrganizationID: p.OrganizationID})
		if err != nil {
			return err
		}
		return outbox.Add(ctx, tx, contract.TopicPatient, ev)
	})
	if err != nil {
		return Patient{}, false, err
	}
	if created {
		s.notify()
	}
	return p, created, nil
}

// Patient returns the patient with the given ID.
func (s *Service) Patient(ctx context.Context, id string) (Patient, error) {
	var p Patient
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		p, err = getPatient(ctx, tx, id)
		return err
	})
	return p, err
}

// DeletePatient removes a patient entered in error. Each of the patient's encounters
// is deleted first, with its own records.encounter.deleted event, so consumers retract
// what the encounters counted for; then records.patient.deleted.
func (s *Service) DeletePatient(ctx context.Context, id string) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := getPatient(ctx, tx, id); err != nil {
			return err
		}
		encs, err := patientEncounters(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		for _, e := range encs {
			if err := deleteEncounter(ctx, tx, e, now); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM patients WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete patient: %w", err)
		}
		ev, err := event.New(contract.PatientDeleted, source, id, now, now, contract.PatientRef{PatientID: id})
		if err != nil {
			return err
		}
		return outbox.Add(ctx, tx, contract.TopicPatient, ev)
	})
	if err == nil {
		s.notify()
	}
	return err
}

// RecordEncounter stores a new encounter and publishes records.encounter.recorded.
// Retrying with the same ID and content returns the stored encounter with created
// false and publishes nothing; different content under the same ID is a Conflict.
// The patient must exist (Unprocessable otherwise).
func (s *Service) RecordEncounter(ctx context.Context, e Encounter) (_ Encounter, created bool, err error) {
	if err := e.Validate(); err != nil {
		return Encounter{}, false, err
	}
	if e.ID == "" {
		e.ID = newID()
	}
	now := s.now().UTC()
	e.Version, e.Created, e.Updated = 1, now, now
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		old, err := getEncounter(ctx, tx, e.ID)
		switch {
		case err == nil && old.sameAs(e):
			e = old
			return nil
		case err == nil:
			return errs.Field(errs.Conflict, "id", "a different encounter with this id exists")
		case !errs.Is(errs.NotFound, err):
			return err
		}
		if err := requirePatient(ctx, tx, e.PatientID); err != nil {
			return err
		}
		if err := writeEncounter(ctx, tx, e, true); err != nil {
			return err
		}
		created = true
		return addEncounterEvent(ctx, tx, contract.EncounterRecorded, e, now)
	})
	if err != nil {
		return Encounter{}, false, err
	}
	if created {
		s.notify()
	}
	return e, created, nil
}

// CorrectEncounter replaces an encounter's content and publishes
// records.encounter.corrected with the full corrected encounter. A correction that
// changes nothing publishes nothing. An encounter cannot move to another patient.
func (s *Service) CorrectEncounter(ctx context.Context, e Encounter) (Encounter, error) {
	if err := e.Validate(); err != nil {
		return Encounter{}, err
	}
	changed := false
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		old, err := getEncounter(ctx, tx, e.ID)
		if err != nil {
			return err
		}
		if old.PatientID != e.PatientID {
			return errs.Field(errs.Unprocessable, "patient_id", "an encounter cannot move to another patient; delete it and record a new one")
		}
		if old.sameAs(e) {
			e = old
			return nil
		}
		now := s.now().UTC()
		e.Version, e.Created, e.Updated = old.Version+1, old.Created, now
		if err := writeEncounter(ctx, tx, e, false); err != nil {
			return err
		}
		changed = true
		return addEncounterEvent(ctx, tx, contract.EncounterCorrected, e, now)
	})
	if err != nil {
		return Encounter{}, err
	}
	if changed {
		s.notify()
	}
	return e, nil
}

// Encounter returns the encounter with the given ID.
func (s *Service) Encounter(ctx context.Context, id string) (Encounter, error) {
	var e Encounter
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		e, err = getEncounter(ctx, tx, id)
		return err
	})
	return e, err
}

// DeleteEncounter removes an encounter entered in error and publishes
// records.encounter.deleted.
func (s *Service) DeleteEncounter(ctx context.Context, id string) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		e, err := getEncounter(ctx, tx, id)
		if err != nil {
			return err
		}
		return deleteEncounter(ctx, tx, e, s.now().UTC())
	})
	if err == nil {
		s.notify()
	}
	return err
}

func deleteEncounter(ctx context.Context, tx *store.Tx, e Encounter, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM encounters WHERE id = ?`, e.ID); err != nil {
		return fmt.Errorf("delete encounter: %w", err)
	}
	ev, err := event.New(contract.EncounterDeleted, source, e.PatientID, now, now,
		contract.EncounterRef{EncounterID: e.ID, PatientID: e.PatientID})
	if err != nil {
		return err
	}
	return outbox.Add(ctx, tx, contract.TopicEncounter, ev)
}

// addEncounterEvent publishes an encounter's full content. Its clinical time is when
// the encounter began.
func addEncounterEvent(ctx context.Context, tx *store.Tx, typ string, e Encounter, now time.Time) error {
	ev, err := event.New(typ, source, e.PatientID, e.Start, now, e.contract())
	if err != nil {
		return err
	}
	return outbox.Add(ctx, tx, contract.TopicEncounter, ev)
}

func requirePatient(ctx context.Context, tx *store.Tx, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM patients WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Field(errs.Unprocessable, "patient_id", "no such patient")
	}
	if err != nil {
		return fmt.Errorf("find patient: %w", err)
	}
	return nil
}

func insertPatient(ctx context.Context, tx *store.Tx, p Patient) error {
	given, err := json.Marshal(p.Name.Given)
	if err != nil {
		return fmt.Errorf("encode given names: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO patients
		(id, organization_id, mrn_system, mrn_value, given, family, birth_date, sex, version, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.OrganizationID, p.MRN.System, p.MRN.Value.Reveal(), string(given), p.Name.Family.Reveal(),
		p.BirthDate.Reveal(), p.Sex, p.Version, p.Created, p.Updated)
	if store.IsUniqueViolation(err) {
		return errs.Field(errs.Conflict, "mrn", "another patient has this medical record number")
	}
	if err != nil {
		return fmt.Errorf("insert patient: %w", err)
	}
	return nil
}

func getPatient(ctx context.Context, tx *store.Tx, id string) (Patient, error) {
	var (
		p                         Patient
		mrn, given, family, birth string
	)
	err := tx.QueryRowContext(ctx, `SELECT id, organization_id, mrn_system, mrn_value, given, family,
		birth_date, sex, version, created, updated FROM patients WHERE id = ?`, id).
		Scan(&p.ID, &p.OrganizationID, &p.MRN.System, &mrn, &given, &family, &birth, &p.Sex,
			&p.Version, &p.Created, &p.Updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Patient{}, errs.E(errs.NotFound, "no such patient")
	}
	if err != nil {
		return Patient{}, fmt.Errorf("get patient: %w", err)
	}
	if err := json.Unmarshal([]byte(given), &p.Name.Given); err != nil {
		return Patient{}, fmt.Errorf("decode given names of patient %s: %w", id, err)
	}
	p.MRN.Value, p.Name.Family, p.BirthDate = phi.Identifier(mrn), phi.Name(family), phi.Date(birth)
	p.Created, p.Updated = p.Created.UTC(), p.Updated.UTC()
	return p, nil
}

const encounterColumns = `id, patient_id, class, start_at, end_at, rendering_npi, billing_tin, ccn,
	location_id, pos, version, created, updated`

func writeEncounter(ctx context.Context, tx *store.Tx, e Encounter, insert bool) error {
	var end any
	if e.End != nil {
		end = e.End.UTC()
	}
	q := `UPDATE encounters SET patient_id = ?, class = ?, start_at = ?, end_at = ?, rendering_npi = ?,
		billing_tin = ?, ccn = ?, location_id = ?, pos = ?, version = ?, created = ?, updated = ? WHERE id = ?`
	args := []any{e.PatientID, e.Class, e.Start.UTC(), end, e.RenderingNPI, e.BillingTIN, e.CCN,
		e.LocationID, e.POS, e.Version, e.Created, e.Updated, e.ID}
	if insert {
		q = `INSERT INTO encounters (patient_id, class, start_at, end_at, rendering_npi, billing_tin, ccn,
			location_id, pos, version, created, updated, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("write encounter: %w", err)
	}
	return nil
}

func scanEncounter(row interface{ Scan(...any) error }) (Encounter, error) {
	var (
		e   Encounter
		end sql.NullTime
	)
	err := row.Scan(&e.ID, &e.PatientID, &e.Class, &e.Start, &end, &e.RenderingNPI, &e.BillingTIN,
		&e.CCN, &e.LocationID, &e.POS, &e.Version, &e.Created, &e.Updated)
	if err != nil {
		return Encounter{}, err
	}
	if end.Valid {
		t := end.Time.UTC()
		e.End = &t
	}
	e.Start, e.Created, e.Updated = e.Start.UTC(), e.Created.UTC(), e.Updated.UTC()
	return e, nil
}

func getEncounter(ctx context.Context, tx *store.Tx, id string) (Encounter, error) {
	e, err := scanEncounter(tx.QueryRowContext(ctx, `SELECT `+encounterColumns+` FROM encounters WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Encounter{}, errs.E(errs.NotFound, "no such encounter")
	}
	if err != nil {
		return Encounter{}, fmt.Errorf("get encounter: %w", err)
	}
	return e, nil
}

func patientEncounters(ctx context.Context, tx *store.Tx, patientID string) ([]Encounter, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+encounterColumns+` FROM encounters WHERE patient_id = ? ORDER BY start_at, id`, patientID)
	if err != nil {
		return nil, fmt.Errorf("list encounters: %w", err)
	}
	defer rows.Close()
	var out []Encounter
	for rows.Next() {
		e, err := scanEncounter(rows)
		if err != nil {
			return nil, fmt.Errorf("scan encounter: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
