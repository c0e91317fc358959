// Package medlineplus is the connector to MedlinePlus Connect, the National Library of
// Medicine's HL7 Infobutton service that answers a clinical code with links to
// MedlinePlus health topic pages. It builds the Infobutton request (code system OID,
// code, language, JSON response), caches answers in Redis by (system, code, language)
// and keeps every replica together under NLM's limit of 100 requests a minute with a
// token bucket held in Redis.
//
// NLM's terms: link to the pages, do not copy them, and say the information is from
// MedlinePlus.gov (Attribution) without using its logo.
package medlineplus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/attest-ehr/attest/libs/cache"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
)

// Attribution is the credit NLM asks for wherever MedlinePlus Connect data is shown.
const Attribution = "From MedlinePlus.gov, a service of the U.S. National Library of Medicine"

// DefaultURL is the MedlinePlus Connect web service.
const DefaultURL = "https://connect.medlineplus.gov/service"

// NLMLimit is NLM's limit per minute and IP address; requests beyond it are refused
// until the rate drops.
const NLMLimit = 100

// Config says where the service is and how hard to use it.
type Config struct {
	URL       string        // the service; default DefaultURL
	PerMinute int           // sustained requests a minute, shared by every replica; default 80
	Burst     int           // requests allowed at once after a quiet spell; default 10
	CacheTTL  time.Duration // how long an answer is reused; default 24h
	MaxWait   time.Duration // how long a lookup waits for a token before failing RateLimited; default 2s
	Timeout   time.Duration // per request to NLM; default 10s
	// HTTP is the client for NLM; default one with Timeout.
	HTTP *http.Client
}

func (c Config) withDefaults() Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.PerMinute <= 0 {
		c.PerMinute = 80
	}
	if c.Burst <= 0 {
		c.Burst = 10
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = 24 * time.Hour
	}
	if c.MaxWait < 0 {
		c.MaxWait = 0
	} else if c.MaxWait == 0 {
		c.MaxWait = 2 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: c.Timeout}
	}
	return c
}

// Validate checks the configuration: in the worst minute a bucket admits its burst
// plus a minute of refill, which must stay under NLM's limit.
func (c Config) Validate() error {
	c = c.withDefaults()
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errs.Field(errs.Invalid, "EDUCATION_MEDLINEPLUS_URL", "an absolute http(s) URL")
	}
	if c.PerMinute+c.Burst >= NLMLimit {
		return errs.Field(errs.Invalid, "EDUCATION_MEDLINEPLUS_PER_MINUTE",
			"rate plus burst (%d + %d) must stay below NLM's %d requests a minute", c.PerMinute, c.Burst, NLMLimit)
	}
	return nil
}

// Topic is one MedlinePlus health topic page an answer links to.
type Topic struct {
	Title   string `json:"title"`
	URL     string `json:"url"`
	Summary string `json:"summary,omitempty"` // NLM's summary, HTML, to display as given
}

// Answer is what MedlinePlus Connect returned for one code and language.
type Answer struct {
	Code        contract.Code `json:"code"`
	Language    string        `json:"language"`
	Topics      []Topic       `json:"topics"`
	Attribution string        `json:"attribution"`
	Cached      bool          `json:"cached"` // served from the cache, without asking NLM
}

// Client looks codes up. It is safe for concurrent use.
type Client struct {
	cfg    Config
	cache  *cache.Cache
	bucket *Bucket
}

// New returns a client caching in c, whose rate is shared with every client on the
// same Redis key prefix.
func New(cfg Config, c *cache.Cache) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Client{cfg: cfg, cache: c, bucket: NewBucket(c, "medlineplus", cfg.Burst, cfg.PerMinute)}, nil
}

