package store

import (
	"context"
	"time"
)

// writeTurn waits, on SQLite, for the process's turn at the database's write lock and
// returns the function that gives it back. SQLite lets one transaction write at a time
// (InTx's BEGIN takes the lock), and a connection waiting for it polls, sleeping up to
// 100 ms between tries, with no order among waiters: under steady writes a waiter can
// miss the lock many times (a consumer's commit seconds late behind another's). Taking
// turns in the process first hands the lock over as soon as it is free, first come
// first served. The wait is bounded by the busy timeout: a caller that waits longer
// (an InTx nested in another on the same DB) goes on to SQLite's own waiting and its
// SQLITE_BUSY, as without turns. Other processes on the same file still meet at
// SQLite's lock. ok is false when there is no turn to give back.
func (db *DB) writeTurn(ctx context.Context) (release func(), ok bool) {
	if db.turn == nil {
		return nil, false
	}
	select {
	case db.turn <- struct{}{}:
	default:
		t := time.NewTimer(sqliteBusyTimeout)
		defer t.Stop()
		select {
		case db.turn <- struct{}{}:
		case <-t.C:
			return nil, false
		case <-ctx.Done():
			return nil, false // BeginTx reports the context's error
		}
	}
	return func() { <-db.turn }, true
}
