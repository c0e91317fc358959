package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
)

// Catalog is the materials in a service's database. It is safe for concurrent use.
type Catalog struct {
	db  *store.DB
	now func() time.Time
}

// New returns the catalog in db, whose schema package schema migrates.
func New(db *store.DB) *Catalog { return &Catalog{db: db, now: time.Now} }

// Add stores a new material as version 1. A material whose ID exists with the same
// content is returned as it is, with created false (an idempotent retry); with other
// content it is a Conflict: change it with Update.
func (c *Catalog) Add(ctx context.Context, m Material) (_ Material, created bool, err error) {
	m, err = m.Normalize()
	if err != nil {
		return Material{}, false, err
	}
	if m.Status == "" {
		m.Status = Active
	}
	err = c.write(ctx, func(tx *store.Tx, now time.Time) error {
		old, err := get(ctx, tx, m.ID)
		switch {
		case err == nil && old.sameContent(m) && old.Status == m.Status:
			m = old
			return nil
		case err == nil:
			return errs.Field(errs.Conflict, "id", "a different material with this id exists; update it instead")
		case !errs.Is(errs.NotFound, err):
			return err
		}
		m, _, err = put(ctx, tx, m, nil, now)
		created = true
		return err
	})
	return m, created, err
}

// Update replaces a material's content, as a new version. An empty Status keeps the
// current one. A non-zero m.Version must be the current version, or the update is a
// Conflict (someone changed it since the caller read it). Changing nothing returns
// the material as it is, without a new version.
func (c *Catalog) Update(ctx context.Context, m Material) (Material, error) {
	m, err := m.Normalize()
	if err != nil {
		return Material{}, err
	}
	err = c.write(ctx, func(tx *store.Tx, now time.Time) error {
		old, err := get(ctx, tx, m.ID)
		if err != nil {
			return err
		}
		if m.Version != 0 && m.Version != old.Version {
			return errs.Field(errs.Conflict, "version", "the material is at version %d", old.Version)
		}
		if m.Status == "" {
			m.Status = old.Status
		}
		m, _, err = put(ctx, tx, m, &old, now)
		return err
	})
	return m, err
}

// Retire withdraws a material, as a new version: it no longer matches and cannot be
// provided, while what was provided keeps pointing at it. Retiring a retired material
// changes nothing.
func (c *Catalog) Retire(ctx context.Context, id string) (Material, error) {
	var m Material
	err := c.write(ctx, func(tx *store.Tx, now time.Time) error {
		old, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		want := old
		want.Status = Retired
		m, _, err = put(ctx, tx, want, &old, now)
		return err
	})
	return m, err
}

// Get returns the current version of a material.
func (c *Catalog) Get(ctx context.Context, id string) (Material, error) {
	return scanMaterial(c.db.QueryRowContext(ctx, `SELECT `+columns+` FROM materials WHERE id = ?`, id))
}

// Version returns a material as it was at a version.
func (c *Catalog) Version(ctx context.Context, id string, version int) (Material, error) {
	var body string
	err := c.db.QueryRowContext(ctx, `SELECT body FROM material_versions WHERE material_id = ? AND version = ?`,
		id, version).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return Material{}, errs.E(errs.NotFound, "no such material version")
	}
	if err != nil {
		return Material{}, fmt.Errorf("get material version: %w", err)
	}
	var m Material
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return Material{}, fmt.Errorf("decode material %s version %d: %w", id, version, err)
	}
	return m, nil
}

// Filter selects materials to list. Zero fields select everything.
type Filter struct {
	Language string         // only materials in this language
	Status   string         // active or retired
	Topic    string         // only translations of this topic
	Code     *contract.Code // only materials coded with exactly this code
	After    string         // only IDs after this one: the cursor of the previous page
	Limit    int            // at most this many; default and maximum 1000
}

