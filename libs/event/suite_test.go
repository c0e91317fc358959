package event_test

import (
	"testing"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/event/eventtest"
)

// TestBackbone runs the conformance suite against the embedded broker, one
// broker shared by all subtests (each uses its own topics and group): a single
// node, and three nodes, where group coordinators and partition leaders are
// spread and clients must follow them.
func TestBackbone(t *testing.T) {
	tests := []struct {
		name  string
		nodes int
	}{
		{"one node", 1},
		{"three nodes", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := startBrokerNodes(t, tc.nodes)
			eventtest.Run(t, func(*testing.T) []string { return b.Addrs() })
		})
	}
}

// startBroker starts a one-node, in-memory embedded broker on a free port,
// closed when the test ends.
func startBroker(t testing.TB) *broker.Broker {
	t.Helper()
	return startBrokerNodes(t, 1)
}

func startBrokerNodes(t testing.TB, nodes int) *broker.Broker {
	t.Helper()
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Nodes: nodes})
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
