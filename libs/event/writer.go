package event

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Writer publishes events to Kafka. It is safe for concurrent use; one Writer
// serves every topic of a service, since the topic is set per message.
type Writer struct {
	brokers []string
	kw      *kafka.Writer
	// tr is owned by the Writer (not kafka.DefaultTransport) so that Close can
	// release its pooled connections and their goroutines.
	tr     *kafka.Transport
	tracer trace.Tracer
}

var (
	_ Publisher     = (*Writer)(nil)
	_ MessageWriter = (*Writer)(nil)
)

// MessageWriter writes raw Kafka messages to a topic, keys, values and headers
// untouched. The consumer dead-letters through it, because a dead-lettered
// message must be kept exactly as it was read — including one that is not an
// event at all; a DLQ replay tool needs the same. *Writer implements it.
type MessageWriter interface {
	WriteMessages(ctx context.Context, topic string, msgs ...kafka.Message) error
}

// metadataAttempts bounds the retries of a write that failed before anything was
// sent: kafka-go does not retry its metadata lookup, and a topic that was just
// auto-created answers LEADER_NOT_AVAILABLE for a moment on a real cluster.
const metadataAttempts = 5

// NewWriter returns a Writer on cfg.Brokers. It connects lazily, on the first
// Publish. Close it when done.
func NewWriter(cfg Config) *Writer {
	tr := &kafka.Transport{}
	return &Writer{
		brokers: cfg.Brokers,
		tr:      tr,
		tracer:  cfg.tracer(),
		kw: &kafka.Writer{
			Addr:      kafka.TCP(cfg.Brokers...),
			Transport: tr,
			// kafka-go's defaults are unsafe for us (style.md 1.8): acks from every
			// in-sync replica, so Publish means durable; hash on the key, so one
			// subject's events stay on one partition, in order; a short batch
			// timeout, since Publish is synchronous and the default is 1s.
			RequiredAcks:           kafka.RequireAll,
			Balancer:               &kafka.Hash{},
			BatchTimeout:           5 * time.Millisecond,
			Async:                  false,
			AllowAutoTopicCreation: true,
			ErrorLogger:            kafkaLogger{log: cfg.logger(), level: slog.LevelWarn},
		},
	}
}

// Publish writes es to topic, keyed by subject, and returns once every event is
// acknowledged by all in-sync replicas. An event without a Traceparent gets the
// trace context of the PRODUCER span this call starts (a child of the span in
// ctx), so consumers continue the caller's trace. Events already carrying a
// Traceparent, as an outbox relay's do, keep it. On error some events may have
// been written; publishing them again is safe, since consumers deduplicate on ID.
func (w *Writer) Publish(ctx context.Context, topic string, es ...Event) error {
	if len(es) == 0 {
		return nil
	}
	ctx, span := w.startSpan(ctx, topic, len(es))
	defer span.End()
	msgs := make([]kafka.Message, len(es))
	for i, e := range es {
		if err := validate(e); err != nil {
			err = fmt.Errorf("publish to %s: event %d: %w", topic, i, err)
			recordError(span, err)
			return err
		}
		msgs[i] = ToMessage(e)
		if e.Traceparent == "" {
			// Injects traceparent and, if the span has one, tracestate; nothing
			// when ctx carries no valid span.
			propagator().Inject(ctx, HeaderCarrier{Headers: &msgs[i].Headers})
		}
	}
	if err := w.write(ctx, topic, msgs); err != nil {
		err = fmt.Errorf("publish %d events to %s: %w", len(es), topic, err)
		recordError(span, err)
		return err
	}
	return nil
}

// WriteMessages writes msgs to topic as they are, under a PRODUCER span. Their
// Topic fields are overwritten. It is how the consumer dead-letters a message.
func (w *Writer) WriteMessages(ctx context.Context, topic string, msgs ...kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ctx, span := w.startSpan(ctx, topic, len(msgs))
	defer span.End()
	if err := w.write(ctx, topic, msgs); err != nil {
		err = fmt.Errorf("write %d messages to %s: %w", len(msgs), topic, err)
		recordError(span, err)
		return err
	}
	return nil
}

// Close flushes pending writes and releases the Writer's connections.
func (w *Writer) Close() error {
	err := w.kw.Close()
	w.tr.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("close kafka writer: %w", err)
	}
	return nil
}

func (w *Writer) startSpan(ctx context.Context, topic string, n int) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKafka,
		semconv.MessagingOperationTypeSend,
		semconv.MessagingOperationName("publish"),
		semconv.MessagingDestinationName(topic),
	}
	if n > 1 {
		attrs = append(attrs, semconv.MessagingBatchMessageCount(n))
	}
	return w.tracer.Start(ctx, "publish "+topic,
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
}

// write sends msgs, retrying only failures that happened before any message was
// sent (kafka-go reports per-message failures as kafka.WriteErrors, and retries
// those itself).
func (w *Writer) write(ctx context.Context, topic string, msgs []kafka.Message) error {
	if len(w.brokers) == 0 {
		return errNoBrokers
	}
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		m.Topic = topic
		out[i] = m
	}
	for attempt := 1; ; attempt++ {
		err := w.kw.WriteMessages(ctx, out...)
		if err == nil {
			return nil
		}
		var werrs kafka.WriteErrors
		var kerr kafka.Error
		if errors.As(err, &werrs) || !errors.As(err, &kerr) || !kerr.Temporary() || attempt >= metadataAttempts {
			return err
		}
		if !sleep(ctx, time.Duration(attempt)*100*time.Millisecond) {
			return errors.Join(err, ctx.Err())
		}
	}
}

// validate rejects events no consumer could read: FromMessage requires these.
func validate(e Event) error {
	switch {
	case e.ID == "":
		return errors.New("missing ID")
	case e.Type == "":
		return errors.New("missing Type")
	case e.Source == "":
		return errors.New("missing Source")
	}
	return nil
}

func recordError(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// sleep waits for d or until ctx is done, and reports whether it waited it out.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
