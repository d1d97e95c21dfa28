package marl

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/metastation/metastation/app/nn"
)

// QMIXConfig holds the hyper-parameters of QMIX and VDN. The defaults follow
// PyMARL's qmix.yaml where a CPU allows (Adam instead of RMSprop).
type QMIXConfig struct {
	Env      string
	Seed     uint64
	Mixer    string // "qmix" or "vdn"
	Episodes int    // training episodes
	// BatchSize episodes are sampled per update; updates start once the
	// buffer holds that many.
	BatchSize, BufferSize int
	UpdatesPerEpisode     int
	Gamma, LR, GradClip   float64
	Hidden                []int // the agent network's hidden layers
	Embed                 int   // the mixer's width
	// HyperGain is the initial gain of the mixer's weight hypernetworks.
	// At 1 the mixer starts with Σ_i ∂Q_tot/∂q_i ≈ 6 on simple_spread, which
	// amplifies the max's overestimation until Q_tot diverges; 0.1 starts
	// it near 0.5 and QMIX learns.
	HyperGain float64
	// HyperBias is the initial bias of the weight hypernetworks. Zero makes
	// every mixing weight proportional to the state at first, so the credit
	// an agent gets depends on where the agents happen to stand; 1/√Embed
	// starts the mixer near VDN (each ∂Q_tot/∂q_i ≈ 1 where the ELU is
	// linear) and lets it learn the state-dependent part.
	HyperBias float64
	// ε decays linearly from EpsStart to EpsEnd over EpsAnnealSteps
	// environment steps; EpsStart = EpsEnd = 1 explores uniformly, as the
	// QMIX paper does on the matrix games.
	EpsStart, EpsEnd float64
	EpsAnnealSteps   int
	TargetEvery      int // updates between hard copies into the target networks
	// TargetTau, when positive, replaces the hard copies by Polyak
	// averaging after every update.
	TargetTau float64
	DoubleQ   bool // pick next actions with the online network
	// StandardiseRewards trains on (r − mean)/std of the team rewards seen
	// so far, as EPyMARL does. It keeps Q values near zero, where the
	// mixer's ELU still passes gradient to the agents; without it, on
	// simple_spread's all-negative rewards the ELU saturates and QMIX's
	// agents stop learning. The shift changes no optimal policy on
	// fixed-length episodes; leave it off where episodes terminate early.
	StandardiseRewards bool
	// NSteps is the length of the return in the TD target (1 is QMIX's
	// one-step target).
	NSteps int
	// TDLambda, when positive, replaces the n-step target by the λ-return
	// over the whole episode (as pymarl2 does): less of the target comes
	// from the bootstrapped max, so less of its overestimation.
	TDLambda float64
	// LimitIsTerminal treats the last step of an episode cut by the time
	// limit as terminal: no bootstrap from the final state.
	LimitIsTerminal bool
}

// DefaultQMIXConfig returns settings for env.
func DefaultQMIXConfig(env, mixer string) QMIXConfig {
	c := QMIXConfig{
		Env: env, Seed: 1, Mixer: mixer, Episodes: 3000,
		BatchSize: 32, BufferSize: 5000, UpdatesPerEpisode: 1,
		Gamma: 0.99, LR: 5e-4, GradClip: 10, Hidden: []int{64, 64}, Embed: 32, HyperGain: 0.1, NSteps: 1,
		EpsStart: 1, EpsEnd: 0.05, EpsAnnealSteps: 25_000, TargetEvery: 200, DoubleQ: true,
	}
	switch env {
	case "spread":
		// Measured on seed 1 (8000 episodes, 200 held-out episodes): bias 0
		// peaks at −58 near 2500 episodes and then degrades (−69 at 4500);
		// bias 1/√Embed keeps improving to −52. With one-step targets that
		// bootstrap at the time limit, seed 2 still peaked near −55 at 4000
		// and fell to −67 while Q_tot rose; λ-returns (λ 0.6) and no
		// bootstrap at the limit keep Q_tot small and reach −50 (seed 2)
		// and −49 (seed 3) at 8000.
		c.StandardiseRewards, c.Episodes, c.HyperBias = true, 8000, 1/math.Sqrt(float64(c.Embed))
		c.TDLambda, c.LimitIsTerminal = 0.6, true
	case "trading-ma":
		c.Episodes, c.BufferSize, c.EpsAnnealSteps = 1500, 1000, 30_000
	case "matrix2", "nonmonotonic":
		c.Episodes, c.BufferSize, c.Embed, c.Hidden = 600, 600, 8, []int{32}
		c.EpsStart, c.EpsEnd, c.LR, c.TargetEvery, c.HyperGain = 1, 1, 3e-3, 50, 1
	}
	return c
}

