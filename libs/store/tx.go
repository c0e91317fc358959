package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// Tx is a transaction opened by DB.InTx. Its queries use ? placeholders, like DB's.
type Tx struct {
	tx      *sql.Tx
	dialect Dialect
	db      *DB
	stmts   map[string]*sql.Stmt // Prepare's statements bound to this transaction
}

// Dialect reports the engine the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// ExecContext runs a statement written with ? placeholders inside the transaction.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, bind(tx.dialect, query), args...)
}

// QueryContext runs a query written with ? placeholders inside the transaction.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, bind(tx.dialect, query), args...)
}

// QueryRowContext runs a single-row query written with ? placeholders inside the
// transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, bind(tx.dialect, query), args...)
}

// InTx runs fn in a transaction: it commits when fn returns nil and rolls back when fn
// returns an error or panics. fn's error is returned as is, so its kind survives; a
// failed commit is returned wrapped, never dropped.
//
// On SQLite, BEGIN takes the write lock (see Open), so transactions run one at a time:
// keep them short, and never wait inside one for anything but the database (publish
// events through package outbox, not to the broker). Inside fn use tx, not db: on
// SQLite a write through db waits for the lock fn holds, and fails after the busy
// timeout.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	if release, ok := db.writeTurn(ctx); ok {
		defer release()
	}
	sqlTx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin transaction: %w", err)
	}
	done := false
	defer func() {
		if !done { // fn panicked: release the transaction, let the panic go on.
			_ = sqlTx.Rollback()
		}
	}()

	if err := fn(&Tx{tx: sqlTx, dialect: db.dialect, db: db}); err != nil {
		done = true
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("store: roll back: %w", rbErr))
		}
		return err
	}
	done = true
	if commitErr := sqlTx.Commit(); commitErr != nil {
		return fmt.Errorf("store: commit transaction: %w", commitErr)
	}
	return nil
}

// Conn is one dedicated connection taken from the pool, for work that needs session
// state to persist across statements, such as a PostgreSQL advisory lock. Its queries
// use ? placeholders. Close or Discard it when done.
type Conn struct {
	conn    *sql.Conn
	dialect Dialect
}

// Conn takes a dedicated connection from the pool.
func (db *DB) Conn(ctx context.Context) (*Conn, error) {
	c, err := db.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: take a connection: %w", err)
	}
	return &Conn{conn: c, dialect: db.dialect}, nil
}

// Dialect reports the engine the connection talks to.
func (c *Conn) Dialect() Dialect { return c.dialect }

// ExecContext runs a statement written with ? placeholders on the connection.
func (c *Conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.conn.ExecContext(ctx, bind(c.dialect, query), args...)
}

// QueryContext runs a query written with ? placeholders on the connection.
func (c *Conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.conn.QueryContext(ctx, bind(c.dialect, query), args...)
}

// QueryRowContext runs a single-row query written with ? placeholders on the
// connection.
func (c *Conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.conn.QueryRowContext(ctx, bind(c.dialect, query), args...)
}

// Close returns the connection to the pool, session state included; undo any session
// state first, or use Discard.
func (c *Conn) Close() error {
	if err := c.conn.Close(); err != nil && !errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("store: release connection: %w", err)
	}
	return nil
}

// Discard closes the connection instead of returning it to the pool, so that its
// session state (locks, settings) ends with it. Use it when that state cannot be
// undone, e.g. after the connection failed.
func (c *Conn) Discard() error {
	// database/sql closes a connection, rather than pooling it, when Raw's function
	// reports driver.ErrBadConn.
	err := c.conn.Raw(func(any) error { return driver.ErrBadConn })
	if err != nil && !errors.Is(err, driver.ErrBadConn) && !errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("store: discard connection: %w", err)
	}
	return nil
}
