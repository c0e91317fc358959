package thread

import (
	"context"
	"fmt"
	"strings"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
)

// reencryptBatch is how many rows one transaction re-encrypts: short transactions,
// so sends are not held up behind the job.
const reencryptBatch = 100

// sealedTables are the tables and columns that hold sealed values, sealed per row
// under the row's key_id.
var sealedTables = []struct {
	table, entity string // entity is the table's name in additional authenticated data (aad)
	columns       []string
}{
	{"threads", "thread", []string{"subject"}},
	{"messages", "message", []string{"content"}},
	{"attachments", "attachment", []string{"name", "data"}},
}

// Reencrypted counts the rows a re-encryption moved to the active key, by table.
type Reencrypted struct {
	ActiveKey string         `json:"active_key"`
	Rows      map[string]int `json:"rows"`
}

// Reencrypt moves every sealed value not under the active key to it, so that an old
// key can be removed from MESSAGING_KEYS afterwards. It runs in short batches and may
// be interrupted and run again. Only service accounts may run it.
func (s *Service) Reencrypt(ctx context.Context, p principal.Principal) (Reencrypted, error) {
	if p.Kind != principal.Service {
		return Reencrypted{}, errs.E(errs.Forbidden, "only a service account re-encrypts")
	}
	out := Reencrypted{ActiveKey: s.keys.Active(), Rows: map[string]int{}}
	for _, t := range sealedTables {
		for {
			n, err := s.reencryptBatch(ctx, t.table, t.entity, t.columns)
			if err != nil {
				return out, err
			}
			out.Rows[t.table] += n
			if n < reencryptBatch {
				break
			}
		}
	}
	return out, nil
}

func (s *Service) reencryptBatch(ctx context.Context, table, entity string, columns []string) (int, error) {
	active := s.keys.Active()
	n := 0
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, key_id, `+strings.Join(columns, ", ")+` FROM `+table+
			` WHERE key_id <> ? ORDER BY id LIMIT ?`, active, reencryptBatch)
		if err != nil {
			return fmt.Errorf("read %s to re-encrypt: %w", table, err)
		}
		type row struct {
			id, kid string
			values  [][]byte
		}
		var batch []row
		for rows.Next() {
			r := row{values: make([][]byte, len(columns))}
			dest := []any{&r.id, &r.kid}
			for i := range r.values {
				dest = append(dest, &r.values[i])
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return fmt.Errorf("scan %s to re-encrypt: %w", table, err)
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read %s to re-encrypt: %w", table, err)
		}
		set := strings.Join(columns, " = ?, ") + " = ?"
		for _, r := range batch {
			args := []any{active}
			for i, col := range columns {
				plain, err := s.keys.Open(r.kid, r.values[i], aad(entity, r.id, col))
				if err != nil {
					return fmt.Errorf("re-encrypt %s %s: %w", table, r.id, err)
				}
				_, sealed, err := seal(s.keys, plain, entity, r.id, col)
				if err != nil {
					return err
				}
				args = append(args, sealed)
			}
			if err := exec(ctx, tx, "re-encrypt "+table, `UPDATE `+table+` SET key_id = ?, `+set+` WHERE id = ?`,
				append(args, r.id)...); err != nil {
				return err
			}
		}
		n = len(batch)
		return nil
	})
	return n, err
}
