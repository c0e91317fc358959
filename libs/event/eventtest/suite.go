// Package eventtest is the conformance suite of the event backbone: what any
// Kafka-protocol broker must do for package event's Writer and Consume to keep
// their promises (ordering per key, at-least-once with redelivery, dead-letter
// handling, draining shutdown). It is run against the embedded broker in
// package event's tests, and can be run against a real cluster by any test
// that can reach one (watermill's pubsub/tests idea).
package eventtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/event"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// waitTimeout bounds every wait of the suite. It is a liveness bound, not a
// performance expectation: a passing run takes a fraction of it.
const waitTimeout = 30 * time.Second

// Run runs the suite. brokers returns the bootstrap addresses of the broker
// under test; it is called once per subtest, concurrently, and may return the
// same broker every time: every subtest uses its own topics and groups, and
// subtests run in parallel.
func Run(t *testing.T, brokers func(t *testing.T) []string) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"OrderPerKey", testOrderPerKey},
		{"RedeliveryAfterCrash", testRedeliveryAfterCrash},
		{"PoisonMessage", testPoisonMessage},
		{"Retry", testRetry},
		{"GracefulShutdown", testGracefulShutdown},
		{"HandlerPanic", testHandlerPanic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newHarness(t, brokers(t)))
		})
	}
}

// testRoundTrip: every envelope field, and the trace context, arrive as sent.
func testRoundTrip(t *testing.T, h *harness) {
	h.ensure(t, 3, h.topic)
	at := time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)
	explicit := h.newEvent(t, "eventtest.thing.happened", "subject-1", map[string]any{"n": 1, "s": "ü"})
	explicit.Time, explicit.RecordedAt = at, at.Add(time.Second+7)
	explicit.Traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

	// The second event has no Traceparent: the writer takes it from ctx,
	// tracestate included.
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	})
	ts, err := trace.ParseTraceState("attest=t61rcWkgMzE")
	if err != nil {
		t.Fatalf("parse tracestate: %v", err)
	}
	parent = parent.WithTraceState(ts)
	fromCtx := h.newEvent(t, "eventtest.thing.happened", "subject-2", []int{1, 2, 3})

	rec := newRecorder()
	var mu sync.Mutex
	seen := map[string]trace.SpanContext{} // event ID -> span context the handler ran under
	h.start(t, event.ConsumerConfig{Group: h.group, Topics: []string{h.topic}},
		event.HandlerFunc(func(ctx context.Context, e event.Event) error {
			mu.Lock()
			seen[e.ID] = trace.SpanContextFromContext(ctx)
			mu.Unlock()
			rec.done(e)
			return nil
		}))
	h.publish(t, context.Background(), explicit)
	h.publish(t, trace.ContextWithRemoteSpanContext(context.Background(), parent), fromCtx)
	rec.wait(t, "both events", func(r *recorder) bool { return len(r.handled) == 2 })

	got := rec.byID()
	ignoreWhere := cmpopts.IgnoreFields(event.Event{}, "Topic", "Partition", "Offset", "Traceparent")
	for _, want := range []event.Event{explicit, fromCtx} {
		e, ok := got[want.ID]
		if !ok {
			t.Fatalf("event %s not received", want.ID)
		}
		if diff := cmp.Diff(want, e, ignoreWhere); diff != "" {
			t.Errorf("event %s changed in transit (-sent +received):\n%s", want.ID, diff)
		}
		if e.Topic != h.topic || e.Partition < 0 || e.Partition >= 3 || e.Offset < 0 {
			t.Errorf("event %s read from %s/%d/%d, want %s, partition in [0,3), offset >= 0",
				want.ID, e.Topic, e.Partition, e.Offset, h.topic)
		}
	}
	if got := got[explicit.ID].Traceparent; got != explicit.Traceparent {
		t.Errorf("explicit Traceparent = %q, want %q", got, explicit.Traceparent)
	}
	wantTrace := map[string]trace.SpanContext{
		explicit.ID: spanContextOf(t, explicit.Traceparent, ""),
		fromCtx.ID:  parent,
	}
	for id, want := range wantTrace {
		// Received Traceparent and the handler's span must be in the sender's trace.
		if got := spanContextOf(t, got[id].Traceparent, ""); got.TraceID() != want.TraceID() {
			t.Errorf("event %s: Traceparent trace ID = %s, want %s", id, got.TraceID(), want.TraceID())
		}
		mu.Lock()
		sc := seen[id]
		mu.Unlock()
		if sc.TraceID() != want.TraceID() {
			t.Errorf("event %s: handler span trace ID = %s, want %s", id, sc.TraceID(), want.TraceID())
		}
		if got, want := sc.TraceState().String(), want.TraceState().String(); got != want {
			t.Errorf("event %s: handler tracestate = %q, want %q", id, got, want)
		}
	}
}

