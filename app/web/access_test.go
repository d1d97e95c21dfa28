package web

import (
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

// TestAccessToken: with a token (--listen-any) every request but /healthz
// needs it; ?token= sets a cookie and takes the token out of the address,
// the cookie and a bearer header let the request in, and a request for
// another host name is fine once it carries the token.
func TestAccessToken(t *testing.T) {
	cfg := testConfig(t)
	cfg.Token = "s3cret-token"
	_, url := startServerWith(t, cfg, nil)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(c *http.Client, path string, header map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		name, path string
		header     map[string]string
		status     int
	}{
		{"no token", "", nil, 401},
		{"no token, API", "api/market/state", nil, 401},
		{"wrong token", "?token=guess", nil, 401},
		{"wrong bearer", "api/market/state", map[string]string{"Authorization": "Bearer guess"}, 401},
		{"healthz is open", "healthz", nil, 200},
		{"bearer", "api/market/state", map[string]string{"Authorization": "Bearer s3cret-token"}, 200},
		{"token on an API call", "api/market/state?token=s3cret-token", nil, 200},
		{"token on a page redirects", "market?token=s3cret-token", nil, 303},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp := get(noRedirect, tc.path, tc.header); resp.StatusCode != tc.status {
				t.Fatalf("GET /%s: %d, want %d", tc.path, resp.StatusCode, tc.status)
			}
		})
	}
	resp := get(noRedirect, "market?token=s3cret-token&x=1", nil)
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "token") || !strings.Contains(loc, "x=1") {
		t.Errorf("redirect to %q: the token must leave the address, the rest stay", loc)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	if resp := get(browser, "?token=s3cret-token", nil); resp.StatusCode != 200 || resp.Request.URL.RawQuery != "" {
		t.Fatalf("opening the printed URL: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	if resp := get(browser, "api/market/state", nil); resp.StatusCode != 200 {
		t.Fatalf("with the cookie: %d", resp.StatusCode)
	}
	// Reached by another name (a LAN address): the token is what counts.
	if resp := get(noRedirect, "api/market/state", map[string]string{"Authorization": "Bearer s3cret-token", "Host": "192.168.1.20:8080"}); resp.StatusCode != 200 {
		t.Fatalf("another host name with the token: %d", resp.StatusCode)
	}
}
