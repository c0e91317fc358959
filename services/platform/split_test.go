package platform_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/broker"
	"github.com/attest-ehr/attest/services/platform"
)

// freeAddr finds a free loopback port. Another process could take it before the
// service binds it; on a test machine that does not happen in practice.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestSplitMode runs records, metrics and reporting each as its own service — the code
// path of their binaries, app.Run — against a broker started on its own, as in
// production, and checks the same flow as TestEndToEnd.
func TestSplitMode(t *testing.T) {
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	addrs := map[string]string{}
	for _, name := range []string{"records", "metrics", "reporting"} {
		addr := freeAddr(t)
		addrs[name] = "http://" + addr
		env := map[string]string{
			"KAFKA_BROKERS":                      strings.Join(b.Addrs(), ","),
			"ATTEST_DATA_DIR":                    t.TempDir(),
			"LOG_LEVEL":                          "warn",
			strings.ToUpper(name) + "_HTTP_ADDR": addr,
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := app.Run(ctx, name, func(k string) string { return env[k] }, platform.NewFunc(name)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}()
	}
	for _, base := range addrs {
		waitReady(t, base)
	}
	admit(t, addrs["records"], "MRN-1", "2025-03-04")
	t.Logf("encounter → reporting count changed in %v", waitCount(t, addrs["reporting"], 1))
}
