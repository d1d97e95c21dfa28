package research

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/store"
)

// The research agents, as they sign their memories and messages.
const (
	AgentReader     = "research.reader"
	AgentGapFinder  = "research.gapfinder"
	AgentExperiment = "research.experimenter"
	AgentCritic     = "research.critic"
	AgentWriter     = "research.writer"
)

// Agents lists them in the order they work.
var Agents = []string{AgentReader, AgentGapFinder, AgentExperiment, AgentCritic, AgentWriter}

// Message is one agent telling another what it has done: the agent
// protocol's payload for research (the service publishes it with From and
// To on the bus).
type Message struct {
	Run   int    `json:"run"`
	From  string `json:"from"`
	To    string `json:"to"`
	Kind  string `json:"kind"` // papers, gaps, hypotheses, experiments, verdicts, memos
	Text  string `json:"text"`
	Count int    `json:"count"`
}

// Progress is where a run is.
type Progress struct {
	Run   int     `json:"run"`
	Stage string  `json:"stage"` // the agent at work
	Done  int     `json:"done"`
	Total int     `json:"total"`
	Share float64 `json:"share"` // of the whole run, 0..1
	State string  `json:"state"` // running, done, failed
	Error string  `json:"error,omitempty"`
}

// Report receives a run's progress and messages (either may be nil).
type Report struct {
	Progress func(Progress)
	Message  func(Message)
}

func (r Report) progress(p Progress) {
	if r.Progress != nil {
		r.Progress(p)
	}
}

func (r Report) say(m Message) {
	if r.Message != nil {
		r.Message(m)
	}
}

// RunConfig is one research run.
type RunConfig struct {
	Seed      uint64       `json:"seed"`
	Dir       string       `json:"dir,omitempty"` // a folder of papers; "" for the built-in corpus
	Corpus    CorpusConfig `json:"-"`
	RealDir   string       `json:"real_dir,omitempty"` // Yahoo files; "" for none
	Plan      *Plan        `json:"-"`                  // nil: DefaultPlan with the planted effect
	TopGaps   int          `json:"top_gaps"`           // hypotheses written from the best gaps; default 12
	SplitYear int          `json:"split_year"`         // time-split validation; default: the year 70 % of papers were out by
	LLM       *LLM         `json:"-"`
}

// Summary is a finished run, as the page shows it.
type Summary struct {
	ID          int          `json:"id"`
	Seed        uint64       `json:"seed"`
	Corpus      string       `json:"corpus"`
	Papers      int          `json:"papers"`
	Concepts    []Concept    `json:"concepts"`
	Edges       []Edge       `json:"edges"`
	Gaps        []Gap        `json:"gaps"` // the best 30
	Validation  Validation   `json:"validation"`
	Plan        Plan         `json:"plan"` // seeds, days and planted effects of the experiments
	Hypotheses  []Hypothesis `json:"hypotheses"`
	Experiments []Experiment `json:"experiments"`
	Memos       []MemoHead   `json:"memos"`
	Trials      int          `json:"trials"`
	Backtests   int          `json:"backtests"`
	Discoveries int          `json:"discoveries"` // BH at q
	Timings     Timings      `json:"timings"`
	Skipped     []string     `json:"skipped,omitempty"` // files not read
}

// Edge is one link of the concept graph.
type Edge struct {
	A     int `json:"a"`
	B     int `json:"b"`
	W     int `json:"w"`
	First int `json:"first"` // year
}

// MemoHead lists a memo.
type MemoHead struct {
	Experiment int     `json:"experiment"`
	Title      string  `json:"title"`
	Verdict    Verdict `json:"verdict"`
	Memory     int64   `json:"memory"`
}

// Timings are the seconds each stage took.
type Timings struct {
	ReadS       float64 `json:"read_s"`
	GapsS       float64 `json:"gaps_s"`
	ExperimentS float64 `json:"experiment_s"`
	WriteS      float64 `json:"write_s"`
}

// Researcher runs research with its dependencies.
type Researcher struct {
	Mem *memory.Store
	DB  *store.DB
	W   *store.Writer
	Log *slog.Logger
	Now func() time.Time // wall clock of run records; default time.Now
}

// Result is a run with everything it made.
type Result struct {
	Summary
	Trials   []Trial `json:"-"`
	Memos    []Memo  `json:"-"`
	Memories []int64 `json:"-"` // every memory the run read or wrote: what memos may cite
}

