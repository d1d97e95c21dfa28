package rl

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/metastation/metastation/app/nn"
)

// SACConfig holds SAC's hyper-parameters; the defaults are CleanRL's
// sac_continuous_action.py except where noted.
type SACConfig struct {
	Env            string
	Seed           uint64
	TotalSteps     int
	BufferSize     int
	Gamma, Tau     float64
	BatchSize      int
	LearningStarts int // steps of uniform random actions before learning
	PolicyLR, QLR  float64
	PolicyFreq     int // the actor and α are updated every PolicyFreq steps, PolicyFreq times
	TargetFreq     int
	Alpha          float64 // the entropy weight when Autotune is off
	Autotune       bool
	Hidden         []int
	// UpdateEvery, when above 1, makes one update every UpdateEvery
	// environment steps instead of every step (Stable-Baselines3's
	// train_freq): a cheaper SAC where CPU is short.
	UpdateEvery int
	// MakeEnv, as PPOConfig's: a factory for a variant of a registered
	// world; not saved.
	MakeEnv func() Env `json:"-"`
}

// DefaultSACConfig returns CleanRL's settings for env, except the hidden
// layers: 64×64 instead of 256×256, sixteen times cheaper on a CPU, and
// enough for Pendulum.
func DefaultSACConfig(env string) SACConfig {
	return SACConfig{
		Env: env, Seed: 1, TotalSteps: 30_000, BufferSize: 1_000_000,
		Gamma: 0.99, Tau: 0.005, BatchSize: 256, LearningStarts: 5000,
		PolicyLR: 3e-4, QLR: 1e-3, PolicyFreq: 2, TargetFreq: 1,
		Alpha: 0.2, Autotune: true, Hidden: []int{64, 64},
	}
}

// SAC is a soft actor-critic learner: twin Q networks with Polyak targets, a
// tanh-squashed Gaussian actor and automatic entropy tuning on log α.
type SAC struct {
	Config             SACConfig
	Vec                *VecEnv
	Actor              *nn.MLP // outputs [mean | raw log σ]
	Q1, Q2, Q1T, Q2T   *nn.MLP
	LogAlpha           *nn.Param
	ActorOpt, QOpt     *nn.Adam
	AlphaOpt           *nn.Adam
	Buffer             *Replay
	Head               nn.SquashedGaussian
	TargetEntropy      float64
	Steps              int
	obs                []float64
	src                *rand.PCG
	rng                *rand.Rand
	obsDim, actDim     int
	space              Space
	lastQ1, lastQ2     float64
	lastActor, lastEnt float64
}

// SACStats describe one environment step and, after the warm-up, one update.
type SACStats struct {
	Steps      int
	Episodes   []Episode
	Updated    bool
	QLoss      float64 // mean of the two critics' MSE
	ActorLoss  float64
	Alpha      float64
	Entropy    float64 // −mean log π of the last actor batch
	QMean      float64
	ActorSteps int
}

// NewSAC builds the learner for a continuous-action environment.
func NewSAC(cfg SACConfig) (*SAC, error) {
	mk, err := makeEnv(cfg.Env, cfg.MakeEnv)
	if err != nil {
		return nil, fmt.Errorf("sac: %w", err)
	}
	probe := mk()
	space := probe.ActionSpace()
	if space.Discrete() {
		return nil, fmt.Errorf("sac: %s has discrete actions; SAC needs continuous ones", cfg.Env)
	}
	s := &SAC{Config: cfg, space: space, obsDim: probe.ObsDim(), actDim: space.Dim()}
	s.src = rand.NewPCG(cfg.Seed, 0x736163)
	s.rng = rand.New(s.src)
	initRNG := rand.New(rand.NewPCG(cfg.Seed, 0x696e6974))

	s.Actor = nn.NewMLP(initRNG, sizes(s.obsDim, cfg.Hidden, 2*s.actDim), nn.ActReLU, math.Sqrt2, 0.01)
	qSizes := sizes(s.obsDim+s.actDim, cfg.Hidden, 1)
	s.Q1 = nn.NewMLP(initRNG, qSizes, nn.ActReLU, math.Sqrt2, 1)
	s.Q2 = nn.NewMLP(initRNG, qSizes, nn.ActReLU, math.Sqrt2, 1)
	s.Q1T = nn.NewMLP(initRNG, qSizes, nn.ActReLU, math.Sqrt2, 1)
	s.Q2T = nn.NewMLP(initRNG, qSizes, nn.ActReLU, math.Sqrt2, 1)
	if err := nn.CopyParams(s.Q1T.Params(), s.Q1.Params()); err != nil {
		return nil, err
	}
	if err := nn.CopyParams(s.Q2T.Params(), s.Q2.Params()); err != nil {
		return nil, err
	}
	s.LogAlpha = nn.NewParam("log_alpha", 1, 1)
	if !cfg.Autotune {
		s.LogAlpha.Data[0] = math.Log(cfg.Alpha)
	}
	s.ActorOpt = nn.NewAdam(s.Actor.Params(), cfg.PolicyLR)
	s.QOpt = nn.NewAdam(append(s.Q1.Params(), s.Q2.Params()...), cfg.QLR)
	s.AlphaOpt = nn.NewAdam([]*nn.Param{s.LogAlpha}, cfg.QLR)
	s.TargetEntropy = -float64(s.actDim)

	s.Head = nn.SquashedGaussian{LogStdMin: -5, LogStdMax: 2}
	for j := range space.Low {
		s.Head.Scale = append(s.Head.Scale, (space.High[j]-space.Low[j])/2)
		s.Head.Bias = append(s.Head.Bias, (space.High[j]+space.Low[j])/2)
	}
	s.Buffer = NewReplay(min(cfg.BufferSize, cfg.TotalSteps), s.obsDim, s.actDim)
	s.Vec = NewVecEnv(mk, 1, cfg.Seed, 1)
	s.obs = s.Vec.Obs()[0]
	return s, nil
}

