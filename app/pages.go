package app

import (
	"net/http"

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
		{Title: "Learning", Href: "/train"},
		{Title: "Data", Href: "/data"},
	}
}

// page returns the layout data for the page at href.
func (s *Server) page(title, href string) ui.Page {
	return ui.Page{Title: title, Active: href, Nav: nav(), Asset: s.static.URL}
}

// render writes a templ component as an HTML page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	if err := c.Render(r.Context(), w); err != nil {
		s.log.Error("render page", "path", r.URL.Path, "err", err)
	}
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, ui.Home(s.page("Home", "/")))
}
