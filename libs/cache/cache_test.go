package cache_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/attest-ehr/attest/libs/cache"
	"github.com/attest-ehr/attest/libs/cache/cachetest"
	"github.com/attest-ehr/attest/libs/errs"
)

// backends are the Redis servers every behaviour is checked against.
var backends = []struct {
	name string
	open func(t *testing.T) *cache.Cache
}{
	{"redis", func(t *testing.T) *cache.Cache { return cachetest.New(t) }},
	{"in-process", func(t *testing.T) *cache.Cache {
		conn, err := cache.Open(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn.For("test")
	}},
}

// each runs fn once per backend.
func each(t *testing.T, fn func(t *testing.T, c *cache.Cache)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.open(t)) })
	}
}

func TestOpenInProcess(t *testing.T) {
	conn, err := cache.Open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	host, _, err := net.SplitHostPort(conn.Addr())
	if err != nil || host != "127.0.0.1" {
		t.Errorf("Addr() = %q, want 127.0.0.1:<port>", conn.Addr())
	}
	if err := conn.For("x").Ping(t.Context()); err != nil {
		t.Error(err)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	// The server is gone with the connection.
	if c, err := net.DialTimeout("tcp", conn.Addr(), time.Second); err == nil {
		c.Close()
		t.Errorf("in-process server still listening at %s after Close", conn.Addr())
	}
}

func TestOpenRejects(t *testing.T) {
	tests := []struct {
		name, url string
		want      []string
	}{
		{"not a Redis URL", "http://127.0.0.1:6379", []string{"parse Redis URL"}},
		{"password not echoed", "redis://:hunter2@127.0.0.1:6379/notanumber", []string{"parse Redis URL"}},
		{"nothing listening", "redis://127.0.0.1:1/0?max_retries=-1", []string{"ping Redis at 127.0.0.1:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			conn, err := cache.Open(ctx, tt.url)
			if err == nil {
				conn.Close()
				t.Fatal("Open succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q leaks the password", err)
			}
		})
	}
}

func TestKey(t *testing.T) {
	conn, err := cache.Open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tests := []struct {
		prefix string
		parts  []string
		want   string
	}{
		{"records", []string{"patient", "42"}, "records:patient:42"},
		{"records", []string{"one"}, "records:one"},
		{"records", nil, "records"},
		{"", []string{"a", "b"}, "a:b"},
	}
	for _, tt := range tests {
		if got := conn.For(tt.prefix).Key(tt.parts...); got != tt.want {
			t.Errorf("For(%q).Key(%q) = %q, want %q", tt.prefix, tt.parts, got, tt.want)
		}
	}
}

func TestOnce(t *testing.T) {
	each(t, func(t *testing.T, c *cache.Cache) {
		ctx := t.Context()
		steps := []struct {
			name      string
			key       string
			ttl       time.Duration
			wantFirst bool
		}{
			{"first", "evt-1", time.Minute, true},
			{"duplicate", "evt-1", time.Minute, false},
			{"another key", "evt-2", time.Minute, true},
			{"short-lived", "evt-3", 50 * time.Millisecond, true},
		}
		for _, st := range steps {
			first, err := c.Once(ctx, st.key, st.ttl)
			if err != nil || first != st.wantFirst {
				t.Errorf("%s: Once(%q) = %v, %v; want %v", st.name, st.key, first, err, st.wantFirst)
			}
		}
		if n, err := c.Client().Exists(ctx, c.Key("once", "evt-1")).Result(); err != nil || n != 1 {
			t.Errorf("key %s exists = %d, %v; want it under the view's prefix", c.Key("once", "evt-1"), n, err)
		}
		// Expiry is semantics, not speed: the key must go once its ttl has passed.
		deadline := time.Now().Add(10 * time.Second)
		for {
			time.Sleep(60 * time.Millisecond)
			first, err := c.Once(ctx, "evt-3", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if first {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("Once key never expired")
			}
		}
		if _, err := c.Once(ctx, "evt-4", 0); errs.KindOf(err) != errs.Invalid {
			t.Errorf("Once with ttl 0: error %v, want kind invalid", err)
		}
	})
}

func TestAllow(t *testing.T) {
	each(t, func(t *testing.T, c *cache.Cache) {
		ctx := t.Context()
		const limit, window = 3, 400 * time.Millisecond
		for i := range limit {
			ok, retry, err := c.Allow(ctx, "client-a", limit, window)
			if err != nil || !ok || retry != 0 {
				t.Fatalf("request %d: Allow = %v, %v, %v; want admitted", i+1, ok, retry, err)
			}
		}
		ok, retry, err := c.Allow(ctx, "client-a", limit, window)
		if err != nil || ok {
			t.Fatalf("request over the limit: Allow = %v, %v; want denied", ok, err)
		}
		if retry <= 0 || retry > window {
			t.Errorf("retryAfter = %v, want within (0, %v]", retry, window)
		}
		if ok, _, err := c.Allow(ctx, "client-b", limit, window); err != nil || !ok {
			t.Errorf("another key: Allow = %v, %v; want admitted", ok, err)
		}
		// After retryAfter the oldest request has left the window.
		time.Sleep(retry + 20*time.Millisecond)
		if ok, _, err := c.Allow(ctx, "client-a", limit, window); err != nil || !ok {
			t.Errorf("after retryAfter: Allow = %v, %v; want admitted", ok, err)
		}

		for _, bad := range []struct {
			limit  int
			window time.Duration
		}{{0, time.Second}, {1, 0}, {1, time.Microsecond}} {
			if _, _, err := c.Allow(ctx, "client-c", bad.limit, bad.window); errs.KindOf(err) != errs.Invalid {
				t.Errorf("Allow(limit %d, window %v): error %v, want kind invalid", bad.limit, bad.window, err)
			}
		}
	})
}

// TestAllowIsAtomic fires concurrent requests at one key: exactly limit get in.
func TestAllowIsAtomic(t *testing.T) {
	each(t, func(t *testing.T, c *cache.Cache) {
		const limit, callers = 5, 40
		var wg sync.WaitGroup
		var mu sync.Mutex
		admitted := 0
		for range callers {
			wg.Go(func() {
				ok, _, err := c.Allow(t.Context(), "burst", limit, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					admitted++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if admitted != limit {
			t.Errorf("admitted %d of %d concurrent requests, want %d", admitted, callers, limit)
		}
	})
}

// TestAllowState: on both servers the window is a sorted set under Key("rate", key)
// in Redis, one entry per admitted request, expiring one window after the last
// admission; denied requests leave no entry, so hammering does not extend the wait.
func TestAllowState(t *testing.T) {
	each(t, func(t *testing.T, c *cache.Cache) {
		ctx := t.Context()
		const limit, window = 2, time.Minute
		key := c.Key("rate", "client-s")
		for i := range limit + 3 {
			ok, _, err := c.Allow(ctx, "client-s", limit, window)
			if err != nil || ok != (i < limit) {
				t.Fatalf("request %d: Allow = %v, %v; want admitted %v", i+1, ok, err, i < limit)
			}
		}
		if n, err := c.Client().ZCard(ctx, key).Result(); err != nil || n != limit {
			t.Errorf("ZCARD %s = %d, %v; want %d (denied requests are not recorded)", key, n, err, limit)
		}
		if ttl, err := c.Client().PTTL(ctx, key).Result(); err != nil || ttl <= 0 || ttl > window {
			t.Errorf("PTTL %s = %v, %v; want within (0, %v]", key, ttl, err, window)
		}
		// Entries older than the window no longer count: age them by rewriting
		// their scores (µs) an hour back.
		members, err := c.Client().ZRange(ctx, key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		old := float64(time.Now().Add(-time.Hour).UnixMicro())
		for _, m := range members {
			if err := c.Client().ZAdd(ctx, key, redis.Z{Score: old, Member: m}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if ok, _, err := c.Allow(ctx, "client-s", limit, window); err != nil || !ok {
			t.Errorf("after the window passed: Allow = %v, %v; want admitted", ok, err)
		}
		if n, err := c.Client().ZCard(ctx, key).Result(); err != nil || n != 1 {
			t.Errorf("ZCARD after the window passed = %d, %v; want 1 (old entries dropped)", n, err)
		}
	})
}
