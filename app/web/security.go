package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"

	"github.com/a-h/templ"
)

// securityHeaders sets the headers that keep other sites from framing,
// sniffing or scripting Metastation's pages. Every response gets a
// Content-Security-Policy with a fresh nonce: scripts load only from this
// origin or carry the nonce (templ adds it to the scripts it renders, from
// the request's context), and eval is refused. Styles may be inline because
// the chart libraries (uPlot, lightweight-charts) set style attributes;
// style injection cannot run code.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce := newNonce()
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy(nonce))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY") // frame-ancestors for browsers that predate it
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		next.ServeHTTP(w, r.WithContext(templ.WithNonce(r.Context(), nonce)))
	})
}

// contentSecurityPolicy is the policy of every response. connect-src 'self'
// covers the page's own web socket; blob: and data: images are the charts'
// snapshots and the media thumbnails; workers are refused.
func contentSecurityPolicy(nonce string) string {
	return "default-src 'self'; " +
		"script-src 'self' 'nonce-" + nonce + "'; " +
		"style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data: blob:; " +
		"font-src 'self'; " +
		"connect-src 'self'; " +
		"media-src 'self' blob:; " +
		"worker-src 'none'; " +
		"object-src 'none'; " +
		"base-uri 'none'; " +
		"form-action 'self'; " +
		"frame-ancestors 'none'"
}

// newNonce returns 128 random bits, base64: a nonce an attacker cannot guess.
func newNonce() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand's documented contract)
	return base64.StdEncoding.EncodeToString(b[:])
}

// crossOriginProtection refuses state-changing requests from other origins
// (http.CrossOriginProtection: Sec-Fetch-Site and Origin), answering with
// the same JSON error as every other refusal instead of text/plain.
func crossOriginProtection() func(http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusForbidden,
			"Metastation refuses requests that change something when they come from another web site.")
	}))
	return cop.Handler
}
