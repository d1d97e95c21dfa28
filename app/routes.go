package app

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxBodyBytes caps every request body but file uploads.
const maxBodyBytes = 1 << 20

// routes lists every route of the application, in one place.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(s.logRequests)
	r.Use(loopbackHostOnly)
	r.Use(http.NewCrossOriginProtection().Handler)
	r.Use(limitBody(maxBodyBytes, map[string]int64{"/api/market/import": maxImportBytes}))

	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+".")
	})

	// Pages.
	r.Get("/", s.handleHome)
	r.Get("/market", s.handleMarket)
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

	// Market: instruments, bars, books, the clock, regime scripts, orders, imports.
	r.Get("/api/market/instruments", marketInstruments(s.market))
	r.Get("/api/market/state", marketState(s.market))
	r.Get("/api/market/bars/{symbol}", marketBars(s.market))
	r.Get("/api/market/book/{symbol}", marketBook(s.market))
	r.Post("/api/market/speed", marketSpeed(s.market))
	r.Post("/api/market/script", marketScript(s.market))
	r.Post("/api/market/orders", marketOrder(s.market))
	r.Post("/api/market/import", marketImport(s.market))

	// Data: synthetic data jobs (app/synth/jobs) and their page.
	r.Get("/data", s.handleData)
	r.Get("/api/synth/jobs", synthList(s.synth))
	r.Post("/api/synth/jobs", synthStart(s.synth))
	r.Get("/api/synth/jobs/{id}", synthJob(s.synth))
	r.Delete("/api/synth/jobs/{id}", synthCancel(s.synth))
	r.Post("/api/synth/jobs/{id}/rerun", synthRerun(s.synth))
	r.Get("/api/synth/jobs/{id}/preview", synthPreview(s.synth))
	r.Get("/api/synth/jobs/{id}/file", synthFile(s.synth))

	// Learning: reinforcement-learning runs (app/rl) and the Training page.
	r.Get("/train", s.handleTrain)
	r.Get("/api/rl/runs", rlRuns(s.rl))
	r.Post("/api/rl/runs", rlStart(s.rl))
	r.Post("/api/rl/runs/{id}/stop", rlStop(s.rl))
	r.Post("/api/rl/runs/{id}/resume", rlResume(s.rl))
	r.Get("/api/rl/runs/{id}/metrics", rlMetrics(s.rl))
	r.Get("/api/rl/runs/{id}/checkpoint", rlCheckpoint(s.rl))

	// Learning, multi-agent: QMIX/VDN/MADDPG runs (app/marl) for the Training page.
	r.Get("/api/marl/runs", marlRuns(s.marl))
	r.Post("/api/marl/runs", marlStart(s.marl))
	r.Post("/api/marl/runs/{id}/stop", marlStop(s.marl))
	r.Post("/api/marl/runs/{id}/resume", marlResume(s.marl))
	r.Get("/api/marl/runs/{id}/metrics", marlMetrics(s.marl))

	// Tournament: its pages, state, commentary and votes.
	s.tournamentRoutes(r)

	// Embedded static files.
	r.Get("/static/*", s.static.ServeHTTP)
	return r
}