// testOrderPerKey: many keys over several partitions; each key's events are
// handled in the order they were published.
func testOrderPerKey(t *testing.T, h *harness) {
	const keys, perKey, batch = 16, 30, 40
	h.ensure(t, 4, h.topic)
	var all []event.Event
	for i := range perKey {
		for k := range keys {
			all = append(all, h.newEvent(t, "eventtest.seq.appended", fmt.Sprintf("key-%02d", k), map[string]int{"seq": i}))
		}
	}
	rec := newRecorder()
	h.start(t, event.ConsumerConfig{Group: h.group, Topics: []string{h.topic}},
		event.HandlerFunc(func(_ context.Context, e event.Event) error { rec.done(e); return nil }))
	for i := 0; i < len(all); i += batch {
		h.publish(t, context.Background(), all[i:min(i+batch, len(all))]...)
	}
	rec.wait(t, "every event", func(r *recorder) bool { return len(r.handled) >= len(all) })

	seqs := map[string][]int{}
	parts := map[string]map[int]bool{}
	for _, e := range rec.snapshot() {
		var p struct{ Seq int }
		if err := e.Decode(&p); err != nil {
			t.Fatalf("decode: %v", err)
		}
		seqs[e.Subject] = append(seqs[e.Subject], p.Seq)
		if parts[e.Subject] == nil {
			parts[e.Subject] = map[int]bool{}
		}
		parts[e.Subject][e.Partition] = true
	}
	want := make([]int, perKey)
	for i := range want {
		want[i] = i
	}
	used := map[int]bool{}
	for k := range keys {
		key := fmt.Sprintf("key-%02d", k)
		if diff := cmp.Diff(want, seqs[key]); diff != "" {
			t.Errorf("%s handled out of order (-published +handled):\n%s", key, diff)
		}
		if len(parts[key]) != 1 {
			t.Errorf("%s spread over partitions %v, want one", key, parts[key])
		}
		for p := range parts[key] {
			used[p] = true
		}
	}
	if len(used) < 2 {
		t.Errorf("%d keys landed on partitions %v; the test needs several", keys, used)
	}
}

// testRedeliveryAfterCrash: a consumer applies an event's effect and dies
// before committing; the next consumer of the group gets the event again, and
// deduplication on the event ID keeps the effect single.
func testRedeliveryAfterCrash(t *testing.T, h *harness) {
	h.ensure(t, 1, h.topic)
	store := newDedupStore()
	e := h.newEvent(t, "eventtest.counter.incremented", "counter-1", map[string]int{"by": 1})
	cc := event.ConsumerConfig{Group: h.group, Topics: []string{h.topic}, DrainTimeout: 200 * time.Millisecond}

	applied := make(chan struct{})
	var once sync.Once
	first := h.start(t, cc, event.HandlerFunc(func(ctx context.Context, e event.Event) error {
		store.apply(e.ID)
		once.Do(func() { close(applied) })
		// The process "dies" after its transaction committed and before the
		// offset did: block until even the drain deadline has passed.
		<-ctx.Done()
		return fmt.Errorf("crashed: %w", context.Cause(ctx))
	}))
	h.publish(t, context.Background(), e)
	waitClosed(t, applied, "first delivery")
	if err := first.stop(t); err != nil {
		t.Fatalf("first consumer: %v", err)
	}
	if off := h.committed(t, h.group, h.topic, 0); off >= 0 {
		t.Fatalf("after the crash, committed offset = %d, want none", off)
	}

	second := h.start(t, cc, event.HandlerFunc(func(_ context.Context, e event.Event) error {
		store.apply(e.ID)
		return nil
	}))
	store.wait(t, func(s *dedupStore) bool { return s.deliveries[e.ID] >= 2 })
	if err := second.stop(t); err != nil {
		t.Fatalf("second consumer: %v", err)
	}
	store.mu.Lock()
	deliveries, effects := store.deliveries[e.ID], store.effects[e.ID]
	store.mu.Unlock()
	if deliveries != 2 || effects != 1 {
		t.Errorf("deliveries = %d, effects = %d; want 2 and 1", deliveries, effects)
	}
	if off := h.committed(t, h.group, h.topic, 0); off != 1 {
		t.Errorf("after redelivery, committed offset = %d, want 1", off)
	}
}