// Run does one research run: the reader puts the corpus into memory, the
// gap finder builds the concept graph and ranks gaps, the experimenter
// tests the hypotheses the gaps suggest, the critic applies the
// statistics, and the writer writes a memo per hypothesis. Everything is
// stored; every finding is also a memory. (The Service runs the same
// stages as five supervised agents handing the job on.)
func (rs *Researcher) Run(ctx context.Context, cfg RunConfig, rep Report) (*Result, error) {
	j, err := rs.begin(ctx, cfg, rep)
	if err != nil {
		return nil, err
	}
	for _, st := range rs.stages() {
		if err := runStage(ctx, st, j); err != nil {
			rs.fail(ctx, j, err)
			return nil, err
		}
	}
	rs.finish(j)
	return j.res, nil
}

// job is one run on its way through the agents.
type job struct {
	id       int
	cfg      RunConfig
	rep      Report
	res      *Result
	papers   []Paper
	cs       []Concept
	g        *Graph
	gaps     []Gap
	findings map[[2]int]int64
	hyps     []Hypothesis
	plan     Plan
	lab      *Lab
	exps     []Experiment
	outs     []memory.Memory
}

func (j *job) stage(agent string, share float64, done, total int) {
	j.rep.progress(Progress{Run: j.id, Stage: agent, Done: done, Total: total, Share: share, State: "running"})
}

// stage is one agent's part of a run.
type stage struct {
	agent string
	do    func(ctx context.Context, j *job) error
}

// stages are the agents' parts, in order.
func (rs *Researcher) stages() []stage {
	return []stage{{AgentReader, rs.read}, {AgentGapFinder, rs.findGaps}, {AgentExperiment, rs.experiment}, {AgentCritic, rs.criticise}, {AgentWriter, rs.write}}
}

// runStage runs one stage, turning a panic into the run's error: one bad
// run fails alone and the agent goes on.
func runStage(ctx context.Context, st stage, j *job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("research: %s failed: %v", st.agent, p)
		}
	}()
	return st.do(ctx, j)
}

// begin numbers and records a new run.
func (rs *Researcher) begin(ctx context.Context, cfg RunConfig, rep Report) (*job, error) {
	if rs.Mem == nil || rs.DB == nil || rs.W == nil {
		return nil, errors.New("research: a memory store, a database and a writer are required")
	}
	if rs.Now == nil {
		rs.Now = time.Now
	}
	if rs.Log == nil {
		rs.Log = slog.Default()
	}
	if cfg.TopGaps <= 0 {
		cfg.TopGaps = 12
	}
	id, err := rs.nextRun(ctx)
	if err != nil {
		return nil, err
	}
	corpus := "synthetic"
	if cfg.Dir != "" {
		corpus = cfg.Dir
	}
	if err := rs.W.Enqueue(ctx, `INSERT INTO research_runs (id, seed, corpus, started_at, status) VALUES (?, ?, ?, ?, 'running')`,
		id, int64(cfg.Seed), corpus, rs.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return nil, fmt.Errorf("research run %d: %w", id, err)
	}
	return &job{id: id, cfg: cfg, rep: rep, res: &Result{Summary: Summary{ID: id, Seed: cfg.Seed, Corpus: corpus}}}, nil
}

// fail records a run's failure.
func (rs *Researcher) fail(ctx context.Context, j *job, err error) {
	j.rep.progress(Progress{Run: j.id, State: "failed", Error: err.Error()})
	_ = rs.W.Enqueue(context.WithoutCancel(ctx), `UPDATE research_runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?`,
		err.Error(), rs.Now().UTC().Format(time.RFC3339Nano), j.id)
}

// finish reports a run done (save, the writer's last act, stored it).
func (rs *Researcher) finish(j *job) {
	j.rep.progress(Progress{Run: j.id, Stage: AgentWriter, Done: len(j.res.Memos), Total: len(j.res.Memos), Share: 1, State: "done"})
}

func (rs *Researcher) nextRun(ctx context.Context) (int, error) {
	if err := rs.W.Flush(ctx); err != nil {
		return 0, fmt.Errorf("research: %w", err)
	}
	var n sql.NullInt64
	if err := rs.DB.R.QueryRowContext(ctx, `SELECT MAX(id) FROM research_runs`).Scan(&n); err != nil {
		return 0, fmt.Errorf("research: next run: %w", err)
	}
	return int(n.Int64) + 1, nil
}

