package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/attest-ehr/attest/libs/cache"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/telemetry"
)

// DefaultBroker is where a service run on its own looks for Kafka when KAFKA_BROKERS
// is unset: the address `attest broker` listens on.
const DefaultBroker = "127.0.0.1:9092"

// Env is the infrastructure configuration shared by every service, read from the
// unprefixed environment variables.
type Env struct {
	DataDir     string   // ATTEST_DATA_DIR: SQLite files and the embedded broker's log. Default: ./data.
	DatabaseURL string   // DATABASE_URL: postgres://… (a schema per service) or sqlite:…; empty: SQLite under DataDir.
	RedisURL    string   // REDIS_URL: redis://…; empty: an in-process Redis-protocol server.
	Brokers     []string // KAFKA_BROKERS: comma-separated host:port list; empty: see the caller.
	Partitions  int      // ATTEST_PARTITIONS: partitions of topics created at start. Default: 3.
}

// EnvFrom reads Env through getenv.
func EnvFrom(getenv func(string) string) (Env, error) {
	e := Env{
		DataDir:     getenv("ATTEST_DATA_DIR"),
		DatabaseURL: getenv("DATABASE_URL"),
		RedisURL:    getenv("REDIS_URL"),
	}
	if e.DataDir == "" {
		e.DataDir = "data"
	}
	e.Partitions = 3
	if s := getenv("ATTEST_PARTITIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1024 {
			return Env{}, errs.Field(errs.Invalid, "ATTEST_PARTITIONS", "a whole number from 1 to 1024")
		}
		e.Partitions = n
	}
	for _, b := range strings.Split(getenv("KAFKA_BROKERS"), ",") {
		if b = strings.TrimSpace(b); b != "" {
			e.Brokers = append(e.Brokers, b)
		}
	}
	return e, nil
}

// Infra holds the process-wide connections: telemetry, Redis, the brokers. Deps
// derives one service's view of them and opens that service's database.
type Infra struct {
	Tel     *telemetry.Telemetry
	Redis   *cache.Conn
	Brokers []string
	env     Env
	dbs     []*store.DB
}

// OpenInfra opens telemetry and Redis for the process. brokers are the Kafka
// bootstrap addresses the services will use.
func OpenInfra(ctx context.Context, service string, getenv func(string) string, env Env) (*Infra, error) {
	tel, err := telemetry.New(ctx, telemetry.Config{Service: service, Getenv: getenv})
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	rdb, err := cache.Open(ctx, env.RedisURL)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("redis: %w", err), tel.Shutdown(ctx))
	}
	if abs, err := filepath.Abs(env.DataDir); err == nil {
		env.DataDir = abs
	}
	return &Infra{Tel: tel, Redis: rdb, Brokers: env.Brokers, env: env}, nil
}

// Deps opens the named service's database and returns its Deps. The database is
// closed by Close.
func (in *Infra) Deps(ctx context.Context, service string) (Deps, error) {
	db, err := store.Open(ctx, store.Config{URL: in.env.DatabaseURL, Service: service, DataDir: in.env.DataDir})
	if err != nil {
		return Deps{}, fmt.Errorf("%s database: %w", service, err)
	}
	in.dbs = append(in.dbs, db)
	return Deps{
		Log:     in.Tel.Log.With("service", service),
		Tracing: in.Tel.Tracing,
		Metrics: in.Tel.Metrics,
		DB:      db,
		Cache:   in.Redis.For(service),
		Brokers: in.Brokers,
	}, nil
}

// DataDir is the absolute data directory.
func (in *Infra) DataDir() string { return in.env.DataDir }

// Close closes the databases, Redis, and last telemetry, so that spans and metrics
// recorded while the others closed are still flushed.
func (in *Infra) Close(ctx context.Context) error {
	var err error
	for i := len(in.dbs) - 1; i >= 0; i-- {
		err = errors.Join(err, in.dbs[i].Close())
	}
	err = errors.Join(err, in.Redis.Close())
	return errors.Join(err, in.Tel.Shutdown(ctx))
}