// testPoisonMessage: a message that is not an event, and an event the handler
// rejects as Permanent, go to the DLQ with their metadata, and the partition
// moves on.
func testPoisonMessage(t *testing.T, h *harness) {
	dlq := event.DLQTopic(h.group)
	h.ensure(t, 1, h.topic, dlq)
	raw := kafka.Message{Key: []byte("raw-key"), Value: []byte("definitely not json"),
		Headers: []kafka.Header{{Key: "x-origin", Value: []byte("legacy")}}}
	poison := h.newEvent(t, "eventtest.poison.sent", "subject-p", map[string]string{"x": "y"})
	good := h.newEvent(t, "eventtest.thing.happened", "subject-g", map[string]string{"ok": "yes"})

	rec := newRecorder()
	h.start(t, event.ConsumerConfig{Group: h.group, Topics: []string{h.topic}},
		event.HandlerFunc(func(_ context.Context, e event.Event) error {
			if e.ID == poison.ID {
				rec.call(e.ID)
				return event.Permanent(errors.New("poison: cannot apply"))
			}
			rec.done(e)
			return nil
		}))
	if err := h.writer.WriteMessages(h.ctx(t), h.topic, raw); err != nil {
		t.Fatalf("write raw message: %v", err)
	}
	h.publish(t, context.Background(), poison, good)
	rec.wait(t, "the good event", func(r *recorder) bool { return len(r.handled) == 1 })

	msgs := h.readAll(t, dlq, 2)
	checkDLQ(t, msgs[0], dlqWant{topic: h.topic, offset: 0, attempts: 0, group: h.group,
		reason: event.HeaderSpecVersion, key: raw.Key, value: raw.Value, header: [2]string{"x-origin", "legacy"}})
	checkDLQ(t, msgs[1], dlqWant{topic: h.topic, offset: 1, attempts: 1, group: h.group,
		reason: "poison: cannot apply", key: []byte(poison.Subject), value: poison.Data,
		header: [2]string{event.HeaderID, poison.ID}})
	if n := rec.calls(poison.ID); n != 1 {
		t.Errorf("permanent failure: handler called %d times, want 1", n)
	}
	// Offsets are sent to the broker in the background: wait for them.
	deadline := time.Now().Add(waitTimeout)
	for off := h.committed(t, h.group, h.topic, 0); off != 3; off = h.committed(t, h.group, h.topic, 0) {
		if time.Now().After(deadline) {
			t.Fatalf("committed offset = %d, want 3", off)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testRetry: transient errors are retried until the handler succeeds;
// exhausted retries dead-letter the event; a permanent error is not retried.
func testRetry(t *testing.T, h *harness) {
	const maxAttempts = 3
	dlq := event.DLQTopic(h.group)
	h.ensure(t, 1, h.topic, dlq)
	tests := []struct {
		name      string
		failures  int // the first failures calls fail; -1: every call
		permanent bool
		wantCalls int
		wantDLQ   bool
	}{
		{name: "succeeds at once", failures: 0, wantCalls: 1},
		{name: "transient then succeeds", failures: 2, wantCalls: 3},
		{name: "retries exhausted", failures: -1, wantCalls: maxAttempts, wantDLQ: true},
		{name: "permanent after a transient", failures: 1, permanent: true, wantCalls: 2, wantDLQ: true},
	}
	type plan struct {
		failures  int
		permanent bool
	}
	plans := map[string]plan{}
	var es []event.Event
	for _, tc := range tests {
		e := h.newEvent(t, "eventtest.flaky.called", "subject-r", map[string]string{"case": tc.name})
		plans[e.ID] = plan{tc.failures, tc.permanent}
		es = append(es, e)
	}
	rec := newRecorder()
	h.start(t, event.ConsumerConfig{Group: h.group, Topics: []string{h.topic}, MaxAttempts: maxAttempts,
		InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
		event.HandlerFunc(func(_ context.Context, e event.Event) error {
			n := rec.call(e.ID)
			p := plans[e.ID]
			switch {
			case p.permanent && n > p.failures:
				return event.Permanent(fmt.Errorf("call %d: rejected", n))
			case p.failures < 0 || n <= p.failures:
				return fmt.Errorf("call %d: transient", n)
			}
			rec.done(e)
			return nil
		}))
	// A final good event: once it is handled, every earlier one is settled,
	// since one partition is consumed in order.
	last := h.newEvent(t, "eventtest.flaky.called", "subject-r", map[string]string{"case": "last"})
	h.publish(t, context.Background(), append(es, last)...)
	rec.wait(t, "the last event", func(r *recorder) bool { _, ok := r.byIDLocked()[last.ID]; return ok })

	var wantDLQ []string
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := rec.calls(es[i].ID); n != tc.wantCalls {
				t.Errorf("handler called %d times, want %d", n, tc.wantCalls)
			}
			if _, handled := rec.byID()[es[i].ID]; handled == tc.wantDLQ {
				t.Errorf("handled = %v, want %v", handled, !tc.wantDLQ)
			}
		})
		if tc.wantDLQ {
			wantDLQ = append(wantDLQ, es[i].ID)
		}
	}
	if n := h.endOffset(t, dlq, 0); n != int64(len(wantDLQ)) {
		t.Fatalf("DLQ holds %d messages, want %d", n, len(wantDLQ))
	}
	var gotDLQ []string
	for _, m := range h.readAll(t, dlq, len(wantDLQ)) {
		gotDLQ = append(gotDLQ, header(m, event.HeaderID))
		if header(m, event.HeaderDLQAttempts) == "" || header(m, event.HeaderDLQReason) == "" {
			t.Errorf("DLQ message %s lacks attempts or reason", header(m, event.HeaderID))
		}
	}
	if diff := cmp.Diff(wantDLQ, gotDLQ); diff != "" {
		t.Errorf("dead-lettered events (-want +got):\n%s", diff)
	}
}

// testGracefulShutdown: cancelling the consumer while a handler runs lets the
// handler finish with a live context, commits its offset, and fetches nothing
// more; the next consumer starts after it.
func testGracefulShutdown(t *testing.T, h *harness) {
	h.ensure(t, 1, h.topic)
	a := h.newEvent(t, "eventtest.slow.started", "subject-s", map[string]int{"n": 1})
	b := h.newEvent(t, "eventtest.slow.started", "subject-s", map[string]int{"n": 2})
	cc := event.ConsumerConfig{Group: h.group, Topics: []string{h.topic}, DrainTimeout: waitTimeout}

	started, release := make(chan struct{}), make(chan struct{})
	var ctxErr error
	rec1 := newRecorder()
	first := h.start(t, cc, event.HandlerFunc(func(ctx context.Context, e event.Event) error {
		rec1.done(e)
		if e.ID != a.ID {
			return nil
		}
		close(started)
		<-release
		ctxErr = ctx.Err() // read by the test after Consume returned
		return nil
	}))
	h.publish(t, context.Background(), a, b)
	waitClosed(t, started, "the slow handler")
	first.cancel()
	close(release)
	if err := first.wait(t); err != nil {
		t.Fatalf("first consumer: %v", err)
	}
	if ctxErr != nil {
		t.Errorf("draining handler's context: %v, want not cancelled", ctxErr)
	}
	if got := ids(rec1.snapshot()); !cmp.Equal(got, []string{a.ID}) {
		t.Errorf("first consumer handled %v, want only %v: nothing is fetched after cancellation", got, a.ID)
	}
	if off := h.committed(t, h.group, h.topic, 0); off != 1 {
		t.Errorf("committed offset after drain = %d, want 1", off)
	}

	rec2 := newRecorder()
	h.start(t, cc, event.HandlerFunc(func(_ context.Context, e event.Event) error { rec2.done(e); return nil }))
	c := h.newEvent(t, "eventtest.slow.started", "subject-s", map[string]int{"n": 3})
	h.publish(t, context.Background(), c)
	rec2.wait(t, "the sentinel", func(r *recorder) bool { _, ok := r.byIDLocked()[c.ID]; return ok })
	if got, want := ids(rec2.snapshot()), []string{b.ID, c.ID}; !cmp.Equal(got, want) {
		t.Errorf("second consumer handled %v, want %v", got, want)
	}
}

// testHandlerPanic: a panicking handler is retried like a failing one, and
// the consumer keeps running.
func testHandlerPanic(t *testing.T, h *harness) {
	dlq := event.DLQTopic(h.group)
	h.ensure(t, 1, h.topic, dlq)
	once := h.newEvent(t, "eventtest.panic.raised", "subject-x", map[string]string{"panics": "once"})
	always := h.newEvent(t, "eventtest.panic.raised", "subject-x", map[string]string{"panics": "always"})
	good := h.newEvent(t, "eventtest.panic.raised", "subject-x", map[string]string{"panics": "never"})
	rec := newRecorder()
	r := h.start(t, event.ConsumerConfig{Group: h.group, Topics: []string{h.topic}, MaxAttempts: 2,
		InitialBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond},
		event.HandlerFunc(func(_ context.Context, e event.Event) error {
			n := rec.call(e.ID)
			if e.ID == always.ID || (e.ID == once.ID && n == 1) {
				panic(fmt.Sprintf("boom on call %d", n))
			}
			rec.done(e)
			return nil
		}))
	h.publish(t, context.Background(), once, always, good)
	rec.wait(t, "the good event", func(r *recorder) bool { _, ok := r.byIDLocked()[good.ID]; return ok })
	select {
	case err := <-r.done:
		t.Fatalf("consumer stopped after a panic: %v", err)
	default:
	}
	if got, want := ids(rec.snapshot()), []string{once.ID, good.ID}; !cmp.Equal(got, want) {
		t.Errorf("handled %v, want %v", got, want)
	}
	if n := rec.calls(always.ID); n != 2 {
		t.Errorf("always-panicking handler called %d times, want 2", n)
	}
	msgs := h.readAll(t, dlq, 1)
	checkDLQ(t, msgs[0], dlqWant{topic: h.topic, offset: 1, attempts: 2, group: h.group, reason: "panic",
		key: []byte(always.Subject), value: always.Data, header: [2]string{event.HeaderID, always.ID}})
}

// harness holds one subtest's broker, names and writer.
type harness struct {
	cfg    event.Config
	topic  string
	group  string
	writer *event.Writer
}

func newHarness(t *testing.T, brokers []string) *harness {
	t.Helper()
	name := uniqueName(t)
	h := &harness{
		cfg:   event.Config{Brokers: brokers},
		topic: "eventtest." + name,
		group: "eventtest." + name + ".consumer",
	}
	h.writer = event.NewWriter(h.cfg)
	t.Cleanup(func() {
		if err := h.writer.Close(); err != nil {
			t.Errorf("close writer: %v", err)
		}
	})
	return h
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// uniqueName is the subtest's name, made topic-safe, with a random suffix so
// that runs against a long-lived cluster never share state.
func uniqueName(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random name: %v", err)
	}
	name := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	return name + "-" + hex.EncodeToString(b[:])
}

// ctx is a context bounded by waitTimeout and by the test.
func (h *harness) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func (h *harness) ensure(t *testing.T, partitions int, topics ...string) {
	t.Helper()
	if err := event.EnsureTopics(h.ctx(t), h.cfg, partitions, topics...); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}
}

