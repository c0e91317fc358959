package medlineplus

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/attest-ehr/attest/libs/cache"
	"github.com/attest-ehr/attest/libs/errs"
)

// bucketScript is a token bucket in one Redis hash, KEYS[1] = {tokens, at}. ARGV:
// capacity, refill in tokens per second, key lifetime in ms. Time comes from the Redis
// server, so replicas with skewed clocks share one bucket. Returns {1, 0} when a
// token was taken, else {0, µs until one will be there}.
const bucketScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
end
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if taken == 1 then
  return {1, 0}
end
return {0, math.ceil((1 - tokens) / rate)}
`

// Bucket is a token bucket shared through Redis by every process using the same key:
// it holds up to Capacity tokens and gains PerMinute a minute; each request takes one.
// In any minute it admits at most Capacity + PerMinute requests.
type Bucket struct {
	cache     *cache.Cache
	key       string
	capacity  int
	perMinute int
	script    *redis.Script
}

// NewBucket returns the bucket named name in c.
func NewBucket(c *cache.Cache, name string, capacity, perMinute int) *Bucket {
	return &Bucket{cache: c, key: c.Key("bucket", name), capacity: capacity, perMinute: perMinute,
		script: redis.NewScript(bucketScript)}
}

// TryTake takes a token if there is one; otherwise it reports how long until there
// will be.
func (b *Bucket) TryTake(ctx context.Context) (bool, time.Duration, error) {
	perSecond := strconv.FormatFloat(float64(b.perMinute)/60, 'g', -1, 64)
	// The key outlives a full refill, so an idle bucket expires full.
	ttl := (time.Duration(b.capacity)*time.Minute/time.Duration(b.perMinute) + time.Minute).Milliseconds()
	res, err := b.script.Run(ctx, b.cache.Client(), []string{b.key}, b.capacity, perSecond, ttl).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("medlineplus: token bucket: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("medlineplus: token bucket: unexpected reply %v", res)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}

// Take takes a token, waiting for one up to maxWait; past that, or when ctx ends, it
// fails with errs.RateLimited.
func (b *Bucket) Take(ctx context.Context, maxWait time.Duration) error {
	deadline := time.Now().Add(maxWait)
	for {
		ok, wait, err := b.TryTake(ctx)
		if err != nil || ok {
			return err
		}
		if time.Now().Add(wait).After(deadline) {
			return errs.E(errs.RateLimited, "MedlinePlus Connect requests are at their limit; try again in %s",
				wait.Round(time.Second))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errs.Wrap(errs.RateLimited, ctx.Err(), "gave up waiting for a MedlinePlus Connect request")
		case <-t.C:
		}
	}
}