// QMIX is a value-decomposition learner: one agent Q network shared by
// every agent (its input is the observation and a one-hot agent id), a mixer
// (QMixer or VDN) that makes Q_tot from the agents' chosen values, target
// copies of both, double-Q targets, ε-greedy exploration restricted to the
// available actions, and a replay of whole episodes with masks for the
// padded steps.
type QMIX struct {
	Config            QMIXConfig
	Env               Env
	Agent, AgentT     *nn.MLP
	Mix, MixT         Mixer
	Opt               *nn.Adam
	Buffer            *EpisodeReplay
	Episodes, Steps   int
	Updates           int
	Rew               RunningStat // team rewards seen, for StandardiseRewards
	n, obsDim, nAct   int
	stateDim, limit   int
	rng, seeds        *rand.Rand
	src, seedSrc      *rand.PCG
	lastLoss, lastQ   float64
	lastGrad, lastEps float64
	lastAgent         []float64 // per-agent returns of the last collected episode

	// OnEpisode, if set, sees the statistics of every episode Run plays,
	// including the episodes TrainCurriculum and TrainDirect play.
	OnEpisode func(QMIXStats)
}

// QMIXStats describe one training episode and the update after it.
type QMIXStats struct {
	Episode  int
	Return   float64   // team return of the training episode
	Agents   []float64 // each agent's return in the training episode
	Epsilon  float64
	Updated  bool
	Loss     float64
	QTotMean float64
	GradNorm float64
}

// NewQMIX builds the learner on a fresh environment named by cfg.Env.
func NewQMIX(cfg QMIXConfig) (*QMIX, error) {
	env, err := NewEnv(cfg.Env)
	if err != nil {
		return nil, fmt.Errorf("qmix: %w", err)
	}
	return NewQMIXEnv(cfg, env)
}

// NewQMIXEnv builds the learner on env, already configured.
func NewQMIXEnv(cfg QMIXConfig, env Env) (*QMIX, error) {
	if cfg.Mixer != "qmix" && cfg.Mixer != "vdn" {
		return nil, fmt.Errorf("qmix: unknown mixer %q (known: qmix, vdn)", cfg.Mixer)
	}
	q := &QMIX{Config: cfg, Env: env, n: env.NumAgents(), obsDim: env.ObsDim(), nAct: env.NumActions(),
		stateDim: env.StateDim(), limit: env.Limit(),
		src: rand.NewPCG(cfg.Seed, 0x716d6978), seedSrc: rand.NewPCG(cfg.Seed, 0x65707373)}
	q.rng, q.seeds = rand.New(q.src), rand.New(q.seedSrc)
	init := rand.New(rand.NewPCG(cfg.Seed, 0x696e6974))
	sizes := append(append([]int{q.obsDim + q.n}, cfg.Hidden...), q.nAct)
	q.Agent = nn.NewMLP(init, sizes, nn.ActReLU, math.Sqrt2, 1)
	q.AgentT = nn.NewMLP(init, sizes, nn.ActReLU, math.Sqrt2, 1)
	if cfg.Mixer == "qmix" {
		q.Mix, q.MixT = NewQMixer(init, q.n, q.stateDim, cfg.Embed, cfg.HyperGain, cfg.HyperBias), NewQMixer(init, q.n, q.stateDim, cfg.Embed, cfg.HyperGain, cfg.HyperBias)
	} else {
		q.Mix, q.MixT = &VDN{}, &VDN{}
	}
	q.syncTargets()
	q.Opt = nn.NewAdam(q.params(), cfg.LR)
	q.Buffer = NewEpisodeReplay(cfg.BufferSize)
	return q, nil
}

