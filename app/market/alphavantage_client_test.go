package market

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every test here talks to an httptest server on 127.0.0.1; none touches
// the network.

const testAVKey = "SECRET-KEY-42"

const avJSONBody = `{
    "Meta Data": {"1. Information": "Daily Prices (open, high, low, close) and Volumes",
        "2. Symbol": "IBM", "3. Last Refreshed": "2024-01-04", "4. Output Size": "Compact", "5. Time Zone": "US/Eastern"},
    "Time Series (Daily)": {
        "2024-01-04": {"1. open": "160.1", "2. high": "161.5", "3. low": "159.2", "4. close": "160.9", "5. volume": "5100000"},
        "2024-01-03": {"1. open": "161.0", "2. high": "161.7", "3. low": "160.1", "4. close": "160.1", "5. volume": "4086000"},
        "2024-01-02": {"1. open": "162.8", "2. high": "163.3", "3. low": "161.3", "4. close": "161.5", "5. volume": "3825000"}
    }
}`

const avCSVBody = "timestamp,open,high,low,close,volume\r\n" +
	"2024-01-04,160.1,161.5,159.2,160.9,5100000\r\n" +
	"2024-01-03,161.0,161.7,160.1,160.1,4086000\r\n" +
	"2024-01-02,162.8,163.3,161.3,161.5,3825000\r\n"

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// avFake is a fake Alpha Vantage: it checks the query and answers with the
// handler of the case under test.
type avFake struct {
	t       *testing.T
	srv     *httptest.Server
	calls   atomic.Int64
	mu      sync.Mutex
	handler http.HandlerFunc
	last    url.Values
}

func newAVFake(t *testing.T) *avFake {
	f := &avFake{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		f.mu.Lock()
		f.last = r.URL.Query()
		h := f.handler
		f.mu.Unlock()
		if h == nil {
			h = func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, avJSONBody) }
		}
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *avFake) set(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handler = h
}

func (f *avFake) query() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func body(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, s) }
}

func status(code int, s string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code); fmt.Fprint(w, s) }
}