func (h *harness) newEvent(t *testing.T, typ, subject string, payload any) event.Event {
	t.Helper()
	now := time.Now()
	e, err := event.New(typ, "eventtest", subject, now.Add(-time.Minute), now, payload)
	if err != nil {
		t.Fatalf("new event: %v", err)
	}
	return e
}

func (h *harness) publish(t *testing.T, ctx context.Context, es ...event.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if err := h.writer.Publish(ctx, h.topic, es...); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// running is a consumer started by the harness.
type running struct {
	cancel context.CancelFunc
	done   chan error // receives Consume's result, once
	result *error
	once   sync.Once
}

// start runs Consume in a goroutine; the test's cleanup stops it.
func (h *harness) start(t *testing.T, cc event.ConsumerConfig, hd event.Handler) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- event.Consume(ctx, h.cfg, cc, hd) }()
	t.Cleanup(func() {
		if err := r.stop(t); err != nil {
			t.Errorf("consumer %s: %v", cc.Group, err)
		}
	})
	return r
}

// stop cancels the consumer and waits for Consume to return.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

// wait waits for Consume to return and gives its result; later calls give it
// again.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	r.once.Do(func() {
		var err error
		select {
		case err = <-r.done:
		case <-time.After(waitTimeout):
			err = errors.New("consume did not return after cancellation")
		}
		r.result = &err
	})
	return *r.result
}

