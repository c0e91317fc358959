package event

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Headers the consumer adds to a dead-lettered message, beside the original
// ones, so that whoever reads the DLQ knows why and where from, and a replay
// tool knows where to send it back (watermill's poison-queue metadata).
const (
	HeaderDLQReason    = "x-dlq-reason"    // the error text
	HeaderDLQTopic     = "x-dlq-topic"     // topic the message was read from
	HeaderDLQPartition = "x-dlq-partition" // its partition, decimal
	HeaderDLQOffset    = "x-dlq-offset"    // its offset, decimal
	HeaderDLQAttempts  = "x-dlq-attempts"  // handler calls made; 0 if it was not an event
	HeaderDLQConsumer  = "x-dlq-consumer"  // the consumer group that gave up on it
)

// ConsumerConfig says what a consumer reads and how hard it tries.
type ConsumerConfig struct {
	// Group is the consumer group, "<consumer>.<purpose>", e.g.
	// "reporting.records-projection". Offsets are committed under it and
	// failures go to DLQTopic(Group). Required.
	Group string

	// Topics are read together by the group. They must exist before Consume
	// starts (see EnsureTopics): partitions are assigned when the group forms.
	// Required.
	Topics []string

	// MaxAttempts is how many times the handler is called for one event before
	// it is dead-lettered, the first call included. Default: 5.
	MaxAttempts int

	// InitialBackoff is the wait after the first failure; each later wait
	// doubles, up to MaxBackoff, and is jittered between half and all of it.
	// Default: 100ms.
	InitialBackoff time.Duration

	// MaxBackoff caps the wait between attempts. Default: 5s.
	MaxBackoff time.Duration

	// DrainTimeout bounds how long the in-flight event may take to finish (the
	// handler, then a dead-letter write and the commit) once ctx is cancelled.
	// Default: 5s.
	DrainTimeout time.Duration
	// MaxBatch is the most events handed to a BatchHandler at once; only events
	// already fetched are batched, so a quiet topic is never waited on. Ignored
	// for a plain Handler. Default: 500.
	MaxBatch int
	// CommitInterval is how often processed offsets are sent to the broker; they
	// are also sent when Consume returns and at rebalances. A negative value makes
	// every commit synchronous (a round trip per event). Default: 100ms.
	CommitInterval time.Duration

	// DLQ receives dead-lettered messages. It must also implement
	// MessageWriter, as *Writer does: the original message is written as is.
	// Default: nil, a Writer on the Config's brokers, closed when Consume returns.
	DLQ Publisher
}

// Defaults of ConsumerConfig.
const (
	DefaultMaxAttempts    = 5
	DefaultInitialBackoff = 100 * time.Millisecond
	DefaultMaxBackoff     = 5 * time.Second
	DefaultDrainTimeout   = 5 * time.Second
	DefaultCommitInterval = 100 * time.Millisecond
	DefaultMaxBatch       = 500
)

func (cc ConsumerConfig) withDefaults() ConsumerConfig {
	if cc.MaxAttempts <= 0 {
		cc.MaxAttempts = DefaultMaxAttempts
	}
	if cc.InitialBackoff <= 0 {
		cc.InitialBackoff = DefaultInitialBackoff
	}
	if cc.MaxBackoff <= 0 {
		cc.MaxBackoff = DefaultMaxBackoff
	}
	if cc.MaxBackoff < cc.InitialBackoff {
		cc.MaxBackoff = cc.InitialBackoff
	}
	if cc.MaxBatch <= 0 {
		cc.MaxBatch = DefaultMaxBatch
	}
	switch {
	case cc.CommitInterval == 0:
		cc.CommitInterval = DefaultCommitInterval
	case cc.CommitInterval < 0:
		cc.CommitInterval = 0 // kafka-go's synchronous commits
	}
	if cc.DrainTimeout <= 0 {
		cc.DrainTimeout = DefaultDrainTimeout
	}
	return cc
}

