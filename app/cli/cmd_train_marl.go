package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/atomicfile"
	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/stats"
)

// The multi-agent side of `metastation train`: --algo maddpg|qmix|vdn on
// the worlds of app/marl.
var (
	marlAlgos = []string{"maddpg", "qmix", "vdn"}
	marlEnvs  = []string{"spread", "matrix2", "nonmonotonic", "trading-ma", "supply", "allocation"}
)

// marlRun is a multi-agent run as the command line asks for it.
type marlRun struct {
	algo, env    string
	episodes     int
	seed         uint64
	hidden       []int
	out          string
	outGiven     bool
	runs         string // where a run without --out goes: DATA/runs
	curriculum   bool
	evalEpisodes int
	quiet        bool
	resume       string
	q            *marl.QMIX // loaded from resume
	cur          *marl.Curriculum
	m            *marl.MADDPG // loaded from resume
}

// fromCheckpoint loads r.resume when it is a QMIX/VDN or MADDPG checkpoint
// and takes the run's algorithm, environment and curriculum from it. It
// reports false when the file is not one (a single-agent checkpoint, say),
// unless the command line asked for a multi-agent run, where that is an
// error.
func (r *marlRun) fromCheckpoint(given map[string]bool) (bool, error) {
	if r.resume == "" {
		return false, nil
	}
	f, err := os.Open(r.resume)
	if err != nil {
		if isMARL(r.algo, r.env) {
			return false, fmt.Errorf("train: --resume: %w", err)
		}
		return false, nil // the single-agent path reports it
	}
	defer f.Close()
	q, cur, err := marl.LoadQMIX(f)
	if err != nil {
		// Not QMIX/VDN (the header says so at once): perhaps MADDPG.
		var m *marl.MADDPG
		var merr error
		if _, serr := f.Seek(0, io.SeekStart); serr == nil {
			m, merr = marl.LoadMADDPG(f)
		}
		if m != nil {
			return true, r.fromMADDPG(m, given)
		}
		if r.algo == "maddpg" && merr != nil {
			err = merr
		}
		if isMARL(r.algo, r.env) {
			return false, fmt.Errorf("train: --resume %s: %w", r.resume, err)
		}
		return false, nil
	}
	switch {
	case given["algo"] && r.algo != q.Config.Mixer:
		return false, command.Usagef("train: %s is a %s checkpoint, not %s", r.resume, q.Config.Mixer, r.algo)
	case given["env"] && r.env != q.Config.Env:
		return false, command.Usagef("train: %s was trained on %s, not %s", r.resume, q.Config.Env, r.env)
	case given["curriculum"] && cur == nil:
		return false, command.Usagef("train: %s was trained without the curriculum; a resumed run cannot add it", r.resume)
	case given["seed"] && r.seed != q.Config.Seed:
		return false, command.Usagef("train: %s is seed %d's run, not seed %d", r.resume, q.Config.Seed, r.seed)
	case given["hidden"]:
		return false, command.Usagef("train: --hidden cannot change a resumed run's networks")
	}
	r.algo, r.env, r.seed, r.curriculum, r.q, r.cur = q.Config.Mixer, q.Config.Env, q.Config.Seed, cur != nil, q, cur
	if !r.outGiven {
		r.out = filepath.Dir(r.resume)
	}
	return true, nil
}

// fromMADDPG takes the run from a loaded MADDPG checkpoint.
func (r *marlRun) fromMADDPG(m *marl.MADDPG, given map[string]bool) error {
	switch {
	case given["algo"] && r.algo != "maddpg":
		return command.Usagef("train: %s is a maddpg checkpoint, not %s", r.resume, r.algo)
	case given["env"] && r.env != m.Config.Env:
		return command.Usagef("train: %s was trained on %s, not %s", r.resume, m.Config.Env, r.env)
	case given["curriculum"]:
		return command.Usagef("train: %s is a MADDPG run; the curriculum trains qmix or vdn", r.resume)
	case given["seed"] && r.seed != m.Config.Seed:
		return command.Usagef("train: %s is seed %d's run, not seed %d", r.resume, m.Config.Seed, r.seed)
	case given["hidden"]:
		return command.Usagef("train: --hidden cannot change a resumed run's networks")
	}
	r.algo, r.env, r.seed, r.curriculum, r.m = "maddpg", m.Config.Env, m.Config.Seed, false, m
	if !r.outGiven {
		r.out = filepath.Dir(r.resume)
	}
	return nil
}

