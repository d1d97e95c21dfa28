package web

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// tokenCookie holds the access token once a browser has opened the URL
// with ?token=.
const tokenCookie = "ms_token"

// accessControl is who may talk to the server. Without a token (the
// default, loopback only) it is loopbackHostOnly: a DNS-rebinding page gets
// nothing. With a token (--listen-any), every request but /healthz must
// carry it, Jupyter-style: ?token= once (kept in a cookie), the cookie, or
// "Authorization: Bearer". A rebinding page has none of them.
func accessControl(token string) func(http.Handler) http.Handler {
	if token == "" {
		return loopbackHostOnly
	}
	want := []byte(token)
	ok := func(s string) bool { return s != "" && subtle.ConstantTimeCompare([]byte(s), want) == 1 }
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/healthz" {
				next.ServeHTTP(w, r)
				return
			}
			if q := r.URL.Query().Get("token"); ok(q) {
				http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
				if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/ws" {
					// Take the token out of the address bar and history.
					u := *r.URL
					v := u.Query()
					v.Del("token")
					u.RawQuery = v.Encode()
					http.Redirect(w, r, u.String(), http.StatusSeeOther)
					return
				}
				next.ServeHTTP(w, r)
				return
			}
			if c, err := r.Cookie(tokenCookie); err == nil && ok(c.Value) {
				next.ServeHTTP(w, r)
				return
			}
			if b, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found && ok(b) {
				next.ServeHTTP(w, r)
				return
			}
			writeError(w, r, http.StatusUnauthorized,
				"This Metastation needs its access token: open the address it printed when it started (it ends in ?token=…).")
		})
	}
}
