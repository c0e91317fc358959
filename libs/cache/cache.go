// Package cache is the services' Redis: a connection (Open), per-service key-prefixed
// views (For), and the two things services use Redis for besides caching —
// deduplicating event handlers that touch no database (Once) and rate limiting
// (Allow). Services share one Redis, a key prefix each, as they share one PostgreSQL.
//
// With no URL, Open starts an in-process Redis-protocol server (miniredis), so the
// all-in-one binary and tests need no Redis installed.
package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/attest-ehr/attest/libs/errs"
)

// Conn is a connection pool to one Redis, possibly one Open started in-process.
type Conn struct {
	client *redis.Client
	server *miniredis.Miniredis // nil unless Open started it
	allow  *redis.Script
	// native is set when Open started the server: Allow then runs the in-process
	// server's own command (allowCommand) instead of the Lua script.
	native bool
}

// Open connects to the Redis at rawURL (redis://[user:password@]host:port/db or
// rediss://…, see redis.ParseURL) and pings it. An empty rawURL starts an in-process
// Redis-protocol server on a free port of 127.0.0.1 instead; Close stops it. The
// in-process server keeps data in memory only and lacks some commands, but supports
// everything this package does, expiry included.
func Open(ctx context.Context, rawURL string) (*Conn, error) {
	c := &Conn{allow: redis.NewScript(allowScript)}
	var opts *redis.Options
	if rawURL == "" {
		srv := miniredis.NewMiniRedis()
		// miniredis only expires keys when told to; ClockTTL makes TTLs follow the wall
		// clock, as in Redis, so that Once and Allow keys go away.
		srv.ClockTTL(true)
		if err := srv.Start(); err != nil {
			return nil, fmt.Errorf("cache: start in-process Redis: %w", err)
		}
		c.server = srv
		if err := registerAllow(srv); err != nil {
			srv.Close()
			return nil, err
		}
		c.native = true
		opts = &redis.Options{Addr: srv.Addr()}
	} else {
		var err error
		if opts, err = redis.ParseURL(rawURL); err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "cache: parse Redis URL %s", redact(rawURL))
		}
	}
	c.client = redis.NewClient(opts)
	if err := c.client.Ping(ctx).Err(); err != nil {
		return nil, errors.Join(fmt.Errorf("cache: ping Redis at %s: %w", opts.Addr, err), c.Close())
	}
	return c, nil
}

// redact hides the password in a Redis URL for error messages.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Client returns the underlying go-redis client, for commands this package does not
// wrap. Keys used through it are not prefixed; see Cache.Key.
func (c *Conn) Client() *redis.Client { return c.client }

// Addr is the host:port connected to; for an in-process server, its address.
func (c *Conn) Addr() string { return c.client.Options().Addr }

// Close closes the connection pool and stops the in-process server, if Open started
// one.
func (c *Conn) Close() error {
	var err error
	if c.client != nil {
		if cerr := c.client.Close(); cerr != nil {
			err = fmt.Errorf("cache: close client: %w", cerr)
		}
	}
	if c.server != nil {
		c.server.Close()
	}
	return err
}

// For returns a view of c whose keys all start with prefix, one per service (e.g.
// "records"), so services can share a Redis without clashing.
func (c *Conn) For(prefix string) *Cache {
	return &Cache{client: c.client, prefix: prefix, allow: c.allow, native: c.native}
}

// Cache is a key-prefixed view of a Conn. It is safe for concurrent use.
type Cache struct {
	client *redis.Client
	prefix string
	allow  *redis.Script
	native bool // Allow uses the in-process server's allowCommand
}

// Client returns the underlying go-redis client; build its keys with Key.
func (c *Cache) Client() *redis.Client { return c.client }

// Key returns the view's key for parts: the prefix and the parts joined by ":".
func (c *Cache) Key(parts ...string) string {
	if c.prefix == "" {
		return strings.Join(parts, ":")
	}
	if len(parts) == 0 {
		return c.prefix
	}
	return c.prefix + ":" + strings.Join(parts, ":")
}

// Ping checks that Redis answers.
func (c *Cache) Ping(ctx context.Context) error {
	if err := c.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cache: ping: %w", err)
	}
	return nil
}

// Once reports whether this is the first call for key within ttl: SET NX with an
// expiry on Key("once", key). It deduplicates event handlers that touch no database;
// a handler that writes to a database records the event with outbox.Processed in its
// transaction instead, which cannot drift from the effect. A ttl of zero or less is
// errs.Invalid: a dedupe key that never expires would leak.
func (c *Cache) Once(ctx context.Context, key string, ttl time.Duration) (first bool, err error) {
	if ttl <= 0 {
		return false, errs.E(errs.Invalid, "cache: Once needs a positive ttl, got %v", ttl)
	}
	first, err = c.client.SetNX(ctx, c.Key("once", key), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("cache: once %s: %w", key, err)
	}
	return first, nil
}

// allowScript is a sliding-window-log rate limiter. KEYS[1] is a sorted set of the
// admitted requests' times in µs; ARGV: limit, window in µs, a unique member. Times
// come from the Redis server's clock, so replicas with skewed clocks agree. Denied
// requests are not recorded, so hammering does not extend the wait. Returns
// {1, 0} when admitted, {0, µs until the oldest admitted request leaves the window}.
const allowScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local retry = tonumber(oldest[2]) + window - now
if retry < 1 then retry = 1 end
return {0, retry}
`

// Allow reports whether one more request for key (e.g. a client ID) fits in limit
// requests per window; when it does not, retryAfter is how long until it would.
//
// The window slides: at most limit requests are admitted in any interval of length
// window, with no burst of twice the limit at the edge of a fixed window, and
// retryAfter is exact. The price is memory: the key (Key("rate", key)) holds one
// entry per admitted request in the window, fine for per-client limits up to a few
// thousand. It runs as one Lua script, so concurrent callers, on any replica, never
// admit more than limit. limit < 1 or window < 1ms is errs.Invalid.
//
// On the in-process server the same algorithm runs as a command of that server
// (allowCommand), on the same sorted set, in one round trip: the server's Lua
// builds a new interpreter for every script call, which made the script most of
// the CPU an embedded deployment spent per rate-limited request.
func (c *Cache) Allow(ctx context.Context, key string, limit int, window time.Duration) (allowed bool, retryAfter time.Duration, err error) {
	if limit < 1 || window < time.Millisecond {
		return false, 0, errs.E(errs.Invalid, "cache: Allow needs limit ≥ 1 and window ≥ 1ms, got %d per %v", limit, window)
	}
	var res []int64
	if c.native {
		res, err = c.client.Do(ctx, allowCommandName, c.Key("rate", key), limit, window.Microseconds()).Int64Slice()
	} else {
		var member string
		if member, err = uniqueMember(); err != nil {
			return false, 0, err
		}
		res, err = c.allow.Run(ctx, c.client, []string{c.Key("rate", key)}, limit, window.Microseconds(), member).Int64Slice()
	}
	if err != nil {
		return false, 0, fmt.Errorf("cache: rate limit %s: %w", key, err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("cache: rate limit %s: unexpected script reply %v", key, res)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}

// uniqueMember names one admitted request; two requests in the same microsecond
// must still count twice.
func uniqueMember() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cache: random member: %w", err)
	}
	return hex.EncodeToString(b), nil
}