// isMARL reports whether the algorithm or the environment is multi-agent.
func isMARL(algo, env string) bool {
	return slices.Contains(marlAlgos, algo) || slices.Contains(marlEnvs, env)
}

// checkMARL turns the bad combinations into usage errors. given holds the
// flags set on the command line or through their environment twins.
func checkMARL(r marlRun, given map[string]bool) error {
	if !slices.Contains(marlAlgos, r.algo) {
		return command.Usagef("train: --env %s is multi-agent: choose --algo maddpg, qmix or vdn (ppo and sac train cartpole, pendulum and trading)", r.env)
	}
	if !slices.Contains(marlEnvs, r.env) {
		return command.Usagef("train: --algo %s is multi-agent: choose --env spread, matrix2, nonmonotonic, trading-ma, supply or allocation (%s is single-agent)", r.algo, r.env)
	}
	for _, f := range []string{"steps", "resume", "workers", "checkpoint-every"} {
		if given[f] && (f != "resume" || r.q == nil && r.m == nil) {
			return command.Usagef("train: --%s is for single-agent runs (ppo, sac); a multi-agent run takes --episodes and checkpoints at its end", f)
		}
	}
	if r.curriculum && r.algo == "maddpg" {
		return command.Usagef("train: --curriculum needs --algo qmix or vdn: the curriculum trains value-decomposition learners (marl.TrainCurriculum), not MADDPG")
	}
	if r.curriculum && r.env != "trading-ma" {
		return command.Usagef("train: --curriculum runs on the trading world only (calm → volatile → crisis → black_swan): use --env trading-ma")
	}
	if r.episodes < 0 || r.evalEpisodes < 0 {
		return command.Usagef("train: --episodes and --eval-episodes must not be negative")
	}
	return nil
}

