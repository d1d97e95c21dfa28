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

// Service runs research jobs one at a time: Start queues a run, Run (the
// coordinator) numbers it and hands it to the reader, and each of the five
// agents (Agents, each its own supervised service) does its part and hands
// the job to the next, publishing progress and its message to the next
// agent on the bus.
type Service struct {
	cfg   ServiceConfig
	rs    *Researcher
	bus   *bus.Bus
	log   *slog.Logger
	jobs  chan RunConfig
	inbox []chan *job // one per agent, in stage order

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
	s := &Service{cfg: cfg, rs: rs, bus: b, log: log, jobs: make(chan RunConfig, 1)}
	for range rs.stages() {
		s.inbox = append(s.inbox, make(chan *job, 1))
	}
	return s, nil
}

// Agent is one research agent as a service to supervise.
type Agent struct {
	Name string
	Run  func(ctx context.Context) error
}

// Agents are the five agents, in the order a job passes them. Each must
// run (supervised) beside Run for jobs to progress.
func (s *Service) Agents() []Agent {
	var out []Agent
	for k, st := range s.rs.stages() {
		out = append(out, Agent{Name: st.agent, Run: func(ctx context.Context) error { return s.agent(ctx, k, st) }})
	}
	return out
}

// agent does stage st of every job that reaches it and hands it on. A
// stage that fails (or panics) fails its run alone.
func (s *Service) agent(ctx context.Context, k int, st stage) error {
	for {
		var j *job
		select {
		case <-ctx.Done():
			return nil
		case j = <-s.inbox[k]:
		}
		if err := runStage(ctx, st, j); err != nil {
			s.rs.fail(ctx, j, err)
			s.done(ctx, j, err)
			continue
		}
		if k == len(s.inbox)-1 {
			s.rs.finish(j)
			s.done(ctx, j, nil)
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case s.inbox[k+1] <- j:
		}
	}
}

// done ends a job: the service takes the next one.
func (s *Service) done(ctx context.Context, j *job, err error) {
	s.mu.Lock()
	s.busy = false
	s.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("research: run failed", "run", j.id, "seed", j.cfg.Seed, "err", err)
		}
		return
	}
	res := j.res
	TopicRuns.Publish(s.bus, AgentWriter, "", "done", res.head())
	s.log.Info("research: run done", "run", res.ID, "papers", res.Papers, "hypotheses", len(res.Experiments), "discoveries", res.Discoveries)
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

// Run is the coordinator: it works through queued runs until ctx ends,
// handing each to the reader. A run the last process
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
			j, err := s.rs.begin(ctx, cfg, s.report())
			if err != nil {
				s.mu.Lock()
				s.busy = false
				s.mu.Unlock()
				s.log.Error("research: run not started", "seed", cfg.Seed, "err", err)
				continue
			}
			select {
			case <-ctx.Done():
				return nil
			case s.inbox[0] <- j:
			}
		}
	}
}

// report publishes a run's progress and messages on the bus.
func (s *Service) report() Report {
	return Report{
		Progress: func(p Progress) {
			s.mu.Lock()
			s.last = p
			s.mu.Unlock()
			TopicProgress.Publish(s.bus, p.Stage, "", p.State, p)
		},
		Message: func(m Message) { TopicAgents.Publish(s.bus, m.From, m.To, m.Kind, m) },
	}
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
