package metrics

import (
	"slices"
	"testing"

	"github.com/attest-ehr/attest/services/metrics/internal/fact"
	"github.com/attest-ehr/attest/services/metrics/internal/projection"
)

// The seen facts have no consumer group of their own: the measure projection hands
// them its batches, so it must read every topic they derive from.
func TestProjectionReadsTheSeenFactsTopics(t *testing.T) {
	for _, topic := range fact.Topics {
		if !slices.Contains(projection.Topics(), topic) {
			t.Errorf("the projection does not read %s, which the seen facts derive from", topic)
		}
	}
}