func (q *QMIX) params() []*nn.Param { return append(q.Agent.Params(), q.Mix.Params()...) }

func (q *QMIX) syncTargets() {
	// Shapes are equal by construction, so CopyParams cannot fail.
	_ = nn.CopyParams(q.AgentT.Params(), q.Agent.Params())
	_ = nn.CopyParams(q.MixT.Params(), q.Mix.Params())
}

// Done reports whether the episode budget is spent.
func (q *QMIX) Done() bool { return q.Episodes >= q.Config.Episodes }

// Epsilon is the exploration rate after steps environment steps.
func (q *QMIX) Epsilon() float64 {
	c := q.Config
	if c.EpsAnnealSteps <= 0 {
		return c.EpsEnd
	}
	f := min(1, float64(q.Steps)/float64(c.EpsAnnealSteps))
	return c.EpsStart + f*(c.EpsEnd-c.EpsStart)
}

// agentInput builds the rows [obs_i, onehot(i)] of the agents.
func (q *QMIX) agentInput(obs [][]float64) *mat.Dense {
	x := mat.NewDense(q.n, q.obsDim+q.n, nil)
	for i, o := range obs {
		row := x.RawRowView(i)
		copy(row, o)
		row[q.obsDim+i] = 1
	}
	return x
}

// Actions picks each agent's greedy available action, or with probability
// ε (when not greedy) a uniformly random available one.
func (q *QMIX) Actions(obs [][]float64, state []float64, avail [][]bool, greedy bool, rng *rand.Rand) []int {
	vals := q.Agent.Forward(q.agentInput(obs))
	eps := q.Epsilon()
	out := make([]int, q.n)
	for i := range out {
		if !greedy && rng.Float64() < eps {
			out[i] = randomAvail(avail[i], rng)
			continue
		}
		out[i] = argmaxAvail(vals.RawRowView(i), avail[i])
	}
	return out
}

// argmaxAvail returns the best available index, or -1 when none is.
func argmaxAvail(v []float64, av []bool) int {
	best, arg := math.Inf(-1), -1
	for j, x := range v {
		if av[j] && x > best {
			best, arg = x, j
		}
	}
	return arg
}

// Run plays one ε-greedy episode into the buffer, then updates.
func (q *QMIX) Run() QMIXStats {
	ep := q.collect()
	q.Buffer.Add(ep)
	q.Episodes++
	st := QMIXStats{Episode: q.Episodes, Epsilon: q.lastEps, Agents: q.lastAgent}
	for _, r := range ep.Reward {
		st.Return += r
	}
	if q.Buffer.Len() >= q.Config.BatchSize {
		for k := 0; k < q.Config.UpdatesPerEpisode; k++ {
			q.Update()
		}
		st.Updated, st.Loss, st.QTotMean, st.GradNorm = true, q.lastLoss, q.lastQ, q.lastGrad
	}
	if q.OnEpisode != nil {
		q.OnEpisode(st)
	}
	return st
}

