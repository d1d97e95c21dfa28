package market

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// AVDefaultURL is Alpha Vantage's query endpoint.
const AVDefaultURL = "https://www.alphavantage.co/query"

// Free-tier limits of Alpha Vantage, enforced by AVLimiter.
const (
	AVFreePerMinute = 5
	AVFreePerDay    = 25
)

// More typed errors of the client; the error bodies Alpha Vantage sends with
// HTTP 200 map to ErrAVInvalidCall, ErrAVRateLimit and ErrAVInformation.
var (
	ErrAVNoKey       = errors.New("alpha vantage: no API key given")
	ErrAVBadRequest  = errors.New("alpha vantage: bad request")      // refused before sending: bad symbol, outputsize or datatype
	ErrAVBadResponse = errors.New("alpha vantage: malformed answer") // truncated, oversized, or not a TIME_SERIES_DAILY body
	ErrAVHTTP        = errors.New("alpha vantage: HTTP error")       // a status other than 200
)

// AVClient fetches daily prices from Alpha Vantage. The zero value with an
// APIKey works: every other field has a default. It enforces the free tier's
// limits itself (see AVLimiter) and never sends or logs the key anywhere but
// in the query string of the request. Use it through a pointer; it is safe
// for concurrent use.
type AVClient struct {
	BaseURL string        // default AVDefaultURL
	APIKey  string        // required; the caller reads it from wherever it lives
	HTTP    *http.Client  // default: a client without its own timeout (Timeout below applies)
	Timeout time.Duration // of one request, body included; default 30 s
	MaxBody int64         // bytes of answer read at most; default 16 MiB
	// Limiter holds the free-tier quota. Nil: one limiter of this client,
	// 5 a minute and 25 a day, kept for the life of the process. Share one
	// limiter between clients that use the same key; persist it with
	// AVLimiter.Quota / SetQuota.
	Limiter *AVLimiter
	Now     func() time.Time // default time.Now; tests pass a fake clock
	Log     *slog.Logger     // default: discard. The key never appears in it.

	once sync.Once
}

