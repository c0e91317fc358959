package event

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// DeadLetter is one message parked on a dead-letter topic, with why and where from.
// It carries the original message unchanged, so it can be driven again.
type DeadLetter struct {
	Partition int   // where it sits in the dead-letter topic
	Offset    int64 //
	Reason    string
	Topic     string // where it was read from
	From      string // "<partition>/<offset>" in Topic
	Attempts  int
	Consumer  string // the group that gave up on it
	EventID   string // ce_id, if it was an event
	Type      string // ce_type, if it was an event
	Message   kafka.Message
}

// ReadDeadLetters returns every message currently on the group's dead-letter topic,
// by partition and offset. It reads without a consumer group and commits nothing.
func ReadDeadLetters(ctx context.Context, cfg Config, group string) ([]DeadLetter, error) {
	topic := DLQTopic(group)
	c, closeClient, err := newClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topic, err)
	}
	defer closeClient()
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("read %s: metadata: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return nil, nil // no dead-letter topic: nothing was ever dead-lettered
	}
	var reqs []kafka.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	offs, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("read %s: offsets: %w", topic, err)
	}
	var out []DeadLetter
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("read %s partition %d: %w", topic, po.Partition, po.Error)
		}
		msgs, err := readRange(ctx, cfg, topic, po.Partition, po.FirstOffset, po.LastOffset)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			out = append(out, deadLetter(m))
		}
	}
	return out, nil
}

// readRange reads the messages of one partition in [first, end).
func readRange(ctx context.Context, cfg Config, topic string, partition int, first, end int64) ([]kafka.Message, error) {
	if first >= end {
		return nil, nil
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: cfg.Brokers, Topic: topic, Partition: partition, MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(first); err != nil {
		return nil, fmt.Errorf("read %s/%d: %w", topic, partition, err)
	}
	var msgs []kafka.Message
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read %s/%d at %d: %w", topic, partition, first+int64(len(msgs)), err)
		}
		msgs = append(msgs, m)
		if m.Offset >= end-1 {
			return msgs, nil
		}
	}
}

func deadLetter(m kafka.Message) DeadLetter {
	h := HeaderCarrier{Headers: &m.Headers}
	attempts, _ := strconv.Atoi(h.Get(HeaderDLQAttempts))
	return DeadLetter{
		Partition: m.Partition, Offset: m.Offset, Reason: h.Get(HeaderDLQReason), Topic: h.Get(HeaderDLQTopic),
		From: h.Get(HeaderDLQPartition) + "/" + h.Get(HeaderDLQOffset), Attempts: attempts,
		Consumer: h.Get(HeaderDLQConsumer), EventID: h.Get(HeaderID), Type: h.Get(HeaderType), Message: m,
	}
}

// Redrive publishes dead letters back to the topics they came from, unchanged but for
// the x-dlq-* headers, so their consumer group handles them again — after the cause
// was fixed. Consumers are idempotent by event ID, so driving an event that was in
// fact applied changes nothing; one that fails again is dead-lettered again.
func Redrive(ctx context.Context, w MessageWriter, dls []DeadLetter) error {
	for _, dl := range dls {
		if dl.Topic == "" {
			return fmt.Errorf("dead letter %d/%d: no %s header, cannot tell where it came from", dl.Partition, dl.Offset, HeaderDLQTopic)
		}
		m := kafka.Message{Key: dl.Message.Key, Value: dl.Message.Value}
		for _, h := range dl.Message.Headers {
			if !strings.HasPrefix(h.Key, "x-dlq-") {
				m.Headers = append(m.Headers, h)
			}
		}
		if err := w.WriteMessages(ctx, dl.Topic, m); err != nil {
			return fmt.Errorf("redrive dead letter %d/%d to %s: %w", dl.Partition, dl.Offset, dl.Topic, err)
		}
	}
	return nil
}
