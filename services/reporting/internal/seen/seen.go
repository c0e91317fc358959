// Package seen keeps reporting's copy of the "patient seen by entity on day" facts
// that metrics publishes, and answers how many unique patients an entity saw in a
// period. A fact asserted twice or retracted when not held changes nothing, so the
// copy is exact under redelivery.
package seen

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
)

//go:embed migrations
var migrations embed.FS

// Migrations are the package's schema migrations, one folder per dialect.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the folder is embedded
	return sub
}

// Group is the consumer group that copies metrics' facts.
const Group = "reporting.facts"

// Topics are the topics Group consumes.
var Topics = []string{contract.TopicFact}

// Projector applies metrics' fact events to reporting's database.
type Projector struct {
	db  *store.DB
	log *slog.Logger
}

// NewProjector returns a Projector writing to db.
func NewProjector(db *store.DB, log *slog.Logger) *Projector { return &Projector{db: db, log: log} }

// Handle applies one fact event exactly once.
func (p *Projector) Handle(ctx context.Context, e event.Event) error {
	return p.HandleBatch(ctx, []event.Event{e})
}

// HandleBatch applies fact events in one transaction.
func (p *Projector) HandleBatch(ctx context.Context, es []event.Event) error {
	return p.db.InTx(ctx, func(tx *store.Tx) error {
		for _, e := range es {
			if err := p.apply(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

func (p *Projector) apply(ctx context.Context, tx *store.Tx, e event.Event) error {
	first, err := outbox.Processed(ctx, tx, Group, e.ID)
	if err != nil || !first {
		return err
	}
	if e.Type != contract.FactAsserted && e.Type != contract.FactRetracted {
		p.log.DebugContext(ctx, "ignoring event type", "type", e.Type, "id", e.ID)
		return nil
	}
	var f contract.Fact
	if err := e.Decode(&f); err != nil {
		return err
	}
	if f.Kind != contract.FactSeen {
		return nil // other fact kinds are not counted here
	}
	if err := checkFact(f); err != nil {
		return event.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
	}
	if e.Type == contract.FactRetracted {
		_, err = tx.ExecContext(ctx, `DELETE FROM seen WHERE entity_kind = ? AND entity_id = ? AND day = ?
			AND patient_id = ?`, f.Entity.Kind, f.Entity.ID, f.Day, f.PatientID)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO seen (entity_kind, entity_id, day, patient_id, because)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, f.Entity.Kind, f.Entity.ID, f.Day, f.PatientID, f.Because)
	}
	if err != nil {
		return fmt.Errorf("apply %s: %w", e.Type, err)
	}
	return nil
}

func checkFact(f contract.Fact) error {
	if err := ident.CheckEntity(f.Entity); err != nil {
		return err
	}
	if f.PatientID == "" {
		return errs.Field(errs.Invalid, "patient_id", "required")
	}
	if _, err := time.Parse(time.DateOnly, f.Day); err != nil {
		return errs.Field(errs.Invalid, "day", "not a date in YYYY-MM-DD form")
	}
	return nil
}

// Period is an inclusive range of calendar days.
type Period struct {
	From, To string // YYYY-MM-DD
}

// Count is the answer to "how many unique patients did this entity see in the period".
type Count struct {
	Entity   string `json:"entity"`
	From     string `json:"from"`
	To       string `json:"to"`
	Patients int    `json:"patients"`
}

// UniquePatients counts the distinct patients the entity saw in the period.
func UniquePatients(ctx context.Context, db *store.DB, ent contract.Entity, p Period) (Count, error) {
	c := Count{Entity: ent.String(), From: p.From, To: p.To}
	err := db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT patient_id) FROM seen
		WHERE entity_kind = ? AND entity_id = ? AND day >= ? AND day <= ?`,
		ent.Kind, ent.ID, p.From, p.To).Scan(&c.Patients)
	if err != nil {
		return Count{}, fmt.Errorf("count patients seen: %w", err)
	}
	return c, nil
}