// Done reports whether TotalSteps have been taken.
func (s *SAC) Done() bool { return s.Steps >= s.Config.TotalSteps }

// Alpha is the current entropy weight.
func (s *SAC) Alpha() float64 { return math.Exp(s.LogAlpha.Data[0]) }

// policy runs the actor on obs and samples a squashed action with rng.
func (s *SAC) policy(obs *mat.Dense) nn.SquashedSample {
	out := s.Actor.Forward(obs)
	n, _ := out.Dims()
	mean := mat.DenseCopyOf(out.Slice(0, n, 0, s.actDim))
	raw := mat.DenseCopyOf(out.Slice(0, n, s.actDim, 2*s.actDim))
	return s.Head.Sample(mean, raw, s.rng)
}

// Step takes one environment step and, after the warm-up, one update.
func (s *SAC) Step() SACStats {
	cfg := s.Config
	var act []float64
	if s.Steps < cfg.LearningStarts {
		act = make([]float64, s.actDim)
		for j := range act {
			act[j] = s.space.Low[j] + s.rng.Float64()*(s.space.High[j]-s.space.Low[j])
		}
	} else {
		act = mat.Row(nil, 0, s.policy(rowsMat([][]float64{s.obs})).Action)
	}
	step := s.Vec.Step([][]float64{act})
	next := step.Obs[0]
	if step.FinalObs[0] != nil {
		next = step.FinalObs[0] // the true next state, not the reset one
	}
	s.Buffer.Add(s.obs, act, step.Reward[0], next, step.Terminated[0])
	s.obs = step.Obs[0]
	g := s.Steps // CleanRL's 0-based global_step
	s.Steps++
	st := SACStats{Steps: s.Steps, Episodes: step.Episodes}
	if g > cfg.LearningStarts && (cfg.UpdateEvery <= 1 || g%cfg.UpdateEvery == 0) {
		s.update(g, &st)
	}
	st.Alpha = s.Alpha()
	return st
}

func concatCols(a, b *mat.Dense) *mat.Dense {
	n, ca := a.Dims()
	_, cb := b.Dims()
	out := mat.NewDense(n, ca+cb, nil)
	for i := 0; i < n; i++ {
		row := out.RawRowView(i)
		copy(row, a.RawRowView(i))
		copy(row[ca:], b.RawRowView(i))
	}
	return out
}