// runTrainMARL trains r with a progress bar, checkpoints it atomically
// into r.out (at the end, and when interrupted), and prints one summary
// line: the mean greedy team return on held-out episodes with its 95 %
// confidence interval, a random team on the same episodes for scale, and
// for the curriculum the stage reached. The learner is built, stepped and
// saved by app/marl's Run, as the Training page's runs are.
func runTrainMARL(ctx context.Context, env command.Env, r marlRun) error {
	var run *marl.Run
	switch {
	case r.q != nil:
		run = &marl.Run{Q: r.q, Cur: r.cur}
	case r.m != nil:
		run = &marl.Run{M: r.m}
	default:
		var err error
		run, err = marl.NewRun(marl.RunSpec{Env: r.env, Algo: r.algo, Episodes: r.episodes, Seed: r.seed, Curriculum: r.curriculum, Hidden: r.hidden})
		if err != nil {
			return command.Usagef("train: %v", err)
		}
	}
	if (r.q != nil || r.m != nil) && r.episodes > 0 {
		run.SetBudget(r.episodes)
	}
	cur, learn, budget := run.Cur, run.Learner(), run.Budget()
	if r.out == "" {
		name := fmt.Sprintf("%s-%s-seed%d", r.algo, r.env, r.seed)
		if r.curriculum {
			name = fmt.Sprintf("%s-%s-curriculum-seed%d", r.algo, r.env, r.seed)
		}
		r.out = freeRunDir(filepath.Join(r.runs, name)) // never over another run's checkpoint
	} else if fresh := r.q == nil && r.m == nil; fresh {
		if _, err := os.Stat(filepath.Join(r.out, "checkpoint.ckpt")); err == nil {
			return command.Usagef("train: %s already holds a run's checkpoint; continue it with --resume %s, or choose another --out",
				r.out, filepath.Join(r.out, "checkpoint.ckpt"))
		}
	}
	ckPath := filepath.Join(r.out, "checkpoint.ckpt")
	save := func() error {
		if err := os.MkdirAll(r.out, 0o755); err != nil {
			return fmt.Errorf("train: --out %s: %w", r.out, err)
		}
		var buf bytes.Buffer
		if err := run.Save(&buf); err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
		if err := atomicfile.WriteFile(ckPath, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		return nil
	}
	if r.evalEpisodes == 0 {
		r.evalEpisodes = 100
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	label := r.algo + " " + r.env
	if r.curriculum {
		label += " curriculum"
	}
	var bar *progressbar.ProgressBar
	if !r.quiet {
		bar = command.NewProgress(env.Stderr, int64(budget), label, "episodes")
	}
	say := func(format string, args ...any) {
		if bar != nil {
			bar.Clear()
		}
		fmt.Fprintf(env.Stderr, format+"\n", args...)
	}
	onEval := func(ev marl.CurriculumEvent) {
		if ev.Promoted {
			say("%s", ev)
		}
	}
	var recent []float64 // the last 100 training episodes' team returns
	episode := run.Episodes()
	first := episode
	if bar != nil {
		bar.Set(episode)
	}
	for !run.Done() {
		if ctx.Err() != nil {
			if err := save(); err != nil {
				return fmt.Errorf("train: interrupted, and %w", err)
			}
			say("interrupted at episode %d; continue with: metastation train --resume %s", episode, ckPath)
			return fmt.Errorf("train: interrupted, checkpoint saved: %w", ctx.Err())
		}
		st, err := run.Step(ctx, onEval)
		if err != nil {
			if ctx.Err() != nil {
				continue // checkpointed above
			}
			return fmt.Errorf("train: %w", err)
		}
		episode = st.Episode
		extra := ""
		if run.Q != nil {
			extra = fmt.Sprintf(" ε %.2f", st.Epsilon)
		}
		if cur != nil && cur.Done() {
			extra += " all stages passed"
		} else if cur != nil {
			extra += " stage " + cur.Current().Name
		}
		if len(recent) == 100 {
			recent = recent[1:]
		}
		recent = append(recent, st.Return)
		if bar != nil {
			mean, _ := stats.MeanCI95(recent)
			bar.Describe(fmt.Sprintf("%s return %.2f%s", label, mean, extra))
			bar.Set(episode)
		}
	}
	if err := save(); err != nil {
		return err
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(env.Stderr)
	}
	trainTime := time.Since(start)

	// Held-out episodes: a seed stream training never draws from. The
	// trading world is scored on the market's mix of regimes and, on its
	// own, in black swans.
	evalEnv := func(regime market.Regime, mixed bool) (marl.Env, error) {
		e, err := marl.NewEnv(r.env)
		if t, ok := e.(*marl.TradingMA); ok {
			t.Regime, t.Mixed = regime, mixed
		}
		return e, err
	}
	e, err := evalEnv(market.Calm, true)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	evalSeed := r.seed + 1000
	rets := marl.EvaluateTeam(e, learn, r.evalEpisodes, evalSeed, true)
	rnd := marl.EvaluateTeam(e, marl.RandomController{}, r.evalEpisodes, evalSeed, false)
	mean, ci := stats.MeanCI95(rets)
	rmean, _ := stats.MeanCI95(rnd)
	took := fmt.Sprintf("in %.1fs", trainTime.Seconds())
	if first > 0 {
		took = fmt.Sprintf("(%d resumed, %d more in %.1fs)", first, episode-first, trainTime.Seconds())
	}
	line := fmt.Sprintf("%s seed %d: %d episodes %s; greedy team return %.2f ± %.2f (95%% CI over %d held-out episodes; random team %.2f)",
		label, r.seed, episode, took, mean, ci, len(rets), rmean)
	if r.env == "trading-ma" {
		bs, _ := evalEnv(market.BlackSwan, false)
		b, bci := stats.MeanCI95(marl.EvaluateTeam(bs, learn, r.evalEpisodes, evalSeed, true))
		line += fmt.Sprintf("; black swan %.2f ± %.2f", b, bci)
	}
	if cur != nil {
		n := len(cur.Config.Stages)
		if cur.Done() {
			line += fmt.Sprintf("; curriculum: all %d stages passed", n)
		} else {
			line += fmt.Sprintf("; curriculum: reached stage %d/%d (%s)", cur.Stage+1, n, cur.Current().Name)
		}
	}
	line += "; checkpoint " + ckPath
	fmt.Fprintln(env.Stdout, line)
	return nil
}
