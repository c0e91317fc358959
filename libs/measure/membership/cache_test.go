package membership_test

import (
	"testing"

	"github.com/attest-ehr/attest/libs/measure/membership"
)

func TestCache(t *testing.T) {
	s := func(id string) membership.Series { return membership.Series{Measure: id} }
	facts := func(n int) []membership.Fact { return make([]membership.Fact, n) }
	c := membership.NewCache(5)
	c.Put(s("a"), 1, facts(2))
	c.Put(s("b"), 1, facts(2))
	if _, ok := c.Get(s("a"), 1); !ok {
		t.Fatal("a at version 1 is not held")
	}
	if _, ok := c.Get(s("a"), 2); ok {
		t.Fatal("a is held at a version it was not read at")
	}
	c.Put(s("c"), 1, facts(2)) // 6 > 5: b, the least recently used, goes
	if _, ok := c.Get(s("b"), 1); ok {
		t.Fatal("b was not evicted")
	}
	for _, id := range []string{"a", "c"} {
		if _, ok := c.Get(s(id), 1); !ok {
			t.Fatalf("%s was evicted", id)
		}
	}
	c.Put(s("d"), 1, facts(6)) // larger than the cache: not held, nothing evicted
	if _, ok := c.Get(s("d"), 1); ok {
		t.Fatal("a series larger than the cache is held")
	}
	if _, ok := c.Get(s("a"), 1); !ok {
		t.Fatal("holding nothing evicted a")
	}
	c.Put(s("a"), 2, facts(1)) // a new version replaces the old
	if _, ok := c.Get(s("a"), 1); ok {
		t.Fatal("the old version of a is still held")
	}
}