// syncBuffer collects log output from the client.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newTestAVClient(f *avFake, logs *syncBuffer, clock *fakeClock) *AVClient {
	return &AVClient{
		BaseURL: f.srv.URL + "/query",
		APIKey:  testAVKey,
		HTTP:    f.srv.Client(),
		Timeout: 2 * time.Second,
		Now:     clock.Now,
		Log:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func TestAVClientDaily(t *testing.T) {
	f := newAVFake(t)
	logs := &syncBuffer{}
	clock := &fakeClock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	wantBars := []DailyBar{
		{Time: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), Open: 162.8, High: 163.3, Low: 161.3, Close: 161.5, AdjClose: 161.5, Volume: 3825000},
		{Time: time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC), Open: 161.0, High: 161.7, Low: 160.1, Close: 160.1, AdjClose: 160.1, Volume: 4086000},
		{Time: time.Date(2024, 1, 4, 0, 0, 0, 0, time.UTC), Open: 160.1, High: 161.5, Low: 159.2, Close: 160.9, AdjClose: 160.9, Volume: 5100000},
	}
	cases := []struct {
		name       string
		datatype   string
		outputsize string
		handler    http.HandlerFunc
		maxBody    int64
		want       []error // the error matches all of these; nil: success
		notWant    error
	}{
		{name: "json", datatype: "json", handler: body(avJSONBody)},
		{name: "csv newest first", datatype: "csv", outputsize: "full", handler: body(avCSVBody)},
		{name: "Error Message", handler: body(`{"Error Message": "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY."}`),
			want: []error{ErrAVInvalidCall}},
		{name: "Note", handler: body(`{"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day."}`),
			want: []error{ErrAVRateLimit}},
		{name: "Information premium", handler: body(`{"Information": "This is a premium endpoint. You may subscribe to any of the premium plans."}`),
			want: []error{ErrAVInformation}, notWant: ErrAVRateLimit},
		{name: "Information daily limit", handler: body(`{"Information": "We have detected your API key as SECRET-KEY-42 and our standard API rate limit is 25 requests per day."}`),
			want: []error{ErrAVRateLimit, ErrAVInformation}},
		{name: "error body for csv", datatype: "csv", handler: body(`{"Error Message": "Invalid API call."}`),
			want: []error{ErrAVInvalidCall}},
		{name: "HTTP 500", handler: status(500, "<html><body>Internal error for apikey=SECRET-KEY-42</body></html>"),
			want: []error{ErrAVHTTP}, notWant: ErrAVRateLimit},
		{name: "HTTP 429", handler: status(429, "slow down"), want: []error{ErrAVHTTP, ErrAVRateLimit}},
		{name: "HTTP 503 empty", handler: status(503, ""), want: []error{ErrAVHTTP}},
		{name: "truncated transfer", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5000")
			fmt.Fprint(w, avJSONBody[:200])
		}, want: []error{ErrAVBadResponse}},
		{name: "truncated JSON", handler: body(avJSONBody[:len(avJSONBody)/2]), want: []error{ErrAVBadResponse}},
		{name: "truncated CSV", datatype: "csv", handler: body(avCSVBody[:len(avCSVBody)-20]), want: []error{ErrAVBadResponse}},
		{name: "HTML", handler: body("<!DOCTYPE html><html><body>Captive portal</body></html>"), want: []error{ErrAVBadResponse}},
		{name: "JSON without series", handler: body(`{"Meta Data": {"2. Symbol": "IBM"}}`), want: []error{ErrAVBadResponse}},
		{name: "empty 200", handler: body("  \n"), want: []error{ErrAVBadResponse}},
		{name: "oversized", maxBody: 256, handler: body(avJSONBody), want: []error{ErrAVBadResponse}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.set(tc.handler)
			c := newTestAVClient(f, logs, clock)
			c.MaxBody = tc.maxBody
			s, err := c.Daily(context.Background(), "IBM", tc.outputsize, tc.datatype)
			q := f.query()
			wantDT, wantOS := tc.datatype, tc.outputsize
			if wantDT == "" {
				wantDT = "json"
			}
			if wantOS == "" {
				wantOS = "compact"
			}
			if q.Get("function") != "TIME_SERIES_DAILY" || q.Get("symbol") != "IBM" || q.Get("apikey") != testAVKey ||
				q.Get("datatype") != wantDT || q.Get("outputsize") != wantOS {
				t.Errorf("query sent: %v", q)
			}
			if err != nil && strings.Contains(err.Error(), testAVKey) {
				t.Errorf("the key is in the error: %v", err)
			}
			t.Logf("error: %v", err)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Daily: %v", err)
				}
				if s.Symbol != "IBM" || len(s.Bars) != len(wantBars) {
					t.Fatalf("series %s with %d bars, want IBM with %d", s.Symbol, len(s.Bars), len(wantBars))
				}
				for k, b := range s.Bars {
					if !b.Time.Equal(wantBars[k].Time) || b.Open != wantBars[k].Open || b.High != wantBars[k].High ||
						b.Low != wantBars[k].Low || b.Close != wantBars[k].Close || b.AdjClose != wantBars[k].AdjClose || b.Volume != wantBars[k].Volume {
						t.Errorf("bar %d = %+v, want %+v", k, b, wantBars[k])
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %v", tc.want)
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q is not %v", err, w)
				}
			}
			if tc.notWant != nil && errors.Is(err, tc.notWant) {
				t.Errorf("error %q should not be %v", err, tc.notWant)
			}
			var le *AVLimitError
			if errors.As(err, &le) {
				t.Errorf("a server answer reported as a client-side refusal: %v", err)
			}
		})
	}
	out := logs.String()
	if !strings.Contains(out, "alpha vantage call") {
		t.Errorf("nothing was logged at debug level:\n%s", out)
	}
	if strings.Contains(out, testAVKey) {
		t.Errorf("the API key was logged:\n%s", out)
	}
}

func TestAVClientRefusesBeforeSending(t *testing.T) {
	f := newAVFake(t)
	clock := &fakeClock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	cases := []struct {
		name                        string
		key, symbol, size, dt, base string
		want                        error
	}{
		{name: "no key", symbol: "IBM", want: ErrAVNoKey},
		{name: "empty symbol", key: testAVKey, symbol: " ", want: ErrAVBadRequest},
		{name: "symbol with &", key: testAVKey, symbol: "IBM&function=X", want: ErrAVBadRequest},
		{name: "bad outputsize", key: testAVKey, symbol: "IBM", size: "huge", want: ErrAVBadRequest},
		{name: "bad datatype", key: testAVKey, symbol: "IBM", dt: "xml", want: ErrAVBadRequest},
		{name: "bad base URL", key: testAVKey, symbol: "IBM", base: "ftp://example.invalid/", want: ErrAVBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestAVClient(f, &syncBuffer{}, clock)
			c.APIKey = tc.key
			c.Limiter = NewAVLimiter(1, 1)
			if tc.base != "" {
				c.BaseURL = tc.base
			}
			_, err := c.Daily(context.Background(), tc.symbol, tc.size, tc.dt)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if q := c.Limiter.Quota(); q.Used != 0 {
				t.Errorf("a refused call used the quota: %+v", q)
			}
		})
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("%d requests reached the server, want none", n)
	}
}

