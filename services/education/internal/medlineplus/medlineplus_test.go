package medlineplus_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/cache"
	"github.com/attest-ehr/attest/libs/cache/cachetest"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/education/internal/medlineplus"
)

// nlm serves the recorded fixtures as MedlinePlus Connect would, checking that each
// request is a well-formed Infobutton request, and counts the requests.
type nlm struct {
	t     *testing.T
	calls atomic.Int32
	fail  atomic.Int32 // answer this status instead, when set
}

var systems = map[string]string{
	"2.16.840.1.113883.6.90": "icd10cm", "2.16.840.1.113883.6.96": "snomed",
	"2.16.840.1.113883.6.1": "loinc", "2.16.840.1.113883.6.88": "rxnorm",
}

func (n *nlm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.calls.Add(1)
	q := r.URL.Query()
	if r.Method != http.MethodGet || q.Get("knowledgeResponseType") != "application/json" {
		n.t.Errorf("request %s %s is not a JSON Infobutton GET", r.Method, r.URL)
	}
	if s := n.fail.Load(); s != 0 {
		w.WriteHeader(int(s))
		return
	}
	sys, ok := systems[q.Get("mainSearchCriteria.v.cs")]
	if !ok {
		n.t.Errorf("unknown code system OID %q", q.Get("mainSearchCriteria.v.cs"))
	}
	name := sys + "-" + q.Get("mainSearchCriteria.v.c") + "-" + q.Get("informationRecipient.languageCode.c") + ".json"
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		body, _ = os.ReadFile(filepath.Join("testdata", "empty.json"))
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// newClient returns a client of ts (nil: none is called) that never waits for a token.
func newClient(t *testing.T, c *cache.Cache, ts *httptest.Server, burst, perMinute int) *medlineplus.Client {
	t.Helper()
	cfg := medlineplus.Config{Burst: burst, PerMinute: perMinute, MaxWait: -1}
	if ts != nil {
		// The server's own client: closing the server closes its connections.
		cfg.URL, cfg.HTTP = ts.URL, ts.Client()
	}
	cl, err := medlineplus.New(cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func TestLookupAgainstFixtures(t *testing.T) {
	srv := &nlm{t: t}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := newClient(t, cachetest.New(t), ts, 10, 80)
	ctx := context.Background()
	e11 := contract.Code{System: "icd10cm", Code: "E119"}

	tests := []struct {
		name     string
		code     contract.Code
		language string
		want     []string
		cached   bool
	}{
		{"diabetes in English", e11, "en", []string{"https://medlineplus.gov/diabetestype2.html", "https://medlineplus.gov/diabeticdiet.html"}, false},
		{"diabetes in Spanish", e11, "es", []string{"https://medlineplus.gov/spanish/diabetestype2.html"}, false},
		{"A1c by LOINC", contract.Code{System: contract.SystemLOINC, Code: "4548-4"}, "en", []string{"https://medlineplus.gov/lab-tests/hemoglobin-a1c-hba1c-test/"}, false},
		{"no topics", contract.Code{System: "rxnorm", Code: "6809"}, "en", nil, false},
		{"English again, from the cache", e11, "en", []string{"https://medlineplus.gov/diabetestype2.html", "https://medlineplus.gov/diabeticdiet.html"}, true},
		{"no topics again, from the cache", contract.Code{System: "rxnorm", Code: "6809"}, "en", nil, true},
	}
	for _, tt := range tests {
		a, err := c.Lookup(ctx, tt.code, tt.language)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, tp := range a.Topics {
			got = append(got, tp.URL)
			if tp.Title == "" {
				t.Errorf("%s: a topic without a title", tt.name)
			}
		}
		if len(got) != len(tt.want) || a.Cached != tt.cached || a.Attribution != medlineplus.Attribution {
			t.Errorf("%s: topics %v cached %v, want %v cached %v", tt.name, got, a.Cached, tt.want, tt.cached)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: topic %d = %s, want %s", tt.name, i, got[i], tt.want[i])
			}
		}
	}
	if n := srv.calls.Load(); n != 4 {
		t.Errorf("NLM was asked %d times, want 4: cached answers must not be fetched again", n)
	}
	if _, err := c.Lookup(ctx, e11, "fr"); errs.FieldOf(err) != "language" {
		t.Errorf("French: %v, want refused on language", err)
	}
	if _, err := c.Lookup(ctx, contract.Code{System: "cpt", Code: "99213"}, "en"); errs.KindOf(err) != errs.Invalid {
		t.Errorf("a CPT code: %v, want Invalid", err)
	}
}

func TestRequestURL(t *testing.T) {
	c := newClient(t, cachetest.New(t), nil, 10, 80)
	got := c.RequestURL(contract.Code{System: contract.SystemRxNorm, Code: "6809"}, "es")
	want := "https://connect.medlineplus.gov/service?informationRecipient.languageCode.c=es&knowledgeResponseType=application%2Fjson" +
		"&mainSearchCriteria.v.c=6809&mainSearchCriteria.v.cs=2.16.840.1.113883.6.88"
	if got != want {
		t.Errorf("RequestURL =\n %s\nwant\n %s", got, want)
	}
}

// TestRateLimitIsShared: two clients on one Redis, as two replicas, share one bucket.
func TestRateLimitIsShared(t *testing.T) {
	srv := &nlm{t: t}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	shared := cachetest.New(t)
	a := newClient(t, shared, ts, 3, 1)
	b := newClient(t, shared, ts, 3, 1)
	ctx := context.Background()
	codes := []string{"E10", "E11", "E12", "E13"}
	for i, code := range codes[:3] {
		cl := []*medlineplus.Client{a, b}[i%2]
		if _, err := cl.Lookup(ctx, contract.Code{System: "icd10cm", Code: code}, "en"); err != nil {
			t.Fatalf("request %d within the burst: %v", i+1, err)
		}
	}
	for _, cl := range []*medlineplus.Client{a, b} {
		_, err := cl.Lookup(ctx, contract.Code{System: "icd10cm", Code: "E13"}, "en")
		if errs.KindOf(err) != errs.RateLimited {
			t.Fatalf("a fourth distinct code: %v, want RateLimited", err)
		}
	}
	// A cached answer needs no token.
	if _, err := b.Lookup(ctx, contract.Code{System: "icd10cm", Code: "E10"}, "en"); err != nil {
		t.Fatalf("cached lookup while the bucket is empty: %v", err)
	}
	if n := srv.calls.Load(); n != 3 {
		t.Errorf("NLM was asked %d times, want 3", n)
	}
}

func TestBucket(t *testing.T) {
	ctx := context.Background()
	c := cachetest.New(t)
	// One a minute: after the first token, the next is about a minute away.
	slow := medlineplus.NewBucket(c, "slow", 1, 1)
	if ok, _, err := slow.TryTake(ctx); !ok || err != nil {
		t.Fatalf("first token: %v, %v", ok, err)
	}
	ok, wait, err := slow.TryTake(ctx)
	if ok || err != nil || wait < 50*time.Second || wait > time.Minute {
		t.Fatalf("empty bucket: ok=%v wait=%v err=%v; want a wait of about a minute", ok, wait, err)
	}
	if err := slow.Take(ctx, time.Second); errs.KindOf(err) != errs.RateLimited {
		t.Fatalf("Take with less time than the wait: %v, want RateLimited", err)
	}
	// 6000 a minute is a token every 10ms: a Take allowed to wait a second gets one.
	fast := medlineplus.NewBucket(c, "fast", 1, 6000)
	for i := range 3 {
		if err := fast.Take(ctx, time.Second); err != nil {
			t.Fatalf("Take %d with time to wait: %v", i+1, err)
		}
	}
}

func TestUpstreamFailures(t *testing.T) {
	srv := &nlm{t: t}
	ts := httptest.NewServer(srv)
	c := newClient(t, cachetest.New(t), ts, 10, 80)
	ctx := context.Background()
	code := contract.Code{System: "icd10cm", Code: "E11.9"}
	srv.fail.Store(http.StatusTooManyRequests)
	if _, err := c.Lookup(ctx, code, "en"); errs.KindOf(err) != errs.RateLimited {
		t.Errorf("NLM answering 429: %v, want RateLimited", err)
	}
	srv.fail.Store(http.StatusBadGateway)
	if _, err := c.Lookup(ctx, code, "en"); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("NLM answering 502: %v, want Unavailable", err)
	}
	srv.fail.Store(0)
	if a, err := c.Lookup(ctx, code, "en"); err != nil || a.Cached || len(a.Topics) != 2 {
		t.Errorf("after failures: %+v, %v; failures must not be cached", a, err)
	}
	ts.Close()
	if _, err := c.Lookup(ctx, contract.Code{System: "icd10cm", Code: "J45"}, "en"); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("NLM unreachable: %v, want Unavailable", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  medlineplus.Config
		ok   bool
	}{
		{"defaults", medlineplus.Config{}, true},
		{"rate plus burst at NLM's limit", medlineplus.Config{PerMinute: 90, Burst: 10}, false},
		{"bad URL", medlineplus.Config{URL: "ftp://x"}, false},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
