package app

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/metastation/metastation/app/analytics"
	"github.com/metastation/metastation/app/disttrain"
	"github.com/metastation/metastation/app/entrant"
	"github.com/metastation/metastation/app/llm"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/media"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/memory/feeds"
	"github.com/metastation/metastation/app/mlops"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/supply"
	"github.com/metastation/metastation/app/synth"
	"github.com/metastation/metastation/app/synth/jobs"
	"github.com/metastation/metastation/app/tournament"
	"time"
)

// buildServices builds every domain service with its dependencies, in the
// order they depend on each other.
func (a *App) buildServices(ctx context.Context) error {
	var err error
	if err = a.newCluster(); err != nil {
		return err
	}
	if a.Tournament, err = a.newTournament(ctx); err != nil {
		return err
	}
	if a.Market, err = a.newMarket(); err != nil {
		return err
	}
	a.Analytics = analytics.NewService(analytics.NewRegistry(analytics.Options{Writer: a.Writer, DB: a.DB}), a.Bus, a.Log)
	a.Showcase = analytics.NewShowcase(a.Bus, a.Config.Seed)
	if a.RL, err = a.newRL(ctx); err != nil {
		return err
	}
	if a.MARL, err = a.newMARL(ctx); err != nil {
		return err
	}
	if a.Supply, err = a.newSupply(ctx); err != nil {
		return err
	}
	if a.Memory, err = a.newMemory(ctx); err != nil {
		return err
	}
	if a.Media, err = a.newMedia(ctx); err != nil {
		return err
	}
	if a.Research, err = a.newResearch(); err != nil {
		return err
	}
	if a.Synth, err = jobs.New(filepath.Join(a.Config.DataDir, "synth"), a.Bus, a.Log.With("service", "synth"), 0); err != nil {
		return err
	}
	a.Synth.SetLimits(jobs.Limits{MaxRows: a.Config.MaxRows, MaxQueued: a.Config.MaxSynthJobs})
	return a.newMLOps()
}

// newMLOps builds the model registry of the data directory, its server,
// the hook that registers finished rl/marl runs and fraud-detector fits
// (each run may opt out), and the tournament entrant that plays the
// trading policy aliased champion.
func (a *App) newMLOps() error {
	reg, err := mlops.OpenRegistry(a.DB, a.Config.DataDir)
	if err != nil {
		return fmt.Errorf("model registry: %w", err)
	}
	log := a.Log.With("service", "mlops")
	a.MLOps = mlops.NewService(reg, mlops.Config{MaxEvaluations: a.Config.MaxEvaluations}, a.Bus, log)
	if a.Cluster != nil {
		// Alias moves are replicated commands; every node's registry
		// applies them in log order (cluster_aliases.go).
		a.clusterAliases = newAliasSync(a.Cluster, a.MLOps, a.DB.W, a.clusterAliased, a.Log.With("service", "cluster-aliases"))
		reg.SetReplicator(a.clusterAliases)
	}
	a.ModelAuto = mlops.NewAutoRegister(a.MLOps, filepath.Join(a.Config.DataDir, "synth"), log)
	a.Champion = mlops.NewChampionEntrant(a.MLOps, appRoster{a}, mlops.TradingModel, log)
	return nil
}

// appRoster is the tournament the champion plays in, found at the time of
// a move (tests replace a.Tournament after New).
type appRoster struct{ a *App }

func (r appRoster) Enter(m tournament.Maker) (int64, error) { return r.a.Tournament.Enter(m) }
func (r appRoster) Withdraw(id string) (int64, error)       { return r.a.Tournament.Withdraw(id) }

// The market the server runs: every preset instrument (equities, crypto,
// FX), a few thousand background agents, ten simulated seconds per real
// second so a 1-minute bar closes every six seconds. The speed can be changed
// from the page.
const (
	serverMarketPreset = "all"
	serverMarketAgents = 2000
	serverMarketSpeed  = 10
)

func (a *App) newMarket() (*market.Service, error) {
	u, err := market.Preset(serverMarketPreset)
	if err != nil {
		return nil, fmt.Errorf("market preset: %w", err)
	}
	var start time.Time
	if a.DB != nil {
		// Carry on from the last persisted bar: after a restart the clock
		// and prices continue, as the tournament does.
		resumed, at, ok, err := market.ResumePoint(context.Background(), a.DB, u)
		if err != nil {
			return nil, fmt.Errorf("market resume: %w", err)
		}
		if ok {
			u, start = resumed, at
			a.Log.Info("market resumes after its last bar", "at", at)
		}
	}
	m, err := market.NewService(market.ServiceConfig{
		Sim:   market.SimConfig{Universe: u, Seed: uint64(a.Config.Seed), Agents: serverMarketAgents, Start: start},
		Speed: serverMarketSpeed,
	}, a.Bus, a.Writer, a.DB, a.Log.With("service", "market"))
	if err != nil {
		return nil, fmt.Errorf("market: %w", err)
	}
	return m, nil
}

// newTournament builds the tournament with the server's seed and its
// entrants. With an LLM URL (an OpenAI-compatible chat completions endpoint
// of a local model) commentary lines are rewritten by it, the templates
// being the fallback. The learner --tournament-agent names and those entered
// through the API before are entered.
func (a *App) newTournament(ctx context.Context) (*tournament.Service, error) {
	cfg := tournament.Config{Seed: uint64(a.Config.Seed)}
	if a.Cluster != nil {
		// The leader owns the rounds; every node runs them on the
		// replicated clock (see tournament.Ledger).
		cfg.Ledger = tournament.ClusterLedger{Node: a.Cluster}
	}
	if a.Config.LLMURL != "" {
		cfg.LLM = &tournament.LLM{Client: llm.Client{URL: a.Config.LLMURL, Model: a.Config.LLMModel}}
	}
	t, err := tournament.NewService(cfg, a.Bus, a.DB, a.Writer, a.Log)
	if err != nil {
		return nil, err
	}
	a.Entrants = entrant.NewService(a.Config.DataDir, a.DB, t, appRuns{a}, a.Log)
	if a.Config.TournamentAgent != "" {
		if err := a.Entrants.EnterFile(a.Config.TournamentAgent); err != nil {
			return nil, fmt.Errorf("--tournament-agent %s: %w", a.Config.TournamentAgent, err)
		}
	}
	a.Entrants.Reenter(ctx)
	return t, nil
}