func TestAVClientRateLimit(t *testing.T) {
	f := newAVFake(t)
	clock := &fakeClock{t: time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)}
	c := newTestAVClient(f, &syncBuffer{}, clock)
	ctx := context.Background()
	call := func() error { _, err := c.Daily(ctx, "IBM", "", ""); return err }

	for k := 1; k <= 5; k++ {
		if err := call(); err != nil {
			t.Fatalf("call %d: %v", k, err)
		}
		clock.Advance(time.Second)
	}
	err := call()
	var le *AVLimitError
	if !errors.Is(err, ErrAVRateLimit) || !errors.As(err, &le) || le.Per != "minute" {
		t.Fatalf("6th call within a minute: %v, want a client-side refusal per minute", err)
	}
	if n := f.calls.Load(); n != 5 {
		t.Fatalf("the server saw %d requests, want 5 (the 6th refused before sending)", n)
	}
	// 5 s have passed; the bucket gives one token every 12 s.
	if le.RetryAfter != 7*time.Second {
		t.Errorf("RetryAfter = %s, want 7s", le.RetryAfter)
	}
	clock.Advance(6 * time.Second)
	if err := call(); !errors.Is(err, ErrAVRateLimit) {
		t.Fatalf("after 11 s: %v, want still refused", err)
	}
	clock.Advance(time.Second)
	if err := call(); err != nil {
		t.Fatalf("after 12 s: %v, want allowed", err)
	}

	// The day: 25 requests, then refusals until UTC midnight.
	for used := c.Limiter.Quota().Used; used < AVFreePerDay; used++ {
		clock.Advance(12 * time.Second)
		if err := call(); err != nil {
			t.Fatalf("request %d of the day: %v", used+1, err)
		}
	}
	clock.Advance(time.Minute)
	err = call()
	if !errors.As(err, &le) || le.Per != "day" {
		t.Fatalf("26th request of the day: %v, want a refusal per day", err)
	}
	if n := f.calls.Load(); n != AVFreePerDay {
		t.Fatalf("the server saw %d requests, want %d", n, AVFreePerDay)
	}
	clock.Advance(le.RetryAfter)
	if err := call(); err != nil {
		t.Fatalf("after UTC midnight: %v, want allowed", err)
	}

	// The server says "too many" although our count allows it: believe it.
	f.set(body(`{"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute."}`))
	clock.Advance(time.Hour)
	if err := call(); !errors.Is(err, ErrAVRateLimit) || errors.As(err, &le) {
		t.Fatalf("server note: %v", err)
	}
	before := f.calls.Load()
	if err := call(); !errors.As(err, &le) {
		t.Fatalf("right after the server's note: %v, want a client-side refusal", err)
	}
	if f.calls.Load() != before {
		t.Fatal("a request was sent after the server's rate-limit note")
	}
}

func TestAVLimiterQuotaPersists(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	a := NewAVLimiter(5, 25)
	for range 5 {
		if err := a.Reserve(now); err != nil {
			t.Fatal(err)
		}
	}
	// A second process loads what the first saved.
	b := NewAVLimiter(5, 25)
	b.SetQuota(a.Quota())
	if err := b.Reserve(now.Add(time.Second)); !errors.Is(err, ErrAVRateLimit) {
		t.Fatalf("restored limiter: %v, want refused", err)
	}
	if q := b.Quota(); q.Used != 5 || q.Day != "2026-11-25" {
		t.Errorf("quota %+v", q)
	}
	if err := b.Reserve(now.Add(12 * time.Second)); err != nil {
		t.Fatalf("after 12 s: %v", err)
	}
}

func TestAVClientTimeoutAndTransportErrors(t *testing.T) {
	f := newAVFake(t)
	logs := &syncBuffer{}
	clock := &fakeClock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	release := make(chan struct{})
	f.set(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	c := newTestAVClient(f, logs, clock)
	c.Timeout = 100 * time.Millisecond
	start := time.Now()
	_, err := c.Daily(context.Background(), "IBM", "", "")
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hanging server: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the timeout took %s", d)
	}
	if err != nil && strings.Contains(err.Error(), testAVKey) {
		t.Errorf("the key is in the error: %v", err)
	}
	var ue *url.Error
	if errors.As(err, &ue) && strings.Contains(ue.URL, testAVKey) {
		t.Errorf("the key is in the url.Error: %s", ue.URL)
	}

	// A server that is gone: the transport's error carries the URL.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	c = newTestAVClient(f, logs, clock)
	c.BaseURL = gone.URL + "/query"
	_, err = c.Daily(context.Background(), "IBM", "", "")
	if err == nil || strings.Contains(err.Error(), testAVKey) || !strings.Contains(err.Error(), "REDACTED") {
		t.Errorf("closed server: %v, want an error with the key redacted", err)
	}
	if errors.As(err, &ue) && strings.Contains(ue.URL, testAVKey) {
		t.Errorf("the key is in the url.Error: %s", ue.URL)
	}
	if strings.Contains(logs.String(), testAVKey) {
		t.Errorf("the API key was logged:\n%s", logs.String())
	}
}
