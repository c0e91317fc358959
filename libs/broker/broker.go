// Package broker runs an embedded, in-process Kafka-protocol broker (kfake,
// from github.com/twmb/franz-go) that clients reach over TCP exactly as they
// reach Kafka. The all-in-one binary starts it when no KAFKA_BROKERS is set, and
// tests start one per package; services cannot tell it from a real cluster.
//
// It is for development and tests: one process, no replication between nodes
// (more nodes only spread partition leaders), and durability only through the
// optional data directory.
package broker

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Config configures Start. The zero value is a one-node, in-memory broker on
// 127.0.0.1:9092.
type Config struct {
	// Addr is host:port of the first node; node i listens on port+i. Port 0
	// picks a free port for every node (tests). The host is also what nodes
	// advertise in metadata, so it must be reachable by clients: bind a
	// concrete address, not 0.0.0.0. Default: "127.0.0.1:9092".
	Addr string

	// Nodes is how many broker nodes to run. More nodes spread partition
	// leaders and group coordinators, as in scale-out tests. Default: 1.
	Nodes int

	// DataDir, if set, is where records, topics and committed group offsets are
	// kept, so they survive a restart on the same directory; every write is
	// fsynced. Default: "", everything in memory and lost on Close.
	DataDir string

	// Partitions is the partition count of auto-created topics and of Topics.
	// Default: 3.
	Partitions int

	// Topics are created at start if they do not exist yet (also when
	// restarting on a DataDir that predates them). Default: none; producers
	// may auto-create topics anyway.
	Topics []string
}

// Defaults of Config.
const (
	DefaultAddr       = "127.0.0.1:9092"
	DefaultNodes      = 1
	DefaultPartitions = 3
)

// Broker is a running embedded broker.
type Broker struct {
	c *kfake.Cluster
}

// Start starts a broker and returns once it accepts connections.
func Start(cfg Config) (*Broker, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Nodes == 0 {
		cfg.Nodes = DefaultNodes
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = DefaultPartitions
	}
	host, port, err := splitAddr(cfg.Addr)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if cfg.Nodes < 1 {
		errs = append(errs, fmt.Errorf("nodes %d < 1", cfg.Nodes))
	}
	if cfg.Partitions < 1 {
		errs = append(errs, fmt.Errorf("partitions %d < 1", cfg.Partitions))
	}
	if port != 0 && port+cfg.Nodes-1 > 65535 {
		errs = append(errs, fmt.Errorf("ports %d..%d out of range", port, port+cfg.Nodes-1))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("start broker: %w", err)
	}

	ports := make([]int, cfg.Nodes) // all 0: each node gets a free port
	if port != 0 {
		for i := range ports {
			ports[i] = port + i
		}
	}
	opts := []kfake.Opt{
		kfake.Ports(ports...),
		// kfake always listens on 127.0.0.1; swap in our host, keeping its port.
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			_, p, err := net.SplitHostPort(address)
			if err != nil {
				return nil, fmt.Errorf("listen address %s: %w", address, err)
			}
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(cfg.Partitions),
		kfake.ClusterID("attest-embedded"),
	}
	if len(cfg.Topics) > 0 {
		opts = append(opts, kfake.SeedTopics(int32(cfg.Partitions), cfg.Topics...))
	}
	if cfg.DataDir != "" {
		// SyncWrites fsyncs every batch and group log entry. Without it kfake
		// syncs only on Close, so a crashed process (kill -9, an OOM) would lose
		// records that producers were told were written with acks=all.
		opts = append(opts, kfake.DataDir(cfg.DataDir), kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start broker on %s: %w", cfg.Addr, err)
	}
	b := &Broker{c: c}
	// kfake seeds topics only into a fresh cluster; on a DataDir from an
	// earlier run, create the Topics that run did not have.
	for _, t := range cfg.Topics {
		if c.TopicInfo(t) != nil {
			continue
		}
		if err := c.CreateTopic(t, int32(cfg.Partitions), nil); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return nil, errors.Join(fmt.Errorf("start broker: create topic %s: %w", t, err), b.Close())
		}
	}
	return b, nil
}

// Addrs returns the host:port of every node, for Kafka clients' bootstrap list.
func (b *Broker) Addrs() []string { return b.c.ListenAddrs() }

// Close stops the broker, closing client connections. With a DataDir it first
// writes its state there, so a later Start on the directory resumes it.
func (b *Broker) Close() error {
	// kfake.Cluster.Close reports no error; persistence failures go to its
	// logger.
	b.c.Close()
	return nil
}

func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("addr %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("addr %q: bad port", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, nil
}
