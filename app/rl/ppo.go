package rl

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/metastation/metastation/app/nn"
)

// PPOConfig holds PPO's hyper-parameters; the defaults are CleanRL's.
type PPOConfig struct {
	Env           string
	Seed          uint64
	TotalSteps    int     // environment steps over all environments
	NumEnvs       int     // parallel environments
	NumSteps      int     // steps per environment per rollout
	Workers       int     // goroutines stepping the environments
	LR            float64 // Adam learning rate
	AdamEps       float64
	AnnealLR      bool // decay the learning rate linearly to zero
	Gamma, Lambda float64
	Minibatches   int
	Epochs        int
	ClipCoef      float64
	ClipValueLoss bool
	EntCoef       float64
	VFCoef        float64
	MaxGradNorm   float64
	Hidden        []int
	NormObs       bool
	NormReward    bool
	// Shards > 0 makes the run sharded (sharded.go): each rollout is split
	// into Shards groups of NumEnvs/Shards environments that any node can
	// collect on its own, so the result does not depend on where or in
	// which order the shards are collected. 0 is the classic lock-step PPO.
	Shards int
	// MakeEnv, when set, builds the environments instead of NewEnv(Env),
	// for variants of a registered world (a bench's trading variants); Env
	// is then only the name in reports. Not saved in checkpoints, and not
	// for sharded runs (a node builds its shards' environments by name).
	MakeEnv func() Env `json:"-"`
}

// makeEnv returns cfg's environment factory.
func makeEnv(name string, mk func() Env) (func() Env, error) {
	if mk != nil {
		return mk, nil
	}
	if _, err := NewEnv(name); err != nil {
		return nil, err
	}
	return func() Env { e, _ := NewEnv(name); return e }, nil
}

// DefaultPPOConfig returns CleanRL's settings for env: ppo.py for discrete
// actions, ppo_continuous_action.py for continuous ones.
func DefaultPPOConfig(env string) PPOConfig {
	c := PPOConfig{
		Env: env, Seed: 1, TotalSteps: 500_000, NumEnvs: 4, NumSteps: 128, Workers: 2,
		LR: 2.5e-4, AdamEps: 1e-5, AnnealLR: true, Gamma: 0.99, Lambda: 0.95,
		Minibatches: 4, Epochs: 4, ClipCoef: 0.2, ClipValueLoss: true,
		EntCoef: 0.01, VFCoef: 0.5, MaxGradNorm: 0.5, Hidden: []int{64, 64},
	}
	if strings.HasPrefix(env, "trading") {
		// Daily rewards are mostly noise: longer rollouts, more
		// environments, normalised observations, no entropy bonus.
		c.TotalSteps = 300_000
		c.NumEnvs, c.NumSteps = 8, 256
		c.LR, c.EntCoef, c.NormObs = 3e-4, 0, true
	}
	if env == "pendulum" {
		c.TotalSteps = 1_000_000
		c.NumEnvs, c.NumSteps, c.Workers = 1, 2048, 1
		c.LR, c.Minibatches, c.Epochs, c.EntCoef = 3e-4, 32, 10, 0
		c.NormObs, c.NormReward = true, true
	}
	return c
}

// PPO is a proximal-policy-optimisation learner with separate policy and
// value networks trained by one Adam optimiser, as in CleanRL.
type PPO struct {
	Config  PPOConfig
	Vec     *VecEnv
	Actor   *nn.MLP
	Critic  *nn.MLP
	LogStd  *nn.Param // state-independent log σ (continuous actions only)
	Opt     *nn.Adam
	ObsNorm *ObsNormalizer    // nil unless Config.NormObs
	RewNorm *RewardNormalizer // nil unless Config.NormReward

	Steps   int // environment steps taken
	Updates int // rollouts learned from

	src    *rand.PCG
	rng    *rand.Rand
	obs    [][]float64 // current (normalised) observations
	space  Space
	obsDim int
}

// PPOStats are the diagnostics of one update, averaged over its minibatches.
type PPOStats struct {
	Update, Steps                 int
	LR                            float64
	PolicyLoss, ValueLoss         float64
	Entropy, ApproxKL, ClipFrac   float64
	ExplainedVariance             float64
	Episodes                      []Episode // episodes finished during the rollout
	SamplesPerSecond, EnvStepRate float64
	Nodes                         int // sharded runs: how many nodes collected the rollout's shards
}