// RequestURL is the Infobutton knowledge request for code in language ("en" or "es").
func (c *Client) RequestURL(code contract.Code, language string) string {
	q := url.Values{}
	q.Set("mainSearchCriteria.v.cs", catalog.OIDs[code.System])
	q.Set("mainSearchCriteria.v.c", code.Code)
	q.Set("informationRecipient.languageCode.c", language)
	q.Set("knowledgeResponseType", "application/json")
	return c.cfg.URL + "?" + q.Encode()
}

// Lookup returns MedlinePlus Connect's topics for a code, in English or Spanish. A
// cached answer is returned without asking NLM; otherwise the request waits for a
// token of the shared bucket, up to MaxWait, and fails errs.RateLimited past that.
// NLM being unreachable or failing is errs.Unavailable; neither is cached.
func (c *Client) Lookup(ctx context.Context, code contract.Code, language string) (Answer, error) {
	code, err := catalog.NormalizeCode("code", code)
	if err != nil {
		return Answer{}, err
	}
	if language != "en" && language != "es" {
		return Answer{}, errs.Field(errs.Invalid, "language", "MedlinePlus Connect answers in en or es")
	}
	key := c.cache.Key("medlineplus", "answer", language, catalog.OIDs[code.System], code.Code)
	if b, err := c.cache.Client().Get(ctx, key).Bytes(); err == nil {
		var a Answer
		if err := json.Unmarshal(b, &a); err == nil {
			a.Cached = true
			return a, nil
		}
	} else if !errors.Is(err, redis.Nil) {
		return Answer{}, fmt.Errorf("medlineplus: read cache: %w", err)
	}
	if err := c.bucket.Take(ctx, c.cfg.MaxWait); err != nil {
		return Answer{}, err
	}
	topics, err := c.fetch(ctx, c.RequestURL(code, language))
	if err != nil {
		return Answer{}, err
	}
	a := Answer{Code: code, Language: language, Topics: topics, Attribution: Attribution}
	b, err := json.Marshal(a)
	if err != nil {
		return Answer{}, fmt.Errorf("medlineplus: encode answer: %w", err)
	}
	if err := c.cache.Client().Set(ctx, key, b, c.cfg.CacheTTL).Err(); err != nil {
		return Answer{}, fmt.Errorf("medlineplus: write cache: %w", err)
	}
	return a, nil
}

// feed is the JSON rendering of the Infobutton Atom feed: text nodes are objects
// with the text under "_value".
type feed struct {
	Feed struct {
		Entry []struct {
			Title struct {
				Value string `json:"_value"`
			} `json:"title"`
			Link []struct {
				Href string `json:"href"`
				Rel  string `json:"rel"`
			} `json:"link"`
			Summary struct {
				Value string `json:"_value"`
			} `json:"summary"`
		} `json:"entry"`
	} `json:"feed"`
}

// maxAnswer bounds an answer's size: three topic summaries are a few tens of KiB.
const maxAnswer = 1 << 20

func (c *Client) fetch(ctx context.Context, u string) ([]Topic, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("medlineplus: build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "MedlinePlus Connect is unreachable")
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusTooManyRequests:
		return nil, errs.E(errs.RateLimited, "MedlinePlus Connect refused the request: over its rate limit")
	case res.StatusCode != http.StatusOK:
		return nil, errs.E(errs.Unavailable, "MedlinePlus Connect answered %d", res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer+1))
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "MedlinePlus Connect: read answer")
	}
	if len(body) > maxAnswer {
		return nil, errs.E(errs.Unavailable, "MedlinePlus Connect: answer larger than %d bytes", maxAnswer)
	}
	var f feed
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "MedlinePlus Connect: answer is not the JSON feed expected")
	}
	topics := []Topic{}
	for _, e := range f.Feed.Entry {
		t := Topic{Title: strings.TrimSpace(e.Title.Value), Summary: e.Summary.Value}
		for _, l := range e.Link {
			if l.Rel == "alternate" || l.Rel == "" {
				t.URL = l.Href
				break
			}
		}
		if t.Title != "" && t.URL != "" {
			topics = append(topics, t)
		}
	}
	return topics, nil
}
