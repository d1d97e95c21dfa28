package rl

import (
	"context"
	"fmt"
	"math"
)

// Learner is a PPO or SAC run driven in chunks by the trainer service.
type Learner interface {
	Policy
	// Advance trains for one chunk (a PPO update, or 1,000 SAC steps) and
	// returns its metrics.
	Advance() Metric
	Done() bool
	Progress() (steps, total int)
	Checkpoint() (Checkpoint, error)
}

// Metric is one point of a learning curve; fields an algorithm does not
// have are zero.
type Metric struct {
	Steps    int       `json:"steps"`
	Episodes []float64 `json:"episodes"` // returns of the episodes finished in the chunk
	Return   float64   `json:"return"`   // mean return of the last 100 episodes (NaN-free: 0 before any)

	ApproxKL          float64 `json:"approx_kl,omitempty"`
	ClipFrac          float64 `json:"clip_frac,omitempty"`
	Entropy           float64 `json:"entropy,omitempty"`
	ExplainedVariance float64 `json:"explained_variance,omitempty"`
	PolicyLoss        float64 `json:"policy_loss,omitempty"`
	ValueLoss         float64 `json:"value_loss,omitempty"`
	QLoss             float64 `json:"q_loss,omitempty"`
	Alpha             float64 `json:"alpha,omitempty"`
	Nodes             int     `json:"nodes,omitempty"` // sharded PPO: nodes that collected the rollout
}

// RunSpec says what to train.
type RunSpec struct {
	Algo    string `json:"algo"` // ppo or sac
	Env     string `json:"env"`  // cartpole, pendulum or trading
	Steps   int    `json:"steps"`
	Seed    uint64 `json:"seed"`
	Hidden  []int  `json:"hidden,omitempty"`  // hidden layer sizes; nil keeps the default
	Workers int    `json:"workers,omitempty"` // PPO environment goroutines; 0 keeps the default
	// Cluster makes a PPO run sharded (one environment per shard, see
	// sharded.go) so that its rollouts can be spread over a cluster's
	// nodes by the service's Collector; the result does not depend on how
	// many nodes collect, one included.
	Cluster bool `json:"cluster,omitempty"`
}

// NewLearner validates spec and builds its learner with the default
// hyper-parameters; Steps 0 keeps the algorithm's default budget.
func NewLearner(spec RunSpec) (Learner, error) {
	e, err := NewEnv(spec.Env)
	if err != nil {
		return nil, err
	}
	if spec.Steps < 0 || spec.Steps > 100_000_000 {
		return nil, fmt.Errorf("steps must be between 0 (the default) and 100,000,000, not %d", spec.Steps)
	}
	for _, h := range spec.Hidden {
		if h < 1 || h > 4096 {
			return nil, fmt.Errorf("hidden layer sizes must be between 1 and 4096, not %d", h)
		}
	}
	if spec.Workers < 0 || spec.Workers > 256 {
		return nil, fmt.Errorf("workers must be between 0 (the default) and 256, not %d", spec.Workers)
	}
	if spec.Cluster && spec.Algo != "ppo" {
		return nil, fmt.Errorf("only PPO runs can spread their rollouts over the cluster, not %s", spec.Algo)
	}
	switch spec.Algo {
	case "ppo":
		cfg := DefaultPPOConfig(spec.Env)
		if spec.Cluster {
			cfg.Shards = cfg.NumEnvs
		}
		cfg.Seed = spec.Seed
		if spec.Steps > 0 {
			cfg.TotalSteps = spec.Steps
		}
		if spec.Hidden != nil {
			cfg.Hidden = spec.Hidden
		}
		if spec.Workers > 0 {
			cfg.Workers = spec.Workers
		}
		p, err := NewPPO(cfg)
		if err != nil {
			return nil, err
		}
		return &ppoLearner{PPO: p}, nil
	case "sac":
		if e.ActionSpace().Discrete() {
			return nil, fmt.Errorf("SAC needs continuous actions and %s has discrete ones; use pendulum", spec.Env)
		}
		cfg := DefaultSACConfig(spec.Env)
		cfg.Seed = spec.Seed
		if spec.Steps > 0 {
			cfg.TotalSteps = spec.Steps
		}
		if spec.Hidden != nil {
			cfg.Hidden = spec.Hidden
		}
		s, err := NewSAC(cfg)
		if err != nil {
			return nil, err
		}
		return &sacLearner{SAC: s}, nil
	}
	return nil, fmt.Errorf("unknown algorithm %q (known: ppo, sac)", spec.Algo)
}

