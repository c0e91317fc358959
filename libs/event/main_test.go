package event_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: Consume,
// Writer and the embedded broker all start goroutines that Close or ctx
// cancellation must end. Nothing is ignored: kafka-go's readers, writers and
// transports, and kfake's connections, all stop when closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
