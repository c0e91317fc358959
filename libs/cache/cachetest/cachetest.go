// Package cachetest gives tests a clean, private view of the machine's Redis at
// TEST_REDIS_URL (default redis://127.0.0.1:6379/0), the Redis CI runs. Each view has
// a unique key prefix, and its keys are deleted when the test ends. A Redis that is
// not running fails the test: tests never skip silently.
package cachetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/cache"
)

// DefaultURL is the Redis used when TEST_REDIS_URL is unset.
const DefaultURL = "redis://127.0.0.1:6379/0"

// timeout bounds connecting and cleaning up.
const timeout = 10 * time.Second

// New returns a view of the test Redis with a prefix no other test uses.
func New(t testing.TB) *cache.Cache {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		u = DefaultURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := cache.Open(ctx, u)
	if err != nil {
		t.Fatalf("cachetest: Redis is unreachable: %v\n"+
			"Cache tests need a running Redis (CI starts one). Start it with e.g.\n"+
			"  docker run -d --name attest-redis -p 6379:6379 redis:7\n"+
			"or point TEST_REDIS_URL at one.", err)
	}

	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("cachetest: random prefix: %v", err)
	}
	c := conn.For("cachetest:" + hex.EncodeToString(b))

	t.Cleanup(func() {
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		iter := c.Client().Scan(ctx, 0, c.Key("*"), 100).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cachetest: list keys to delete: %v", err)
			return
		}
		if len(keys) > 0 {
			if err := c.Client().Del(ctx, keys...).Err(); err != nil {
				t.Errorf("cachetest: delete keys: %v", err)
			}
		}
	})
	return c
}