func (q *QMIX) collect() *Episode {
	T, n := q.limit, q.n
	ep := &Episode{
		Obs: make([]float64, (T+1)*n*q.obsDim), State: make([]float64, (T+1)*q.stateDim),
		Avail: make([]bool, (T+1)*n*q.nAct), Actions: make([]int, T*n),
		Reward: make([]float64, T), Terminated: make([]float64, T), Mask: make([]float64, T),
	}
	record := func(t int, obs [][]float64, state []float64, avail [][]bool) {
		for i := 0; i < n; i++ {
			copy(ep.Obs[(t*n+i)*q.obsDim:], obs[i])
			copy(ep.Avail[(t*n+i)*q.nAct:], avail[i])
		}
		copy(ep.State[t*q.stateDim:], state)
	}
	obs := q.Env.Reset(q.seeds.Uint64())
	q.lastEps = q.Epsilon()
	q.lastAgent = make([]float64, n)
	for t := 0; t < T; t++ {
		avail := q.Env.AvailActions()
		record(t, obs, q.Env.State(), avail)
		acts := q.Actions(obs, nil, avail, false, q.rng)
		s := q.Env.Step(acts)
		q.Steps++
		copy(ep.Actions[t*n:], acts)
		ep.Reward[t], ep.Mask[t] = s.TeamReward(), 1
		for i, r := range s.Rewards {
			q.lastAgent[i] += r
		}
		q.Rew.Add(ep.Reward[t])
		if s.AnyTerminated() {
			ep.Terminated[t] = 1
		}
		obs = s.Obs
		ep.Len = t + 1
		if s.Done() {
			record(t+1, obs, q.Env.State(), q.Env.AvailActions())
			break
		}
	}
	return ep
}

// Update is one gradient step on a batch of episodes; the buffer must hold
// at least one.
func (q *QMIX) Update() {
	c := q.Config
	T, n, A := q.limit, q.n, q.nAct
	eps := q.Buffer.Sample(q.rng, c.BatchSize)
	B := len(eps)
	in := q.obsDim + n
	x := mat.NewDense(B*(T+1)*n, in, nil)
	for b, ep := range eps {
		for t := 0; t <= T; t++ {
			for i := 0; i < n; i++ {
				row := x.RawRowView((b*(T+1)+t)*n + i)
				copy(row, ep.Obs[(t*n+i)*q.obsDim:(t*n+i+1)*q.obsDim])
				row[q.obsDim+i] = 1
			}
		}
	}
	qOn := q.Agent.Forward(x)
	qTg := q.AgentT.Forward(x)
	chosen := mat.NewDense(B*T, n, nil)
	next := mat.NewDense(B*T, n, nil)
	s := mat.NewDense(B*T, q.stateDim, nil)
	s1 := mat.NewDense(B*T, q.stateDim, nil)
	for b, ep := range eps {
		for t := 0; t < T; t++ {
			r := b*T + t
			copy(s.RawRowView(r), ep.State[t*q.stateDim:(t+1)*q.stateDim])
			copy(s1.RawRowView(r), ep.State[(t+1)*q.stateDim:(t+2)*q.stateDim])
			if ep.Mask[t] == 0 {
				continue
			}
			for i := 0; i < n; i++ {
				chosen.Set(r, i, qOn.At((b*(T+1)+t)*n+i, ep.Actions[t*n+i]))
				av := ep.Avail[((t+1)*n+i)*A : ((t+1)*n+i+1)*A]
				nr := (b*(T+1)+t+1)*n + i
				var a int
				if c.DoubleQ {
					a = argmaxAvail(qOn.RawRowView(nr), av)
				} else {
					a = argmaxAvail(qTg.RawRowView(nr), av)
				}
				if a >= 0 {
					next.Set(r, i, qTg.At(nr, a))
				}
			}
		}
	}
	qtot := q.Mix.Forward(chosen, s)
	qnext := q.MixT.Forward(next, s1)
	var msum float64
	for _, ep := range eps {
		for _, m := range ep.Mask {
			msum += m
		}
	}
	shift, scale := 0.0, 1.0
	if c.StandardiseRewards && q.Rew.N > 1 {
		shift, scale = q.Rew.Mean, 1/math.Sqrt(q.Rew.Var()+1e-8)
	}
	g := mat.NewDense(B*T, 1, nil)
	y := make([]float64, T)
	var loss, qmean float64
	for b, ep := range eps {
		q.targets(y, ep, func(t int) float64 { return qnext.At(b*T+t, 0) }, shift, scale)
		for t := 0; t < T; t++ {
			if ep.Mask[t] == 0 {
				continue
			}
			r := b*T + t
			d := qtot.At(r, 0) - y[t]
			loss += d * d / msum
			qmean += qtot.At(r, 0) / msum
			g.Set(r, 0, 2*d/msum)
		}
	}
	nn.ZeroGrad(q.params())
	dq := q.Mix.Backward(g)
	dOut := mat.NewDense(B*(T+1)*n, A, nil)
	for b, ep := range eps {
		for t := 0; t < T; t++ {
			if ep.Mask[t] == 0 {
				continue
			}
			for i := 0; i < n; i++ {
				dOut.Set((b*(T+1)+t)*n+i, ep.Actions[t*n+i], dq.At(b*T+t, i))
			}
		}
	}
	q.Agent.Backward(dOut)
	q.lastGrad = nn.ClipGradNorm(q.params(), c.GradClip)
	q.Opt.Step()
	q.Updates++
	switch {
	case c.TargetTau > 0:
		nn.Polyak(q.AgentT.Params(), q.Agent.Params(), c.TargetTau)
		nn.Polyak(q.MixT.Params(), q.Mix.Params(), c.TargetTau)
	case q.Updates%c.TargetEvery == 0:
		q.syncTargets()
	}
	q.lastLoss, q.lastQ = loss, qmean
}

