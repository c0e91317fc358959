package platform

import (
	"context"
	"fmt"

	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
)

// Settled reports whether everything written so far has gone through the pipeline:
// every service's outbox is empty and every consumer group has committed the end of
// every topic it reads. A harness that has finished writing (attest conformance) polls
// it before reading any number, instead of sleeping.
//
// The order of the checks makes the answer safe: a consumer writes its own events to
// its outbox in the transaction that handles a message, before it commits the
// message's offset. So if the groups have caught up with the end offsets read in one
// check, and afterwards every outbox is empty and the end offsets have not moved,
// nothing handled before then is still waiting to be published or consumed.
func (p *Platform) Settled(ctx context.Context) (bool, error) {
	if pending, err := p.pending(ctx); err != nil || pending > 0 {
		return false, err
	}
	cfg := event.Config{Brokers: p.infra.Brokers}
	lag, err := event.GroupLag(ctx, cfg)
	if err != nil || !lag.CaughtUp() {
		return false, err
	}
	if pending, err := p.pending(ctx); err != nil || pending > 0 {
		return false, err
	}
	again, err := event.GroupLag(ctx, cfg)
	if err != nil {
		return false, err
	}
	return again.CaughtUp(), nil
}

// pending counts the events waiting in every service's outbox.
func (p *Platform) pending(ctx context.Context) (int, error) {
	total := 0
	for _, a := range p.apps {
		if a.db == nil {
			continue
		}
		n, err := outbox.Pending(ctx, a.db)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", a.name, err)
		}
		total += n
	}
	return total, nil
}
