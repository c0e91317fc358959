// Package event is the event backbone every service uses: the envelope that travels on
// Kafka, a publisher and a consumer loop over github.com/segmentio/kafka-go with retry,
// backoff and a dead-letter topic, and the mapping of the envelope to CloudEvents
// attributes carried in Kafka headers.
//
// Delivery is at least once; handlers make it exactly once in effect by recording the
// event ID in the same database transaction as their effect (see package outbox).
package event

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Event is one message on the bus. Its fields map 1:1 to CloudEvents 1.0 attributes,
// carried as ce_* Kafka headers (binary content mode); Data is the Kafka value.
type Event struct {
	ID         string    // ce_id: a UUIDv7, unique; consumers deduplicate on it
	Type       string    // ce_type: "<owner>.<entity>.<past-tense verb>", e.g. "records.patient.registered"
	Source     string    // ce_source: the producing service, e.g. "records"
	Subject    string    // ce_subject: opaque patient ID (or entity ID); also the Kafka key, so order holds per subject
	Time       time.Time // ce_time: when it happened (clinical time)
	RecordedAt time.Time // ce_recordedtime (extension): when the producer recorded it
	Data       []byte    // JSON payload; its shape is owned by package contract for this Type

	// Traceparent is the W3C trace context the event was produced under (header
	// "traceparent"). Publishers fill it from ctx when empty; consumers start their span
	// from it.
	Traceparent string

	// Where the event was read from. Set by the consumer; ignored when publishing.
	Topic     string
	Partition int
	Offset    int64
}

// New builds an event with a fresh UUIDv7 ID, marshalling payload to JSON.
// at is the clinical time; recordedAt is when it was recorded.
func New(typ, source, subject string, at, recordedAt time.Time, payload any) (Event, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Event{}, fmt.Errorf("new event id: %w", err)
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return Event{}, fmt.Errorf("marshal %s payload: %w", typ, err)
	}
	return Event{
		ID: id.String(), Type: typ, Source: source, Subject: subject,
		Time: at.UTC(), RecordedAt: recordedAt.UTC(), Data: data,
	}, nil
}

// Decode unmarshals the event's payload into v. A payload that does not decode is a
// permanent failure: retrying cannot fix it, so the error is marked Permanent.
func (e Event) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
	}
	return nil
}

// Publisher sends events to a topic. Publish returns only after every event is
// acknowledged by all in-sync replicas, or an error.
type Publisher interface {
	Publish(ctx context.Context, topic string, es ...Event) error
}

// A Handler processes one event. A nil error means the effect is durable and the
// offset may be committed. An error marked Permanent is dead-lettered at once; any
// other error is retried with backoff and then dead-lettered.
type Handler interface {
	Handle(ctx context.Context, e Event) error
}

// A BatchHandler can also apply several events at once — typically in one database
// transaction, so a consumer pays one commit (an fsync) for many events instead of
// one each. HandleBatch must be all-or-nothing, like Handle. When it fails, the
// consumer falls back to Handle for each event of the batch, one at a time with the
// usual retries, so a poison event is isolated and dead-lettered alone. The events
// of a batch are in the order they were read; those of one partition (one key) keep
// their order.
type BatchHandler interface {
	Handler
	HandleBatch(ctx context.Context, es []Event) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, e Event) error

// Handle calls f(ctx, e).
func (f HandlerFunc) Handle(ctx context.Context, e Event) error { return f(ctx, e) }

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as one that retrying cannot fix (bad payload, failed
// validation): the consumer dead-letters the event at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or any error it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// DLQTopic is the dead-letter topic of a consumer group.
func DLQTopic(group string) string { return group + ".dlq" }
