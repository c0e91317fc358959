package metrics

import (
	"context"

	"github.com/attest-ehr/attest/libs/event"
)

// Apply hands events to the service's measure and KPI consumers (the measure
// projection keeps the seen facts in its transaction), as the broker would, in one
// batch each.
func (a *App) Apply(ctx context.Context, es ...event.Event) error {
	if err := a.projector.HandleBatch(ctx, es); err != nil {
		return err
	}
	return a.kpis.HandleBatch(ctx, es)
}