// validate reports every configuration problem at once.
func (cc ConsumerConfig) validate(cfg Config, h Handler) error {
	var errs []error
	if len(cfg.Brokers) == 0 {
		errs = append(errs, errNoBrokers)
	}
	if cc.Group == "" {
		errs = append(errs, errors.New("no consumer group"))
	}
	if len(cc.Topics) == 0 {
		errs = append(errs, errors.New("no topics"))
	}
	if h == nil {
		errs = append(errs, errors.New("nil handler"))
	}
	if cc.DLQ != nil {
		if _, ok := cc.DLQ.(MessageWriter); !ok {
			errs = append(errs, fmt.Errorf("DLQ %T does not implement event.MessageWriter", cc.DLQ))
		}
	}
	return errors.Join(errs...)
}

// errStopped says that ctx was cancelled before the message was done with; it
// is left uncommitted, to be redelivered.
var errStopped = errors.New("consumer stopped")

// errDrainTimeout is the cause of the handler's context being cancelled when
// it outlives DrainTimeout after shutdown began.
var errDrainTimeout = errors.New("drain timeout exceeded")

// Consume reads cc.Topics as consumer group cc.Group and calls h for each event,
// one at a time per consumer, so offsets are committed in order. It blocks until
// ctx is cancelled, then returns nil, or until a fatal error: the reader
// failing, or a dead-letter write failing (that message is left uncommitted).
//
// Per message: a message that is not a valid event is dead-lettered at once; a
// handler error marked Permanent is dead-lettered at once; other errors, and
// panics, are retried with jittered exponential backoff and dead-lettered after
// cc.MaxAttempts calls. The offset is committed after success or dead-lettering.
//
// Shutdown drains: when ctx is cancelled while h runs, h keeps a context that is
// not cancelled, for up to cc.DrainTimeout, and if it succeeds the offset is
// committed before Consume returns. A retry wait is cut short instead, leaving
// the message uncommitted. No message is fetched after cancellation.
func Consume(ctx context.Context, cfg Config, cc ConsumerConfig, h Handler) (err error) {
	cc = cc.withDefaults()
	if err := cc.validate(cfg, h); err != nil {
		return fmt.Errorf("consume %s: %w", cc.Group, err)
	}
	log := cfg.logger()
	c := &consumer{
		cc:     cc,
		h:      h,
		log:    log,
		tracer: cfg.tracer(),
		group:  attribute.String("group", cc.Group),
	}
	if cc.DLQ == nil {
		w := NewWriter(cfg)
		defer func() { err = errors.Join(err, w.Close()) }()
		c.dlq = w
	} else {
		c.dlq = cc.DLQ.(MessageWriter) // checked by validate
	}

	c.r = kafka.NewReader(kafka.ReaderConfig{
		Brokers:     cfg.Brokers,
		GroupID:     cc.Group,
		GroupTopics: cc.Topics,
		StartOffset: kafka.FirstOffset,
		// Tuned for fast shutdown and rebalances (style.md 1.8): with kafka-go's
		// defaults Close waits out a 10s long poll.
		MaxWait:           100 * time.Millisecond,
		HeartbeatInterval: 200 * time.Millisecond,
		RebalanceTimeout:  2 * time.Second,
		JoinGroupBackoff:  100 * time.Millisecond,
		// CommitMessages is called only after the handler's effect is durable, so
		// offsets never run ahead of effects. With an interval, kafka-go sends them
		// in the background (and once more on Close and at rebalances) instead of a
		// round trip per message; a crash in between only redelivers events the
		// handlers' idempotency absorbs. Zero makes every commit synchronous.
		CommitInterval: cc.CommitInterval,
		ErrorLogger:    kafkaLogger{log: log, level: slog.LevelWarn},
	})
	defer func() {
		if cerr := c.r.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close reader of %s: %w", cc.Group, cerr))
		}
	}()

	unregister, err := c.instrument(cfg.meter())
	if err != nil {
		return fmt.Errorf("consume %s: %w", cc.Group, err)
	}
	defer func() { err = errors.Join(err, unregister()) }()

	return c.run(ctx)
}

