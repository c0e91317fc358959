package event

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// ReadStats count what ReadTopics read.
type ReadStats struct {
	Events  int // events handed to the callback
	Skipped int // messages that are not events (a consumer would dead-letter them)
}

// ReadTopics reads every message the topics hold up to their high watermarks at the
// call — without a consumer group, committing nothing — and hands the events to fn in
// batches of at most batch, partition after partition, each in offset order, so one
// key's events on one topic keep their order. A rebuild reads the whole history
// through it. fn's error stops the reading and is returned.
func ReadTopics(ctx context.Context, cfg Config, topics []string, batch int, fn func([]Event) error) (ReadStats, error) {
	var st ReadStats
	if batch < 1 {
		return st, fmt.Errorf("read topics: batch %d < 1", batch)
	}
	c, closeClient, err := newClient(cfg)
	if err != nil {
		return st, fmt.Errorf("read topics: %w", err)
	}
	defer closeClient()
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return st, fmt.Errorf("read topics: metadata: %w", err)
	}
	reqs := map[string][]kafka.OffsetRequest{}
	for _, t := range md.Topics {
		if t.Error != nil {
			return st, fmt.Errorf("read topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			reqs[t.Name] = append(reqs[t.Name], kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
		}
	}
	offs, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: reqs})
	if err != nil {
		return st, fmt.Errorf("read topics: offsets: %w", err)
	}
	buf := make([]Event, 0, batch)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		err := fn(buf)
		buf = buf[:0]
		return err
	}
	for _, topic := range topics {
		for _, po := range offs.Topics[topic] {
			if po.Error != nil {
				return st, fmt.Errorf("read %s partition %d: %w", topic, po.Partition, po.Error)
			}
			err := readPartition(ctx, cfg, topic, po.Partition, po.FirstOffset, po.LastOffset, func(m kafka.Message) error {
				e, err := FromMessage(m)
				if err != nil {
					st.Skipped++
					return nil
				}
				st.Events++
				buf = append(buf, e)
				if len(buf) == batch {
					return flush()
				}
				return nil
			})
			if err != nil {
				return st, err
			}
		}
	}
	return st, flush()
}

// readPartition calls fn with each message of one partition in [first, end).
func readPartition(ctx context.Context, cfg Config, topic string, partition int, first, end int64, fn func(kafka.Message) error) (err error) {
	if first >= end {
		return nil
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: cfg.Brokers, Topic: topic, Partition: partition, MaxWait: 100 * time.Millisecond,
	})
	defer func() { err = errors.Join(err, r.Close()) }()
	if err := r.SetOffset(first); err != nil {
		return fmt.Errorf("read %s/%d: %w", topic, partition, err)
	}
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return fmt.Errorf("read %s/%d: %w", topic, partition, err)
		}
		if err := fn(m); err != nil {
			return err
		}
		if m.Offset >= end-1 {
			return nil
		}
	}
}
