package fact

import (
	"context"
	"fmt"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
)

// ClearRebuild empties the rebuild tables and the processed marks of group, left over
// by a replay that stopped half-way.
func ClearRebuild(ctx context.Context, tx *store.Tx, group string) error {
	for _, q := range []string{`DELETE FROM rebuild_encounter_facts`, `DELETE FROM rebuild_seen_facts`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("clear the rebuilt seen facts: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM processed_events WHERE consumer = ?`, group); err != nil {
		return fmt.Errorf("clear the rebuilt seen facts' marks: %w", err)
	}
	return nil
}

// Swap makes the seen facts a Deriver rebuilt (Rebuilding(group)) live, in tx: it
// publishes the facts that differ between the live and the rebuilt tables (retracted,
// then asserted, each in entity, patient and day order), replaces the live tables
// with the rebuilt ones and moves group's processed marks to Group. The published
// facts' Because is "replay:" and the instant of the swap: the replay, not one domain
// event, is what changed them. It returns how many facts were asserted and retracted.
func Swap(ctx context.Context, tx *store.Tx, group string, loc *time.Location, now time.Time) (asserted, retracted int, err error) {
	d := &Deriver{loc: loc, now: func() time.Time { return now }}
	cause := event.Event{ID: "replay:" + now.UTC().Format(time.RFC3339Nano)}
	var events []event.Event
	for _, diff := range []struct {
		typ      string
		from, to Tables
		n        *int
	}{{contract.FactRetracted, Live, Rebuild, &retracted}, {contract.FactAsserted, Rebuild, Live, &asserted}} {
		keys, err := missing(ctx, tx, diff.from, diff.to)
		if err != nil {
			return 0, 0, err
		}
		for _, k := range keys {
			e, err := d.factEvent(diff.typ, k, cause)
			if err != nil {
				return 0, 0, err
			}
			events = append(events, e)
		}
		*diff.n = len(keys)
	}
	if len(events) > 0 {
		ms := make([]outbox.Message, len(events))
		for i, e := range events {
			ms[i] = outbox.Message{Topic: contract.TopicFact, Event: e}
		}
		if err := outbox.AddAll(ctx, tx, ms); err != nil {
			return 0, 0, err
		}
	}
	for _, q := range []string{
		`DELETE FROM encounter_facts`, `INSERT INTO encounter_facts SELECT * FROM rebuild_encounter_facts`,
		`DELETE FROM seen_facts`, `INSERT INTO seen_facts SELECT * FROM rebuild_seen_facts`,
		`DELETE FROM rebuild_encounter_facts`, `DELETE FROM rebuild_seen_facts`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return 0, 0, fmt.Errorf("swap the seen facts: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM processed_events WHERE consumer = ?`, Group); err != nil {
		return 0, 0, fmt.Errorf("swap the seen facts' marks: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE processed_events SET consumer = ? WHERE consumer = ?`, Group, group); err != nil {
		return 0, 0, fmt.Errorf("swap the seen facts' marks: %w", err)
	}
	return asserted, retracted, nil
}

// missing lists the seen facts of tables a that tables b lacks.
func missing(ctx context.Context, tx *store.Tx, a, b Tables) ([]key, error) {
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT entity_kind, entity_id, patient_id, day FROM %s s
		WHERE NOT EXISTS (SELECT 1 FROM %s r WHERE r.entity_kind = s.entity_kind AND r.entity_id = s.entity_id
			AND r.patient_id = s.patient_id AND r.day = s.day)
		ORDER BY entity_kind, entity_id, patient_id, day`, a.Seen, b.Seen))
	if err != nil {
		return nil, fmt.Errorf("compare the seen facts: %w", err)
	}
	defer rows.Close()
	var out []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.entity.Kind, &k.entity.ID, &k.patientID, &k.day); err != nil {
			return nil, fmt.Errorf("compare the seen facts: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