// consumer is the state of one Consume call.
type consumer struct {
	cc     ConsumerConfig
	h      Handler
	r      *kafka.Reader
	dlq    MessageWriter
	log    *slog.Logger
	tracer trace.Tracer
	group  attribute.KeyValue

	processed, retried, deadLettered metric.Int64Counter
}

// instrument creates the counters and registers the lag gauge; the returned
// function unregisters it, so no callback touches a closed reader.
func (c *consumer) instrument(m metric.Meter) (func() error, error) {
	var err, errs error
	c.processed, err = m.Int64Counter("attest.consumer.processed",
		metric.WithDescription("Events handled successfully and committed."), metric.WithUnit("{event}"))
	errs = errors.Join(errs, err)
	c.retried, err = m.Int64Counter("attest.consumer.retried",
		metric.WithDescription("Handler failures that were retried."), metric.WithUnit("{attempt}"))
	errs = errors.Join(errs, err)
	c.deadLettered, err = m.Int64Counter("attest.consumer.dead_lettered",
		metric.WithDescription("Messages written to the dead-letter topic."), metric.WithUnit("{message}"))
	errs = errors.Join(errs, err)
	lag, err := m.Int64ObservableGauge("attest.consumer.lag",
		metric.WithDescription("Messages behind the high watermark, as last seen by the reader."),
		metric.WithUnit("{message}"))
	errs = errors.Join(errs, err)
	if errs != nil {
		return nil, fmt.Errorf("create metrics: %w", errs)
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		// Stats also resets the reader's counters; nothing else here reads them.
		o.ObserveInt64(lag, c.r.Stats().Lag, metric.WithAttributes(c.group))
		return nil
	}, lag)
	if err != nil {
		return nil, fmt.Errorf("register lag gauge: %w", err)
	}
	return func() error {
		if err := reg.Unregister(); err != nil {
			return fmt.Errorf("unregister lag gauge: %w", err)
		}
		return nil
	}, nil
}

func (c *consumer) run(ctx context.Context) error {
	for {
		// FetchMessage may return a prefetched message even when ctx is done;
		// checking first guarantees nothing new starts after cancellation.
		if ctx.Err() != nil {
			return nil
		}
		m, err := c.r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("consume %s: fetch: %w", c.cc.Group, err)
		}
		if bh, ok := c.h.(BatchHandler); ok && c.cc.MaxBatch > 1 {
			err = c.processBatch(ctx, bh, append([]kafka.Message{m}, c.fetchReady(ctx)...))
		} else {
			err = c.process(ctx, m)
		}
		if err != nil {
			if errors.Is(err, errStopped) {
				return nil
			}
			return fmt.Errorf("consume %s: %w", c.cc.Group, err)
		}
	}
}

// readyWait bounds how long fetchReady waits for a message: long enough to take
// what the reader has buffered, short enough that a quiet topic costs nothing.
const readyWait = time.Millisecond

// fetchReady returns the messages the reader can hand over at once, up to
// MaxBatch-1 of them.
func (c *consumer) fetchReady(ctx context.Context) []kafka.Message {
	var ms []kafka.Message
	for len(ms) < c.cc.MaxBatch-1 {
		fctx, cancel := context.WithTimeout(ctx, readyWait)
		m, err := c.r.FetchMessage(fctx)
		cancel()
		if err != nil {
			// A timeout, or a reader error that the next blocking fetch reports.
			return ms
		}
		ms = append(ms, m)
	}
	return ms
}