// NewPPO builds the learner and its environments from cfg.
func NewPPO(cfg PPOConfig) (*PPO, error) {
	if cfg.NumEnvs < 1 || cfg.NumSteps < 1 || cfg.Minibatches < 1 || cfg.Epochs < 1 {
		return nil, fmt.Errorf("ppo: NumEnvs, NumSteps, Minibatches and Epochs must be positive")
	}
	if (cfg.NumEnvs*cfg.NumSteps)%cfg.Minibatches != 0 {
		return nil, fmt.Errorf("ppo: batch of %d does not split into %d minibatches", cfg.NumEnvs*cfg.NumSteps, cfg.Minibatches)
	}
	if err := validShards(cfg); err != nil {
		return nil, err
	}
	mk, err := makeEnv(cfg.Env, cfg.MakeEnv)
	if err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	probe := mk()
	p := &PPO{Config: cfg, space: probe.ActionSpace(), obsDim: probe.ObsDim()}
	p.src = rand.NewPCG(cfg.Seed, 0x70706f)
	p.rng = rand.New(p.src)
	p.Actor, p.Critic, p.LogStd = ppoNets(cfg, p.space, p.obsDim)
	p.Opt = nn.NewAdam(p.params(), cfg.LR)
	p.Opt.Eps = cfg.AdamEps

	p.Vec = NewVecEnv(mk, cfg.NumEnvs, cfg.Seed, cfg.Workers)
	if cfg.NormObs {
		p.ObsNorm = NewObsNormalizer(p.obsDim)
	}
	if cfg.NormReward {
		p.RewNorm = NewRewardNormalizer(cfg.NumEnvs, cfg.Gamma)
	}
	p.obs = p.observe(p.Vec.Obs())
	return p, nil
}

// ppoNets builds the actor, the critic and (continuous actions) log σ,
// initialised from the run's seed.
func ppoNets(cfg PPOConfig, space Space, obsDim int) (actor, critic *nn.MLP, logStd *nn.Param) {
	initRNG := rand.New(rand.NewPCG(cfg.Seed, 0x696e6974))
	out := space.Dim()
	if space.Discrete() {
		out = space.N
	}
	actor = nn.NewMLP(initRNG, sizes(obsDim, cfg.Hidden, out), nn.ActTanh, math.Sqrt2, 0.01)
	critic = nn.NewMLP(initRNG, sizes(obsDim, cfg.Hidden, 1), nn.ActTanh, math.Sqrt2, 1)
	if !space.Discrete() {
		logStd = nn.NewParam("log_std", 1, out)
	}
	return actor, critic, logStd
}

func sizes(in int, hidden []int, out int) []int {
	s := append([]int{in}, hidden...)
	return append(s, out)
}

// params lists every trained tensor: the actor's, the critic's, log σ.
func (p *PPO) params() []*nn.Param {
	ps := append(p.Actor.Params(), p.Critic.Params()...)
	if p.LogStd != nil {
		ps = append(ps, p.LogStd)
	}
	return ps
}

// NumUpdates is the number of rollouts in Config.TotalSteps.
func (p *PPO) NumUpdates() int {
	return p.Config.TotalSteps / (p.Config.NumEnvs * p.Config.NumSteps)
}

// Done reports whether every update has run.
func (p *PPO) Done() bool { return p.Updates >= p.NumUpdates() }

// observe updates the observation statistics with a batch and normalises it.
func (p *PPO) observe(raw [][]float64) [][]float64 {
	if p.ObsNorm == nil {
		return raw
	}
	p.ObsNorm.RMS.Update(raw)
	out := make([][]float64, len(raw))
	for i, o := range raw {
		out[i] = p.ObsNorm.Normalize(o)
	}
	return out
}

// frozen normalises one observation without updating the statistics.
func (p *PPO) frozen(o []float64) []float64 {
	if p.ObsNorm == nil {
		return o
	}
	return p.ObsNorm.Normalize(o)
}

func rowsMat(rows [][]float64) *mat.Dense {
	m := mat.NewDense(len(rows), len(rows[0]), nil)
	for i, r := range rows {
		m.SetRow(i, r)
	}
	return m
}

// broadcastLogStd repeats log σ for n rows.
func (p *PPO) broadcastLogStd(n int) *mat.Dense {
	m := mat.NewDense(n, p.LogStd.Cols, nil)
	for i := 0; i < n; i++ {
		m.SetRow(i, p.LogStd.Data)
	}
	return m
}