// RestoreLearner continues a run from its checkpoint.
func RestoreLearner(c Checkpoint) (Learner, error) {
	switch {
	case c.PPO != nil:
		p, err := RestorePPO(c.PPO)
		if err != nil {
			return nil, err
		}
		return &ppoLearner{PPO: p}, nil
	case c.SAC != nil:
		s, err := RestoreSAC(c.SAC)
		if err != nil {
			return nil, err
		}
		return &sacLearner{SAC: s}, nil
	}
	return nil, fmt.Errorf("checkpoint holds no run")
}

// window keeps the last 100 episode returns.
type window struct{ r []float64 }

func (w *window) add(xs []float64) float64 {
	w.r = append(w.r, xs...)
	if len(w.r) > 100 {
		w.r = w.r[len(w.r)-100:]
	}
	if len(w.r) == 0 {
		return 0
	}
	m, _ := MeanStd(w.r)
	return m
}

type ppoLearner struct {
	*PPO
	recent  window
	collect Collector // a sharded run's shards; nil collects them here
}

func (l *ppoLearner) Advance() Metric { return l.metric(l.Update()) }

// AdvanceContext is Advance for a sharded run whose shards the collector
// gathers (from other nodes, perhaps): it can wait, and fail.
func (l *ppoLearner) AdvanceContext(ctx context.Context) (Metric, error) {
	if l.Config.Shards == 0 || l.collect == nil {
		return l.Advance(), nil
	}
	st, err := l.UpdateSharded(ctx, l.collect)
	if err != nil {
		return Metric{}, err
	}
	return l.metric(st), nil
}

func (l *ppoLearner) metric(st PPOStats) Metric {
	m := Metric{
		Steps: st.Steps, ApproxKL: st.ApproxKL, ClipFrac: st.ClipFrac, Entropy: st.Entropy,
		PolicyLoss: st.PolicyLoss, ValueLoss: st.ValueLoss, Nodes: st.Nodes,
	}
	if !math.IsNaN(st.ExplainedVariance) {
		m.ExplainedVariance = st.ExplainedVariance
	}
	for _, e := range st.Episodes {
		m.Episodes = append(m.Episodes, e.Return)
	}
	m.Return = l.recent.add(m.Episodes)
	return m
}

func (l *ppoLearner) Progress() (int, int) {
	return l.Steps, l.NumUpdates() * l.Config.NumEnvs * l.Config.NumSteps
}

type sacLearner struct {
	*SAC
	recent window
}

// SACAdvanceSteps is how many environment steps (each with an update) one
// Advance takes: few enough that a stop or a server shutdown, checked between
// Advances, waits at most a couple of seconds on a busy machine.
const SACAdvanceSteps = 200

func (l *sacLearner) Advance() Metric {
	var m Metric
	for i := 0; i < SACAdvanceSteps && !l.Done(); i++ {
		st := l.Step()
		for _, e := range st.Episodes {
			m.Episodes = append(m.Episodes, e.Return)
		}
		if st.Updated {
			m.QLoss, m.Entropy = st.QLoss, st.Entropy
		}
		m.Alpha = st.Alpha
	}
	m.Steps = l.Steps
	m.Return = l.recent.add(m.Episodes)
	return m
}

func (l *sacLearner) Progress() (int, int) { return l.Steps, l.Config.TotalSteps }

// LoadPolicy reads a checkpoint file and returns its trained policy, for
// use outside training (the tournament's strategies, evaluation). The
// returned policy acts deterministically when asked and is not safe for
// concurrent use.
func LoadPolicy(path string) (Policy, RunSpec, error) {
	c, err := LoadCheckpoint(path)
	if err != nil {
		return nil, RunSpec{}, err
	}
	l, err := RestoreLearner(c)
	if err != nil {
		return nil, RunSpec{}, fmt.Errorf("load policy %s: %w", path, err)
	}
	return l, c.Spec(), nil
}