func (s *SAC) update(g int, st *SACStats) {
	cfg := s.Config
	b := s.Buffer.Sample(s.rng, cfg.BatchSize)
	n := cfg.BatchSize
	alpha := s.Alpha()

	// Critics: y = r + γ(1−d)(min Q̄(s', a') − α log π(a'|s')).
	nextPi := s.policy(b.NextObs)
	xt := concatCols(b.NextObs, nextPi.Action)
	q1t := s.Q1T.Forward(xt).RawMatrix().Data
	q2t := s.Q2T.Forward(xt).RawMatrix().Data
	y := make([]float64, n)
	for i := range y {
		y[i] = b.Reward[i] + (1-b.Terminated[i])*cfg.Gamma*(min(q1t[i], q2t[i])-alpha*nextPi.LogProb[i])
	}
	nn.ZeroGrad(s.Q1.Params())
	nn.ZeroGrad(s.Q2.Params())
	x := concatCols(b.Obs, b.Act)
	q1 := s.Q1.Forward(x)
	l1, g1 := nn.MSE(q1, y, 1)
	s.Q1.Backward(g1)
	q2 := s.Q2.Forward(x)
	l2, g2 := nn.MSE(q2, y, 1)
	s.Q2.Backward(g2)
	s.QOpt.Step()
	s.lastQ1, s.lastQ2 = l1, l2

	if g%cfg.PolicyFreq == 0 {
		for k := 0; k < cfg.PolicyFreq; k++ {
			s.updateActor(b.Obs)
			st.ActorSteps++
		}
	}
	if g%cfg.TargetFreq == 0 {
		nn.Polyak(s.Q1T.Params(), s.Q1.Params(), cfg.Tau)
		nn.Polyak(s.Q2T.Params(), s.Q2.Params(), cfg.Tau)
	}
	st.Updated = true
	st.QLoss = (s.lastQ1 + s.lastQ2) / 2
	st.ActorLoss, st.Entropy = s.lastActor, s.lastEnt
	st.QMean = mat.Sum(q1) / float64(n)
}

// updateActor minimises mean(α log π(a|s) − min Q(s, a)) with a ~ π
// reparameterised, then, when autotuning, α on a fresh sample.
func (s *SAC) updateActor(obs *mat.Dense) {
	n, _ := obs.Dims()
	alpha := s.Alpha()
	pi := s.policy(obs)
	x := concatCols(obs, pi.Action)
	// Each critic keeps its own forward cache for the backward below; the
	// gradient of min(Q1, Q2) flows to the smaller one, row by row.
	q1 := s.Q1.Forward(x).RawMatrix().Data
	q2 := s.Q2.Forward(x).RawMatrix().Data
	d1 := mat.NewDense(n, 1, nil)
	d2 := mat.NewDense(n, 1, nil)
	var loss float64
	dLogP := make([]float64, n)
	var ent float64
	for i := 0; i < n; i++ {
		if q1[i] <= q2[i] {
			d1.Set(i, 0, -1/float64(n))
		} else {
			d2.Set(i, 0, -1/float64(n))
		}
		loss += alpha*pi.LogProb[i] - min(q1[i], q2[i])
		dLogP[i] = alpha / float64(n)
		ent -= pi.LogProb[i]
	}
	// The critics' parameter gradients computed here are discarded: the
	// next critic update starts with ZeroGrad.
	dx1 := s.Q1.Backward(d1)
	dx2 := s.Q2.Backward(d2)
	dAct := mat.NewDense(n, s.actDim, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < s.actDim; j++ {
			dAct.Set(i, j, dx1.At(i, s.obsDim+j)+dx2.At(i, s.obsDim+j))
		}
	}
	dMean, dRaw := s.Head.Backward(pi, dAct, dLogP)
	nn.ZeroGrad(s.Actor.Params())
	s.Actor.Backward(concatCols(dMean, dRaw))
	s.ActorOpt.Step()
	s.lastActor, s.lastEnt = loss/float64(n), ent/float64(n)

	if s.Config.Autotune {
		fresh := s.policy(obs)
		var m float64
		for _, lp := range fresh.LogProb {
			m += lp + s.TargetEntropy
		}
		m /= float64(n)
		// alpha_loss = mean(−exp(log α)·(log π + H̄)); d/dlog α = −exp(log α)·m.
		s.LogAlpha.Grad[0] = -math.Exp(s.LogAlpha.Data[0]) * m
		s.AlphaOpt.Step()
	}
}

// Act returns the squashed mean when deterministic, else a sample.
func (s *SAC) Act(obs []float64, deterministic bool, rng *rand.Rand) []float64 {
	x := rowsMat([][]float64{obs})
	out := s.Actor.Forward(x)
	mean := mat.DenseCopyOf(out.Slice(0, 1, 0, s.actDim))
	raw := mat.DenseCopyOf(out.Slice(0, 1, s.actDim, 2*s.actDim))
	if deterministic {
		eps := mat.NewDense(1, s.actDim, nil)
		return mat.Row(nil, 0, s.Head.SampleWith(mean, raw, eps).Mode)
	}
	return mat.Row(nil, 0, s.Head.Sample(mean, raw, rng).Action)
}
