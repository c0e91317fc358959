package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/services/metrics"
	"github.com/attest-ehr/attest/services/platform"
)

// runReplay rebuilds a service's derived state from the topics: `attest replay
// metrics` (docs/metrics.md). Stop the platform first. With no KAFKA_BROKERS it reads
// the embedded broker's log in $ATTEST_DATA_DIR/broker, starting that broker for the
// time of the replay.
func runReplay(ctx context.Context, args []string, getenv func(string) string, out io.Writer) (err error) {
	if len(args) != 1 || args[0] != metrics.Name {
		return errors.New("usage: attest replay metrics")
	}
	env, err := app.EnvFrom(getenv)
	if err != nil {
		return err
	}
	if len(env.Brokers) == 0 {
		b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(env.DataDir, "broker"),
			Partitions: env.Partitions, Topics: platform.Topics()})
		if err != nil {
			return fmt.Errorf("embedded broker (is the platform still running?): %w", err)
		}
		defer func() { err = errors.Join(err, b.Close()) }()
		env.Brokers = b.Addrs()
	}
	in, err := app.OpenInfra(ctx, "attest", getenv, env)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, in.Close(context.WithoutCancel(ctx))) }()
	d, err := in.Deps(ctx, metrics.Name)
	if err != nil {
		return err
	}
	cfg, err := metrics.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	st, err := metrics.Replay(ctx, cfg, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "replayed %d events (%d skipped) in %s: %d membership facts asserted, %d retracted; %d seen facts asserted, %d retracted\n",
		st.Events, st.Skipped, st.Took.Round(1e6), st.Asserted, st.Retracted, st.SeenAsserted, st.SeenRetracted)
	return nil
}
