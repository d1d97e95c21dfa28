package marl

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/metastation/metastation/app/nn"
)

// MADDPGConfig holds MADDPG's hyper-parameters. The defaults are those of
// the MADDPG paper's code for the particle environments (γ 0.95, τ 0.01,
// learning rate 0.01, 64-unit layers, gradient norm 0.5) except the batch
// (256 instead of 1024) and the update interval (every 25 steps instead of
// 100), which suit a shared CPU.
type MADDPGConfig struct {
	Env                    string
	Seed                   uint64
	Episodes               int
	BufferSize, BatchSize  int
	Gamma, Tau             float64
	ActorLR, CriticLR      float64
	Hidden                 []int
	UpdateEvery            int // environment steps between update rounds
	LearningStarts         int // environment steps before the first update
	Temp                   float64
	GradClip, LogitPenalty float64
}

// DefaultMADDPGConfig returns settings for env.
func DefaultMADDPGConfig(env string) MADDPGConfig {
	return MADDPGConfig{
		Env: env, Seed: 1, Episodes: 4000, BufferSize: 1_000_000, BatchSize: 256,
		Gamma: 0.95, Tau: 0.01, ActorLR: 0.01, CriticLR: 0.01, Hidden: []int{64, 64},
		UpdateEvery: 25, LearningStarts: 2500, Temp: 1, GradClip: 0.5, LogitPenalty: 1e-3,
	}
}

// MADDPG is multi-agent DDPG (Lowe et al. 2017): each agent has a
// decentralised actor over its own observation and a centralised critic
// over every observation and every agent's action, both with Polyak target
// copies. Discrete actions go through the Gumbel-softmax with a
// straight-through estimator: the critic sees one-hot actions, the actor's
// gradient flows through the soft sample.
type MADDPG struct {
	Config          MADDPGConfig
	Env             Env
	Actors, ActorsT []*nn.MLP
	Critics, CritT  []*nn.MLP
	ActorOpt, CrOpt []*nn.Adam
	Buffer          *JointReplay
	Episodes, Steps int
	Updates         int
	n, obsDim, nAct int
	rng, seeds      *rand.Rand
	src, seedSrc    *rand.PCG // the streams of rng and seeds, for checkpoints
	lastQ, lastCL   float64
}

// MADDPGStats describe one training episode.
type MADDPGStats struct {
	Episode    int
	Return     float64   // team return
	Agents     []float64 // each agent's return
	Updated    bool
	CriticLoss float64 // mean over agents of the last update
	QMean      float64
}

// NewMADDPG builds the learner on a fresh environment named by cfg.Env.
func NewMADDPG(cfg MADDPGConfig) (*MADDPG, error) {
	env, err := NewEnv(cfg.Env)
	if err != nil {
		return nil, fmt.Errorf("maddpg: %w", err)
	}
	return NewMADDPGEnv(cfg, env), nil
}

// NewMADDPGEnv builds the learner on env, already configured.
func NewMADDPGEnv(cfg MADDPGConfig, env Env) *MADDPG {
	m := &MADDPG{Config: cfg, Env: env, n: env.NumAgents(), obsDim: env.ObsDim(), nAct: env.NumActions(),
		src: rand.NewPCG(cfg.Seed, 0x6d616464), seedSrc: rand.NewPCG(cfg.Seed, 0x65707373)}
	m.rng, m.seeds = rand.New(m.src), rand.New(m.seedSrc)
	init := rand.New(rand.NewPCG(cfg.Seed, 0x696e6974))
	actor := append(append([]int{m.obsDim}, cfg.Hidden...), m.nAct)
	critic := append(append([]int{m.n * (m.obsDim + m.nAct)}, cfg.Hidden...), 1)
	for i := 0; i < m.n; i++ {
		a, at := nn.NewMLP(init, actor, nn.ActReLU, math.Sqrt2, 0.01), nn.NewMLP(init, actor, nn.ActReLU, math.Sqrt2, 0.01)
		c, ct := nn.NewMLP(init, critic, nn.ActReLU, math.Sqrt2, 1), nn.NewMLP(init, critic, nn.ActReLU, math.Sqrt2, 1)
		_ = nn.CopyParams(at.Params(), a.Params())
		_ = nn.CopyParams(ct.Params(), c.Params())
		m.Actors, m.ActorsT = append(m.Actors, a), append(m.ActorsT, at)
		m.Critics, m.CritT = append(m.Critics, c), append(m.CritT, ct)
		m.ActorOpt = append(m.ActorOpt, nn.NewAdam(a.Params(), cfg.ActorLR))
		m.CrOpt = append(m.CrOpt, nn.NewAdam(c.Params(), cfg.CriticLR))
	}
	m.Buffer = NewJointReplay(cfg.BufferSize, m.n, m.obsDim, m.nAct)
	return m
}

