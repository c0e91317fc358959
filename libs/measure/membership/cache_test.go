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

// TestCacheColumns: columns are held and evicted by their facts, like facts, and a
// series held as columns is not handed out as facts (nor the reverse).
func TestCacheColumns(t *testing.T) {
	s := func(id string) membership.Series { return membership.Series{Measure: id} }
	cols := func(id string, n int) *membership.Columns {
		fs := make([]membership.Fact, n)
		for i := range fs {
			fs[i] = membership.Fact{Measure: id, Patient: string(rune('a' + i)), Role: membership.Denominator}
		}
		c, err := membership.NewColumns(fs)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := membership.NewCache(5)
	a := cols("a", 3)
	c.PutColumns(s("a"), 1, a)
	if got, ok := c.GetColumns(s("a"), 1); !ok || got != a {
		t.Fatal("a at version 1 is not held")
	}
	if _, ok := c.Get(s("a"), 1); ok {
		t.Fatal("columns handed out as facts")
	}
	c.Put(s("b"), 1, make([]membership.Fact, 2))
	if _, ok := c.GetColumns(s("b"), 1); ok {
		t.Fatal("facts handed out as columns")
	}
	c.PutColumns(s("c"), 1, cols("c", 2)) // 7 > 5: a, the least recently used, goes
	if _, ok := c.GetColumns(s("a"), 1); ok {
		t.Fatal("a was not evicted")
	}
	if _, ok := c.GetColumns(s("c"), 1); !ok {
		t.Fatal("c is not held")
	}
}
