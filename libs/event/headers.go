package event

import (
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/propagation"
)

// Header names of the CloudEvents Kafka protocol binding, binary content mode
// (cloudevents/spec: bindings/kafka-protocol-binding.md): every attribute is a
// ce_-prefixed header and the Kafka value is the data, as is.
const (
	HeaderSpecVersion  = "ce_specversion"
	HeaderID           = "ce_id"
	HeaderType         = "ce_type"
	HeaderSource       = "ce_source"
	HeaderSubject      = "ce_subject"
	HeaderTime         = "ce_time"
	HeaderRecordedTime = "ce_recordedtime" // extension attribute "recordedtime"
	HeaderContentType  = "content-type"
	HeaderTraceparent  = "traceparent"
	HeaderTracestate   = "tracestate"
)

// SpecVersion is the only CloudEvents version this package writes and accepts.
const SpecVersion = "1.0"

// ContentType is the content type of every event's data.
const ContentType = "application/json"

// ToMessage maps e to a Kafka message in CloudEvents binary mode. The key is the
// subject, so that the hash balancer keeps one subject's events on one partition,
// in order. A zero Time or RecordedAt and an empty Subject or Traceparent are
// left out rather than written as empty headers; FromMessage maps them back to
// zero values. Topic, Partition and Offset are not mapped: the writer chooses them.
func ToMessage(e Event) kafka.Message {
	hs := make([]kafka.Header, 0, 9)
	add := func(k, v string) { hs = append(hs, kafka.Header{Key: k, Value: []byte(v)}) }
	add(HeaderSpecVersion, SpecVersion)
	add(HeaderID, e.ID)
	add(HeaderType, e.Type)
	add(HeaderSource, e.Source)
	if e.Subject != "" {
		add(HeaderSubject, e.Subject)
	}
	if !e.Time.IsZero() {
		add(HeaderTime, e.Time.UTC().Format(time.RFC3339Nano))
	}
	if !e.RecordedAt.IsZero() {
		add(HeaderRecordedTime, e.RecordedAt.UTC().Format(time.RFC3339Nano))
	}
	add(HeaderContentType, ContentType)
	if e.Traceparent != "" {
		add(HeaderTraceparent, e.Traceparent)
	}
	var key []byte
	if e.Subject != "" {
		key = []byte(e.Subject)
	}
	return kafka.Message{Key: key, Value: e.Data, Headers: hs}
}

// FromMessage maps a Kafka message in CloudEvents binary mode back to an Event,
// with Topic, Partition and Offset taken from the message.
//
// ce_specversion (which must be "1.0"), ce_id, ce_type and ce_source are
// required, as in CloudEvents; ce_time and ce_recordedtime are optional but must
// be RFC 3339 when present. A message that breaks these rules can never be
// processed, so the error is marked Permanent. It names the header at fault,
// never a value, since values and payload may carry PHI.
func FromMessage(m kafka.Message) (Event, error) {
	c := HeaderCarrier{Headers: &m.Headers}
	e := Event{
		ID:          c.Get(HeaderID),
		Type:        c.Get(HeaderType),
		Source:      c.Get(HeaderSource),
		Subject:     c.Get(HeaderSubject),
		Data:        m.Value,
		Traceparent: c.Get(HeaderTraceparent),
		Topic:       m.Topic,
		Partition:   m.Partition,
		Offset:      m.Offset,
	}
	switch v := c.Get(HeaderSpecVersion); {
	case v == "":
		return Event{}, Permanent(fmt.Errorf("message %s/%d/%d: missing header %s", m.Topic, m.Partition, m.Offset, HeaderSpecVersion))
	case v != SpecVersion:
		// The value is a version string, not PHI; naming it helps whoever reads the DLQ.
		return Event{}, Permanent(fmt.Errorf("message %s/%d/%d: header %s: unsupported version %q", m.Topic, m.Partition, m.Offset, HeaderSpecVersion, v))
	}
	for _, r := range []struct{ header, value string }{
		{HeaderID, e.ID}, {HeaderType, e.Type}, {HeaderSource, e.Source},
	} {
		if r.value == "" {
			return Event{}, Permanent(fmt.Errorf("message %s/%d/%d: missing header %s", m.Topic, m.Partition, m.Offset, r.header))
		}
	}
	var err error
	if e.Time, err = parseTime(c, HeaderTime); err != nil {
		return Event{}, Permanent(fmt.Errorf("message %s/%d/%d: %w", m.Topic, m.Partition, m.Offset, err))
	}
	if e.RecordedAt, err = parseTime(c, HeaderRecordedTime); err != nil {
		return Event{}, Permanent(fmt.Errorf("message %s/%d/%d: %w", m.Topic, m.Partition, m.Offset, err))
	}
	return e, nil
}

// parseTime reads an optional RFC 3339 header. The parse error is dropped from
// the message because time.Parse quotes the offending value.
func parseTime(c HeaderCarrier, header string) (time.Time, error) {
	v := c.Get(header)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("header %s: not an RFC 3339 time", header)
	}
	return t.UTC(), nil
}

// HeaderCarrier adapts Kafka message headers to propagation.TextMapCarrier, so
// that W3C trace context (traceparent, tracestate) can be injected into and
// extracted from a message. It holds a pointer so that Set can grow the slice
// the message owns.
type HeaderCarrier struct {
	Headers *[]kafka.Header
}

var _ propagation.TextMapCarrier = HeaderCarrier{}

// Get returns the value of the first header named key, or "".
func (c HeaderCarrier) Get(key string) string {
	if c.Headers == nil {
		return ""
	}
	for _, h := range *c.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Set replaces every header named key by one with the value, so that
// re-injecting trace context never leaves a stale traceparent behind.
func (c HeaderCarrier) Set(key, value string) {
	if c.Headers == nil {
		return
	}
	hs := (*c.Headers)[:0:0]
	for _, h := range *c.Headers {
		if h.Key != key {
			hs = append(hs, h)
		}
	}
	*c.Headers = append(hs, kafka.Header{Key: key, Value: []byte(value)})
}

// Keys lists the header names, in order, including repeats.
func (c HeaderCarrier) Keys() []string {
	if c.Headers == nil {
		return nil
	}
	ks := make([]string, 0, len(*c.Headers))
	for _, h := range *c.Headers {
		ks = append(ks, h.Key)
	}
	return ks
}
