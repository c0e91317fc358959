package engagement

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Broadcaster hands every Change to the watchers subscribed when it happens. A
// watcher too slow to take one misses it (and gets the next): publishing never waits.
type Broadcaster struct {
	mu       sync.Mutex
	watchers map[chan Change]struct{}
}

// NewBroadcaster returns a Broadcaster with no watchers.
func NewBroadcaster() *Broadcaster { return &Broadcaster{watchers: map[chan Change]struct{}{}} }

// Subscribe returns a channel of changes and the function that ends the subscription.
func (b *Broadcaster) Subscribe() (<-chan Change, func()) {
	ch := make(chan Change, 16)
	b.mu.Lock()
	b.watchers[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.watchers, ch)
		b.mu.Unlock()
	}
}

// Publish hands c to every watcher that has room for it.
func (b *Broadcaster) Publish(c Change) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.watchers {
		select {
		case ch <- c:
		default:
		}
	}
}

// keepAlive is how often an idle stream gets a comment line, so that proxies keep it
// open and a closed client is noticed.
const keepAlive = 15 * time.Second

// stream serves server-sent events: an "change" event with a Change for every commit
// that changed KPIs or measure facts, until the client goes away.
func stream(b *Broadcaster, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Through wrappers too (the gateway's, the instrumentation's): they unwrap.
		rc := http.NewResponseController(w)
		changes, stop := b.Subscribe()
		defer stop()
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, ": watching\n\n")
		if err := rc.Flush(); err != nil {
			log.WarnContext(r.Context(), "the response cannot be streamed", "error", err)
			return
		}
		tick := time.NewTicker(keepAlive)
		defer tick.Stop()
		for {
			// The server's write timeout is for ordinary responses; a stream lives on as
			// long as each write goes through.
			_ = rc.SetWriteDeadline(time.Now().Add(2 * keepAlive))
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				fmt.Fprint(w, ": keep-alive\n\n")
			case c := <-changes:
				data, err := json.Marshal(c)
				if err != nil {
					log.ErrorContext(r.Context(), "encode change", "error", err)
					return
				}
				fmt.Fprintf(w, "event: change\ndata: %s\n\n", data)
			}
			if err := rc.Flush(); err != nil {
				return // the client went away
			}
		}
	}
}