// committed is the group's committed offset of a partition, -1 if none.
func (h *harness) committed(t *testing.T, group, topic string, partition int) int64 {
	t.Helper()
	c, closeClient := h.client()
	defer closeClient()
	res, err := c.OffsetFetch(h.ctx(t), &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {partition}}})
	if err != nil {
		t.Fatalf("fetch committed offsets: %v", err)
	}
	if res.Error != nil {
		t.Fatalf("fetch committed offsets: %v", res.Error)
	}
	for _, p := range res.Topics[topic] {
		if p.Partition == partition {
			if p.Error != nil {
				t.Fatalf("fetch committed offset of %s/%d: %v", topic, partition, p.Error)
			}
			return p.CommittedOffset
		}
	}
	return -1
}

// endOffset is the offset the next message on a partition will get.
func (h *harness) endOffset(t *testing.T, topic string, partition int) int64 {
	t.Helper()
	c, closeClient := h.client()
	defer closeClient()
	res, err := c.ListOffsets(h.ctx(t), &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{topic: {kafka.LastOffsetOf(partition)}}})
	if err != nil {
		t.Fatalf("list offsets: %v", err)
	}
	for _, p := range res.Topics[topic] {
		if p.Partition == partition {
			if p.Error != nil {
				t.Fatalf("list offsets of %s/%d: %v", topic, partition, p.Error)
			}
			return p.LastOffset
		}
	}
	t.Fatalf("list offsets: no answer for %s/%d", topic, partition)
	return 0
}