// Update collects one rollout and learns from it. A sharded run collects
// its shards here, one after another (LocalCollector).
func (p *PPO) Update() PPOStats {
	cfg := p.Config
	if cfg.Shards > 0 {
		st, err := p.UpdateSharded(context.Background(), LocalCollector{})
		if err != nil {
			// Our own shards, collected here from our own policy bytes:
			// nothing in them can fail but a bug.
			panic(fmt.Sprintf("rl: sharded ppo update: %v", err))
		}
		return st
	}
	start := time.Now()
	n, t := cfg.NumEnvs, cfg.NumSteps
	total := n * t
	obsBuf := make([][]float64, total)
	actBuf := make([][]float64, total)
	logpBuf := make([]float64, total)
	valBuf := make([]float64, total)
	rewBuf := make([]float64, total)
	doneBuf := make([]bool, total)
	st := PPOStats{}

	frac := 1.0
	if cfg.AnnealLR {
		frac = 1 - float64(p.Updates)/float64(p.NumUpdates())
	}
	p.Opt.LR = frac * cfg.LR
	st.LR = p.Opt.LR

	for s := 0; s < t; s++ {
		x := rowsMat(p.obs)
		values := p.Critic.Forward(x).RawMatrix().Data
		out := p.Actor.Forward(x)
		envActs := make([][]float64, n)
		var logp []float64
		if p.space.Discrete() {
			d := nn.NewCategorical(out)
			a := d.Sample(p.rng)
			logp = d.LogProb(a)
			for i := range a {
				envActs[i] = []float64{float64(a[i])}
				actBuf[s*n+i] = envActs[i]
			}
		} else {
			g := nn.Gaussian{Mean: out, LogStd: p.broadcastLogStd(n)}
			a := g.Sample(p.rng)
			logp = g.LogProb(a)
			for i := 0; i < n; i++ {
				actBuf[s*n+i] = mat.Row(nil, i, a)
				envActs[i] = make([]float64, p.space.Dim())
				for j, v := range actBuf[s*n+i] {
					envActs[i][j] = clamp(v, p.space.Low[j], p.space.High[j])
				}
			}
		}
		step := p.Vec.Step(envActs)
		p.Steps += n
		st.Episodes = append(st.Episodes, step.Episodes...)

		rewards := step.Reward
		done := make([]bool, n)
		for i := range done {
			done[i] = step.Terminated[i] || step.Truncated[i]
		}
		if p.RewNorm != nil {
			rewards = p.RewNorm.Normalize(rewards, done)
		}
		// Bootstrap through time limits: a truncated episode's last
		// reward gains γ·V(final observation).
		for i := 0; i < n; i++ {
			if step.Truncated[i] && !step.Terminated[i] {
				fv := p.Critic.Forward(rowsMat([][]float64{p.frozen(step.FinalObs[i])})).At(0, 0)
				rewards[i] += cfg.Gamma * fv
			}
		}
		for i := 0; i < n; i++ {
			k := s*n + i
			obsBuf[k] = p.obs[i]
			logpBuf[k] = logp[i]
			valBuf[k] = values[i]
			rewBuf[k] = rewards[i]
			doneBuf[k] = done[i]
		}
		p.obs = p.observe(step.Obs)
	}
	lastValue := append([]float64(nil), p.Critic.Forward(rowsMat(p.obs)).RawMatrix().Data...)
	p.learn(&st, batch{obs: obsBuf, act: actBuf, logp: logpBuf, val: valBuf, rew: rewBuf, done: doneBuf, last: lastValue}, time.Since(start))
	return st
}

// batch is one update's samples, time-major (index step·NumEnvs + env),
// and V of every environment's observation after the last step.
type batch struct {
	obs, act  [][]float64
	logp, val []float64
	rew       []float64
	done      []bool
	last      []float64
}

// learn runs the shuffled minibatch epochs of one update on b and fills
// st's losses and rates.
func (p *PPO) learn(st *PPOStats, b batch, rolloutTime time.Duration) {
	cfg := p.Config
	n := cfg.NumEnvs
	total := len(b.rew)
	obsBuf, actBuf, logpBuf, valBuf := b.obs, b.act, b.logp, b.val
	adv, ret := gae(b.rew, b.val, b.done, b.last, n, cfg.Gamma, cfg.Lambda)

	// Learn: shuffled minibatch epochs.
	learnStart := time.Now()
	mbSize := total / cfg.Minibatches
	params := p.params()
	var count float64
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		perm := p.rng.Perm(total)
		for m := 0; m < cfg.Minibatches; m++ {
			idx := perm[m*mbSize : (m+1)*mbSize]
			ms := p.learnMinibatch(idx, obsBuf, actBuf, logpBuf, valBuf, adv, ret, params)
			st.PolicyLoss += ms.PolicyLoss
			st.ValueLoss += ms.ValueLoss
			st.Entropy += ms.Entropy
			st.ApproxKL += ms.ApproxKL
			st.ClipFrac += ms.ClipFrac
			count++
		}
	}
	st.PolicyLoss /= count
	st.ValueLoss /= count
	st.Entropy /= count
	st.ApproxKL /= count
	st.ClipFrac /= count
	st.ExplainedVariance = explainedVariance(valBuf, ret)
	p.Updates++
	st.Update, st.Steps = p.Updates, p.Steps
	st.SamplesPerSecond = float64(total*cfg.Epochs) / time.Since(learnStart).Seconds()
	st.EnvStepRate = float64(total) / rolloutTime.Seconds()
}

