package event_test

import (
	"testing"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/event/eventtest"
)

// TestBackbone runs the conformance suite against the embedded broker, one
// broker shared by all subtests (each uses its own topics and group).
func TestBackbone(t *testing.T) {
	b := startBroker(t)
	eventtest.Run(t, func(*testing.T) []string { return b.Addrs() })
}

// startBroker starts an in-memory embedded broker on free ports, closed when
// the test ends.
func startBroker(t *testing.T) *broker.Broker {
	t.Helper()
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close broker: %v", err)
		}
	})
	return b
}
