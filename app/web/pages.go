package web

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/a-h/templ"

	"github.com/metastation/metastation/ui"
)

// nav is the main navigation, in order. Each subsystem adds its page here.
func nav() []ui.NavItem {
	return []ui.NavItem{
		{Title: "Home", Href: "/"},
		{Title: "Tournament", Href: "/tournament"},
		{Title: "Floor", Href: "/floor"},
		{Title: "Market", Href: "/market"},
		{Title: "Dashboard", Href: "/dashboard"},
		{Title: "Network", Href: "/network"},
		{Title: "Memory", Href: "/memory"},
		{Title: "Media", Href: "/media"},
		{Title: "Learning", Href: "/train"},
		{Title: "Data", Href: "/data"},
		{Title: "Supply", Href: "/supply"},
		{Title: "Models", Href: "/models"},
		{Title: "Research", Href: "/research"},
		{Title: "Cluster", Href: "/cluster"},
	}
}

// pages renders the HTML pages with the layout's data.
type pages struct {
	static *staticFiles
	log    *slog.Logger
}

func newPages(static *staticFiles, log *slog.Logger) *pages {
	return &pages{static: static, log: log}
}

// page returns the layout data for the page at href.
func (p *pages) page(title, href string) ui.Page {
	return ui.Page{Title: title, Active: href, Nav: nav(), Asset: p.static.URL}
}

// render writes a templ component as an HTML page.
func (p *pages) render(w http.ResponseWriter, r *http.Request, c templ.Component) {
	p.renderStatus(w, r, http.StatusOK, c)
}

// renderStatus is render with a status other than 200 (a 404 page).
func (p *pages) renderStatus(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	if err := c.Render(r.Context(), w); err != nil {
		p.log.Error("render page", "path", r.URL.Path, "err", err)
	}
}

// handle serves the page at href drawn by component.
func (p *pages) handle(title, href string, component func(ui.Page) templ.Component) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r, component(p.page(title, href)))
	}
}

// wantsPage says whether a request is a browser's asking for a page (HTML,
// not under /api/), which gets the app's own page for an error.
func wantsPage(r *http.Request) bool {
	return r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/") &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}
