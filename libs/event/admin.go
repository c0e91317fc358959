package event

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// adminTimeout bounds an admin request when ctx has no deadline.
const adminTimeout = 10 * time.Second

// maxReplicationFactor is the replication factor of topics we create on a
// cluster big enough: acks from all of 3 in-sync replicas survive one broker loss.
const maxReplicationFactor = 3

// EnsureTopics creates those of topics that do not exist yet, with the given
// number of partitions and a replication factor of min(3, brokers in the
// cluster). Existing topics are left as they are, whatever their partition
// count. Services call it at start for the topics they own and consume, since
// a consumer group gets no partitions of a topic that does not exist.
func EnsureTopics(ctx context.Context, cfg Config, partitions int, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	if partitions < 1 {
		return fmt.Errorf("ensure topics %v: partitions %d < 1", topics, partitions)
	}
	c, closeClient, err := newClient(cfg)
	if err != nil {
		return fmt.Errorf("ensure topics %v: %w", topics, err)
	}
	defer closeClient()

	md, err := c.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return fmt.Errorf("ensure topics %v: read cluster metadata: %w", topics, err)
	}
	rf := min(maxReplicationFactor, len(md.Brokers))
	if rf < 1 {
		return fmt.Errorf("ensure topics %v: cluster reports no brokers", topics)
	}
	existing := make(map[string]bool, len(md.Topics))
	for _, t := range md.Topics {
		existing[t.Name] = t.Error == nil
	}
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		if !existing[t] {
			req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: rf})
		}
	}
	if len(req.Topics) == 0 {
		return nil
	}
	res, err := c.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("ensure topics %v: create: %w", topics, err)
	}
	var errs []error
	for name, err := range res.Errors {
		// Another replica of the service may have won the race: that is fine.
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ensure topics: %w", err)
	}
	return nil
}

// Ping checks that the cluster is reachable and answers a metadata request; it
// backs /readyz. Bound it with ctx.
func Ping(ctx context.Context, cfg Config) error {
	c, closeClient, err := newClient(cfg)
	if err != nil {
		return fmt.Errorf("ping kafka: %w", err)
	}
	defer closeClient()
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return fmt.Errorf("ping kafka: %w", err)
	}
	if len(md.Brokers) == 0 {
		return errors.New("ping kafka: cluster reports no brokers")
	}
	return nil
}

// newClient returns a client with its own transport, and a function that
// closes the transport's connections: kafka.DefaultTransport would keep them,
// and their goroutines, for the life of the process.
func newClient(cfg Config) (*kafka.Client, func(), error) {
	if len(cfg.Brokers) == 0 {
		return nil, nil, errNoBrokers
	}
	tr := &kafka.Transport{}
	c := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr, Timeout: adminTimeout}
	return c, tr.CloseIdleConnections, nil
}
