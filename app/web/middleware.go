package web

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/memory"
)

// loopbackHostOnly refuses requests whose Host header is not a loopback name.
// A DNS-rebinding attack reaches 127.0.0.1 under a foreign host name; checking
// the Host keeps such pages from talking to Metastation.
func loopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isLoopbackHost(r.Host) {
			writeError(w, r, http.StatusForbidden,
				"Metastation only answers requests addressed to localhost or 127.0.0.1.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// limitBody caps request bodies at n bytes, or at larger[path] for the few
// upload routes; a handler reading past the cap gets an error.
func limitBody(n int64, larger map[string]int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := n
			if l, ok := larger[r.URL.Path]; ok {
				n = l
			}
			if r.ContentLength > n {
				writeError(w, r, http.StatusRequestEntityTooLarge, tooLargeSentence(r, n))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// tooLargeSentence says that r's body is past the cap of limit bytes, what
// the cap is, and what to do instead: the caps are fixed, so the way round
// one is a smaller request.
func tooLargeSentence(r *http.Request, limit int64) string {
	hint := "send a smaller body"
	switch r.URL.Path {
	case "/api/market/import":
		hint = "split the price file by years and import each part"
	case "/api/media":
		hint = "send the files in several uploads"
	case "/api/memory":
		hint = fmt.Sprintf("a note's text holds at most %d KB; shorten it", memory.MaxText>>10)
	}
	size := fmt.Sprintf("%d bytes", limit)
	if limit >= 1<<20 {
		size = fmt.Sprintf("%d bytes (%d MB)", limit, limit>>20)
	} else if limit >= 1<<10 {
		size = fmt.Sprintf("%d bytes (%d KB)", limit, limit>>10)
	}
	return fmt.Sprintf("The request body is larger than the %s %s %s accepts; %s.", size, r.Method, r.URL.Path, hint)
}

// logRequests logs each request at debug level (warn for server errors) and
// counts it for /metrics.
func logRequests(log *slog.Logger, mx *app.Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/ws" {
				next.ServeHTTP(w, r) // long-lived; the hub accounts for it
				return
			}
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			start := time.Now()
			next.ServeHTTP(ww, r)
			mx.Request(ww.Status())
			level := log.Debug
			if ww.Status() >= 500 {
				level = log.Warn
			}
			level("http", "method", r.Method, "path", r.URL.Path, "status", ww.Status(), "dur", time.Since(start))
		})
	}
}
