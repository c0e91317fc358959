package cache

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
)

// allowCommandName is the in-process server's rate-limit command: ATTEST.ALLOW key
// limit windowMicros. It answers as allowScript does: {1, 0} when admitted, {0, µs
// until the oldest admitted request leaves the window} when not.
const allowCommandName = "ATTEST.ALLOW"

// allowCommand is allowScript's sliding-window log as a command of the in-process
// server, written in Go. The script is right for a real Redis, which caches it
// compiled; the in-process server instead builds a new Lua interpreter for each call
// and re-ages every key's TTL before each redis.call inside it, which made the
// script cost more CPU than the rest of a rate-limited request. The state is the
// same: a sorted set of admitted requests' times in µs, in the server's keyspace,
// with the key expiring one window after the last admission.
type allowCommand struct {
	// mu makes a call atomic: it reads and then changes the set through the
	// server's own accessors, each of which locks the server only for itself.
	// Every ATTEST.ALLOW takes mu, so concurrent callers never admit more than
	// the limit; nothing else writes rate keys.
	mu  sync.Mutex
	db  *miniredis.RedisDB // database 0, the one this package's client uses
	seq uint64             // names admitted requests; guarded by mu
	now func() time.Time   // the server's clock (what TIME answers)
}

// registerAllow adds ATTEST.ALLOW to the in-process server srv.
func registerAllow(srv *miniredis.Miniredis) error {
	a := &allowCommand{db: srv.DB(0), now: time.Now}
	if err := srv.Server().Register(allowCommandName, a.serve); err != nil {
		return fmt.Errorf("cache: register %s: %w", allowCommandName, err)
	}
	return nil
}

// serve answers one ATTEST.ALLOW.
func (a *allowCommand) serve(peer *server.Peer, _ string, args []string) {
	if len(args) != 3 {
		peer.WriteError("ERR wrong number of arguments for '" + allowCommandName + "' command")
		return
	}
	limit, err1 := strconv.Atoi(args[1])
	window, err2 := strconv.ParseInt(args[2], 10, 64)
	if err1 != nil || err2 != nil || limit < 1 || window < 1 {
		peer.WriteError("ERR " + allowCommandName + " needs a positive limit and window")
		return
	}
	admitted, retry, err := a.allow(args[0], limit, window)
	if err != nil {
		peer.WriteError("ERR " + err.Error())
		return
	}
	peer.WriteLen(2)
	peer.WriteInt(int(admitted))
	peer.WriteInt(int(retry))
}

// allow is allowScript's algorithm: drop the entries older than the window; admit
// and record the request if fewer than limit remain; otherwise say when the oldest
// leaves. Denied requests are not recorded.
func (a *allowCommand) allow(key string, limit int, window int64) (admitted, retry int64, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now().UnixMicro()
	set, err := a.db.SortedSet(key)
	switch {
	case errors.Is(err, miniredis.ErrKeyNotFound):
		set = nil
	case err != nil:
		return 0, 0, err
	}
	oldest, live := math.Inf(1), 0
	for member, at := range set {
		if at <= float64(now-window) {
			// The key may be gone already: expired, and removed by another command's
			// TTL sweep since SortedSet read it.
			if _, err := a.db.ZRem(key, member); err != nil && !errors.Is(err, miniredis.ErrKeyNotFound) {
				return 0, 0, err
			}
			continue
		}
		live++
		oldest = min(oldest, at)
	}
	if live >= limit {
		return 0, max(int64(oldest)+window-now, 1), nil
	}
	// The TTL first, as the script's PEXPIRE (whole milliseconds, rounded up): set
	// after the ZADD, an expired key's sweep could run in between and take the new
	// entry with it.
	a.db.SetTTL(key, time.Duration((window+999)/1000)*time.Millisecond)
	a.seq++
	if _, err := a.db.ZAdd(key, float64(now), strconv.FormatUint(a.seq, 36)); err != nil {
		return 0, 0, err
	}
	return 1, 0, nil
}
