package store_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no pool, migration or driver goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
