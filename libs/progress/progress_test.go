package progress_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/progress"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a manual clock for deterministic rates.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestLine(t *testing.T) {
	c := &clock{now: time.Unix(0, 0)}
	no, yes := false, true
	tests := []struct {
		name  string
		cfg   progress.Config
		add   int64
		after time.Duration
		want  string
	}{
		{"known total, lines", progress.Config{Label: "importing", Total: 100000, Unit: "resources", Terminal: &no},
			25000, 10 * time.Second, "importing: 25,000/100,000 resources (25%), 2,500/s, 30s left"},
		{"known total, bar", progress.Config{Label: "replay", Total: 1000, Unit: "events", Terminal: &yes},
			500, 2 * time.Second, "replay: [===============               ] 500/1,000 events (50%), 250/s, 2s left"},
		{"unknown total", progress.Config{Label: "generating", Unit: "events", Terminal: &no},
			1234567, 5 * time.Second, "generating: 1,234,567 events, 246,913/s, 5s elapsed"},
		{"finished", progress.Config{Total: 10, Terminal: &no}, 10, 4 * time.Second, "10/10 items (100%), 2/s, done in 4s"},
	}
	for _, tt := range tests {
		tt.cfg.Now = c.Now
		tt.cfg.Every, tt.cfg.Redraw = time.Hour, time.Hour
		var buf syncBuf
		m := progress.Start(&buf, tt.cfg)
		m.Add(tt.add)
		c.advance(tt.after)
		if got := m.Line(); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
		m.Done()
		m.Done() // idempotent
		if !strings.Contains(buf.String(), tt.want) {
			t.Errorf("%s: final output %q lacks the line", tt.name, buf.String())
		}
	}
}

func TestPeriodicLinesWhenNotATerminal(t *testing.T) {
	var buf syncBuf
	m := progress.Start(&buf, progress.Config{Label: "x", Total: 3, Every: 5 * time.Millisecond})
	m.Add(1)
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(buf.String(), "\n") < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	m.Done()
	out := buf.String()
	if strings.Count(out, "\n") < 3 || strings.Contains(out, "\r") || strings.Contains(out, "[") {
		t.Errorf("want several plain lines (no bar, no carriage returns) to a non-terminal, got %q", out)
	}
}
