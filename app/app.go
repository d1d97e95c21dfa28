// Package app wires Metastation together: it opens the database, builds every
// domain service with its dependencies, runs them under the supervisor and
// stops them in the order that loses nothing. It knows nothing of HTTP
// handlers, commands or benchmarks; app/web, app/cli and app/bench build on it.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/metastation/metastation/app/analytics"
	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/cluster"
	"github.com/metastation/metastation/app/disttrain"
	"github.com/metastation/metastation/app/entrant"
	"github.com/metastation/metastation/app/hub"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/media"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/mlops"
	"github.com/metastation/metastation/app/research"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/supervisor"
	"github.com/metastation/metastation/app/supply"
	"github.com/metastation/metastation/app/synth/jobs"
	"github.com/metastation/metastation/app/tournament"
)

// Assets are the files embedded in the binary.
type Assets struct {
	Static     fs.FS // static/: JavaScript, CSS, vendored libraries
	Migrations fs.FS // migrations/: NNNN_name.sql
}

// App is the running application: the database, the bus, the hub and the
// supervised services, and the HTTP server in front of them once started.
// Its fields are read by app/web and app/bench; they are set by New and not
// changed afterwards (tests may replace a service before Start).
type App struct {
	Config  Config
	Log     *slog.Logger
	Assets  Assets
	DB      *store.DB
	Writer  *store.Writer
	Bus     *bus.Bus
	Hub     *hub.Hub
	Metrics *Metrics
	Started time.Time

	// The subsystems, each a supervised service (see coreServices).
	Market     *market.Service     // the simulated market everyone trades on
	Tournament *tournament.Service // the trading tournament
	Entrants   *entrant.Service    // trained learners entering the tournament
	Analytics  *analytics.Service  // metric series, forecasts and the agent network
	Showcase   *analytics.Showcase // seeded stand-in agents for the network page
	RL         *rl.Service         // reinforcement-learning runs for the Learning page
	MARL       *marl.Service       // multi-agent runs for the Learning page
	Synth      *jobs.Service       // synthetic data jobs for the Data page
	Supply     *supply.Service     // the supply-chain crisis room
	Memory     *memory.Service     // agents' memory streams, fed by the tournament from the start
	Media      *media.Service      // files people drop in, read into memories of kind document
	MLOps      *mlops.Service      // the model registry: serving, canary, shadow, promotion and rollback
	// ModelAuto registers the models of finished runs and data jobs;
	// Champion keeps the trading policy aliased champion in the tournament.
	ModelAuto *mlops.AutoRegister
	Champion  *mlops.ChampionEntrant
	Research  *research.Service  // the research agents and their memos
	Cluster   *cluster.Node      // this node of the raft cluster; nil when running alone
	DistTrain *disttrain.Trainer // rollout worker and shard collector in cluster mode; nil alone

	clusterVotes   chan cluster.Vote // applied votes for the local tournament
	clusterAliased chan struct{}     // an alias move was applied to the replicated state
	clusterAliases *aliasSync        // applies them to this node's model registry

	sup         *supervisor.Supervisor
	recorderSub *bus.Subscription // what runRecorder persists
	services    []supervisor.Service

	http     *http.Server
	ln       net.Listener
	cancel   context.CancelFunc
	stopOnce sync.Once
	quit     chan struct{} // closed by RequestQuit (the UI's Quit control)
	quitOnce sync.Once
	stopErr  error
}

// New opens the database in cfg.DataDir and builds every part. Nothing runs
// until Start.
func New(ctx context.Context, cfg Config, log *slog.Logger, assets Assets) (*App, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	db, err := store.Open(ctx, filepath.Join(cfg.DataDir, store.FileName), assets.Migrations)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: log, Assets: assets, DB: db, Bus: bus.New(), Started: time.Now(), quit: make(chan struct{})}
	a.Writer = store.NewWriter(db, store.WriterOptions{}, log)
	a.recorderSub = a.Bus.Subscribe(1024, topicSystemState.Name, topicSystemEvents.Name)
	a.Hub = hub.New(a.Bus, log, hub.Options{Subsystems: topicSubsystems()})
	if err := a.buildServices(ctx); err != nil {
		if a.Cluster != nil {
			a.Cluster.Close()
		}
		a.Writer.Close()
		db.Close()
		return nil, err
	}
	a.Metrics = newMetrics()
	a.sup = supervisor.New(log, supervisor.Options{OnRestart: a.Metrics.serviceRestarted, OnChange: a.serviceChanged})
	a.Metrics.register(a)
	return a, nil
}