// processBatch hands the decoded batch to h.HandleBatch under one CONSUMER span
// linked to each message's trace, and commits it. Anything else — a message that
// is not an event, a failed batch — falls back to process, one message at a
// time, which retries and dead-letters as usual.
func (c *consumer) processBatch(ctx context.Context, h BatchHandler, ms []kafka.Message) error {
	es := make([]Event, 0, len(ms))
	links := make([]trace.Link, 0, len(ms))
	for _, m := range ms {
		e, err := FromMessage(m)
		if err != nil {
			return c.processEach(ctx, ms)
		}
		es = append(es, e)
		mctx := propagator().Extract(ctx, HeaderCarrier{Headers: &m.Headers})
		links = append(links, trace.LinkFromContext(mctx))
	}
	sctx, span := c.tracer.Start(ctx, "process batch",
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithLinks(links...),
		trace.WithAttributes(
			semconv.MessagingSystemKafka,
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingOperationName("process"),
			semconv.MessagingConsumerGroupName(c.cc.Group),
			semconv.MessagingBatchMessageCount(len(es)),
		))
	defer span.End()
	dctx, cancel := drainContext(sctx, c.cc.DrainTimeout)
	defer cancel()
	if err := c.callBatch(dctx, h, es); err != nil {
		span.AddEvent("batch failed; handling its events one by one", trace.WithAttributes(attribute.String("error", err.Error())))
		c.log.DebugContext(ctx, "event batch failed; handling its events one by one",
			"group", c.cc.Group, "events", len(es), "error", err.Error())
		if ctx.Err() != nil {
			return errStopped
		}
		return c.processEach(ctx, ms)
	}
	for _, m := range ms {
		c.processed.Add(ctx, 1, metric.WithAttributes(c.group, attribute.String("topic", m.Topic)))
	}
	if err := c.r.CommitMessages(dctx, ms...); err != nil {
		c.log.WarnContext(ctx, "commit failed; the messages will be redelivered",
			"group", c.cc.Group, "messages", len(ms), "error", err.Error())
	}
	return nil
}

