package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/event"
)

// runDLQ lists or replays a consumer group's dead letters (docs/runbooks/dlq.md).
func runDLQ(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "replay") {
		return errors.New("usage: attest dlq list|replay --group G [--all | --event ID ...]")
	}
	verb := args[0]
	fs := flag.NewFlagSet("dlq "+verb, flag.ContinueOnError)
	group := fs.String("group", "", "the consumer group, e.g. metrics.records")
	all := fs.Bool("all", false, "replay every dead letter of the group")
	var ids stringList
	fs.Var(&ids, "event", "an event ID to replay (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *group == "" {
		return errors.New("--group is required")
	}
	env, err := app.EnvFrom(getenv)
	if err != nil {
		return err
	}
	if len(env.Brokers) == 0 {
		return errors.New("KAFKA_BROKERS is required (attest run prints the embedded broker's address)")
	}
	cfg := event.Config{Brokers: env.Brokers}
	dls, err := event.ReadDeadLetters(ctx, cfg, *group)
	if err != nil {
		return err
	}
	if verb == "list" {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DLQ OFFSET\tEVENT ID\tTYPE\tFROM\tATTEMPTS\tREASON")
		for _, dl := range dls {
			fmt.Fprintf(tw, "%d/%d\t%s\t%s\t%s %s\t%d\t%s\n", dl.Partition, dl.Offset, orDash(dl.EventID), orDash(dl.Type),
				dl.Topic, dl.From, dl.Attempts, dl.Reason)
		}
		fmt.Fprintf(tw, "%d dead letters on %s\n", len(dls), event.DLQTopic(*group))
		return tw.Flush()
	}
	if !*all && len(ids) == 0 {
		return errors.New("replay needs --all or at least one --event ID")
	}
	var pick []event.DeadLetter
	for _, dl := range dls {
		if *all || slices.Contains(ids, dl.EventID) {
			pick = append(pick, dl)
		}
	}
	w := event.NewWriter(cfg)
	defer w.Close()
	if err := event.Redrive(ctx, w, pick); err != nil {
		return err
	}
	fmt.Fprintf(out, "replayed %d of %d dead letters to their topics\n", len(pick), len(dls))
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
