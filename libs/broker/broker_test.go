package broker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/broker"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind. Nothing is
// ignored: kfake stops its run loop and connection goroutines on Close, and the
// kafka-go clients here are closed with their own transports.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStartProduceConsume(t *testing.T) {
	b := start(t, broker.Config{Addr: "127.0.0.1:0", Topics: []string{"seeded.v1"}})
	addrs := b.Addrs()
	if len(addrs) != 1 || !strings.HasPrefix(addrs[0], "127.0.0.1:") || strings.HasSuffix(addrs[0], ":0") {
		t.Fatalf("Addrs = %v, want one 127.0.0.1 address with a real port", addrs)
	}
	md := metadata(t, addrs, "seeded.v1")
	if got := len(md.Topics[0].Partitions); got != broker.DefaultPartitions {
		t.Errorf("seeded topic has %d partitions, want %d", got, broker.DefaultPartitions)
	}
	// An unknown topic is created on first produce.
	want := []string{"one", "two", "three"}
	produce(t, addrs, "auto.v1", want...)
	got := readAll(t, addrs, "auto.v1")
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if n := len(metadata(t, addrs, "auto.v1").Topics[0].Partitions); n != broker.DefaultPartitions {
		t.Errorf("auto-created topic has %d partitions, want %d", n, broker.DefaultPartitions)
	}
}

func TestStartInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  broker.Config
		want string
	}{
		{"no port", broker.Config{Addr: "127.0.0.1"}, "addr"},
		{"bad port", broker.Config{Addr: "127.0.0.1:x"}, "port"},
		{"negative nodes", broker.Config{Addr: "127.0.0.1:0", Nodes: -1}, "nodes"},
		{"negative partitions", broker.Config{Addr: "127.0.0.1:0", Partitions: -2}, "partitions"},
		{"ports past 65535", broker.Config{Addr: "127.0.0.1:65535", Nodes: 2}, "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := broker.Start(tc.cfg)
			if err == nil {
				t.Cleanup(func() { _ = b.Close() })
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestRestartKeepsState: records and a group's committed offsets survive a
// restart on the same DataDir, and a group consumer resumes right after its
// last commit.
func TestRestartKeepsState(t *testing.T) {
	const topic, group = "persist.v1", "persist.consumer"
	dir := t.TempDir()
	cfg := broker.Config{Addr: "127.0.0.1:0", DataDir: dir, Partitions: 1, Topics: []string{topic}}
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprintf("record-%d", i))
	}

	b := start(t, cfg)
	produce(t, b.Addrs(), topic, want...)
	r := groupReader(b.Addrs(), group, topic)
	for i := range 4 {
		m, err := r.FetchMessage(ctxT(t))
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		if err := r.CommitMessages(ctxT(t), m); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	closeReader(t, r)
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	// The second start also seeds a topic the first run did not have.
	cfg.Topics = append(cfg.Topics, "added.v1")
	b = start(t, cfg)
	if got := values(readPartition(t, b.Addrs(), topic, 0, len(want))); !cmp.Equal(got, want) {
		t.Errorf("after restart read %v, want %v", got, want)
	}
	if md := metadata(t, b.Addrs(), "added.v1"); md.Topics[0].Error != nil {
		t.Errorf("topic added on restart: %v", md.Topics[0].Error)
	}
	r = groupReader(b.Addrs(), group, topic)
	defer closeReader(t, r)
	m, err := r.FetchMessage(ctxT(t))
	if err != nil {
		t.Fatalf("fetch after restart: %v", err)
	}
	if m.Offset != 4 || string(m.Value) != "record-4" {
		t.Errorf("group resumed at offset %d (%q), want 4 (record-4)", m.Offset, m.Value)
	}
	// New records continue the log rather than overwrite it.
	produce(t, b.Addrs(), topic, "record-10")
	if got := readPartition(t, b.Addrs(), topic, 0, 11)[10]; got.Offset != 10 || string(got.Value) != "record-10" {
		t.Errorf("new record at offset %d (%q), want 10", got.Offset, got.Value)
	}
}

func TestMultiNode(t *testing.T) {
	const topic = "multi.v1"
	// kfake picks each partition's leader at random: with 24 partitions all on
	// one node has odds of 3^-23.
	b := start(t, broker.Config{Addr: "127.0.0.1:0", Nodes: 3, Partitions: 24, Topics: []string{topic}})
	addrs := b.Addrs()
	if len(addrs) != 3 || len(slices.Compact(slices.Sorted(slices.Values(addrs)))) != 3 {
		t.Fatalf("Addrs = %v, want 3 distinct addresses", addrs)
	}
	// Bootstrapping from one node is enough: clients learn the others.
	md := metadata(t, addrs[:1], topic)
	if len(md.Brokers) != 3 {
		t.Errorf("metadata lists %d brokers, want 3", len(md.Brokers))
	}
	leaders := map[int]bool{}
	for _, p := range md.Topics[0].Partitions {
		leaders[p.Leader.ID] = true
	}
	if len(leaders) < 2 {
		t.Errorf("partition leaders %v, want them spread over nodes", leaders)
	}
	// A topic with replication factor 3 can be created.
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(addrs[0]), Transport: tr}
	res, err := c.CreateTopics(ctxT(t), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: "replicated.v1", NumPartitions: 3, ReplicationFactor: 3}}})
	if err != nil || res.Errors["replicated.v1"] != nil {
		t.Fatalf("create replicated topic: %v %v", err, res)
	}
	// Every partition, whichever node leads it, takes writes and serves reads.
	var want []string
	for i := range 30 {
		want = append(want, fmt.Sprintf("v%02d", i))
	}
	produce(t, addrs[:1], topic, want...)
	got := readAll(t, addrs, topic)
	slices.Sort(got)
	if !cmp.Equal(got, want) {
		t.Errorf("read back %v, want %v", got, want)
	}
}

