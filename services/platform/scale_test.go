package platform_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/platform"
)

// TestScaleOut runs the pipeline as production scales it, on one machine: a 3-node
// broker cluster with 6 partitions per topic, one records instance, and two instances
// each of metrics and reporting in their consumer groups, every service's replicas
// sharing its PostgreSQL schema. The group splits the partitions between replicas; the
// counts must still be exact.
func TestScaleOut(t *testing.T) {
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Nodes: 3, Partitions: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dbURL := storetest.URL(t, store.Postgres)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	bases := map[string][]string{}
	for _, inst := range []struct {
		name     string
		replicas int
	}{{"records", 1}, {"metrics", 2}, {"reporting", 2}} {
		for i := range inst.replicas {
			addr := freeAddr(t)
			bases[inst.name] = append(bases[inst.name], "http://"+addr)
			env := map[string]string{
				"KAFKA_BROKERS":     strings.Join(b.Addrs(), ","),
				"DATABASE_URL":      dbURL,
				"ATTEST_PARTITIONS": "6",
				"LOG_LEVEL":         "warn",
				strings.ToUpper(inst.name) + "_HTTP_ADDR": addr,
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := app.Run(ctx, inst.name, func(k string) string { return env[k] }, platform.NewFunc(inst.name)); err != nil {
					t.Errorf("%s #%d: %v", inst.name, i, err)
				}
			}()
		}
	}
	for _, bs := range bases {
		for _, base := range bs {
			waitReady(t, base)
		}
	}
	// Replicas join the group as they start, so admit patients in rounds until every
	// metrics replica has been handed partitions and processed some of them.
	patients := 0
	for round := 0; ; round++ {
		for range 10 {
			admit(t, bases["records"][0], fmt.Sprintf("MRN-%d", patients), fmt.Sprintf("2025-%02d-%02d", patients%12+1, patients%28+1))
			patients++
		}
		waitCount(t, bases["reporting"][0], patients)
		shared := true
		for _, base := range bases["metrics"] {
			shared = shared && processed(t, base, "metrics.measures") > 0
		}
		if shared {
			break
		}
		if round == 20 {
			t.Fatal("one metrics replica never got a partition")
		}
	}
	// Either reporting replica answers from the shared state, exactly.
	for _, base := range bases["reporting"] {
		waitCount(t, base, patients)
	}
	t.Logf("%d patients through 2 metrics and 2 reporting replicas", patients)
}

// processed scrapes a service's /metrics for the events its consumer group handled.
func processed(t *testing.T, base, group string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "attest_consumer_processed_total{") && strings.Contains(line, `group="`+group+`"`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			n += int(v)
		}
	}
	return n
}
