package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/mlops"
	"github.com/metastation/metastation/ui"
)

// maxBodyBytes caps every request body but file uploads.
const maxBodyBytes = 1 << 20

// routes lists every route of the application, in one place.
func routes(a *app.App, static *staticFiles, p *pages) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(middleware.GetHead) // HEAD of any GET route (HEAD /healthz was 405)
	r.Use(withLog(a.Log))
	r.Use(logRequests(a.Log, a.Metrics))
	r.Use(accessControl(a.Config.Token)) // loopback Host only, or the access token with --listen-any (access.go)
	r.Use(securityHeaders)               // CSP with nonces, frame-ancestors, nosniff (security.go)
	r.Use(crossOriginProtection())
	r.Use(audit(a.Writer, a.Log)) // every state-changing request into audit_log (audit.go)
	r.Use(limitBody(maxBodyBytes, map[string]int64{"/api/market/import": maxImportBytes, "/api/memory": maxNoteBytes, "/api/media": maxUploadBytes}))

	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if wantsPage(r) {
			// A browser gets the app's page, with its navigation.
			p.renderStatus(w, r, http.StatusNotFound, ui.NotFound(p.page("Not found", ""), r.URL.Path))
			return
		}
		writeError(w, r, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+".")
	})

	// Pages.
	r.Get("/", p.handle("Home", "/", ui.Home))
	r.Get("/market", p.handle("Market", "/market", ui.Market))
	r.Get("/dashboard", p.handle("Dashboard", "/dashboard", ui.Dashboard))
	r.Get("/network", p.handle("Network", "/network", ui.Network))

	// Live updates and health.
	r.Get("/ws", a.Hub.ServeHTTP)
	r.Get("/healthz", health(a.Health))
	r.Get("/welcome", welcomePage(p, a))     // first run: what runs, where data lives, how to stop
	r.Post("/api/quit", quit(a.RequestQuit)) // the UI's Quit control
	r.Get("/audit", auditPage(p, a.DB))      // the audit log of state-changing requests
	r.Get("/api/audit", auditList(a.DB))
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(a.Metrics.Registry(), promhttp.HandlerOpts{}))

	// The house itself: vital signs, their history, the event log.
	r.Get("/api/system", systemState(a.Snapshot))
	r.Get("/api/system/history", history(a.DB, a.Log))
	r.Get("/api/events", events(a.DB, a.Log))

	// Analytics: metric series, forecasts, the agent network.
	r.Get("/api/analytics/series", analyticsList(a.Analytics))
	r.Get("/api/analytics/series/{name}", analyticsQuery(a.Analytics))
	r.Get("/api/analytics/forecast/{name}", analyticsForecast(a.Analytics))
	r.Get("/api/analytics/network", analyticsNetwork(a.Analytics))
	r.Get("/api/analytics/agents/{id}", analyticsAgent(a.Analytics))

	// Market: instruments, bars, books, the clock, regime scripts, orders, imports.
	// A browser's orders and account are those of its voter cookie, the one
	// identity the app gives a browser (votes use it too).
	voters := newVoterCookies(a.DB)
	r.Get("/api/market/instruments", marketInstruments(a.Market))
	r.Get("/api/market/state", marketState(a.Market))
	r.Get("/api/market/bars/{symbol}", marketBars(a.Market))
	r.Get("/api/market/book/{symbol}", marketBook(a.Market))
	r.Post("/api/market/speed", marketSpeed(a.Market))
	r.Post("/api/market/script", marketScript(a.Market))
	r.Post("/api/market/orders", marketOrder(a.Market, voters))
	r.Delete("/api/market/orders/{id}", marketCancel(a.Market, voters))
	r.Get("/api/market/account", marketAccount(a.Market, voters))
	r.Post("/api/market/import", marketImport(a.Market))

	// Data: synthetic data jobs.
	r.Get("/data", dataPage(p, a.Synth))
	r.Get("/api/synth/jobs", synthList(a.Synth))
	r.Post("/api/synth/jobs", synthStart(a.Synth, a.MLOps.Registry()))
	r.Get("/api/synth/jobs/{id}", synthJob(a.Synth))
	r.Delete("/api/synth/jobs/{id}", synthCancel(a.Synth))
	r.Post("/api/synth/jobs/{id}/rerun", synthRerun(a.Synth))
	r.Get("/api/synth/jobs/{id}/preview", synthPreview(a.Synth))
	r.Get("/api/synth/jobs/{id}/file", synthFile(a.Synth))

	// Learning: single-agent runs and the Training page.
	r.Get("/train", p.handle("Learning", "/train", ui.Train))
	r.Get("/api/rl/runs", rlRuns(a.RL))
	r.Post("/api/rl/runs", rlStart(a.RL, a.MLOps.Registry()))
	r.Post("/api/rl/runs/{id}/stop", runAction(a.RL.Stop))
	r.Post("/api/rl/runs/{id}/resume", runAction(a.RL.Resume))
	r.Get("/api/rl/runs/{id}/metrics", rlMetrics(a.RL))
	r.Get("/api/rl/runs/{id}/checkpoint", rlCheckpoint(a.RL))

	// Learning, multi-agent: QMIX/VDN/MADDPG runs for the Training page.
	r.Get("/api/marl/runs", marlRuns(a.MARL))
	r.Post("/api/marl/runs", marlStart(a.MARL, a.MLOps.Registry()))
	r.Post("/api/marl/runs/{id}/stop", runAction(a.MARL.Stop))
	r.Post("/api/marl/runs/{id}/resume", runAction(a.MARL.Resume))
	r.Get("/api/marl/runs/{id}/metrics", marlMetrics(a.MARL))

	// Tournament: its pages, state, commentary, votes and entrants.
	votes := newRateLimiter(5, 20)
	r.Get("/tournament", p.handle("Tournament", "/tournament", ui.Tournament))
	r.Get("/floor", p.handle("Trading floor", "/floor", ui.Floor))
	r.Get("/api/tournament/state", tournamentState(a.Tournament))
	r.Get("/api/tournament/commentary", tournamentCommentary(a.Tournament))
	r.Get("/api/tournament/votes/mine", tournamentMyVote(a.Tournament, voters))
	r.Post("/api/tournament/votes", tournamentVote(a.CastVote, voters, votes))
	r.Post("/api/tournament/entrants", tournamentEnter(a.Entrants))
	r.Delete("/api/tournament/entrants/{strategy}", tournamentWithdraw(a.Entrants))

	// Supply: the crisis room, its crises, rooms and comparisons.
	r.Get("/supply", p.handle("Crisis room", "/supply", ui.Supply))
	r.Get("/api/supply/state", supplyState(a.Supply))
	r.Post("/api/supply/room", supplyRoom(a.Supply))
	r.Post("/api/supply/crises", supplyInject(a.Supply))
	r.Post("/api/supply/pause", supplyPause(a.Supply))
	r.Post("/api/supply/compare", supplyCompare(a.Supply))
	r.Get("/api/supply/comparisons", supplyComparisons(a.Supply))
	r.Get("/api/supply/rooms/{id}/disruptions", supplyDisruptions(a.Supply))

	// Models: the registry, aliases and their history, serving, canary and
	// shadow, promotion and rollback (app/mlops).
	models := a.MLOps
	r.Get("/models", p.handle("Models", "/models", ui.Models))
	r.Get("/api/models", modelsList(models))
	r.Post("/api/models/optout", modelOptOut(models.Registry()))
	r.Get("/api/models/{name}", modelShow(models, a.Champion.Playing))
	r.Get("/api/models/{name}/versions", modelVersions(models))
	r.Post("/api/models/{name}/versions", modelRegister(models, modelRuns{a.ModelAuto, mlops.Runs{RL: a.RL.Get, MARL: a.MARL.Get, Synth: a.Synth.Job}}))
	r.Get("/api/models/{name}/versions/{version}", modelVersion(models))
	r.Get("/api/models/{name}/aliases", modelAliases(models))
	r.Get("/api/models/{name}/aliases/{alias}", modelAlias(models))
	r.Put("/api/models/{name}/aliases/{alias}", modelSetAlias(models))
	r.Delete("/api/models/{name}/aliases/{alias}", modelDeleteAlias(models))
	r.Post("/api/models/{name}/aliases/{alias}/rollback", modelRollback(models))
	r.Post("/api/models/{name}/promote", modelPromote(models))
	r.Post("/api/models/{name}/rollback", modelRollback(models))
	r.Post("/api/models/{name}/evaluate", modelEvaluate(models))
	r.Post("/api/models/{name}/predict", modelPredict(models))
	r.Post("/api/models/{name}/feedback", modelFeedback(models))
	r.Get("/api/models/{name}/canary", modelCanaryStatus(models))
	r.Post("/api/models/{name}/canary", modelCanaryStart(models))
	r.Delete("/api/models/{name}/canary", modelCanaryStop(models))
	r.Get("/api/models/{name}/shadow", modelShadow(models))
	r.Post("/api/models/{name}/shadow", modelShadowSet(models, true))
	r.Delete("/api/models/{name}/shadow", modelShadowSet(models, false))
	r.Get("/api/models/{name}/events", modelEvents(models))

	// Memory: the agents' memory streams, search by meaning, notes, consolidation.
	strats := strategies(a.Tournament.Profiles)
	r.Get("/memory", p.handle("Memory", "/memory", ui.Memory))
	r.Get("/api/memory/search", memorySearch(a.Memory, strats))
	r.Get("/api/memory/stats", memoryStats(a.Memory))
	r.Get("/api/memory/agents", memoryAgents(a.Memory, strats))
	r.Get("/api/memory/agents/{id}", memoryTimeline(a.Memory, strats))
	r.Get("/api/memory/consolidation", memoryConsolidation(a.Memory))
	r.Post("/api/memory/consolidation", memoryConsolidate(a.Memory))
	r.Post("/api/memory", memoryNote(a.Memory, strats))
	r.Get("/api/memory/{id}", memoryGet(a.Memory))
	r.Post("/api/memory/{id}/pin", memoryPin(a.Memory))

	// Media: files dropped in (text, PDF, images, audio, video, tables) become memories.
	r.Get("/media", p.handle("Media", "/media", ui.Media))
	r.Post("/api/media", mediaUpload(a.Media))
	r.Get("/api/media", mediaList(a.Media))
	r.Get("/api/media/tools", mediaTools(a.Media))
	r.Get("/api/media/jobs", mediaJobs(a.Media))
	r.Get("/api/media/jobs/{id}", mediaJob(a.Media))
	r.Get("/api/media/{id}", mediaItem(a.Media))
	r.Get("/api/media/{id}/assets/{name}", mediaAsset(a.Media))
	r.Get("/api/media/{id}/original", mediaOriginal(a.Media))

	// Research: the agents, their runs, memos and the memories they cite.
	r.Get("/research", p.handle("Research", "/research", ui.Research))
	r.Get("/research/runs/{id}/memos/{exp}/print", researchMemoPrint(a.Research, p))
	r.Get("/api/research/runs", researchRuns(a.Research))
	r.Post("/api/research/runs", researchStart(a.Research))
	r.Get("/api/research/progress", researchProgress(a.Research))
	r.Get("/api/research/runs/{id}", researchRun(a.Research))
	r.Get("/api/research/runs/{id}/trials", researchTrials(a.Research))
	r.Get("/api/research/runs/{id}/memos/{exp}", researchMemo(a.Research))
	r.Get("/api/research/memories/{id}", researchMemory(a.Memory.Store()))

	// Cluster: this node's raft state, membership, linearizable reads.
	r.Get("/cluster", p.handle("Cluster", "/cluster", ui.Cluster))
	r.Get("/api/cluster", clusterState(a))
	r.Get("/api/cluster/read", clusterRead(a))
	r.Post("/api/cluster/join", clusterJoin(a))
	r.Post("/api/cluster/remove", clusterRemove(a))
	r.Post("/api/cluster/transfer", clusterTransfer(a))
	r.Post("/api/cluster/snapshot", clusterSnapshot(a))
	r.Post("/api/cluster/envelopes", clusterEnvelope(a))

	// Embedded static files.
	r.Get("/static/*", static.ServeHTTP)
	return r
}
