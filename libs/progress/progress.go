// Package progress shows how long work is going: imports, generation, replay,
// conformance and benchmark runs. On a terminal it redraws one bar line in place; to a
// file or pipe (CI, logs) it writes a plain line every interval. Both carry the count,
// the rate and, when the total is known, the percentage and the time left.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config tunes a Meter. Zero values take the defaults.
type Config struct {
	Label    string        // what is being counted, e.g. "importing resources"
	Total    int64         // how many in all; 0 when unknown
	Unit     string        // e.g. "events"; default "items"
	Terminal *bool         // force bar (true) or lines (false); default: detect from the writer
	Every    time.Duration // how often lines are written when not on a terminal; default 10s
	Redraw   time.Duration // how often the bar is redrawn on a terminal; default 200ms
	Now      func() time.Time
}

// Meter counts work and reports it in the background until Done.
type Meter struct {
	cfg   Config
	w     io.Writer
	term  bool
	n     atomic.Int64
	start time.Time
	stop  chan struct{}
	done  sync.WaitGroup
	once  sync.Once
	mu    sync.Mutex // serialises writes
}

// Start begins reporting to w.
func Start(w io.Writer, cfg Config) *Meter {
	if cfg.Unit == "" {
		cfg.Unit = "items"
	}
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Second
	}
	if cfg.Redraw <= 0 {
		cfg.Redraw = 200 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Meter{cfg: cfg, w: w, stop: make(chan struct{}), start: cfg.Now()}
	if cfg.Terminal != nil {
		m.term = *cfg.Terminal
	} else {
		m.term = isTerminal(w)
	}
	every := cfg.Every
	if m.term {
		every = cfg.Redraw
	}
	m.done.Add(1)
	go m.loop(every)
	return m
}

// Add counts n more done.
func (m *Meter) Add(n int64) { m.n.Add(n) }

// Count is how many are done.
func (m *Meter) Count() int64 { return m.n.Load() }

// Done stops reporting and writes the final line. It is safe to call more than once.
func (m *Meter) Done() {
	m.once.Do(func() {
		close(m.stop)
		m.done.Wait()
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.term {
			fmt.Fprintf(m.w, "\r\033[K%s\n", m.Line())
		} else {
			fmt.Fprintln(m.w, m.Line())
		}
	})
}

func (m *Meter) loop(every time.Duration) {
	defer m.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.mu.Lock()
			if m.term {
				fmt.Fprintf(m.w, "\r\033[K%s", m.Line())
			} else {
				fmt.Fprintln(m.w, m.Line())
			}
			m.mu.Unlock()
		}
	}
}

// Line renders the current state: label, bar (on a terminal, with a known total),
// count, percentage, rate and time left.
func (m *Meter) Line() string {
	n, total := m.n.Load(), m.cfg.Total
	elapsed := m.cfg.Now().Sub(m.start)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	var b strings.Builder
	if m.cfg.Label != "" {
		b.WriteString(m.cfg.Label)
		b.WriteString(": ")
	}
	if total > 0 {
		frac := min(float64(n)/float64(total), 1)
		if m.term {
			const width = 30
			full := int(frac * width)
			b.WriteString("[" + strings.Repeat("=", full) + strings.Repeat(" ", width-full) + "] ")
		}
		fmt.Fprintf(&b, "%s/%s %s (%.0f%%)", group(n), group(total), m.cfg.Unit, frac*100)
	} else {
		fmt.Fprintf(&b, "%s %s", group(n), m.cfg.Unit)
	}
	fmt.Fprintf(&b, ", %s/s", group(int64(rate)))
	switch {
	case total > 0 && n >= total:
		fmt.Fprintf(&b, ", done in %s", elapsed.Round(time.Second))
	case total > 0 && rate > 0:
		left := time.Duration(float64(total-n) / rate * float64(time.Second))
		fmt.Fprintf(&b, ", %s left", left.Round(time.Second))
	default:
		fmt.Fprintf(&b, ", %s elapsed", elapsed.Round(time.Second))
	}
	return b.String()
}

// group writes n with thousands separators: 1234567 → "1,234,567".
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// isTerminal reports whether w is a character device (a terminal), without cgo or
// extra dependencies.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
