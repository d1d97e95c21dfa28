package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestSecurityHeaders checks every kind of response carries the headers,
// that the CSP forbids inline scripts without a nonce and eval, refuses
// framing, and that each response has its own nonce.
func TestSecurityHeaders(t *testing.T) {
	_, url := startServer(t)
	nonces := map[string]bool{}
	for _, path := range []string{"", "welcome", "api/market/state", "healthz", "static/js/page.js", "no/such/page"} {
		t.Run("/"+path, func(t *testing.T) {
			resp, err := http.Get(url + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			for name, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
				"X-Frame-Options":        "DENY",
			} {
				if got := h.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "default-src 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			script := directive(csp, "script-src")
			if strings.Contains(script, "unsafe-inline") || strings.Contains(script, "unsafe-eval") || !strings.Contains(script, "'nonce-") {
				t.Errorf("script-src %q must have a nonce and neither unsafe-inline nor unsafe-eval", script)
			}
			nonces[script] = true
		})
	}
	if len(nonces) != 6 {
		t.Errorf("%d distinct script-src nonces over 6 responses; each response needs its own", len(nonces))
	}
}

func directive(csp, name string) string {
	for _, d := range strings.Split(csp, ";") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, name+" ") {
			return d
		}
	}
	return ""
}

// TestQuitRefusesOtherSites: a page on another site cannot stop the server;
// the refusal is JSON like every other error (it was text/plain).
func TestQuitRefusesOtherSites(t *testing.T) {
	a, url := startServer(t)
	for _, tc := range []struct {
		name    string
		headers map[string]string
	}{
		{"sec-fetch-site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"foreign origin", map[string]string{"Origin": "http://evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, url+"api/quit", nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Error string }
			if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("status %d, type %q; want 403 JSON", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || !strings.Contains(body.Error, "another web site") {
				t.Fatalf("body %+v, %v", body, err)
			}
		})
	}
	select {
	case <-a.QuitRequested():
		t.Fatal("a cross-origin request stopped the server")
	default:
	}
}
