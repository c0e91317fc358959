// Command attest is Attest in one binary: every service in one process (attest run),
// the embedded Kafka-protocol broker on its own (attest broker), schema migrations
// (attest migrate) and the version (attest version).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/services/gateway"
	"github.com/attest-ehr/attest/services/platform"
)

// version is set at build time: -ldflags "-X main.version=…".
var version = "dev"

const usage = `attest — EHR incentive compliance, computed from the record.

Usage:
  attest run [--services records,metrics,...]   every service in one process (console at ATTEST_HTTP_ADDR, default :8080)
  attest broker [--addr 127.0.0.1:9092]         the embedded Kafka-protocol broker as its own process
  attest migrate [--services ...]               apply every service's schema migrations and exit
  attest dlq list --group G                     the events consumer group G dead-lettered, with the reasons
  attest dlq replay --group G (--all | --event ID ...)   drive dead-lettered events again, after a fix
  attest verify [--public-key KEY] FILE         check an exported attestation file offline
  attest conformance [--deck FILE|DIR]... [--keep]   replay ONC's (g)(1)/(g)(2) test decks through a fresh platform
  attest report --program P --year Y --entity kind:id [--from D --to D] [--format json|csv|pdf|qpp|measurereport|qrda3] [--out FILE] [--url URL] [--token T]
                                                a report from the running platform's API
  attest generate --seed N --patients N --year Y [--out DIR] [--post URL --token T]   a synthetic health system as records API requests
  attest bench [--patients 10000] [--tiers 10000,100000] [--out docs/benchmarks/three-way.md]
                                                the same measures three ways (OpenEMR-style, set-based SQL, Attest), checked to agree
  attest replay metrics                         rebuild metrics' derived state from the topics (platform stopped)
  attest audit verify                           check the gateway's audit log (hash chain, signed checkpoints)
  attest version                                print the version

Environment: ATTEST_DATA_DIR (default ./data), KAFKA_BROKERS, DATABASE_URL, REDIS_URL,
ATTEST_HTTP_ADDR, ATTEST_PARTITIONS, GATEWAY_DEMO, LOG_LEVEL, OTEL_* (see README.md).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "attest: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, usage)
		return flag.ErrHelp
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "run":
		return runPlatform(ctx, args, getenv, out, false)
	case "migrate":
		return runPlatform(ctx, args, getenv, out, true)
	case "broker":
		return runBroker(ctx, args, getenv, out)
	case "dlq":
		return runDLQ(ctx, args, getenv, out)
	case "audit":
		return runAudit(ctx, args, getenv, out)
	case "replay":
		return runReplay(ctx, args, getenv, out)
	case "generate":
		return runGenerate(ctx, args, getenv, out)
	case "bench":
		return runBench(ctx, args, getenv, out)
	case "verify":
		return runVerify(ctx, args, getenv, out)
	case "conformance":
		return runConformance(ctx, args, getenv, out)
	case "report":
		return runReport(ctx, args, getenv, out)
	case "version":
		fmt.Fprintln(out, "attest", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return nil
	}
	fmt.Fprint(out, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func runPlatform(ctx context.Context, args []string, getenv func(string) string, out io.Writer, migrateOnly bool) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	services := fs.String("services", "", "comma-separated services to run (default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts, err := platform.OptionsFromEnv(getenv)
	if err != nil {
		return err
	}
	if *services != "" {
		opts.Services = strings.Split(*services, ",")
	}
	var demo *demoLoad
	if !migrateOnly {
		if demo, err = newDemoLoad(getenv); err != nil {
			return err
		}
	}
	// New migrates every service's database; migrate stops there.
	p, err := platform.New(ctx, getenv, opts)
	if err != nil {
		return err
	}
	if migrateOnly {
		fmt.Fprintln(out, "migrations applied")
		return p.Close(context.WithoutCancel(ctx))
	}
	err = p.Serve(ctx, func(addr string) {
		platform.Banner(out, addr, p.Brokers(), p.DataDir())
		if getenv("GATEWAY_DEMO") == "true" {
			fmt.Fprintf(out, "  demo sign-in: demo-officer, demo-admin, demo-auditor or demo-clinician, password %q,\n"+
				"    TOTP from otpauth://totp/Attest:demo?secret=%s&issuer=Attest\n"+
				"  demo API token (service account): %s\n", gateway.DemoPassword, gateway.DemoTOTPSecret, gateway.DemoServiceToken)
		}
		demo.start(ctx, addr, out)
	})
	demo.wait()
	return errors.Join(err, p.Close(context.WithoutCancel(ctx)))
}

func runBroker(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	addr := fs.String("addr", app.DefaultBroker, "listen address")
	partitions := fs.Int("partitions", 3, "partitions of each created topic")
	nodes := fs.Int("nodes", 1, "brokers in the embedded cluster")
	if err := fs.Parse(args); err != nil {
		return err
	}
	env, err := app.EnvFrom(getenv)
	if err != nil {
		return err
	}
	b, err := broker.Start(broker.Config{
		Addr: *addr, Nodes: *nodes, Partitions: *partitions,
		DataDir: filepath.Join(env.DataDir, "broker"), Topics: platform.Topics(),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "embedded broker listening on %s (data in %s)\n", strings.Join(b.Addrs(), ","), filepath.Join(env.DataDir, "broker"))
	<-ctx.Done()
	return b.Close()
}