// processEach processes messages one at a time, in order.
func (c *consumer) processEach(ctx context.Context, ms []kafka.Message) error {
	for _, m := range ms {
		if err := c.process(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// callBatch runs HandleBatch, turning a panic into an error like call does.
func (c *consumer) callBatch(ctx context.Context, h BatchHandler, es []Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("batch handler panic: %v", r)
			c.log.ErrorContext(ctx, "event batch handler panicked", "group", c.cc.Group, "events", len(es),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	return h.HandleBatch(ctx, es)
}

// process takes one message to a commit, or returns errStopped or a fatal error
// without committing it.
func (c *consumer) process(ctx context.Context, m kafka.Message) error {
	// The CONSUMER span continues the producer's trace; extracting from the
	// headers (not the Event) also carries tracestate.
	pctx := propagator().Extract(ctx, HeaderCarrier{Headers: &m.Headers})
	sctx, span := c.tracer.Start(pctx, "process "+m.Topic,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			semconv.MessagingSystemKafka,
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingOperationName("process"),
			semconv.MessagingDestinationName(m.Topic),
			semconv.MessagingConsumerGroupName(c.cc.Group),
			semconv.MessagingDestinationPartitionID(strconv.Itoa(m.Partition)),
			semconv.MessagingKafkaOffset(int(m.Offset)),
		))
	defer span.End()
	// dctx outlives ctx by DrainTimeout, so the in-flight message can finish.
	dctx, cancel := drainContext(sctx, c.cc.DrainTimeout)
	defer cancel()
	attrs := metric.WithAttributes(c.group, attribute.String("topic", m.Topic))

	e, err := FromMessage(m)
	if err != nil {
		recordError(span, err)
		return c.deadLetter(ctx, dctx, m, err, 0, attrs)
	}
	span.SetAttributes(semconv.MessagingMessageID(e.ID))

	for attempt := 1; ; attempt++ {
		err := c.call(dctx, e)
		if err == nil {
			break
		}
		span.AddEvent("handler failed", trace.WithAttributes(
			attribute.Int("attempt", attempt), attribute.String("error", err.Error())))
		if IsPermanent(err) || attempt >= c.cc.MaxAttempts {
			recordError(span, err)
			return c.deadLetter(ctx, dctx, m, err, attempt, attrs)
		}
		// Cancelled while the handler ran: it was drained and failed anyway.
		if ctx.Err() != nil || !sleep(ctx, c.backoff(attempt)) {
			return errStopped
		}
		c.retried.Add(ctx, 1, attrs)
	}
	c.processed.Add(ctx, 1, attrs)
	c.commit(ctx, dctx, m)
	return nil
}

// call runs the handler, turning a panic into an ordinary, retryable error: one
// bad event must not take the service down.
func (c *consumer) call(ctx context.Context, e Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
			c.log.ErrorContext(ctx, "event handler panicked",
				"group", c.cc.Group, "event_id", e.ID, "event_type", e.Type,
				"topic", e.Topic, "partition", e.Partition, "offset", e.Offset,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	return c.h.Handle(ctx, e)
}

// deadLetter writes the original message to the DLQ and commits it. A failed
// write is fatal: skipping the message would lose it.
func (c *consumer) deadLetter(ctx, dctx context.Context, m kafka.Message, cause error, attempts int, attrs metric.MeasurementOption) error {
	dm := kafka.Message{Key: m.Key, Value: m.Value, Headers: dlqHeaders(m, cause, attempts, c.cc.Group)}
	if err := c.dlq.WriteMessages(dctx, DLQTopic(c.cc.Group), dm); err != nil {
		if ctx.Err() != nil {
			return errStopped
		}
		return fmt.Errorf("dead-letter %s/%d/%d: %w", m.Topic, m.Partition, m.Offset, err)
	}
	c.deadLettered.Add(ctx, 1, attrs)
	// Never the key or the payload: both may identify a patient.
	hc := HeaderCarrier{Headers: &m.Headers}
	c.log.WarnContext(ctx, "event dead-lettered",
		"group", c.cc.Group, "event_id", hc.Get(HeaderID), "event_type", hc.Get(HeaderType),
		"topic", m.Topic, "partition", m.Partition, "offset", m.Offset,
		"attempts", attempts, "reason", cause.Error())
	c.commit(ctx, dctx, m)
	return nil
}

// commit commits m's offset. A failure is logged, not fatal: the message is
// then redelivered (after a rebalance or restart) and the handler's idempotency
// absorbs it, and the next successful commit covers it anyway.
func (c *consumer) commit(ctx, dctx context.Context, m kafka.Message) {
	if err := c.r.CommitMessages(dctx, m); err != nil {
		c.log.WarnContext(ctx, "commit failed; the message will be redelivered",
			"group", c.cc.Group, "topic", m.Topic, "partition", m.Partition, "offset", m.Offset,
			"error", err.Error())
	}
}

// backoff is the wait after the attempt-th failure: exponential, capped, with
// "equal jitter" (half fixed, half random), so replicas that failed together
// spread out yet never retry immediately.
func (c *consumer) backoff(attempt int) time.Duration {
	d := c.cc.MaxBackoff
	if attempt-1 < 32 {
		if b := c.cc.InitialBackoff << (attempt - 1); b > 0 && b < d {
			d = b
		}
	}
	return d/2 + rand.N(d/2+1)
}

// dlqHeaders are m's headers, minus any x-dlq-* from an earlier dead-lettering
// (a replayed message that failed again), plus this one's.
func dlqHeaders(m kafka.Message, cause error, attempts int, group string) []kafka.Header {
	hs := make([]kafka.Header, 0, len(m.Headers)+6)
	for _, h := range m.Headers {
		if !strings.HasPrefix(h.Key, "x-dlq-") {
			hs = append(hs, h)
		}
	}
	add := func(k, v string) { hs = append(hs, kafka.Header{Key: k, Value: []byte(v)}) }
	add(HeaderDLQReason, cause.Error())
	add(HeaderDLQTopic, m.Topic)
	add(HeaderDLQPartition, strconv.Itoa(m.Partition))
	add(HeaderDLQOffset, strconv.FormatInt(m.Offset, 10))
	add(HeaderDLQAttempts, strconv.Itoa(attempts))
	add(HeaderDLQConsumer, group)
	return hs
}

// drainContext returns a context with ctx's values that is not cancelled with
// ctx, but DrainTimeout after it (cause errDrainTimeout), or by the returned
// cancel function.
func drainContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	dctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			cancel(errDrainTimeout)
		case <-dctx.Done():
		}
	})
	return dctx, func() {
		stop()
		cancel(nil)
	}
}
