package store

import "context"

// Rebind exposes rebind to the external tests.
var Rebind = rebind

// Checkpoint runs one round of db's checkpoints (SQLite) with a WAL limit of limit pages.
func Checkpoint(ctx context.Context, db *DB, limit int) error { return db.checkpoint(ctx, limit) }
