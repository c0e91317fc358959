package event_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/event"
	"github.com/google/go-cmp/cmp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestTelemetry checks what an operator relies on: PRODUCER and CONSUMER
// spans in one trace, the consumer counters, and dead-letter logs that carry
// the event's coordinates but never its key or payload.
func TestTelemetry(t *testing.T) {
	b := startBroker(t)
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() {
		if err := errors.Join(tp.Shutdown(context.Background()), mp.Shutdown(context.Background())); err != nil {
			t.Errorf("shut down providers: %v", err)
		}
	})
	logs := &syncBuffer{}
	cfg := event.Config{Brokers: b.Addrs(), Tracing: tp, Metrics: mp,
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	const topic, group = "telemetry.thing.v1", "telemetry.test"
	ctx := t.Context()
	if err := event.EnsureTopics(ctx, cfg, 1, topic, event.DLQTopic(group)); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}

	const secret = "SECRET-PATIENT-42"
	good := mustEvent(t, "telemetry.thing.happened", secret, map[string]string{"name": secret})
	flaky := mustEvent(t, "telemetry.thing.happened", secret, map[string]string{"name": secret})
	w := event.NewWriter(cfg)
	defer closeWriter(t, w)

	// The handler fails flaky once, then rejects it: one retry, one dead letter.
	var mu sync.Mutex
	calls := map[string]int{}
	handled := make(chan string, 4)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- event.Consume(cctx, cfg, event.ConsumerConfig{Group: group, Topics: []string{topic},
			InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, DLQ: w},
			event.HandlerFunc(func(ctx context.Context, e event.Event) error {
				mu.Lock()
				calls[e.ID]++
				n := calls[e.ID]
				mu.Unlock()
				if !trace.SpanContextFromContext(ctx).IsValid() {
					t.Error("handler ctx has no span")
				}
				if e.ID == flaky.ID {
					if n == 1 {
						return errors.New("transient")
					}
					handled <- e.ID
					return event.Permanent(errors.New("rejected"))
				}
				handled <- e.ID
				return nil
			}))
	}()

	pctx, parent := tp.Tracer("test").Start(ctx, "request")
	if err := w.Publish(pctx, topic, good, flaky); err != nil {
		t.Fatalf("publish: %v", err)
	}
	parent.End()
	for range 2 {
		select {
		case <-handled:
		case <-time.After(30 * time.Second):
			t.Fatal("timed out waiting for the handler")
		}
	}
	// The commit of flaky follows its dead-lettering; wait for the DLQ write
	// to be logged before stopping, so the counters are final.
	deadline := time.After(30 * time.Second)
	for !strings.Contains(logs.String(), "event dead-lettered") {
		select {
		case <-deadline:
			t.Fatal("timed out waiting for the dead-letter log")
		case <-time.After(10 * time.Millisecond):
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Consume: %v", err)
	}

	t.Run("spans", func(t *testing.T) {
		var producer, consumers []sdktrace.ReadOnlySpan
		for _, s := range spans.Ended() {
			switch {
			case s.SpanKind() == trace.SpanKindProducer && s.Name() == "publish "+topic:
				producer = append(producer, s)
			case s.SpanKind() == trace.SpanKindConsumer:
				consumers = append(consumers, s)
			}
		}
		if len(producer) != 1 || len(consumers) != 2 {
			t.Fatalf("got %d producer and %d consumer spans, want 1 and 2", len(producer), len(consumers))
		}
		p := producer[0]
		if p.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("producer span's parent = %s, want the caller's span", p.Parent().SpanID())
		}
		for _, c := range consumers {
			if c.Parent().SpanID() != p.SpanContext().SpanID() || c.Parent().TraceID() != p.SpanContext().TraceID() {
				t.Errorf("consumer span %s: parent = %v, want the producer span", c.Name(), c.Parent())
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		got := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case metricdata.Sum[int64]:
					for _, dp := range d.DataPoints {
						got[m.Name] += dp.Value
						if g, _ := dp.Attributes.Value("group"); g.AsString() != group {
							t.Errorf("%s: group attribute = %q", m.Name, g.AsString())
						}
						if tp, _ := dp.Attributes.Value("topic"); tp.AsString() != topic {
							t.Errorf("%s: topic attribute = %q", m.Name, tp.AsString())
						}
					}
				case metricdata.Gauge[int64]:
					got[m.Name] = int64(len(d.DataPoints))
				}
			}
		}
		want := map[string]int64{
			"attest.consumer.processed":     1,
			"attest.consumer.retried":       1,
			"attest.consumer.dead_lettered": 1,
			"attest.consumer.lag":           1, // one data point, for the group
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("metrics (-want +got):\n%s", diff)
		}
	})

	t.Run("logs", func(t *testing.T) {
		out := logs.String()
		for _, want := range []string{flaky.ID, "telemetry.thing.happened", `"topic":"` + topic, `"offset":1`, `"partition":0`, "rejected"} {
			if !strings.Contains(out, want) {
				t.Errorf("dead-letter log lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, secret) {
			t.Errorf("log leaks the key or payload:\n%s", out)
		}
	})
}

func mustEvent(t testing.TB, typ, subject string, payload any) event.Event {
	t.Helper()
	e, err := event.New(typ, "test", subject, time.Now(), time.Now(), payload)
	if err != nil {
		t.Fatalf("new event: %v", err)
	}
	return e
}

func closeWriter(t *testing.T, w *event.Writer) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Errorf("close writer: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the consumer's and the test's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