// client returns a kafka-go client with its own transport and its closer.
func (h *harness) client() (*kafka.Client, func()) {
	tr := &kafka.Transport{}
	return &kafka.Client{Addr: kafka.TCP(h.cfg.Brokers...), Transport: tr}, tr.CloseIdleConnections
}

// readAll reads the first n messages of partition 0 of a topic.
func (h *harness) readAll(t *testing.T, topic string, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: h.cfg.Brokers, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("close reader: %v", err)
		}
	}()
	ctx := h.ctx(t)
	msgs := make([]kafka.Message, 0, n)
	for len(msgs) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %s: got %d of %d messages: %v", topic, len(msgs), n, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

type dlqWant struct {
	topic      string
	offset     int64
	attempts   int
	group      string
	reason     string // a substring of x-dlq-reason
	key, value []byte
	header     [2]string // an original header that must survive
}

func checkDLQ(t *testing.T, m kafka.Message, w dlqWant) {
	t.Helper()
	want := map[string]string{
		event.HeaderDLQTopic:     w.topic,
		event.HeaderDLQPartition: "0",
		event.HeaderDLQOffset:    fmt.Sprint(w.offset),
		event.HeaderDLQAttempts:  fmt.Sprint(w.attempts),
		event.HeaderDLQConsumer:  w.group,
		w.header[0]:              w.header[1],
	}
	for k, v := range want {
		if got := header(m, k); got != v {
			t.Errorf("DLQ message at %d: header %s = %q, want %q", m.Offset, k, got, v)
		}
	}
	if got := header(m, event.HeaderDLQReason); !strings.Contains(got, w.reason) {
		t.Errorf("DLQ message at %d: reason %q does not mention %q", m.Offset, got, w.reason)
	}
	if string(m.Key) != string(w.key) || string(m.Value) != string(w.value) {
		t.Errorf("DLQ message at %d: key/value = %q/%q, want the original %q/%q", m.Offset, m.Key, m.Value, w.key, w.value)
	}
}