// learnMinibatch takes one gradient step on the samples idx.
func (p *PPO) learnMinibatch(idx []int, obs, act [][]float64, oldLogP, oldValue, adv, ret []float64, params []*nn.Param) ppoStats {
	cfg := p.Config
	b := len(idx)
	rows := make([][]float64, b)
	terms := ppoTerms{
		OldLogP: make([]float64, b), OldValue: make([]float64, b),
		Adv: make([]float64, b), Ret: make([]float64, b),
	}
	for j, k := range idx {
		rows[j] = obs[k]
		terms.OldLogP[j], terms.OldValue[j] = oldLogP[k], oldValue[k]
		terms.Adv[j], terms.Ret[j] = adv[k], ret[k]
	}
	terms.Adv = normalizeAdv(terms.Adv)
	x := rowsMat(rows)

	nn.ZeroGrad(params)
	out := p.Actor.Forward(x)
	terms.NewValue = p.Critic.Forward(x).RawMatrix().Data
	if p.space.Discrete() {
		acts := make([]int, b)
		for j, k := range idx {
			acts[j] = int(act[k][0])
		}
		d := nn.NewCategorical(out)
		terms.NewLogP, terms.Entropy = d.LogProb(acts), d.Entropy()
		_, dLogP, dEnt, dValue, st := ppoLoss(terms, cfg.ClipCoef, cfg.ClipValueLoss, cfg.EntCoef, cfg.VFCoef)
		p.Actor.Backward(d.Backward(acts, dLogP, dEnt))
		p.Critic.Backward(mat.NewDense(b, 1, dValue))
		p.step(params)
		return st
	}
	a := mat.NewDense(b, p.space.Dim(), nil)
	for j, k := range idx {
		a.SetRow(j, act[k])
	}
	g := nn.Gaussian{Mean: out, LogStd: p.broadcastLogStd(b)}
	terms.NewLogP, terms.Entropy = g.LogProb(a), g.Entropy()
	_, dLogP, dEnt, dValue, st := ppoLoss(terms, cfg.ClipCoef, cfg.ClipValueLoss, cfg.EntCoef, cfg.VFCoef)
	dMean, dLogStd := g.Backward(a, dLogP, dEnt)
	p.Actor.Backward(dMean)
	for j := 0; j < b; j++ {
		for c, v := range dLogStd.RawRowView(j) {
			p.LogStd.Grad[c] += v
		}
	}
	p.Critic.Backward(mat.NewDense(b, 1, dValue))
	p.step(params)
	return st
}

func (p *PPO) step(params []*nn.Param) {
	if p.Config.MaxGradNorm > 0 {
		actor := p.Actor.Params()
		if p.LogStd != nil {
			actor = append(actor, p.LogStd)
		}
		nn.ClipGradNorm(actor, p.Config.MaxGradNorm)
		nn.ClipGradNorm(p.Critic.Params(), p.Config.MaxGradNorm)
	}
	p.Opt.Step()
}

// Act returns the policy's action for one raw observation: the mode when
// deterministic, otherwise a sample from rng. It does not touch the
// normalisation statistics.
func (p *PPO) Act(obs []float64, deterministic bool, rng *rand.Rand) []float64 {
	out := p.Actor.Forward(rowsMat([][]float64{p.frozen(obs)}))
	if p.space.Discrete() {
		d := nn.NewCategorical(out)
		if deterministic {
			return []float64{float64(d.Mode()[0])}
		}
		return []float64{float64(d.Sample(rng)[0])}
	}
	a := mat.Row(nil, 0, out)
	if !deterministic {
		a = mat.Row(nil, 0, nn.Gaussian{Mean: out, LogStd: p.broadcastLogStd(1)}.Sample(rng))
	}
	for j := range a {
		a[j] = clamp(a[j], p.space.Low[j], p.space.High[j])
	}
	return a
}