// read is the reader: the corpus into memory.
func (rs *Researcher) read(ctx context.Context, j *job) error {
	id, cfg, rep, res, stage := j.id, j.cfg, j.rep, j.res, j.stage
	t0 := time.Now()
	stage(AgentReader, 0, 0, 0)
	var papers []Paper
	if cfg.Dir != "" {
		ps, ir, err := ReadDir(ctx, cfg.Dir)
		if err != nil {
			return err
		}
		papers, res.Skipped = ps, ir.Skipped
	} else {
		c := cfg.Corpus
		c.Seed = cfg.Seed
		papers = SyntheticCorpus(c)
		for i := range papers {
			papers[i].Key = fmt.Sprintf("synthetic/%d/%s", cfg.Seed, strings.TrimPrefix(papers[i].Key, "synthetic/"))
		}
	}
	if len(papers) < 10 {
		return fmt.Errorf("the corpus has %d papers; research needs at least 10", len(papers))
	}
	if err := rs.remember(ctx, papers, func(done int) { stage(AgentReader, 0.2*float64(done)/float64(len(papers)), done, len(papers)) }); err != nil {
		return err
	}
	res.Papers = len(papers)
	for _, p := range papers {
		res.Memories = append(res.Memories, p.Memory)
	}
	rep.say(Message{Run: id, From: AgentReader, To: AgentGapFinder, Kind: "papers", Count: len(papers),
		Text: fmt.Sprintf("read %d papers into memory", len(papers))})
	res.Timings.ReadS = time.Since(t0).Seconds()
	j.papers = papers
	return nil
}

// findGaps is the gap finder: concepts, the graph, gaps, the time split,
// hypotheses with their novelty.
func (rs *Researcher) findGaps(ctx context.Context, j *job) error {
	id, cfg, rep, res, stage, papers := j.id, j.cfg, j.rep, j.res, j.stage, j.papers
	t0 := time.Now()
	stage(AgentGapFinder, 0.2, 0, 0)
	emb := rs.Mem.Embedder()
	cs := Extract(papers, emb, ExtractConfig{})
	vecs := conceptVectors(cs, emb)
	g := BuildGraph(papers, len(cs), math.MaxInt)
	gaps := Gaps(g, cs, vecs)
	res.Concepts = cs
	for k, w := range g.W {
		res.Edges = append(res.Edges, Edge{A: k[0], B: k[1], W: w, First: g.First[k]})
	}
	slices.SortFunc(res.Edges, func(a, b Edge) int { return cmp.Or(cmp.Compare(a.A, b.A), cmp.Compare(a.B, b.B)) })
	split := cfg.SplitYear
	if split == 0 {
		split = SplitYear(papers)
	}
	res.Validation = Validate(papers, cs, vecs, split)
	hyps, _ := FromGaps(gaps, g, cs, papers, cfg.TopGaps)
	findings := map[[2]int]int64{}
	var finds []memory.Memory
	var findKeys [][2]int
	for _, gp := range gaps[:min(len(gaps), 30)] {
		res.Gaps = append(res.Gaps, gp)
		if gp.Rank > cfg.TopGaps || len(gp.Bridges) == 0 {
			continue
		}
		m := memory.Memory{Agent: AgentGapFinder, Kind: memory.Reflection, Source: "research.gaps", Tags: []string{"gap"},
			Topic: "gap:" + gp.AName + "|" + gp.CName, SimTime: latest(papers),
			Text: fmt.Sprintf("Gap %d: %s and %s are never studied together, though %s links them (%d and %d papers).",
				gp.Rank, gp.AName, gp.CName, gp.Bridges[0].Name, gp.Bridges[0].AB, gp.Bridges[0].BC)}
		for _, d := range gp.Bridges[0].Papers {
			if len(m.Links) < 32 {
				m.Links = append(m.Links, memory.Link{Kind: "memory", Ref: fmt.Sprint(papers[d].Memory)})
			}
		}
		finds = append(finds, m)
		findKeys = append(findKeys, [2]int{gp.A, gp.C})
	}
	if len(finds) > 0 {
		out, err := rs.Mem.WriteBatch(ctx, finds)
		if err != nil {
			return fmt.Errorf("research: remember gaps: %w", err)
		}
		for i, m := range out {
			findings[findKeys[i]] = m.ID
			res.Memories = append(res.Memories, m.ID)
		}
	}
	for i := range hyps {
		hyps[i].Novelty = rs.novelty(ctx, hyps[i].Statement)
	}
	res.Hypotheses = hyps
	rep.say(Message{Run: id, From: AgentGapFinder, To: AgentExperiment, Kind: "hypotheses", Count: len(hyps),
		Text: fmt.Sprintf("%d concepts, %d links, %d gaps; %d hypotheses to test (time-split AUC %s)", len(cs), len(g.W), len(gaps), len(hyps), fmtNum(res.Validation.AUC, 3))})
	res.Timings.GapsS = time.Since(t0).Seconds()
	j.cs, j.g, j.gaps, j.findings, j.hyps = cs, g, gaps, findings, hyps
	return nil
}

