// Package clinicdir answers which clinics a reporting entity reports for — the question
// behind a clinic administrator's scope — from records' directory: a group's TIN
// reports for the group's organization, a clinician (NPI) for the organizations of the
// groups they bill under, a TIN/NPI pair for its TIN's, a hospital's CCN for the
// hospital's organization. A clinic is an organization ID, the same one records gives
// the clinic's patients (what patient-level scope checks compare).
//
// The directory is a projection the gateway keeps from records.group.v1,
// records.clinician.v1 and records.hospital.v1 (tables dir_groups, dir_clinician_tins
// and dir_hospitals, migration 000103), so it follows the directory as records
// changes it; an officer's explicit mappings (clinic_entities, POST
// /gateway/v1/clinics/{clinic}/entities) are added to it, and an explicit TIN mapping
// covers the clinicians who bill under that TIN.
package clinicdir

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
)

// Topics are the topics the directory consumes.
var Topics = []string{contract.TopicGroup, contract.TopicClinician, contract.TopicHospital}

// Directory is the projection, its event handler and its questions.
type Directory struct {
	db    *store.DB
	group string
	log   *slog.Logger
}

// New returns the directory in db, fed by the consumer group named group.
func New(db *store.DB, group string, log *slog.Logger) *Directory {
	return &Directory{db: db, group: group, log: log}
}

// Group is the consumer group feeding the directory.
func (d *Directory) Group() string { return d.group }

// Handle applies one directory event exactly once.
func (d *Directory) Handle(ctx context.Context, e event.Event) error {
	return d.HandleBatch(ctx, []event.Event{e})
}

// HandleBatch applies directory events in one transaction (a demo load sends
// thousands of clinicians at once).
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
	var stmts []stmt
	switch e.Type {
	case contract.GroupRecorded, contract.GroupCorrected:
		var g contract.Group
		if err := decode(e, &g, &g.GroupID); err != nil {
			return err
		}
		stmts = []stmt{{`DELETE FROM dir_groups WHERE group_id = ?`, []any{g.GroupID}},
			{`INSERT INTO dir_groups (group_id, organization_id, tin) VALUES (?, ?, ?)`, []any{g.GroupID, g.OrganizationID, g.TIN}}}
	case contract.GroupDeleted:
		var g contract.GroupRef
		if err := decode(e, &g, &g.GroupID); err != nil {
			return err
		}
		stmts = []stmt{{`DELETE FROM dir_groups WHERE group_id = ?`, []any{g.GroupID}}}
	case contract.ClinicianRecorded, contract.ClinicianCorrected:
		var c contract.Clinician
		if err := decode(e, &c, &c.ClinicianID); err != nil {
			return err
		}
		// A correction replaces the clinician's TINs: the old rows go first.
		stmts = []stmt{{`DELETE FROM dir_clinician_tins WHERE clinician_id = ?`, []any{c.ClinicianID}}}
		seen := map[string]bool{}
		for _, tin := range c.TINs {
			if tin != "" && !seen[tin] {
				seen[tin] = true
				stmts = append(stmts, stmt{`INSERT INTO dir_clinician_tins (clinician_id, npi, tin) VALUES (?, ?, ?)`,
					[]any{c.ClinicianID, c.NPI, tin}})
			}
		}
	case contract.ClinicianDeleted:
		var c contract.ClinicianRef
		if err := decode(e, &c, &c.ClinicianID); err != nil {
			return err
		}
		stmts = []stmt{{`DELETE FROM dir_clinician_tins WHERE clinician_id = ?`, []any{c.ClinicianID}}}
	case contract.HospitalRecorded, contract.HospitalCorrected:
		var h contract.Hospital
		if err := decode(e, &h, &h.HospitalID); err != nil {
			return err
		}
		stmts = []stmt{{`DELETE FROM dir_hospitals WHERE hospital_id = ?`, []any{h.HospitalID}},
			{`INSERT INTO dir_hospitals (hospital_id, organization_id, ccn) VALUES (?, ?, ?)`, []any{h.HospitalID, h.OrganizationID, h.CCN}}}
	case contract.HospitalDeleted:
		var h contract.HospitalRef
		if err := decode(e, &h, &h.HospitalID); err != nil {
			return err
		}
		stmts = []stmt{{`DELETE FROM dir_hospitals WHERE hospital_id = ?`, []any{h.HospitalID}}}
	default:
		d.log.DebugContext(ctx, "ignoring event type", "type", e.Type, "id", e.ID)
		return nil
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.query, s.args...); err != nil {
			return fmt.Errorf("clinicdir: apply %s: %w", e.Type, err)
		}
	}
	return nil
}

type stmt struct {
	query string
	args  []any
}

// decode reads e's payload into v and refuses one without its ID (*id): such an
// event can never be applied, so it is dead-lettered rather than retried.
func decode(e event.Event, v any, id *string) error {
	if err := e.Decode(v); err != nil {
		return event.Permanent(fmt.Errorf("clinicdir: %s %s: %w", e.Type, e.ID, err))
	}
	if *id == "" {
		return event.Permanent(fmt.Errorf("clinicdir: %s %s: the payload has no ID", e.Type, e.ID))
	}
	return nil
}

// EntityClinics returns the clinics entity ("tin:…", "npi:…", "tin_npi:…/…",
// "ccn:…") reports for, sorted: the directory's and the explicit mappings'. An
// entity nobody maps reports for no clinic (an empty answer, not an error).
func (d *Directory) EntityClinics(ctx context.Context, entity string) ([]string, error) {
	kind, id, _ := strings.Cut(entity, ":")
	// Every branch starts with the explicit mappings of the entity itself.
	q := `SELECT clinic FROM clinic_entities WHERE entity = ?`
	args := []any{entity}
	switch kind {
	case contract.EntityTIN:
		q += ` UNION SELECT organization_id FROM dir_groups WHERE tin = ?`
		args = append(args, id)
	case contract.EntityTINNPI:
		// A TIN/NPI pair's data is what the clinician billed under the TIN: the
		// TIN's clinics.
		tin, _, _ := strings.Cut(id, "/")
		q += ` UNION SELECT clinic FROM clinic_entities WHERE entity = ?
			UNION SELECT organization_id FROM dir_groups WHERE tin = ?`
		args = append(args, "tin:"+tin, tin)
	case contract.EntityNPI:
		// The clinics of every TIN the clinician bills under, whether the directory
		// or an explicit mapping puts the TIN in the clinic.
		q += ` UNION SELECT g.organization_id FROM dir_clinician_tins c JOIN dir_groups g ON g.tin = c.tin WHERE c.npi = ?
			UNION SELECT m.clinic FROM dir_clinician_tins c JOIN clinic_entities m ON m.entity = 'tin:' || c.tin WHERE c.npi = ?`
		args = append(args, id, id)
	case contract.EntityCCN:
		q += ` UNION SELECT organization_id FROM dir_hospitals WHERE ccn = ?`
		args = append(args, id)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT clinic FROM (`+q+`) AS x WHERE clinic <> '' ORDER BY clinic`, args...)
	if err != nil {
		return nil, fmt.Errorf("clinicdir: entity clinics: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("clinicdir: entity clinics: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clinicdir: entity clinics: %w", err)
	}
	return out, nil
}
