package research

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
)

// The research topics on the bus.
var (
	TopicProgress = bus.NewTopic[Progress]("research.progress") // snapshot: where the current run is
	TopicAgents   = bus.NewTopic[Message]("research.agents")    // the agents' messages, From and To set
	TopicRuns     = bus.NewTopic[RunHead]("research.runs")      // one per finished run
)

// ServiceConfig tunes the Service.
type ServiceConfig struct {
	// DemoSeed, when not zero, runs the built-in corpus with this seed at
	// start when the database holds no run yet, so the page has a memo to
	// show on first open.
	DemoSeed uint64
	RealDir  string // Yahoo files the experiments check against; "" for none
	LLM      *LLM   // nil: memos from the templates only (the default, offline)
}

// Service runs research jobs one at a time, as a supervised service:
// Start queues a run, Run works through the queue, publishing progress
// and the agents' messages.
type Service struct {
	cfg  ServiceConfig
	rs   *Researcher
	bus  *bus.Bus
	log  *slog.Logger
	jobs chan RunConfig

	mu   sync.Mutex
	busy bool
	last Progress
}

// NewService builds the service around rs.
func NewService(cfg ServiceConfig, rs *Researcher, b *bus.Bus, log *slog.Logger) (*Service, error) {
	if rs == nil || b == nil {
		return nil, errors.New("research service: a researcher and a bus are required")
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{cfg: cfg, rs: rs, bus: b, log: log, jobs: make(chan RunConfig, 1)}, nil
}

// MaxSeed bounds the seeds a person may ask for (JSON numbers above 2^53
// lose digits in the browser).
const MaxSeed = 1<<53 - 1

// Start queues a run. It refuses while another is running or queued.
func (s *Service) Start(cfg RunConfig) error {
	if cfg.Seed > MaxSeed {
		return errs.Errorf(errs.Invalid, "A seed is at most %d.", uint64(MaxSeed))
	}
	if cfg.Dir != "" {
		if st, err := os.Stat(cfg.Dir); err != nil || !st.IsDir() {
			return errs.Errorf(errs.Invalid, "%s is not a folder this server can read.", cfg.Dir)
		}
	}
	if cfg.RealDir == "" {
		cfg.RealDir = s.cfg.RealDir
	}
	if cfg.LLM == nil {
		cfg.LLM = s.cfg.LLM
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy {
		return errs.Errorf(errs.Conflict, "A research run is already under way; wait for it to finish.")
	}
	select {
	case s.jobs <- cfg:
		s.busy = true
		return nil
	default:
		return errs.Errorf(errs.Conflict, "A research run is already queued.")
	}
}

// Researcher is the service's researcher, for queries.
func (s *Service) Researcher() *Researcher { return s.rs }

// Progress is the latest progress of the current or last run.
func (s *Service) Progress() Progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Run works through queued runs until ctx ends. A run the last process
// left "running" (it was killed) is marked interrupted first: its partial
// rows stay, but no page shows it as under way.
func (s *Service) Run(ctx context.Context) error {
	if err := s.rs.W.Enqueue(ctx, `UPDATE research_runs SET status = 'interrupted', error = ? WHERE status = 'running'`,
		"The server stopped during this run; start it again."); err != nil {
		return fmt.Errorf("research service: %w", err)
	}
	if s.cfg.DemoSeed != 0 {
		heads, err := s.rs.Runs(ctx)
		if err != nil {
			return fmt.Errorf("research service: %w", err)
		}
		if len(heads) == 0 {
			if err := s.Start(RunConfig{Seed: s.cfg.DemoSeed}); err != nil {
				s.log.Warn("research: demo run not queued", "err", err)
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case cfg := <-s.jobs:
			s.runOne(ctx, cfg)
		}
	}
}

func (s *Service) runOne(ctx context.Context, cfg RunConfig) {
	defer func() {
		s.mu.Lock()
		s.busy = false
		s.mu.Unlock()
	}()
	rep := Report{
		Progress: func(p Progress) {
			s.mu.Lock()
			s.last = p
			s.mu.Unlock()
			TopicProgress.Publish(s.bus, p.Stage, "", p.State, p)
		},
		Message: func(m Message) { TopicAgents.Publish(s.bus, m.From, m.To, m.Kind, m) },
	}
	res, err := s.rs.Run(ctx, cfg, rep)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("research: run failed", "seed", cfg.Seed, "err", err)
		}
		return
	}
	TopicRuns.Publish(s.bus, AgentWriter, "", "done", res.head())
	s.log.Info("research: run done", "run", res.ID, "papers", res.Papers, "hypotheses", len(res.Experiments), "discoveries", res.Discoveries)
}

// RunHead lists a run.
type RunHead struct {
	ID          int    `json:"id"`
	Seed        uint64 `json:"seed"`
	Corpus      string `json:"corpus"`
	Status      string `json:"status"`
	StartedAt   string `json:"started_at"`
	FinishedAt  string `json:"finished_at,omitempty"`
	Error       string `json:"error,omitempty"`
	Papers      int    `json:"papers"`
	Hypotheses  int    `json:"hypotheses"`
	Discoveries int    `json:"discoveries"`
}

func (r *Result) head() RunHead {
	return RunHead{ID: r.ID, Seed: r.Seed, Corpus: r.Corpus, Status: "done", Papers: r.Papers, Hypotheses: len(r.Experiments), Discoveries: r.Discoveries}
}

// Runs lists every run, newest first.
func (rs *Researcher) Runs(ctx context.Context) ([]RunHead, error) {
	rows, err := rs.DB.R.QueryContext(ctx, `SELECT id, seed, corpus, status, started_at, COALESCE(finished_at, ''), COALESCE(error, ''), COALESCE(summary, '') FROM research_runs ORDER BY id DESC LIMIT 200`)
	if err != nil {
		return nil, fmt.Errorf("research runs: %w", err)
	}
	defer rows.Close()
	var out []RunHead
	for rows.Next() {
		var h RunHead
		var seed int64
		var sum string
		if err := rows.Scan(&h.ID, &seed, &h.Corpus, &h.Status, &h.StartedAt, &h.FinishedAt, &h.Error, &sum); err != nil {
			return nil, fmt.Errorf("research runs: %w", err)
		}
		h.Seed = uint64(seed)
		if sum != "" {
			var s Summary
			if json.Unmarshal([]byte(sum), &s) == nil {
				h.Papers, h.Hypotheses, h.Discoveries = s.Papers, len(s.Experiments), s.Discoveries
			}
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// Summary loads a finished run.
func (rs *Researcher) Summary(ctx context.Context, id int) (Summary, error) {
	var sum sql.NullString
	var status string
	err := rs.DB.R.QueryRowContext(ctx, `SELECT status, summary FROM research_runs WHERE id = ?`, id).Scan(&status, &sum)
	if errors.Is(err, sql.ErrNoRows) {
		return Summary{}, errs.Errorf(errs.NotFound, "There is no research run %d.", id)
	}
	if err != nil {
		return Summary{}, fmt.Errorf("research run %d: %w", id, err)
	}
	if !sum.Valid {
		return Summary{}, errs.Errorf(errs.Unavailable, "Research run %d is %s; it has no results yet.", id, status)
	}
	var s Summary
	if err := json.Unmarshal([]byte(sum.String), &s); err != nil {
		return Summary{}, fmt.Errorf("research run %d: decode summary: %w", id, err)
	}
	return s, nil
}

// Memo loads one memo of a run.
func (rs *Researcher) Memo(ctx context.Context, run, experiment int) (Memo, error) {
	m := Memo{Run: run, Experiment: experiment}
	var mem sql.NullInt64
	var verdict string
	err := rs.DB.R.QueryRowContext(ctx, `SELECT title, verdict, memory_id, markdown FROM research_memos WHERE run_id = ? AND experiment = ?`, run, experiment).
		Scan(&m.Title, &verdict, &mem, &m.Markdown)
	if errors.Is(err, sql.ErrNoRows) {
		return Memo{}, errs.Errorf(errs.NotFound, "Research run %d has no memo for experiment %d.", run, experiment)
	}
	if err != nil {
		return Memo{}, fmt.Errorf("research memo %d/%d: %w", run, experiment, err)
	}
	m.Verdict, m.Memory = Verdict(verdict), mem.Int64
	return m, nil
}

// Trials loads every trial of a run, by id.
func (rs *Researcher) Trials(ctx context.Context, run int) ([]Trial, error) {
	rows, err := rs.DB.R.QueryContext(ctx, `SELECT record FROM research_trials WHERE run_id = ? ORDER BY id`, run)
	if err != nil {
		return nil, fmt.Errorf("research trials of run %d: %w", run, err)
	}
	defer rows.Close()
	var out []Trial
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, fmt.Errorf("research trials of run %d: %w", run, err)
		}
		var t Trial
		if err := json.Unmarshal([]byte(rec), &t); err != nil {
			return nil, fmt.Errorf("research trials of run %d: decode: %w", run, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