// List returns materials in ID order, without their stored content.
func (c *Catalog) List(ctx context.Context, f Filter) ([]Material, error) {
	q := `SELECT ` + listColumns + ` FROM materials m WHERE m.id > ?`
	args := []any{f.After}
	for _, cond := range []struct{ col, val string }{{"language", f.Language}, {"status", f.Status}, {"topic", f.Topic}} {
		if cond.val != "" {
			q += ` AND m.` + cond.col + ` = ?`
			args = append(args, cond.val)
		}
	}
	if f.Code != nil {
		q += ` AND EXISTS (SELECT 1 FROM material_codes mc WHERE mc.material_id = m.id AND mc.system = ? AND mc.code = ?)`
		args = append(args, f.Code.System, f.Code.Code)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	q += ` ORDER BY m.id LIMIT ?`
	args = append(args, f.Limit)
	return c.query(ctx, q, args...)
}

// ActiveMaterials returns every active material in ID order, without stored content:
// what a matching index is built from. It reads through the pool, not a transaction.
func (c *Catalog) ActiveMaterials(ctx context.Context) ([]Material, error) {
	return c.query(ctx, `SELECT `+listColumns+` FROM materials m WHERE m.status = ? ORDER BY m.id`, Active)
}

// Generation is a number that changes with every write to the catalog.
func (c *Catalog) Generation(ctx context.Context) (int64, error) {
	var g int64
	if err := c.db.QueryRowContext(ctx, `SELECT generation FROM catalog_state WHERE id = 1`).Scan(&g); err != nil {
		return 0, fmt.Errorf("read catalog generation: %w", err)
	}
	return g, nil
}

// write runs fn in a transaction that first advances the catalog's generation. The
// update also serialises catalog writers on PostgreSQL (SQLite serialises every
// transaction), so two replicas loading the starter catalog at once cannot both
// insert it.
func (c *Catalog) write(ctx context.Context, fn func(tx *store.Tx, now time.Time) error) error {
	now := c.now().UTC().Truncate(time.Microsecond) // what PostgreSQL keeps
	return c.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE catalog_state SET generation = generation + 1 WHERE id = 1`); err != nil {
			return fmt.Errorf("advance catalog generation: %w", err)
		}
		return fn(tx, now)
	})
}

// put writes want as the next version of old (nil: a new material) unless it says
// what old says already. want is normalized and has its Status.
func put(ctx context.Context, tx *store.Tx, want Material, old *Material, now time.Time) (Material, bool, error) {
	if old != nil && old.sameContent(want) && old.Status == want.Status {
		return *old, false, nil
	}
	want.Version, want.Created, want.Updated = 1, now, now
	if old != nil {
		want.Version, want.Created = old.Version+1, old.Created
	}
	codes, err := json.Marshal(want.Codes)
	if err != nil {
		return Material{}, false, fmt.Errorf("encode codes: %w", err)
	}
	args := []any{want.Topic, want.Language, want.Version, want.Status, want.Title, want.Summary,
		want.ReadingLevel, want.Format, want.URL, want.Content, string(codes), want.Created, want.Updated, want.ID}
	q := `UPDATE materials SET topic = ?, language = ?, version = ?, status = ?, title = ?, summary = ?,
		reading_level = ?, format = ?, url = ?, content = ?, codes = ?, created = ?, updated = ? WHERE id = ?`
	if old == nil {
		q = `INSERT INTO materials (topic, language, version, status, title, summary, reading_level, format, url,
			content, codes, created, updated, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return Material{}, false, fmt.Errorf("write material %s: %w", want.ID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM material_codes WHERE material_id = ?`, want.ID); err != nil {
		return Material{}, false, fmt.Errorf("replace codes of %s: %w", want.ID, err)
	}
	for _, code := range want.Codes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO material_codes (material_id, system, code) VALUES (?, ?, ?)`,
			want.ID, code.System, code.Code); err != nil {
			return Material{}, false, fmt.Errorf("write codes of %s: %w", want.ID, err)
		}
	}
	body, err := json.Marshal(want)
	if err != nil {
		return Material{}, false, fmt.Errorf("encode material: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO material_versions (material_id, version, body) VALUES (?, ?, ?)`,
		want.ID, want.Version, string(body)); err != nil {
		return Material{}, false, fmt.Errorf("keep version %d of %s: %w", want.Version, want.ID, err)
	}
	return want, true, nil
}

const (
	columns     = `id, topic, language, version, status, title, summary, reading_level, format, url, content, codes, created, updated`
	listColumns = `m.id, m.topic, m.language, m.version, m.status, m.title, m.summary, m.reading_level, m.format, m.url,
		'' AS content, m.codes, m.created, m.updated`
)

func get(ctx context.Context, tx *store.Tx, id string) (Material, error) {
	return scanMaterial(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM materials WHERE id = ?`, id))
}

func scanMaterial(row interface{ Scan(...any) error }) (Material, error) {
	var (
		m     Material
		codes string
	)
	err := row.Scan(&m.ID, &m.Topic, &m.Language, &m.Version, &m.Status, &m.Title, &m.Summary, &m.ReadingLevel,
		&m.Format, &m.URL, &m.Content, &codes, &m.Created, &m.Updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Material{}, errs.E(errs.NotFound, "no such material")
	}
	if err != nil {
		return Material{}, fmt.Errorf("read material: %w", err)
	}
	if err := json.Unmarshal([]byte(codes), &m.Codes); err != nil {
		return Material{}, fmt.Errorf("decode codes of %s: %w", m.ID, err)
	}
	m.Created, m.Updated = m.Created.UTC(), m.Updated.UTC()
	return m, nil
}

func (c *Catalog) query(ctx context.Context, q string, args ...any) ([]Material, error) {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list materials: %w", err)
	}
	return scanAll(rows)
}

func scanAll(rows *sql.Rows) ([]Material, error) {
	defer rows.Close()
	out := []Material{}
	for rows.Next() {
		m, err := scanMaterial(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list materials: %w", err)
	}
	return out, nil
}