// Done reports whether the episode budget is spent.
func (m *MADDPG) Done() bool { return m.Episodes >= m.Config.Episodes }

// Actions samples each actor's Gumbel-softmax action, or takes the argmax
// of its logits when greedy. Unavailable actions are masked out.
func (m *MADDPG) Actions(obs [][]float64, state []float64, avail [][]bool, greedy bool, rng *rand.Rand) []int {
	out := make([]int, m.n)
	for i := range out {
		logits := m.Actors[i].Forward(mat.NewDense(1, m.obsDim, append([]float64(nil), obs[i]...)))
		row := logits.RawRowView(0)
		for j, ok := range avail[i] {
			if !ok {
				row[j] = math.Inf(-1)
			}
		}
		if greedy {
			out[i] = argmaxAvail(row, avail[i])
			continue
		}
		_, hard := GumbelSoftmax(logits, m.Config.Temp, rng)
		out[i] = hard[0]
	}
	return out
}

// Run plays one episode, updating every UpdateEvery steps once learning has
// started.
func (m *MADDPG) Run() MADDPGStats {
	obs := m.Env.Reset(m.seeds.Uint64())
	st := MADDPGStats{Agents: make([]float64, m.n)}
	for {
		acts := m.Actions(obs, nil, m.Env.AvailActions(), false, m.rng)
		s := m.Env.Step(acts)
		m.Steps++
		m.Buffer.Add(obs, acts, s.Rewards, s.Obs, s.AnyTerminated())
		st.Return += s.TeamReward()
		for i, r := range s.Rewards {
			st.Agents[i] += r
		}
		obs = s.Obs
		if m.Steps >= m.Config.LearningStarts && m.Steps%m.Config.UpdateEvery == 0 {
			m.Update()
			st.Updated = true
		}
		if s.Done() {
			break
		}
	}
	m.Episodes++
	st.Episode, st.CriticLoss, st.QMean = m.Episodes, m.lastCL, m.lastQ
	return st
}

// Update is one round: every agent's critic then actor, then all targets.
// The buffer must not be empty.
func (m *MADDPG) Update() {
	c := m.Config
	b := m.Buffer.Sample(m.rng, c.BatchSize)
	B := c.BatchSize
	// Target joint action: a hard Gumbel sample from every target actor.
	nextActs := make([][]int, m.n)
	for j := 0; j < m.n; j++ {
		_, nextActs[j] = GumbelSoftmax(m.ActorsT[j].Forward(b.NextObs[j]), c.Temp, m.rng)
	}
	nextIn := m.criticInput(b.NextObs, func(j, r int, dst []float64) { dst[nextActs[j][r]] = 1 })
	curIn := m.criticInput(b.Obs, func(j, r int, dst []float64) { copy(dst, b.Act[j].RawRowView(r)) })
	m.lastCL, m.lastQ = 0, 0
	for i := 0; i < m.n; i++ {
		// Critic: regress on r_i + γ(1−d)Q'_i(o', a').
		qn := m.CritT[i].Forward(nextIn)
		y := make([]float64, B)
		for r := range y {
			y[r] = b.Reward[i][r] + c.Gamma*(1-b.Terminated[r])*qn.At(r, 0)
		}
		nn.ZeroGrad(m.Critics[i].Params())
		l, g := nn.MSE(m.Critics[i].Forward(curIn), y, 1)
		m.Critics[i].Backward(g)
		nn.ClipGradNorm(m.Critics[i].Params(), c.GradClip)
		m.CrOpt[i].Step()
		m.lastCL += l / float64(m.n)

		// Actor: maximise Q_i with agent i's action replaced by a
		// straight-through Gumbel-softmax sample of its current policy.
		logits := m.Actors[i].Forward(b.Obs[i])
		soft, hard := GumbelSoftmax(logits, c.Temp, m.rng)
		in := mat.DenseCopyOf(curIn)
		off := m.n*m.obsDim + i*m.nAct
		for r := 0; r < B; r++ {
			row := in.RawRowView(r)[off : off+m.nAct]
			clear(row)
			row[hard[r]] = 1
		}
		q := m.Critics[i].Forward(in)
		dq := mat.NewDense(B, 1, nil)
		for r := 0; r < B; r++ {
			dq.Set(r, 0, -1/float64(B))
			m.lastQ += q.At(r, 0) / float64(B*m.n)
		}
		dIn := m.Critics[i].Backward(dq)
		nn.ZeroGrad(m.Critics[i].Params())
		dAct := mat.NewDense(B, m.nAct, nil)
		for r := 0; r < B; r++ {
			copy(dAct.RawRowView(r), dIn.RawRowView(r)[off:off+m.nAct])
		}
		dLogits := GumbelSoftmaxBackward(soft, dAct, c.Temp)
		lr := logits.RawMatrix()
		dr := dLogits.RawMatrix()
		for r := 0; r < B; r++ {
			for j := 0; j < m.nAct; j++ {
				dr.Data[r*dr.Stride+j] += c.LogitPenalty * 2 * lr.Data[r*lr.Stride+j] / float64(B*m.nAct)
			}
		}
		nn.ZeroGrad(m.Actors[i].Params())
		m.Actors[i].Backward(dLogits)
		nn.ClipGradNorm(m.Actors[i].Params(), c.GradClip)
		m.ActorOpt[i].Step()
	}
	for i := 0; i < m.n; i++ {
		nn.Polyak(m.ActorsT[i].Params(), m.Actors[i].Params(), c.Tau)
		nn.Polyak(m.CritT[i].Params(), m.Critics[i].Params(), c.Tau)
	}
	m.Updates++
}

