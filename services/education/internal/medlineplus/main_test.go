package medlineplus_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no client leaves goroutines behind (HTTP connections, timers).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