// experiment is the experimenter: every hypothesis on the plan's data.
func (rs *Researcher) experiment(ctx context.Context, j *job) error {
	id, cfg, rep, res, stage, hyps := j.id, j.cfg, j.rep, j.res, j.stage, j.hyps
	t0 := time.Now()
	plan := DefaultPlan([]Effect{PlantedEffect}, nil)
	if cfg.Plan != nil {
		plan = *cfg.Plan
	}
	if cfg.RealDir != "" && plan.Real == nil {
		real, err := LoadReal(cfg.RealDir)
		if err != nil {
			rs.Log.Warn("research: real data not used", "dir", cfg.RealDir, "err", err)
		}
		plan.Real = real
	}
	res.Plan = plan
	stage(AgentExperiment, 0.3, 0, len(hyps))
	lab, err := NewLab(ctx, plan)
	if err != nil {
		return fmt.Errorf("research: %w", err)
	}
	exps := make([]Experiment, len(hyps))
	for i, h := range hyps {
		if exps[i], err = lab.Test(ctx, i+1, h); err != nil {
			return fmt.Errorf("research: %w", err)
		}
		stage(AgentExperiment, 0.3+0.5*float64(i+1)/float64(len(hyps)), i+1, len(hyps))
	}
	rep.say(Message{Run: id, From: AgentExperiment, To: AgentCritic, Kind: "experiments", Count: len(lab.Trials),
		Text: fmt.Sprintf("%d hypotheses, %d trials, %d backtests", len(exps), len(lab.Trials), lab.Backtests())})
	res.Timings.ExperimentS = time.Since(t0).Seconds()
	j.plan, j.lab, j.exps = plan, lab, exps
	return nil
}

// criticise is the critic: the statistics across the run, the verdicts,
// and what was learned as memories.
func (rs *Researcher) criticise(ctx context.Context, j *job) error {
	id, rep, res, papers, lab, exps := j.id, j.rep, j.res, j.papers, j.lab, j.exps
	lab.Judge(exps)
	res.Experiments, res.Trials, res.Backtests = exps, lab.Trials, lab.Backtests()
	for i := range lab.Trials {
		if lab.Trials[i].Phase == "select" {
			res.Summary.Trials++
		}
	}
	outcomes := make([]memory.Memory, len(exps))
	for i, e := range exps {
		if e.PBH <= FDRLevel {
			res.Discoveries++
		}
		outcomes[i] = memory.Memory{Agent: AgentExperiment, Kind: memory.Outcome, Source: "research.experiments", Tags: []string{"experiment"},
			Topic: fmt.Sprintf("research.experiment:%d/%d", id, e.ID), Pinned: true, SimTime: latest(papers), Value: e.Perf.Sharpe,
			Text: fmt.Sprintf("Experiment %d of run %d: %s Held-out Sharpe %s, t %s, BH-adjusted p %s, DSR %s: %s.",
				e.ID, id, e.Hypothesis.Statement, fmtNum(e.Perf.Sharpe, 2), fmtNum(e.Perf.T, 2), fmtP(e.PBH), fmtNum(e.DSR, 3), e.Verdict),
			Links: []memory.Link{{Kind: "research.experiment", Ref: fmt.Sprintf("%d/%d", id, e.ID)}}}
	}
	outs, err := rs.Mem.WriteBatch(ctx, append(outcomes, memory.Memory{Agent: AgentCritic, Kind: memory.Reflection, Source: "research.critic",
		Tags: []string{"verdict"}, Topic: fmt.Sprintf("research.run:%d", id), SimTime: latest(papers),
		Text: fmt.Sprintf("Run %d: of %d hypotheses, %d are discoveries at BH q = %s; %d in-sample trials deflate every Sharpe ratio; PBO %s.",
			id, len(exps), res.Discoveries, fmtNum(FDRLevel, 2), res.Summary.Trials, pboText(exps))}))
	if err != nil {
		return fmt.Errorf("research: remember outcomes: %w", err)
	}
	for _, m := range outs {
		res.Memories = append(res.Memories, m.ID)
	}
	rep.say(Message{Run: id, From: AgentCritic, To: AgentWriter, Kind: "verdicts", Count: res.Discoveries,
		Text: fmt.Sprintf("%d of %d hypotheses survive BH at q = %s", res.Discoveries, len(exps), fmtNum(FDRLevel, 2))})
	j.outs = outs
	return nil
}

