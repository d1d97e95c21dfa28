package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/rl"
)

// runTrain is `metastation train`: a PPO or SAC run with a progress bar,
// checkpoints in --out (written atomically), the learning curve as JSON
// lines in --out/metrics.jsonl, and a final evaluation. Interrupted, it
// checkpoints and says how to resume; a resumed run continues exactly as an
// uninterrupted one would. A multi-agent algorithm or environment (maddpg,
// qmix, vdn; spread, matrix2, …) hands the run to runTrainMARL.
func runTrain(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("train", env.Stderr)
	var spec rl.RunSpec
	fs.StringVar(&spec.Algo, "algo", "ppo", "algorithm: ppo or sac; multi-agent: maddpg, qmix or vdn")
	fs.StringVar(&spec.Env, "env", "cartpole", "environment: cartpole, pendulum or trading; multi-agent: spread, matrix2, nonmonotonic, trading-ma, supply or allocation")
	fs.IntVar(&spec.Steps, "steps", 0, "environment `steps` in total (default: 500000 for PPO on cartpole, 30000 for SAC)")
	fs.Uint64Var(&spec.Seed, "seed", 1, "random `seed`; the same seed gives the same run")
	fs.IntVar(&spec.Workers, "workers", 2, "goroutines stepping PPO's environments; the result does not depend on it")
	fs.BoolVar(&spec.Cluster, "sharded", false, "PPO: train as a run spread over a cluster does (sharded rollouts), every shard here: the same result as `metastation cluster train` of the same seed and steps")
	hidden := fs.String("hidden", "", "hidden layer `sizes`, such as 64,64 (default: the algorithm's)")
	data := fs.String("data", defaultDataDir(env.Getenv), "data `directory`, as for serve: runs go to DATA/runs, where the server's tournament entrants come from")
	out := fs.String("out", "", "run `directory` for checkpoint.ckpt and metrics.jsonl (default DATA/runs/ALGO-ENV-seedS)")
	resume := fs.String("resume", "", "continue from this checkpoint `file`; its run directory is the default --out")
	every := fs.Int("checkpoint-every", 50, fmt.Sprintf("PPO updates or %d-step SAC chunks between checkpoints", rl.SACAdvanceSteps))
	evalEpisodes := fs.Int("eval-episodes", 0, "final evaluation episodes (default 100; 10 for pendulum)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	episodes := fs.Int("episodes", 0, "multi-agent training `episodes` (default: the algorithm's for the environment)")
	curriculum := fs.Bool("curriculum", false, "multi-agent: train through the market curriculum calm → black_swan (--env trading-ma, --algo qmix or vdn)")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	r := marlRun{algo: spec.Algo, env: spec.Env, episodes: *episodes, seed: spec.Seed, out: *out, outGiven: given["out"], runs: filepath.Join(*data, "runs"),
		curriculum: *curriculum, evalEpisodes: *evalEpisodes, quiet: *quiet, resume: *resume}
	resumed, rerr := r.fromCheckpoint(given)
	if rerr != nil {
		return rerr
	}
	if resumed || isMARL(spec.Algo, spec.Env) {
		if err := checkMARL(r, given); err != nil {
			return err
		}
		var err error
		if r.hidden, err = parseHidden(*hidden); err != nil {
			return command.Usagef("train: --hidden: %v", err)
		}
		return runTrainMARL(ctx, env, r)
	}
	if given["episodes"] || given["curriculum"] {
		return command.Usagef("train: --episodes and --curriculum are for multi-agent runs (--algo maddpg, qmix or vdn); %s takes --steps", spec.Algo)
	}
	if *every < 1 || *evalEpisodes < 0 {
		return command.Usagef("train: --checkpoint-every must be at least 1 and --eval-episodes not negative")
	}
	var err error
	if spec.Hidden, err = parseHidden(*hidden); err != nil {
		return command.Usagef("train: --hidden: %v", err)
	}

	var l rl.Learner
	if *resume != "" {
		c, err := rl.LoadCheckpoint(*resume)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		if l, err = rl.RestoreLearner(c); err != nil {
			return fmt.Errorf("train: resume %s: %w", *resume, err)
		}
		spec = c.Spec()
		if *out == "" {
			*out = filepath.Dir(*resume)
		}
	} else if l, err = rl.NewLearner(spec); err != nil {
		return command.Usagef("train: %v", err)
	}
	if *resume == "" {
		// A new run never overwrites another's checkpoint: the default
		// directory gets a number (-2, -3...) and a chosen one is refused.
		if *out == "" {
			*out = freeRunDir(filepath.Join(r.runs, fmt.Sprintf("%s-%s-seed%d", spec.Algo, spec.Env, spec.Seed)))
		} else if _, err := os.Stat(filepath.Join(*out, "checkpoint.ckpt")); err == nil {
			return command.Usagef("train: %s already holds a run's checkpoint; continue it with --resume %s, or choose another --out",
				*out, filepath.Join(*out, "checkpoint.ckpt"))
		}
		if _, total := l.Progress(); given["steps"] && total != spec.Steps {
			fmt.Fprintf(env.Stderr, "train: --steps %d becomes %d: %s learns from whole rollouts\n", spec.Steps, total, spec.Algo)
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return command.Usagef("train: --out %s: %v", *out, err)
	}
	if *evalEpisodes == 0 {
		*evalEpisodes = 100
		if spec.Env == "pendulum" {
			*evalEpisodes = 10
		}
	}
	metrics, err := os.OpenFile(filepath.Join(*out, "metrics.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer metrics.Close()
	enc := json.NewEncoder(metrics)
	ckPath := filepath.Join(*out, "checkpoint.ckpt")
	save := func() error {
		c, err := l.Checkpoint()
		if err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
		return rl.SaveCheckpoint(ckPath, c)
	}

	// Ctrl-C or SIGTERM checkpoints the run before it exits.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	steps, total := l.Progress()
	var bar *progressbar.ProgressBar
	if !*quiet {
		bar = command.NewProgress(env.Stderr, int64(total), spec.Algo+" "+spec.Env, "steps")
		bar.Set(steps)
	}
	for chunk := 1; !l.Done(); chunk++ {
		if ctx.Err() != nil {
			if err := save(); err != nil {
				return fmt.Errorf("train: interrupted, and %w", err)
			}
			fmt.Fprintf(env.Stderr, "\ninterrupted at step %d; continue with: metastation train --resume %s\n", steps, ckPath)
			return fmt.Errorf("train: interrupted, checkpoint saved: %w", ctx.Err())
		}
		m := l.Advance()
		steps = m.Steps
		if err := enc.Encode(m); err != nil {
			return fmt.Errorf("train: metrics: %w", err)
		}
		if bar != nil {
			desc := fmt.Sprintf("%s %s return %.1f", spec.Algo, spec.Env, m.Return)
			if spec.Algo == "ppo" {
				desc += fmt.Sprintf(" kl %.4f", m.ApproxKL)
			} else {
				desc += fmt.Sprintf(" α %.3f", m.Alpha)
			}
			bar.Describe(desc)
			bar.Set(steps)
		}
		if chunk%*every == 0 {
			if err := save(); err != nil {
				return err
			}
		}
	}
	if err := save(); err != nil {
		return err
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(env.Stderr)
	}
	rs, err := rl.Evaluate(l, spec.Env, *evalEpisodes, spec.Seed+1000)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	m, sd := rl.MeanStd(rs)
	fmt.Fprintf(env.Stdout, "%s %s seed %d: %d steps in %.1fs; evaluation return %.1f ± %.1f (sd over %d episodes); checkpoint %s\n",
		spec.Algo, spec.Env, spec.Seed, steps, time.Since(start).Seconds(), m, sd, len(rs), ckPath)
	return nil
}

// maxHiddenLayers caps --hidden: deeper networks than this are a typo, and
// a long list of 4096-wide layers would exhaust memory before training.
const maxHiddenLayers = 8

// parseHidden reads layer sizes such as "64,64"; "" means the default.
func parseHidden(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	fields := strings.Split(s, ",")
	if len(fields) > maxHiddenLayers {
		return nil, fmt.Errorf("%d hidden layers: at most %d", len(fields), maxHiddenLayers)
	}
	var out []int
	for _, f := range fields {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("%q is not a layer size in [1, 4096]", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// freeRunDir returns dir if it holds no checkpoint yet, or else the first
// of dir-2, dir-3, ... that holds none.
func freeRunDir(dir string) string {
	for n := 1; ; n++ {
		d := dir
		if n > 1 {
			d = fmt.Sprintf("%s-%d", dir, n)
		}
		if _, err := os.Stat(filepath.Join(d, "checkpoint.ckpt")); errors.Is(err, os.ErrNotExist) {
			return d
		}
	}
}
