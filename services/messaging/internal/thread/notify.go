package thread

import (
	"context"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/store"
)

// Notifier tells a recipient that a thread has something new for them. What it may
// say is fixed by contract.Notification: who, which patient, thread and message —
// never content, a diagnosis, or even the kind of message.
//
// Notify runs inside the transaction that posted the message, so a notification
// exists if and only if the message does. An implementation must therefore not wait
// on anything but the database; one that calls an outside service (a push or SMS
// gateway) should consume messaging.notification.v1 instead of replacing this.
type Notifier interface {
	Notify(ctx context.Context, tx *store.Tx, n contract.Notification, at time.Time) error
}

// OutboxNotifier is the default Notifier: it publishes
// messaging.notification.requested through the outbox, for a notification gateway to
// deliver.
type OutboxNotifier struct{}

// Notify adds the notification event to tx.
func (OutboxNotifier) Notify(ctx context.Context, tx *store.Tx, n contract.Notification, at time.Time) error {
	return addEvent(ctx, tx, contract.TopicNotification, contract.NotificationRequested, n.PatientID, at, n)
}