// appRuns finds the app's multi-agent runs at the time of a request (tests
// replace a.MARL after New).
type appRuns struct{ a *App }

func (r appRuns) Get(id int64) (marl.RunInfo, error) { return r.a.MARL.Get(id) }

// newRL builds the trainer with its checkpoints under DataDir/rl and loads
// the runs of earlier sessions with their curves.
// In cluster mode every node is also a rollout worker for runs spread
// over the cluster (app/disttrain), and those that train here collect
// their shards through it.
func (a *App) newRL(ctx context.Context) (*rl.Service, error) {
	cfg := rl.ServiceConfig{Dir: filepath.Join(a.Config.DataDir, "rl"), CheckpointEvery: a.Config.CheckpointEvery, MaxQueued: a.Config.MaxQueuedRuns}
	if a.Cluster != nil {
		a.DistTrain = disttrain.New(disttrain.Config{Node: a.Cluster, Build: ReadBuildInfo().String(), Log: a.Log.With("service", "disttrain")})
		cfg.Collector = a.DistTrain
	}
	svc, err := rl.NewService(cfg, a.Bus, a.Writer, a.DB, a.Log.With("service", "rl"))
	if err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	if err := svc.Load(ctx, nil); err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	return svc, nil
}

// newMARL builds the multi-agent trainer with its checkpoints under
// DataDir/marl and loads the runs of earlier sessions.
func (a *App) newMARL(ctx context.Context) (*marl.Service, error) {
	svc, err := marl.NewService(marl.ServiceConfig{Dir: filepath.Join(a.Config.DataDir, "marl"), CheckpointEvery: a.Config.CheckpointEvery, MaxQueued: a.Config.MaxQueuedRuns}, a.Bus, a.Writer, a.DB, a.Log.With("service", "marl"))
	if err != nil {
		return nil, fmt.Errorf("multi-agent trainer: %w", err)
	}
	if err := svc.Load(ctx); err != nil {
		return nil, fmt.Errorf("multi-agent trainer: %w", err)
	}
	return svc, nil
}

// newSupply builds the crisis room. Its learned policy is the newest
// multi-agent run the Learning page trained to its budget on the supply
// world; its rooms, disruptions and comparisons go to the database.
func (a *App) newSupply(ctx context.Context) (*supply.Service, error) {
	learned := supply.NewestLearned(func() []marl.RunInfo { return a.MARL.Runs() })
	svc, err := supply.NewService(ctx, supply.ServiceConfig{Tick: a.Config.SupplyTick}, a.Bus, a.Writer, a.DB, learned, a.Log.With("service", "supply"))
	if err != nil {
		return nil, fmt.Errorf("crisis room: %w", err)
	}
	return svc, nil
}

// newMemory opens the agents' memory (every stored memory is loaded into
// the working set) and its service, with the tournament's feed so that
// the strategies' decisions and outcomes are remembered from the first
// round. The feed reads the bus by topic, so a tournament a test builds
// after New feeds it too.
func (a *App) newMemory(ctx context.Context) (*memory.Service, error) {
	log := a.Log.With("service", "memory")
	emb, err := memory.NewEmbedder()
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	var cfg memory.Config
	if a.Config.LLMURL != "" {
		cfg.Consolidation.Rewrite = reflectionRewriter(llm.Client{URL: a.Config.LLMURL, Model: a.Config.LLMModel})
	}
	st, err := memory.Open(ctx, cfg, a.DB, a.Writer, emb, log)
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	svc, err := memory.NewService(memory.ServiceConfig{}, st, a.Bus, log, feeds.NewTournament(st))
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	return svc, nil
}

// reflectionRewriter rewords consolidation's template reflections with the
// local model the commentary uses (--llm-url); the memory keeps the
// template when the model fails or brings a number of its own.
func reflectionRewriter(c llm.Client) memory.Rewriter {
	return func(ctx context.Context, agent, topic, text string) (string, error) {
		return c.Complete(ctx, llm.Request{
			System: "You reword a summary of a trading agent's memories as one or two plain sentences. " +
				"Keep every number exactly as written. Add no number, name or claim that is not in the summary.",
			User:        text,
			Temperature: 0.2,
			MaxChars:    600,
		})
	}
}

// newMedia builds the ingestion of uploaded files into the memory store:
// originals under DataDir/media, ffmpeg and tesseract used when installed.
// Its service completes at start any item a stop interrupted.
func (a *App) newMedia(ctx context.Context) (*media.Service, error) {
	log := a.Log.With("service", "media")
	p, err := media.NewPipeline(ctx, media.Config{Dir: filepath.Join(a.Config.DataDir, "media"), FreeBytes: synth.FreeBytes}, a.DB, a.Memory.Store(), log)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	t := p.Tools()
	log.Info("media: external tools", "tesseract", t.Tesseract != "", "ffmpeg", t.FFmpeg != "", "ffprobe", t.FFprobe != "")
	svc, err := media.NewService(media.ServiceConfig{}, p, a.Bus, log)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	return svc, nil
}