func start(t *testing.T, cfg broker.Config) *broker.Broker {
	t.Helper()
	b, err := broker.Start(cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() }) // Close is idempotent
	return b
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// produce writes values with distinct keys, so they spread over partitions.
func produce(t *testing.T, addrs []string, topic string, vals ...string) {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(addrs...), Transport: tr, Topic: topic, Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, AllowAutoTopicCreation: true}
	msgs := make([]kafka.Message, len(vals))
	for i, v := range vals {
		msgs[i] = kafka.Message{Key: []byte(v), Value: []byte(v)}
	}
	err := w.WriteMessages(ctxT(t), msgs...)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

func readPartition(t *testing.T, addrs []string, topic string, partition, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: addrs, Topic: topic, Partition: partition, MaxWait: 100 * time.Millisecond})
	defer closeReader(t, r)
	var msgs []kafka.Message
	for len(msgs) < n {
		m, err := r.ReadMessage(ctxT(t))
		if err != nil {
			t.Fatalf("read %s/%d: %d of %d: %v", topic, partition, len(msgs), n, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// groupReader is tuned as package event tunes its consumers, so that joining
// and closing take milliseconds, not seconds.
func groupReader(addrs []string, group, topic string) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{Brokers: addrs, GroupID: group, GroupTopics: []string{topic},
		StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond,
		RebalanceTimeout: 2 * time.Second, JoinGroupBackoff: 100 * time.Millisecond})
}

func closeReader(t *testing.T, r *kafka.Reader) {
	t.Helper()
	if err := r.Close(); err != nil {
		t.Errorf("close reader: %v", err)
	}
}

func metadata(t *testing.T, addrs []string, topics ...string) *kafka.MetadataResponse {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(addrs...), Transport: tr}
	md, err := c.Metadata(ctxT(t), &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	return md
}

func endOffset(t *testing.T, addrs []string, topic string, partition int) int64 {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(addrs...), Transport: tr}
	res, err := c.ListOffsets(ctxT(t), &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{topic: {kafka.LastOffsetOf(partition)}}})
	if err != nil {
		t.Fatalf("list offsets: %v", err)
	}
	return res.Topics[topic][0].LastOffset
}

// readAll reads every record of every partition of a topic.
func readAll(t *testing.T, addrs []string, topic string) []string {
	t.Helper()
	var got []string
	for _, p := range metadata(t, addrs, topic).Topics[0].Partitions {
		if n := endOffset(t, addrs, topic, p.ID); n > 0 {
			got = append(got, values(readPartition(t, addrs, topic, p.ID, int(n)))...)
		}
	}
	return got
}

func values(msgs []kafka.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Value)
	}
	return out
}
