// Package web is Metastation's HTTP face: every route (routes.go), the
// handlers, the middleware, the pages and the static files. Handlers decode
// and validate, call a domain service, and encode; they take the service
// they need, not the whole application.
package web

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/metastation/metastation/app"
)

// New returns the HTTP handler of the application a.
func New(a *app.App) (http.Handler, error) {
	static, err := newStaticFiles(a.Assets.Static)
	if err != nil {
		return nil, err
	}
	return routes(a, static, newPages(static, a.Log)), nil
}

// writeJSON encodes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// writeError sends an error a person can read: one clear sentence, as JSON
// for API callers and as text otherwise.
func writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if r.Header.Get("Accept") == "application/json" || len(r.URL.Path) > 4 && r.URL.Path[:5] == "/api/" {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	http.Error(w, msg, status)
}

// Start serves a's HTTP handler and starts its services; it returns the URL
// the server answers on.
func Start(ctx context.Context, a *app.App) (string, error) {
	h, err := New(a)
	if err != nil {
		return "", err
	}
	return a.Start(ctx, h)
}