// criticInput lays out rows [o_1 … o_n, a_1 … a_n]; act writes agent j's
// one-hot action of row r into dst.
func (m *MADDPG) criticInput(obs []*mat.Dense, act func(j, r int, dst []float64)) *mat.Dense {
	B, _ := obs[0].Dims()
	x := mat.NewDense(B, m.n*(m.obsDim+m.nAct), nil)
	for r := 0; r < B; r++ {
		row := x.RawRowView(r)
		for j := 0; j < m.n; j++ {
			copy(row[j*m.obsDim:(j+1)*m.obsDim], obs[j].RawRowView(r))
			off := m.n*m.obsDim + j*m.nAct
			act(j, r, row[off:off+m.nAct])
		}
	}
	return x
}

// JointReplay is a ring of joint transitions: every agent's observation,
// one-hot action, reward and next observation.
type JointReplay struct {
	Cap, Size, Pos  int
	N, ObsDim, NAct int
	Obs, Next, Act  []float64
	Reward          []float64 // Cap·N
	Terminated      []float64
}

// NewJointReplay returns an empty buffer.
func NewJointReplay(capacity, n, obsDim, nAct int) *JointReplay {
	return &JointReplay{Cap: capacity, N: n, ObsDim: obsDim, NAct: nAct,
		Obs: make([]float64, 0, min(capacity, 1<<16)*n*obsDim)}
}

// Add stores one joint transition.
func (r *JointReplay) Add(obs [][]float64, acts []int, rewards []float64, next [][]float64, terminated bool) {
	if r.Size < r.Cap {
		r.Obs = append(r.Obs, make([]float64, r.N*r.ObsDim)...)
		r.Next = append(r.Next, make([]float64, r.N*r.ObsDim)...)
		r.Act = append(r.Act, make([]float64, r.N*r.NAct)...)
		r.Reward = append(r.Reward, make([]float64, r.N)...)
		r.Terminated = append(r.Terminated, 0)
		r.Size++
	}
	k := r.Pos
	for i := 0; i < r.N; i++ {
		copy(r.Obs[(k*r.N+i)*r.ObsDim:], obs[i])
		copy(r.Next[(k*r.N+i)*r.ObsDim:], next[i])
		a := r.Act[(k*r.N+i)*r.NAct : (k*r.N+i+1)*r.NAct]
		clear(a)
		a[acts[i]] = 1
		r.Reward[k*r.N+i] = rewards[i]
	}
	r.Terminated[k] = 0
	if terminated {
		r.Terminated[k] = 1
	}
	r.Pos = (r.Pos + 1) % r.Cap
}

// JointBatch is a sample with one matrix per agent.
type JointBatch struct {
	Obs, NextObs, Act []*mat.Dense // per agent, one row per sample
	Reward            [][]float64  // per agent
	Terminated        []float64
}

// Sample draws n transitions uniformly with replacement.
func (r *JointReplay) Sample(rng *rand.Rand, n int) JointBatch {
	b := JointBatch{Terminated: make([]float64, n)}
	for i := 0; i < r.N; i++ {
		b.Obs = append(b.Obs, mat.NewDense(n, r.ObsDim, nil))
		b.NextObs = append(b.NextObs, mat.NewDense(n, r.ObsDim, nil))
		b.Act = append(b.Act, mat.NewDense(n, r.NAct, nil))
		b.Reward = append(b.Reward, make([]float64, n))
	}
	for s := 0; s < n; s++ {
		k := rng.IntN(r.Size)
		for i := 0; i < r.N; i++ {
			o := (k*r.N + i) * r.ObsDim
			copy(b.Obs[i].RawRowView(s), r.Obs[o:o+r.ObsDim])
			copy(b.NextObs[i].RawRowView(s), r.Next[o:o+r.ObsDim])
			a := (k*r.N + i) * r.NAct
			copy(b.Act[i].RawRowView(s), r.Act[a:a+r.NAct])
			b.Reward[i][s] = r.Reward[k*r.N+i]
		}
		b.Terminated[s] = r.Terminated[k]
	}
	return b
}
