package event

import (
	"context"
	"fmt"
	"slices"

	"github.com/segmentio/kafka-go"
)

// Lag is how far consumer groups are behind: for every group the cluster knows, the
// messages of the topics its members subscribe to that it has not committed yet.
type Lag struct {
	Messages int64    // behind the end of the partitions, over all groups
	Unstable []string // groups rebalancing or without members: their lag is unknown
}

// CaughtUp reports whether every group has committed every message of its topics.
func (l Lag) CaughtUp() bool { return l.Messages == 0 && len(l.Unstable) == 0 }

// GroupLag measures every consumer group's lag against the end offsets read in the
// same call. A test harness (attest conformance) uses it, with the producers' outboxes
// empty, to know that the pipeline has consumed everything written so far.
func GroupLag(ctx context.Context, cfg Config) (Lag, error) {
	c, closeClient, err := newClient(cfg)
	if err != nil {
		return Lag{}, fmt.Errorf("group lag: %w", err)
	}
	defer closeClient()
	lg, err := c.ListGroups(ctx, &kafka.ListGroupsRequest{})
	if err == nil {
		err = lg.Error
	}
	if err != nil {
		return Lag{}, fmt.Errorf("group lag: list groups: %w", err)
	}
	var ids []string
	for _, g := range lg.Groups {
		ids = append(ids, g.GroupID)
	}
	slices.Sort(ids)
	var lag Lag
	if len(ids) == 0 {
		return lag, nil
	}
	dg, err := c.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: ids})
	if err != nil {
		return Lag{}, fmt.Errorf("group lag: describe groups: %w", err)
	}
	subscribed := map[string][]string{}
	all := map[string]bool{}
	for _, g := range dg.Groups {
		if g.Error != nil {
			return Lag{}, fmt.Errorf("group lag: describe %s: %w", g.GroupID, g.Error)
		}
		if g.GroupState != "Stable" || len(g.Members) == 0 {
			lag.Unstable = append(lag.Unstable, g.GroupID)
			continue
		}
		for _, m := range g.Members {
			for _, t := range m.MemberMetadata.Topics {
				if !slices.Contains(subscribed[g.GroupID], t) {
					subscribed[g.GroupID] = append(subscribed[g.GroupID], t)
				}
				all[t] = true
			}
		}
	}
	if len(all) == 0 {
		return lag, nil
	}
	topics := make([]string, 0, len(all))
	for t := range all {
		topics = append(topics, t)
	}
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return Lag{}, fmt.Errorf("group lag: metadata: %w", err)
	}
	parts := map[string][]int{}
	req := map[string][]kafka.OffsetRequest{}
	for _, t := range md.Topics {
		if t.Error != nil {
			return Lag{}, fmt.Errorf("group lag: topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			parts[t.Name] = append(parts[t.Name], p.ID)
			req[t.Name] = append(req[t.Name], kafka.LastOffsetOf(p.ID))
		}
	}
	lo, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		return Lag{}, fmt.Errorf("group lag: list offsets: %w", err)
	}
	end := map[string]map[int]int64{}
	for t, ps := range lo.Topics {
		end[t] = map[int]int64{}
		for _, p := range ps {
			if p.Error != nil {
				return Lag{}, fmt.Errorf("group lag: end of %s/%d: %w", t, p.Partition, p.Error)
			}
			end[t][p.Partition] = p.LastOffset
		}
	}
	for _, g := range ids {
		ts := subscribed[g]
		if len(ts) == 0 {
			continue
		}
		want := map[string][]int{}
		for _, t := range ts {
			want[t] = parts[t]
		}
		of, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: g, Topics: want})
		if err == nil {
			err = of.Error
		}
		if err != nil {
			return Lag{}, fmt.Errorf("group lag: committed offsets of %s: %w", g, err)
		}
		committed := map[string]map[int]int64{}
		for t, ps := range of.Topics {
			committed[t] = map[int]int64{}
			for _, p := range ps {
				committed[t][p.Partition] = p.CommittedOffset
			}
		}
		for _, t := range ts {
			for _, p := range parts[t] {
				e := end[t][p]
				c, ok := committed[t][p]
				if !ok || c < 0 {
					c = 0
				}
				if e > c {
					lag.Messages += e - c
				}
			}
		}
	}
	return lag, nil
}
