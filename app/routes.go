package app

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxBodyBytes caps every request body.
const maxBodyBytes = 1 << 20

// routes lists every route of the application, in one place.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(s.logRequests)
	r.Use(loopbackHostOnly)
	r.Use(http.NewCrossOriginProtection().Handler)
	r.Use(limitBody(maxBodyBytes))

	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+".")
	})

	// Pages.
	r.Get("/", s.handleHome)
	r.Get("/dashboard", s.handleDashboard)
	r.Get("/network", s.handleNetwork)

	// Live updates and health.
	r.Get("/ws", s.hub.ServeHTTP)
	r.Get("/healthz", s.handleHealth)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(s.mx.registry, promhttp.HandlerOpts{}))

	// API.
	r.Get("/api/system", s.handleSystem)
	r.Get("/api/system/history", s.handleHistory)
	r.Get("/api/events", s.handleEvents)

	// Analytics: metric series, forecasts, the agent network.
	r.Get("/api/analytics/series", analyticsList(s.analytics))
	r.Get("/api/analytics/series/{name}", analyticsQuery(s.analytics))
	r.Get("/api/analytics/forecast/{name}", analyticsForecast(s.analytics))
	r.Get("/api/analytics/network", analyticsNetwork(s.analytics))
	r.Get("/api/analytics/agents/{id}", analyticsAgent(s.analytics))

	// Embedded static files.
	r.Get("/static/*", s.static.ServeHTTP)
	return r
}