// targets writes into y the TD target of each step of ep that its mask
// keeps. boot(t) is the target Q_tot of the state after step t. Rewards are
// shifted and scaled first (StandardiseRewards).
func (q *QMIX) targets(y []float64, ep *Episode, boot func(t int) float64, shift, scale float64) {
	c := q.Config
	rew := func(t int) float64 { return (ep.Reward[t] - shift) * scale }
	// bootstraps reports whether the target after step t includes the
	// value of the state reached.
	bootstraps := func(t int) bool {
		if ep.Terminated[t] == 1 {
			return false
		}
		return !(c.LimitIsTerminal && t == ep.Len-1 && ep.Len == q.limit)
	}
	if c.TDLambda > 0 {
		// λ-return, backwards: G_t = r_t + γ((1−λ)Q(s_{t+1}) + λG_{t+1}).
		var next float64
		for t := ep.Len - 1; t >= 0; t-- {
			g := rew(t)
			if bootstraps(t) {
				v := boot(t)
				if t < ep.Len-1 {
					v = (1-c.TDLambda)*v + c.TDLambda*next
				}
				g += c.Gamma * v
			}
			y[t], next = g, g
		}
		return
	}
	for t := 0; t < ep.Len; t++ {
		// n-step target: rewards up to the horizon, the episode's end or a
		// terminal step, then the target Q_tot of the state reached.
		var v float64
		disc, last := 1.0, t
		for k := t; k < min(t+max(1, c.NSteps), ep.Len); k++ {
			v += disc * rew(k)
			disc *= c.Gamma
			last = k
			if ep.Terminated[k] == 1 {
				break
			}
		}
		if bootstraps(last) {
			v += disc * boot(last)
		}
		y[t] = v
	}
}

// QTot returns the online Q_tot of the joint action acts in the current
// observations and state.
func (q *QMIX) QTot(obs [][]float64, state []float64, acts []int) float64 {
	vals := q.Agent.Forward(q.agentInput(obs))
	ch := mat.NewDense(1, q.n, nil)
	for i, a := range acts {
		ch.Set(0, i, vals.At(i, a))
	}
	return q.Mix.Forward(ch, mat.NewDense(1, q.stateDim, append([]float64(nil), state...))).At(0, 0)
}

// RunningStat is a running mean and variance (Welford's algorithm).
type RunningStat struct {
	N        int
	Mean, M2 float64
}

// Add records x.
func (r *RunningStat) Add(x float64) {
	r.N++
	d := x - r.Mean
	r.Mean += d / float64(r.N)
	r.M2 += d * (x - r.Mean)
}

// Var is the sample variance (0 before two values).
func (r *RunningStat) Var() float64 {
	if r.N < 2 {
		return 0
	}
	return r.M2 / float64(r.N-1)
}