// AddService registers an extra supervised service; call it before Start.
func (a *App) AddService(svc supervisor.Service) { a.services = append(a.services, svc) }

// Start listens, then starts the services and serves handler in the
// background. It returns the URL the server answers on.
func (a *App) Start(ctx context.Context, handler http.Handler) (string, error) {
	ln, err := listen(a.Config.Addr)
	if err != nil {
		return "", err
	}
	a.ln = ln
	// Services and requests live until Shutdown, not until the caller's ctx
	// ends: a signal starts the shutdown, which then stops them in order.
	ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, svc := range append(a.coreServices(), a.services...) {
		if err := a.sup.Start(ctx, svc); err != nil {
			a.cancel()
			ln.Close()
			return "", err
		}
	}
	a.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext:       hub.ConnContext, // the hub sizes its web sockets' send buffers
	}
	go func() {
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("http server stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String() + "/", nil
}

// coreServices are the supervised services every server runs.
func (a *App) coreServices() []supervisor.Service {
	svcs := []supervisor.Service{
		{Name: "hub", Run: a.Hub.Run},
		{Name: "system", Run: a.runSystem},
		{Name: "recorder", Run: a.runRecorder},
		{Name: "memory", Run: a.Memory.Run}, // before the tournament: its feed reads the first round
		{Name: "media", Run: a.Media.Run},
		{Name: "tournament", Run: a.Tournament.Run},
		{Name: "market", Run: a.Market.Run},
		{Name: "analytics", Run: a.Analytics.Run},
		{Name: "rl", Run: a.RL.Run},
		{Name: "marl", Run: a.MARL.Run},
		{Name: "synth", Run: a.Synth.Run},
		{Name: "supply", Run: a.Supply.Run},
		{Name: "mlops", Run: a.MLOps.Run},
		{Name: "mlops-register", Run: a.ModelAuto.Run},
		{Name: "mlops-champion", Run: a.Champion.Run},
		{Name: "research", Run: a.Research.Run},
	}
	// The research agents: the coordinator above and each agent its own
	// service, handing a run's job on.
	for _, ag := range a.Research.Agents() {
		svcs = append(svcs, supervisor.Service{Name: ag.Name, Run: ag.Run})
	}
	if a.Config.Showcase {
		svcs = append(svcs, supervisor.Service{Name: "showcase", Run: a.Showcase.Run})
	}
	if a.Cluster != nil {
		svcs = append(svcs, supervisor.Service{Name: "cluster", Run: a.runCluster},
			supervisor.Service{Name: "cluster-aliases", Run: a.clusterAliases.run})
	}
	return svcs
}

// Shutdown stops in the order that loses nothing: stop accepting, close web
// sockets with "going away", stop the services, flush the batching writer,
// close the database. It is safe to call twice.
func (a *App) Shutdown(ctx context.Context) error {
	a.stopOnce.Do(func() { a.stopErr = a.shutdown(ctx) })
	return a.stopErr
}

func (a *App) shutdown(ctx context.Context) error {
	var errs []error
	if a.http != nil {
		a.http.SetKeepAlivesEnabled(false)
		if err := a.Hub.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := a.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.sup.Wait()
	if a.Cluster != nil { // before the database: its state machine writes there
		if err := a.Cluster.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close cluster node: %w", err))
		}
	}
	if err := a.Writer.Close(); err != nil {
		errs = append(errs, fmt.Errorf("flush writer: %w", err))
	}
	if err := a.DB.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close database: %w", err))
	}
	return errors.Join(errs...)
}

// topicSubsystems are the first elements of every topic the app publishes;
// the hub refuses subscriptions outside them ("bench" is the benchmarks'
// own feed).
func topicSubsystems() []string {
	return []string{"agent", "analytics", "bench", "cluster", "market", "marl", "media", "memory",
		"mlops", "research", "rl", "showcase", "supply", "synth", "system", "tournament"}
}
