package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// preparedStmts are a DB's prepared statements by query (as written, ? placeholders).
// database/sql prepares a DB-level statement lazily on each pooled connection that
// runs it and keeps it there, so a query is parsed once per connection, not once per
// execution.
type preparedStmts struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func (p *preparedStmts) get(ctx context.Context, db *DB, query string) (*sql.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.stmts[query]; ok {
		return s, nil
	}
	s, err := db.db.PrepareContext(ctx, bind(db.dialect, query))
	if err != nil {
		return nil, err
	}
	if p.stmts == nil {
		p.stmts = map[string]*sql.Stmt{}
	}
	p.stmts[query] = s
	return s, nil
}

func (p *preparedStmts) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.stmts {
		_ = s.Close()
	}
	p.stmts = nil
}

// Prepare returns query (? placeholders) as a statement bound to the transaction,
// prepared once per pooled connection and kept for the life of the DB: executing it
// skips parsing, which on SQLite costs more than running a small statement. Use it
// for the fixed statements a hot loop runs many times (a consumer's per-event
// writes); every distinct query string stays prepared until Close, so never build a
// query with values in it. The statement is valid until the transaction ends.
func (tx *Tx) Prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := tx.stmts[query]; ok {
		return s, nil
	}
	s, err := tx.db.prepared.get(ctx, tx.db, query)
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	bound := tx.tx.StmtContext(ctx, s)
	if tx.stmts == nil {
		tx.stmts = map[string]*sql.Stmt{}
	}
	tx.stmts[query] = bound
	return bound, nil
}