func (c *AVClient) init() {
	c.once.Do(func() {
		if c.BaseURL == "" {
			c.BaseURL = AVDefaultURL
		}
		if c.HTTP == nil {
			c.HTTP = &http.Client{}
		}
		if c.Timeout <= 0 {
			c.Timeout = 30 * time.Second
		}
		if c.MaxBody <= 0 {
			c.MaxBody = 16 << 20
		}
		if c.Limiter == nil {
			c.Limiter = NewAVLimiter(AVFreePerMinute, AVFreePerDay)
		}
		if c.Now == nil {
			c.Now = time.Now
		}
		if c.Log == nil {
			c.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Daily calls TIME_SERIES_DAILY for symbol. outputsize is "compact" (the
// latest 100 days; "" means compact) or "full" (20+ years); datatype is
// "json" ("" means json) or "csv". The bars come back oldest first. When
// the quota is spent it fails with an *AVLimitError (errors.Is
// ErrAVRateLimit) without sending anything.
func (c *AVClient) Daily(ctx context.Context, symbol, outputsize, datatype string) (Series, error) {
	c.init()
	s, err := c.daily(ctx, symbol, outputsize, datatype)
	if err != nil {
		return Series{}, c.redact(err)
	}
	return s, nil
}

func (c *AVClient) daily(ctx context.Context, symbol, outputsize, datatype string) (Series, error) {
	if c.APIKey == "" {
		return Series{}, ErrAVNoKey
	}
	symbol = strings.TrimSpace(symbol)
	if err := checkAVSymbol(symbol); err != nil {
		return Series{}, err
	}
	if outputsize == "" {
		outputsize = "compact"
	}
	if outputsize != "compact" && outputsize != "full" {
		return Series{}, fmt.Errorf("%w: outputsize must be compact or full, not %q", ErrAVBadRequest, outputsize)
	}
	if datatype == "" {
		datatype = "json"
	}
	if datatype != "json" && datatype != "csv" {
		return Series{}, fmt.Errorf("%w: datatype must be json or csv, not %q", ErrAVBadRequest, datatype)
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return Series{}, fmt.Errorf("%w: the base URL %q is not an http(s) URL", ErrAVBadRequest, c.BaseURL)
	}
	q := base.Query()
	q.Set("function", "TIME_SERIES_DAILY")
	q.Set("symbol", symbol)
	q.Set("outputsize", outputsize)
	q.Set("datatype", datatype)
	q.Set("apikey", c.APIKey)
	base.RawQuery = q.Encode()
	full := base.String()
	what := "TIME_SERIES_DAILY " + symbol

	if err := c.Limiter.Reserve(c.Now()); err != nil {
		c.Log.Warn("alpha vantage call refused by the client-side limit", "symbol", symbol, "err", err)
		return Series{}, err
	}

	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, full, nil)
	if err != nil {
		return Series{}, fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("User-Agent", "metastation")
	start := time.Now()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Series{}, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.MaxBody+1))
	c.Log.Debug("alpha vantage call", "function", "TIME_SERIES_DAILY", "symbol", symbol,
		"outputsize", outputsize, "datatype", datatype, "status", resp.StatusCode,
		"bytes", len(body), "elapsed", time.Since(start).Round(time.Millisecond))
	if err != nil {
		if ctx.Err() != nil {
			return Series{}, fmt.Errorf("%s: reading the answer: %w", what, ctx.Err())
		}
		return Series{}, fmt.Errorf("%s: %w: the answer was cut off after %d bytes: %w", what, ErrAVBadResponse, len(body), err)
	}
	if int64(len(body)) > c.MaxBody {
		return Series{}, fmt.Errorf("%s: %w: the answer is larger than %d bytes", what, ErrAVBadResponse, c.MaxBody)
	}
	if resp.StatusCode != http.StatusOK {
		err := &AVStatusError{Status: resp.StatusCode, Body: snippet(body)}
		return Series{}, fmt.Errorf("%s: %w", what, err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return Series{}, fmt.Errorf("%s: %w: the answer is empty", what, ErrAVBadResponse)
	}
	s, _, err := ParseAlphaVantage(bytes.NewReader(body))
	if err != nil {
		switch {
		case errors.Is(err, ErrAVRateLimit), isAVLimitInformation(err):
			// The server counts differently (another process, another
			// machine on the same key): believe it for this minute.
			c.Limiter.Drain(c.Now())
			if !errors.Is(err, ErrAVRateLimit) {
				err = fmt.Errorf("%w (%w)", ErrAVRateLimit, err)
			}
			return Series{}, fmt.Errorf("%s: %w", what, err)
		case errors.Is(err, ErrAVInvalidCall), errors.Is(err, ErrAVInformation):
			return Series{}, fmt.Errorf("%s: %w", what, err)
		}
		return Series{}, fmt.Errorf("%s: %w: %w", what, ErrAVBadResponse, err)
	}
	if len(s.Bars) == 0 {
		return Series{}, fmt.Errorf("%s: %w: no bars", what, ErrAVBadResponse)
	}
	if s.Intraday {
		return Series{}, fmt.Errorf("%s: %w: intraday rows in a daily series", what, ErrAVBadResponse)
	}
	if s.Symbol == "" {
		s.Symbol = symbol
	}
	return s, nil
}

// isAVLimitInformation: Alpha Vantage now reports its limits under
// "Information" too ("... standard API rate limit is 25 requests per day").
func isAVLimitInformation(err error) bool {
	if !errors.Is(err, ErrAVInformation) {
		return false
	}
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "rate limit") || strings.Contains(m, "requests per day") || strings.Contains(m, "call frequency")
}

func checkAVSymbol(s string) error {
	if s == "" {
		return fmt.Errorf("%w: the symbol is empty", ErrAVBadRequest)
	}
	if len(s) > 32 {
		return fmt.Errorf("%w: the symbol %q is longer than 32 characters", ErrAVBadRequest, s)
	}
	for _, r := range s {
		ok := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_:=^", r)
		if !ok {
			return fmt.Errorf("%w: the symbol %q has a character other than letters, digits and . - _ : = ^", ErrAVBadRequest, s)
		}
	}
	return nil
}

// snippet is the start of a body, for an error message, on one line.
func snippet(b []byte) string {
	const n = 200
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > n {
		s = s[:n]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	return s
}

// redact removes the key from an error: from the URL of a *url.Error (the
// transport's errors carry the full URL) and from the text of anything else.
func (c *AVClient) redact(err error) error {
	if c.APIKey == "" {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = c.redactString(ue.URL)
	}
	if !strings.Contains(err.Error(), c.APIKey) && !strings.Contains(err.Error(), url.QueryEscape(c.APIKey)) {
		return err
	}
	return &redactedError{err: err, text: c.redactString(err.Error())}
}

func (c *AVClient) redactString(s string) string {
	s = strings.ReplaceAll(s, url.QueryEscape(c.APIKey), "REDACTED")
	return strings.ReplaceAll(s, c.APIKey, "REDACTED")
}

type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// AVStatusError is an answer with a status other than 200. A 429 also
// matches ErrAVRateLimit.
type AVStatusError struct {
	Status int
	Body   string // its start, on one line
}

func (e *AVStatusError) Error() string {
	msg := fmt.Sprintf("alpha vantage answered HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

func (e *AVStatusError) Is(target error) bool {
	return target == ErrAVHTTP || (target == ErrAVRateLimit && e.Status == http.StatusTooManyRequests)
}

// AVLimitError is a call the client refused before sending, because the
// free-tier quota is spent. It matches ErrAVRateLimit.
type AVLimitError struct {
	Per        string        // "minute" or "day"
	Limit      int           // requests allowed per that period
	RetryAfter time.Duration // until the next request is allowed
}

func (e *AVLimitError) Error() string {
	return fmt.Sprintf("alpha vantage: rate limit reached: %d requests per %s allowed, next in %s (refused before sending)",
		e.Limit, e.Per, e.RetryAfter.Round(time.Second))
}

func (e *AVLimitError) Is(target error) bool { return target == ErrAVRateLimit }

// AVLimiter enforces Alpha Vantage's free tier on the client side: a token
// bucket of PerMinute tokens refilled evenly over a minute (one every 12 s
// for 5), and a count of requests per UTC day. Every request sent takes a
// token, whatever its answer, as Alpha Vantage counts it. The state lives in
// memory; Quota and SetQuota let a caller persist it between processes.
type AVLimiter struct {
	mu        sync.Mutex
	perMinute int
	perDay    int
	q         AVQuota
}

// AVQuota is the persistable state of an AVLimiter.
type AVQuota struct {
	Tokens  float64   `json:"tokens"`  // of the minute bucket, at Updated
	Updated time.Time `json:"updated"` // zero: a full bucket
	Day     string    `json:"day"`     // UTC date Used counts, YYYY-MM-DD
	Used    int       `json:"used"`    // requests sent that day
}

// NewAVLimiter allows perMinute requests a minute and perDay a day.
func NewAVLimiter(perMinute, perDay int) *AVLimiter {
	return &AVLimiter{perMinute: max(perMinute, 1), perDay: max(perDay, 1)}
}

// refill brings the bucket and the day up to now. The caller holds mu.
func (l *AVLimiter) refill(now time.Time) {
	capacity := float64(l.perMinute)
	if l.q.Updated.IsZero() {
		l.q.Tokens = capacity
	} else if dt := now.Sub(l.q.Updated); dt > 0 {
		l.q.Tokens = math.Min(capacity, l.q.Tokens+dt.Minutes()*capacity)
	}
	if l.q.Updated.IsZero() || now.After(l.q.Updated) {
		l.q.Updated = now
	}
	if day := now.UTC().Format(time.DateOnly); day > l.q.Day {
		l.q.Day, l.q.Used = day, 0
	}
}

// Reserve takes one request from the quota at time now, or refuses with an
// *AVLimitError saying when the next one is allowed.
func (l *AVLimiter) Reserve(now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(now)
	if l.q.Used >= l.perDay {
		d := now.UTC()
		midnight := time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, time.UTC)
		return &AVLimitError{Per: "day", Limit: l.perDay, RetryAfter: midnight.Sub(d)}
	}
	if l.q.Tokens < 1-1e-9 { // float sums of refills: 12 s may give 0.999999...
		wait := time.Duration((1 - l.q.Tokens) / float64(l.perMinute) * float64(time.Minute))
		return &AVLimitError{Per: "minute", Limit: l.perMinute, RetryAfter: wait}
	}
	l.q.Tokens = math.Max(0, l.q.Tokens-1)
	l.q.Used++
	return nil
}

// Drain empties the minute bucket: the server said we are over its limit.
func (l *AVLimiter) Drain(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(now)
	l.q.Tokens = 0
}

// Quota is a copy of the state, to persist.
func (l *AVLimiter) Quota() AVQuota {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.q
}

// SetQuota restores a persisted state. A bucket above capacity is clipped.
func (l *AVLimiter) SetQuota(q AVQuota) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q.Tokens = math.Max(0, math.Min(q.Tokens, float64(l.perMinute)))
	q.Used = max(q.Used, 0)
	l.q = q
}
