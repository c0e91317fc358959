// Package patientdir keeps a service's own directory of the patients records knows,
// built from records.patient.v1: which opaque patient IDs exist and their
// organization. Services that act on a patient by ID (messaging, education) use it to
// refuse unknown patients without reading records' database.
//
// The service owns the table, created by its own migration:
//
//	CREATE TABLE patients (patient_id TEXT PRIMARY KEY, organization_id TEXT NOT NULL DEFAULT '');
package patientdir

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
)

// Topics are the topics a directory consumes.
var Topics = []string{contract.TopicPatient}

// Directory is the projection and its event handler.
type Directory struct {
	db    *store.DB
	group string
	log   *slog.Logger
}

// New returns the directory in db, fed by the consumer group named group
// (e.g. "messaging.patients").
func New(db *store.DB, group string, log *slog.Logger) *Directory {
	return &Directory{db: db, group: group, log: log}
}

// Group is the consumer group feeding the directory.
func (d *Directory) Group() string { return d.group }

// Handle applies one records.patient event exactly once.
func (d *Directory) Handle(ctx context.Context, e event.Event) error {
	return d.HandleBatch(ctx, []event.Event{e})
}

// HandleBatch applies records.patient events in one transaction.
func (d *Directory) HandleBatch(ctx context.Context, es []event.Event) error {
	return d.db.InTx(ctx, func(tx *store.Tx) error {
		for _, e := range es {
			if err := d.apply(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

func (d *Directory) apply(ctx context.Context, tx *store.Tx, e event.Event) error {
	first, err := outbox.Processed(ctx, tx, d.group, e.ID)
	if err != nil || !first {
		return err
	}
	switch e.Type {
	case contract.PatientRegistered, contract.PatientUpdated:
		var p contract.Patient
		if err := e.Decode(&p); err != nil {
			return err
		}
		if p.PatientID == "" {
			return event.Permanent(fmt.Errorf("%s %s: patient_id is required", e.Type, e.ID))
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO patients (patient_id, organization_id) VALUES (?, ?)
			ON CONFLICT (patient_id) DO UPDATE SET organization_id = excluded.organization_id`,
			p.PatientID, p.OrganizationID)
	case contract.PatientDeleted:
		var p contract.PatientRef
		if err := e.Decode(&p); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM patients WHERE patient_id = ?`, p.PatientID)
	default:
		d.log.DebugContext(ctx, "ignoring event type", "type", e.Type, "id", e.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("apply %s: %w", e.Type, err)
	}
	return nil
}

// Lookup returns a known patient, or a NotFound error.
func (d *Directory) Lookup(ctx context.Context, patientID string) (contract.Patient, error) {
	p := contract.Patient{PatientID: patientID}
	err := d.db.QueryRowContext(ctx, `SELECT organization_id FROM patients WHERE patient_id = ?`, patientID).
		Scan(&p.OrganizationID)
	if errors.Is(err, sql.ErrNoRows) {
		return contract.Patient{}, errs.E(errs.NotFound, "no such patient")
	}
	if err != nil {
		return contract.Patient{}, fmt.Errorf("look up patient: %w", err)
	}
	return p, nil
}
