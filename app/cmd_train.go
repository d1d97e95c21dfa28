package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/rl"
)

// trainOptions are the flags of `metastation train`.
type trainOptions struct {
	algo, env, out, resume string
	steps, every, workers  int
	evalEpisodes           int
	seed                   uint64
	hidden                 string
	quiet                  bool
}

// runTrain is `metastation train`: a PPO or SAC run with a progress bar,
// periodic checkpoints in --out, metrics as JSON lines, and a final
// evaluation.
func runTrain(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("train", env.Stderr)
	var o trainOptions
	fs.StringVar(&o.algo, "algo", "ppo", "algorithm: ppo or sac")
	fs.StringVar(&o.env, "env", "cartpole", "environment: cartpole, pendulum or trading")
	fs.IntVar(&o.steps, "steps", 0, "environment `steps` in total (default: 500000 for PPO, 30000 for SAC)")
	fs.Uint64Var(&o.seed, "seed", 1, "random `seed`; the same seed gives the same run")
	fs.StringVar(&o.out, "out", "", "run `directory` for checkpoint.ckpt and metrics.jsonl (default runs/ALGO-ENV-seedS)")
	fs.StringVar(&o.resume, "resume", "", "continue from this checkpoint `file` (its run directory unless --out is given)")
	fs.IntVar(&o.every, "checkpoint-every", 0, "PPO updates or SAC steps between checkpoints (default 50 updates, 5000 steps)")
	fs.IntVar(&o.workers, "workers", 2, "goroutines stepping PPO's environments; the result does not depend on it")
	fs.IntVar(&o.evalEpisodes, "eval-episodes", 0, "final evaluation episodes (default 100 for cartpole, 10 for pendulum)")
	fs.StringVar(&o.hidden, "hidden", "", "hidden layer sizes, such as 64,64 (default: the algorithm's)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	if err := parseFlags(fs, args, env.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.algo != "ppo" && o.algo != "sac" {
		return usageError("train: --algo must be ppo or sac, not %q", o.algo)
	}
	if _, err := rl.NewEnv(o.env); err != nil {
		return usageError("train: --env: %v", err)
	}
	if o.algo == "sac" && o.env != "pendulum" {
		return usageError("train: SAC needs continuous actions; use --env pendulum")
	}
	if o.steps < 0 || o.every < 0 || o.workers < 1 || o.evalEpisodes < 0 {
		return usageError("train: --steps, --checkpoint-every and --eval-episodes must not be negative, --workers at least 1")
	}
	hidden, err := parseHidden(o.hidden)
	if err != nil {
		return usageError("train: --hidden: %v", err)
	}
	if o.out == "" {
		o.out = filepath.Join("runs", fmt.Sprintf("%s-%s-seed%d", o.algo, o.env, o.seed))
		if o.resume != "" {
			o.out = filepath.Dir(o.resume)
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return usageError("train: --out %s: %v", o.out, err)
	}
	if o.evalEpisodes == 0 {
		o.evalEpisodes = 100
		if o.env == "pendulum" {
			o.evalEpisodes = 10
		}
	}
	metrics, err := os.OpenFile(filepath.Join(o.out, "metrics.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer metrics.Close()
	enc := json.NewEncoder(metrics)

	var ck *rl.Checkpoint
	if o.resume != "" {
		c, err := rl.LoadCheckpoint(o.resume)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		if c.Algo != o.algo {
			return usageError("train: %s holds a %s run; pass --algo %s", o.resume, c.Algo, c.Algo)
		}
		ck = &c
	}
	ckPath := filepath.Join(o.out, "checkpoint.ckpt")
	start := time.Now()
	if o.algo == "ppo" {
		return trainPPO(ctx, env, o, hidden, ck, ckPath, enc, start)
	}
	return trainSAC(ctx, env, o, hidden, ck, ckPath, enc, start)
}

func parseHidden(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("%q is not a layer size in [1, 4096]", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func newTrainBar(env Env, o trainOptions, total int) *progressbar.ProgressBar {
	if o.quiet {
		return nil
	}
	return progressbar.NewOptions64(int64(total),
		progressbar.OptionSetWriter(env.Stderr),
		progressbar.OptionSetDescription(o.algo+" "+o.env),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("steps"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionFullWidth(),
	)
}

func trainPPO(ctx context.Context, env Env, o trainOptions, hidden []int, ck *rl.Checkpoint, ckPath string, enc *json.Encoder, start time.Time) error {
	var p *rl.PPO
	var err error
	if ck != nil {
		if p, err = rl.RestorePPO(ck.PPO); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		p.Vec.Workers = o.workers
	} else {
		cfg := rl.DefaultPPOConfig(o.env)
		cfg.Seed, cfg.Workers = o.seed, o.workers
		if o.steps > 0 {
			cfg.TotalSteps = o.steps
		}
		if hidden != nil {
			cfg.Hidden = hidden
		}
		if p, err = rl.NewPPO(cfg); err != nil {
			return usageError("train: %v", err)
		}
	}
	every := o.every
	if every == 0 {
		every = 50
	}
	save := func() error {
		c, err := p.Checkpoint()
		if err != nil {
			return err
		}
		return rl.SaveCheckpoint(ckPath, c)
	}
	bar := newTrainBar(env, o, p.NumUpdates()*p.Config.NumEnvs*p.Config.NumSteps)
	var recent []float64
	for !p.Done() {
		if ctx.Err() != nil {
			if err := save(); err != nil {
				return fmt.Errorf("train: interrupted, and the checkpoint failed: %w", err)
			}
			fmt.Fprintf(env.Stderr, "\ninterrupted at step %d; resume with --resume %s\n", p.Steps, ckPath)
			return ctx.Err()
		}
		st := p.Update()
		for _, e := range st.Episodes {
			recent = append(recent, e.Return)
		}
		if len(recent) > 100 {
			recent = recent[len(recent)-100:]
		}
		mean, _ := rl.MeanStd(recent)
		if err := enc.Encode(map[string]any{
			"update": st.Update, "steps": st.Steps, "return": finite(mean), "episodes": len(st.Episodes),
			"policy_loss": st.PolicyLoss, "value_loss": st.ValueLoss, "entropy": st.Entropy,
			"approx_kl": st.ApproxKL, "clip_frac": st.ClipFrac, "explained_variance": finite(st.ExplainedVariance),
			"lr": st.LR, "samples_per_s": st.SamplesPerSecond,
		}); err != nil {
			return fmt.Errorf("train: metrics: %w", err)
		}
		if bar != nil {
			bar.Describe(fmt.Sprintf("ppo %s return %.1f kl %.4f", o.env, mean, st.ApproxKL))
			bar.Set(p.Steps)
		}
		if p.Updates%every == 0 {
			if err := save(); err != nil {
				return fmt.Errorf("train: %w", err)
			}
		}
	}
	if err := save(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(env.Stderr)
	}
	return report(env, o, p, p.Steps, ckPath, start)
}

func trainSAC(ctx context.Context, env Env, o trainOptions, hidden []int, ck *rl.Checkpoint, ckPath string, enc *json.Encoder, start time.Time) error {
	var s *rl.SAC
	var err error
	if ck != nil {
		if s, err = rl.RestoreSAC(ck.SAC); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	} else {
		cfg := rl.DefaultSACConfig(o.env)
		cfg.Seed = o.seed
		if o.steps > 0 {
			cfg.TotalSteps = o.steps
		}
		if hidden != nil {
			cfg.Hidden = hidden
		}
		if s, err = rl.NewSAC(cfg); err != nil {
			return usageError("train: %v", err)
		}
	}
	every := o.every
	if every == 0 {
		every = 5000
	}
	save := func() error {
		c, err := s.Checkpoint()
		if err != nil {
			return err
		}
		return rl.SaveCheckpoint(ckPath, c)
	}
	bar := newTrainBar(env, o, s.Config.TotalSteps)
	var recent []float64
	for !s.Done() {
		if ctx.Err() != nil {
			if err := save(); err != nil {
				return fmt.Errorf("train: interrupted, and the checkpoint failed: %w", err)
			}
			fmt.Fprintf(env.Stderr, "\ninterrupted at step %d; resume with --resume %s\n", s.Steps, ckPath)
			return ctx.Err()
		}
		st := s.Step()
		for _, e := range st.Episodes {
			recent = append(recent, e.Return)
		}
		if len(recent) > 10 {
			recent = recent[len(recent)-10:]
		}
		if st.Steps%1000 == 0 {
			mean, _ := rl.MeanStd(recent)
			if err := enc.Encode(map[string]any{
				"steps": st.Steps, "return": finite(mean), "q_loss": st.QLoss, "actor_loss": st.ActorLoss,
				"alpha": st.Alpha, "entropy": st.Entropy, "q_mean": st.QMean,
			}); err != nil {
				return fmt.Errorf("train: metrics: %w", err)
			}
			if bar != nil {
				bar.Describe(fmt.Sprintf("sac %s return %.1f alpha %.3f", o.env, mean, st.Alpha))
			}
		}
		if bar != nil && st.Steps%100 == 0 {
			bar.Set(s.Steps)
		}
		if s.Steps%every == 0 {
			if err := save(); err != nil {
				return fmt.Errorf("train: %w", err)
			}
		}
	}
	if err := save(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(env.Stderr)
	}
	return report(env, o, s, s.Steps, ckPath, start)
}

// report evaluates the trained policy and prints one summary line.
func report(env Env, o trainOptions, pol rl.Policy, steps int, ckPath string, start time.Time) error {
	rs, err := rl.Evaluate(pol, o.env, o.evalEpisodes, o.seed+1000)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	m, sd := rl.MeanStd(rs)
	fmt.Fprintf(env.Stdout, "%s %s seed %d: %d steps in %.1fs; evaluation return %.1f ± %.1f (sd over %d episodes); checkpoint %s\n",
		o.algo, o.env, o.seed, steps, time.Since(start).Seconds(), m, sd, len(rs), ckPath)
	return nil
}

// finite maps NaN and infinities, which JSON cannot hold, to nil.
func finite(x float64) any {
	if x != x || x > 1e308 || x < -1e308 {
		return nil
	}
	return x
}