func header(m kafka.Message, key string) string {
	return event.HeaderCarrier{Headers: &m.Headers}.Get(key)
}

// spanContextOf parses W3C trace context headers.
func spanContextOf(t *testing.T, traceparent, tracestate string) trace.SpanContext {
	t.Helper()
	carrier := propagation.MapCarrier{"traceparent": traceparent, "tracestate": tracestate}
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier))
	if !sc.IsValid() {
		t.Fatalf("invalid traceparent %q", traceparent)
	}
	return sc
}

func ids(es []event.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// recorder records what a handler saw; tests wait on it.
type recorder struct {
	mu      sync.Mutex
	handled []event.Event  // successful calls, in order
	ncalls  map[string]int // calls per event ID
	changed chan struct{}  // closed and replaced on every change
}

func newRecorder() *recorder {
	return &recorder{ncalls: map[string]int{}, changed: make(chan struct{})}
}

// call counts a handler call and returns its number, from 1.
func (r *recorder) call(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ncalls[id]++
	r.notifyLocked()
	return r.ncalls[id]
}

// done records a successful call.
func (r *recorder) done(e event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handled = append(r.handled, e)
	r.notifyLocked()
}

func (r *recorder) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) calls(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ncalls[id]
}

func (r *recorder) snapshot() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.handled...)
}

func (r *recorder) byID() map[string]event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byIDLocked()
}

func (r *recorder) byIDLocked() map[string]event.Event {
	m := make(map[string]event.Event, len(r.handled))
	for _, e := range r.handled {
		m[e.ID] = e
	}
	return m
}

// wait blocks until cond, called with r locked, holds.
func (r *recorder) wait(t *testing.T, what string, cond func(r *recorder) bool) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		r.mu.Lock()
		ok, ch := cond(r), r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// dedupStore stands in for a service database: processed_events and the
// effect are written in one transaction, so an effect is applied once per
// event ID however often the event is delivered.
type dedupStore struct {
	mu         sync.Mutex
	processed  map[string]bool
	effects    map[string]int
	deliveries map[string]int
	changed    chan struct{}
}

func newDedupStore() *dedupStore {
	return &dedupStore{processed: map[string]bool{}, effects: map[string]int{}, deliveries: map[string]int{},
		changed: make(chan struct{})}
}

// apply is one handler transaction.
func (s *dedupStore) apply(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries[id]++
	if !s.processed[id] {
		s.processed[id] = true
		s.effects[id]++
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *dedupStore) wait(t *testing.T, cond func(s *dedupStore) bool) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		s.mu.Lock()
		ok, ch := cond(s), s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatal("timed out waiting for redelivery")
		}
	}
}