// write is the writer: a memo per hypothesis, each a memory, and the run
// stored.
func (rs *Researcher) write(ctx context.Context, j *job) error {
	id, cfg, rep, res, stage, papers := j.id, j.cfg, j.rep, j.res, j.stage, j.papers
	gaps, findings, plan, lab, exps, outs := j.gaps, j.findings, j.plan, j.lab, j.exps, j.outs
	t0 := time.Now()
	var rewrite func(kind, text string) string
	if cfg.LLM != nil {
		rewrite = func(_, text string) string {
			s, err := cfg.LLM.Rewrite(ctx, text)
			if err != nil {
				rs.Log.Debug("research: opinion kept from the template", "err", err)
				return text
			}
			return s
		}
	}
	gapOf := map[string]*Gap{}
	for i := range gaps {
		gapOf[gaps[i].AName+"|"+gaps[i].CName] = &gaps[i]
	}
	for i, e := range exps {
		h := e.Hypothesis
		in := memoInput{Run: id, Seed: cfg.Seed, Exp: e, Plan: plan, Outcome: outs[i].ID}
		if len(h.From) == 2 {
			in.Gap = gapOf[h.From[0]+"|"+h.From[1]]
			if in.Gap != nil {
				in.Finding = findings[[2]int{in.Gap.A, in.Gap.C}]
			}
		}
		for _, t := range lab.Trials {
			if t.Hypothesis == e.ID {
				in.Trials = append(in.Trials, t)
			}
		}
		memo := writeMemo(in, rewrite)
		m, err := rs.Mem.Write(ctx, memory.Memory{Agent: AgentWriter, Kind: memory.Document, Source: "research.memos", Tags: []string{"memo"},
			Topic: fmt.Sprintf("research.memo:%d/%d", id, e.ID), Pinned: true, SimTime: latest(papers), Text: clip(memo.Markdown, memory.MaxText),
			Links: []memory.Link{{Kind: "research.experiment", Ref: fmt.Sprintf("%d/%d", id, e.ID)}, {Kind: "memory", Ref: fmt.Sprint(outs[i].ID)}}})
		if err != nil {
			return fmt.Errorf("research: remember memo: %w", err)
		}
		memo.Memory = m.ID
		res.Memories = append(res.Memories, m.ID)
		memo.Rewritten = rewrite != nil
		res.Memos = append(res.Memos, memo)
		res.Summary.Memos = append(res.Summary.Memos, MemoHead{Experiment: e.ID, Title: memo.Title, Verdict: memo.Verdict, Memory: m.ID})
		stage(AgentWriter, 0.8+0.2*float64(i+1)/float64(len(exps)), i+1, len(exps))
	}
	rep.say(Message{Run: id, From: AgentWriter, To: "", Kind: "memos", Count: len(res.Memos), Text: fmt.Sprintf("wrote %d memos", len(res.Memos))})
	res.Timings.WriteS = time.Since(t0).Seconds()
	return rs.save(ctx, res)
}

func pboText(exps []Experiment) string {
	if len(exps) == 0 || exps[0].PBOSplits == 0 {
		return "not computable"
	}
	return fmtNum(exps[0].PBO, 3)
}

