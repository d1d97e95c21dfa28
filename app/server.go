package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/metastation/metastation/app/analytics"
	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/hub"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/supervisor"
	"github.com/metastation/metastation/app/synth/jobs"
)

// Server is the running application: the database, the bus, the hub, the
// supervised services and the HTTP server in front of them.
type Server struct {
	cfg    Config
	log    *slog.Logger
	db     *store.DB
	writer *store.Writer
	bus    *bus.Bus
	hub    *hub.Hub
	sup    *supervisor.Supervisor
	static *staticFiles
	mx     *metrics
	start  time.Time

	// The subsystems, each a supervised service (see coreServices).
	market      *market.Service     // the simulated market everyone trades on
	tournament  *tournamentService  // the trading tournament (app/tournament)
	analytics   *analytics.Service  // metric series, forecasts and the agent network
	showcase    *analytics.Showcase // seeded stand-in agents for the network page
	rl          *rlTrainer          // reinforcement-learning runs for the Learning page (app/rl)
	marl        *marl.Service       // multi-agent runs for the Learning page (app/marl)
	synth       *jobs.Service       // synthetic data jobs for the Data page (app/synth/jobs)
	recorderSub *bus.Subscription   // what runRecorder persists

	// extra services added before Start, for tests (the injected panic).
	services []supervisor.Service

	http     *http.Server
	ln       net.Listener
	cancel   context.CancelFunc
	stopOnce sync.Once
	stopErr  error
}

// NewServer opens the database in cfg.DataDir and builds every part. Nothing
// runs until Start.
func NewServer(ctx context.Context, cfg Config, log *slog.Logger, assets Assets) (*Server, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	db, err := store.Open(ctx, filepath.Join(cfg.DataDir, store.FileName), assets.Migrations)
	if err != nil {
		return nil, err
	}
	static, err := newStaticFiles(assets.Static)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, db: db, bus: bus.New(), static: static, start: time.Now()}
	s.writer = store.NewWriter(db, store.WriterOptions{}, log)
	s.recorderSub = s.bus.Subscribe(1024, topicSystemState.Name, topicSystemEvents.Name)
	s.hub = hub.New(s.bus, log, hub.Options{})
	fail := func(err error) (*Server, error) {
		s.writer.Close()
		db.Close()
		return nil, err
	}
	if s.tournament, err = newTournament(ctx, s); err != nil {
		return fail(err)
	}
	if s.market, err = newMarket(cfg, s.bus, s.writer, db, log); err != nil {
		return fail(err)
	}
	s.analytics = analytics.NewService(analytics.NewRegistry(analytics.Options{Writer: s.writer, DB: db}), s.bus, log)
	s.showcase = analytics.NewShowcase(s.bus, cfg.Seed)
	if s.rl, err = newRLTrainer(ctx, cfg, s.bus, s.writer, db, log); err != nil {
		return fail(err)
	}
	if s.marl, err = newMARLService(ctx, cfg, s.bus, s.writer, db, log); err != nil {
		return fail(err)
	}
	if s.synth, err = jobs.New(filepath.Join(cfg.DataDir, "synth"), s.bus, log.With("service", "synth"), 0); err != nil {
		return fail(err)
	}
	s.mx = newMetrics()
	s.sup = supervisor.New(log, supervisor.Options{OnRestart: s.mx.serviceRestarted, OnChange: s.serviceChanged})
	s.mx.register(s)
	return s, nil
}

// AddService registers an extra supervised service; call it before Start.
func (s *Server) AddService(svc supervisor.Service) { s.services = append(s.services, svc) }

// Start listens, then starts the services and serves HTTP in the background.
// It returns the URL the server answers on.
func (s *Server) Start(ctx context.Context) (string, error) {
	ln, err := listen(s.cfg.Addr)
	if err != nil {
		return "", err
	}
	s.ln = ln
	// Services and requests live until Shutdown, not until the caller's ctx
	// ends: a signal starts the shutdown, which then stops them in order.
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, svc := range append(s.coreServices(), s.services...) {
		if err := s.sup.Start(ctx, svc); err != nil {
			s.cancel()
			ln.Close()
			return "", err
		}
	}
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String() + "/", nil
}

// coreServices are the supervised services every server runs.
func (s *Server) coreServices() []supervisor.Service {
	svcs := []supervisor.Service{
		{Name: "hub", Run: s.hub.Run},
		{Name: "system", Run: s.runSystem},
		{Name: "recorder", Run: s.runRecorder},
		{Name: "tournament", Run: s.tournament.Run},
		{Name: "market", Run: s.market.Run},
		{Name: "analytics", Run: s.analytics.Run},
		{Name: "rl", Run: s.rl.Run},
		{Name: "marl", Run: s.marl.Run},
		{Name: "synth", Run: s.synth.Run},
	}
	if s.cfg.Showcase {
		svcs = append(svcs, supervisor.Service{Name: "showcase", Run: s.showcase.Run})
	}
	return svcs
}

// Shutdown stops in the order that loses nothing: stop accepting, close web
// sockets with "going away", stop the services, flush the batching writer,
// close the database. It is safe to call twice.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.shutdown(ctx) })
	return s.stopErr
}

func (s *Server) shutdown(ctx context.Context) error {
	var errs []error
	if s.http != nil {
		s.http.SetKeepAlivesEnabled(false)
		if err := s.hub.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.sup.Wait()
	if err := s.writer.Close(); err != nil {
		errs = append(errs, fmt.Errorf("flush writer: %w", err))
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close database: %w", err))
	}
	return errors.Join(errs...)
}

// Handler returns the HTTP handler (for tests that do not need a listener).
func (s *Server) Handler() http.Handler { return s.routes() }

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
