package outbox_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that relays stop their goroutines and give back their connections.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