// latest is the newest paper's date: the research's "now" on the
// simulation's clock.
func latest(papers []Paper) time.Time {
	var t time.Time
	for _, p := range papers {
		if p.Date.After(t) {
			t = p.Date
		}
	}
	return t
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// remember writes the papers the store does not hold yet as documents of
// the reader, and sets each paper's memory id. Papers are pinned, as are
// outcomes and memos: a library does not fade with simulated time (memory's
// consolidation would forget a paper of 2003 at once), and each has a
// topic of its own, so none is merged into another.
func (rs *Researcher) remember(ctx context.Context, papers []Paper, done func(int)) error {
	known := map[string]int64{}
	rows, err := rs.DB.R.QueryContext(ctx, `SELECT key, memory_id FROM research_papers`)
	if err != nil {
		return fmt.Errorf("research: known papers: %w", err)
	}
	for rows.Next() {
		var k string
		var id int64
		if err := rows.Scan(&k, &id); err != nil {
			rows.Close()
			return fmt.Errorf("research: known papers: %w", err)
		}
		known[k] = id
	}
	rows.Close()
	var batch []memory.Memory
	var at []int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		out, err := rs.Mem.WriteBatch(ctx, batch)
		if err != nil {
			return fmt.Errorf("research: read papers into memory: %w", err)
		}
		for i, m := range out {
			p := &papers[at[i]]
			p.Memory = m.ID
			if err := rs.W.Enqueue(ctx, `INSERT OR REPLACE INTO research_papers (key, memory_id, title, published) VALUES (?, ?, ?, ?)`,
				p.Key, m.ID, p.Title, p.Date.Format("2006-01-02")); err != nil {
				return fmt.Errorf("research: %w", err)
			}
		}
		batch, at = batch[:0], at[:0]
		done(at0(papers))
		return nil
	}
	for i := range papers {
		p := &papers[i]
		if id, ok := known[p.Key]; ok {
			if _, err := rs.Mem.Get(id); err == nil {
				p.Memory = id
				continue
			}
		}
		link := memory.Link{Kind: "file", Ref: clip(p.Key, 256)}
		batch = append(batch, memory.Memory{Agent: AgentReader, Kind: memory.Document, Source: "research.corpus", Tags: []string{"paper"},
			Topic: "paper:" + clip(p.Key, 200), Pinned: true, SimTime: p.Date, Text: clip(p.Title+". "+p.Text, memory.MaxText), Links: []memory.Link{link}, Importance: 0.5})
		at = append(at, i)
		if len(batch) == 256 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// at0 counts the papers with a memory id.
func at0(papers []Paper) int {
	n := 0
	for _, p := range papers {
		if p.Memory != 0 {
			n++
		}
	}
	return n
}

// novelty is 1 − the best cosine of text to any paper in memory.
func (rs *Researcher) novelty(ctx context.Context, text string) float64 {
	res, err := rs.Mem.Search(ctx, memory.Query{Text: text, Kinds: []memory.Kind{memory.Document}, Tags: []string{"paper"}, Mode: memory.Vector, Limit: 1})
	if err != nil || len(res) == 0 {
		return 1
	}
	return math.Round((1-res[0].Why.Cosine)*1e4) / 1e4
}

// save stores the run's experiments, trials, memos and summary.
func (rs *Researcher) save(ctx context.Context, res *Result) error {
	for _, e := range res.Experiments {
		rec, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("research: encode experiment %d: %w", e.ID, err)
		}
		if err := rs.W.Enqueue(ctx, `INSERT INTO research_experiments (run_id, id, statement, verdict, p, p_bh, record) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			res.ID, e.ID, e.Hypothesis.Statement, string(e.Verdict), e.Perf.P, e.PBH, string(rec)); err != nil {
			return fmt.Errorf("research: %w", err)
		}
	}
	for _, t := range res.Trials {
		rec, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("research: encode trial %d: %w", t.ID, err)
		}
		if err := rs.W.Enqueue(ctx, `INSERT INTO research_trials (run_id, id, experiment, phase, data_hash, record) VALUES (?, ?, ?, ?, ?, ?)`,
			res.ID, t.ID, t.Hypothesis, t.Phase, t.DataHash, string(rec)); err != nil {
			return fmt.Errorf("research: %w", err)
		}
	}
	for _, m := range res.Memos {
		if err := rs.W.Enqueue(ctx, `INSERT INTO research_memos (run_id, experiment, title, verdict, memory_id, markdown) VALUES (?, ?, ?, ?, ?, ?)`,
			res.ID, m.Experiment, m.Title, string(m.Verdict), m.Memory, m.Markdown); err != nil {
			return fmt.Errorf("research: %w", err)
		}
	}
	sum, err := json.Marshal(res.Summary)
	if err != nil {
		return fmt.Errorf("research: encode summary: %w", err)
	}
	if err := rs.W.Enqueue(ctx, `UPDATE research_runs SET status = 'done', finished_at = ?, summary = ? WHERE id = ?`,
		rs.Now().UTC().Format(time.RFC3339Nano), string(sum), res.ID); err != nil {
		return fmt.Errorf("research: %w", err)
	}
	return rs.W.Flush(ctx)
}
