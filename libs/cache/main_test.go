package cache_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that Close stops the client's and the in-process server's goroutines.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
