package metrics

import (
	"context"

	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/services/metrics/internal/fact"
)

// Apply hands events to the service's measure, KPI and seen-fact consumers, as the
// broker would, in one batch each (the seen facts' only of their topics).
func (a *App) Apply(ctx context.Context, es ...event.Event) error {
	if err := a.projector.HandleBatch(ctx, es); err != nil {
		return err
	}
	if err := a.seen.HandleBatch(ctx, only(es, fact.Topics)); err != nil {
		return err
	}
	return a.kpis.HandleBatch(ctx, es)
}
