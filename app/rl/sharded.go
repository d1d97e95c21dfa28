package rl

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/metastation/metastation/app/nn"
)

// Sharded PPO (PPOConfig.Shards > 0) is synchronous PPO whose rollout is
// cut into shards that can be collected anywhere — on this node or on
// other nodes of a cluster (app/disttrain) — with the same result to the
// bit. Against the classic lock-step Update it differs in two places, both
// so that a shard depends on nothing but its order and the policy version:
//
//   - actions are drawn from a stream of their own per update and shard,
//     (seed, update, shard), not from one stream across every environment;
//   - observations are normalised with the statistics of the policy version
//     for the whole rollout; the learner folds the rollout's observations
//     into the statistics afterwards, step by step in environment order.
//
// The learner then assembles the shards by index, so neither the number of
// nodes nor the order the shards come back in changes a single bit. Reward
// normalisation couples the environments within a rollout and is refused.
const shardStream uint64 = 0x7368617264000000 // "shard"; XORed with version<<12 | shard

// PolicyVersion is what a node needs to collect shards: the learner's
// networks and observation statistics after Version updates, encoded, and
// the SHA-256 of those bytes (orders name it).
type PolicyVersion struct {
	Version int
	Hash    string
	Bytes   []byte
}

// ShardOrder asks for one shard of update Version: its environments
// (NumEnvs/Shards of them, from Shard·size on) as they stand at the start
// of the rollout.
type ShardOrder struct {
	Version int
	Hash    string
	Env     string
	Steps   int // NumSteps
	Shard   int
	Vec     VecState
}

// ShardRollout is a collected shard: NumSteps steps of its environments,
// time-major (index step·size + env), and its environments afterwards.
type ShardRollout struct {
	Shard     int
	Node      string      // who collected it, for progress and logs
	NextObs   [][]float64 // raw observation after each step (the reset one where an episode ended)
	Actions   [][]float64 // as sampled (continuous actions unclipped)
	LogP      []float64
	Value     []float64
	Reward    []float64 // truncated episodes bootstrapped with γ·V(final observation)
	Done      []bool
	LastValue []float64 // V of each environment's observation after the last step
	Episodes  []ShardEpisode
	Vec       VecState
}

// ShardEpisode is an episode that ended at Step in environment Env (its
// index in the whole vector).
type ShardEpisode struct {
	Step, Env int
	Episode
}

// Collector collects the shards of one update, all with the same policy
// version, and returns them in the order of orders.
type Collector interface {
	Collect(ctx context.Context, pv PolicyVersion, orders []ShardOrder) ([]ShardRollout, error)
}

// LocalCollector collects every shard here, one after another: a
// single-node sharded run.
type LocalCollector struct{}

// Collect decodes the policy once and collects the shards in order.
func (LocalCollector) Collect(ctx context.Context, pv PolicyVersion, orders []ShardOrder) ([]ShardRollout, error) {
	sp, err := DecodePolicy(pv)
	if err != nil {
		return nil, err
	}
	out := make([]ShardRollout, len(orders))
	for i, o := range orders {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if out[i], err = sp.Collect(o); err != nil {
			return nil, err
		}
		out[i].Node = "local"
	}
	return out, nil
}

// validShards checks the sharding settings of cfg.
func validShards(cfg PPOConfig) error {
	switch {
	case cfg.Shards == 0:
		return nil
	case cfg.Shards < 0 || cfg.Shards > 4096:
		return fmt.Errorf("ppo: shards must be between 0 (not sharded) and 4096, not %d", cfg.Shards)
	case cfg.NumEnvs%cfg.Shards != 0:
		return fmt.Errorf("ppo: %d environments do not split into %d shards", cfg.NumEnvs, cfg.Shards)
	case cfg.NormReward:
		return fmt.Errorf("ppo: a sharded run cannot normalise rewards (the statistics couple every environment within a rollout)")
	}
	return nil
}

// policySnapshot is the encoded content of a PolicyVersion.
type policySnapshot struct {
	Config  PPOConfig
	Version int
	Params  []nn.Tensor // actor, critic, log σ
	ObsNorm *RunningMeanStd
	Clip    float64
}

const policyKind = "ppo-policy"

// Policy encodes the learner's current networks and observation
// statistics as the policy version of its next update.
func (p *PPO) Policy() (PolicyVersion, error) {
	s := policySnapshot{Config: p.Config, Version: p.Updates, Params: nn.Export(p.params())}
	if p.ObsNorm != nil {
		s.ObsNorm, s.Clip = p.ObsNorm.RMS.clone(), p.ObsNorm.Clip
	}
	var buf bytes.Buffer
	if err := nn.Encode(&buf, policyKind, 1, s); err != nil {
		return PolicyVersion{}, err
	}
	sum := sha256.Sum256(buf.Bytes())
	return PolicyVersion{Version: p.Updates, Hash: hex.EncodeToString(sum[:]), Bytes: buf.Bytes()}, nil
}

// ShardPolicy is a decoded policy version that collects shards. It is not
// safe for concurrent use (the networks cache their activations).
type ShardPolicy struct {
	cfg     PPOConfig
	version int
	hash    string
	space   Space
	obsDim  int
	actor   *nn.MLP
	critic  *nn.MLP
	logStd  *nn.Param
	norm    *ObsNormalizer
}

// DecodePolicy checks pv's hash and rebuilds its networks.
func DecodePolicy(pv PolicyVersion) (*ShardPolicy, error) {
	sum := sha256.Sum256(pv.Bytes)
	if hex.EncodeToString(sum[:]) != pv.Hash {
		return nil, fmt.Errorf("policy version %d: the bytes do not match their hash", pv.Version)
	}
	var s policySnapshot
	if err := nn.Decode(bytes.NewReader(pv.Bytes), policyKind, 1, &s); err != nil {
		return nil, fmt.Errorf("policy version %d: %w", pv.Version, err)
	}
	if s.Config.Shards < 1 || validShards(s.Config) != nil {
		return nil, fmt.Errorf("policy version %d is not of a sharded run", pv.Version)
	}
	probe, err := NewEnv(s.Config.Env)
	if err != nil {
		return nil, fmt.Errorf("policy version %d: %w", pv.Version, err)
	}
	sp := &ShardPolicy{cfg: s.Config, version: s.Version, hash: pv.Hash, space: probe.ActionSpace(), obsDim: probe.ObsDim()}
	sp.actor, sp.critic, sp.logStd = ppoNets(s.Config, sp.space, sp.obsDim)
	ps := append(sp.actor.Params(), sp.critic.Params()...)
	if sp.logStd != nil {
		ps = append(ps, sp.logStd)
	}
	if err := nn.Import(ps, s.Params); err != nil {
		return nil, fmt.Errorf("policy version %d: %w", pv.Version, err)
	}
	if s.Config.NormObs {
		if s.ObsNorm == nil || len(s.ObsNorm.Mean) != sp.obsDim || len(s.ObsNorm.Var) != sp.obsDim {
			return nil, fmt.Errorf("policy version %d: observation statistics missing or of another width", pv.Version)
		}
		sp.norm = &ObsNormalizer{RMS: s.ObsNorm, Clip: s.Clip}
	}
	return sp, nil
}

func (sp *ShardPolicy) normRows(raw [][]float64) *mat.Dense {
	if sp.norm == nil {
		return rowsMat(raw)
	}
	rows := make([][]float64, len(raw))
	for i, o := range raw {
		rows[i] = sp.norm.Normalize(o)
	}
	return rowsMat(rows)
}

// Collect runs NumSteps steps of the order's environments with this
// policy. The same order and policy give the same rollout on any node.
func (sp *ShardPolicy) Collect(o ShardOrder) (ShardRollout, error) {
	cfg := sp.cfg
	if o.Hash != sp.hash || o.Version != sp.version {
		return ShardRollout{}, fmt.Errorf("shard %d is ordered for policy version %d, this is version %d", o.Shard, o.Version, sp.version)
	}
	if o.Shard < 0 || o.Shard >= cfg.Shards || o.Env != cfg.Env || o.Steps != cfg.NumSteps {
		return ShardRollout{}, fmt.Errorf("shard %d of %s for %d steps is not a shard of this run (%d shards of %s for %d steps)", o.Shard, o.Env, o.Steps, cfg.Shards, cfg.Env, cfg.NumSteps)
	}
	k := cfg.NumEnvs / cfg.Shards
	lo := o.Shard * k
	vec, err := vecFromState(cfg.Env, o.Vec, k, sp.obsDim, cfg.Workers)
	if err != nil {
		return ShardRollout{}, fmt.Errorf("shard %d: %w", o.Shard, err)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, shardStream^(uint64(o.Version)<<12|uint64(o.Shard))))
	t := cfg.NumSteps
	r := ShardRollout{
		Shard: o.Shard, NextObs: make([][]float64, t*k), Actions: make([][]float64, t*k),
		LogP: make([]float64, t*k), Value: make([]float64, t*k), Reward: make([]float64, t*k), Done: make([]bool, t*k),
	}
	obs := vec.Obs()
	for s := 0; s < t; s++ {
		x := sp.normRows(obs)
		values := append([]float64(nil), sp.critic.Forward(x).RawMatrix().Data...)
		out := sp.actor.Forward(x)
		acts, envActs, logp := sp.sample(out, k, rng)
		step := vec.Step(envActs)
		e := 0
		for i := 0; i < k; i++ {
			j := s*k + i
			done := step.Terminated[i] || step.Truncated[i]
			reward := step.Reward[i]
			if step.Truncated[i] && !step.Terminated[i] {
				reward += cfg.Gamma * sp.critic.Forward(sp.normRows([][]float64{step.FinalObs[i]})).At(0, 0)
			}
			if step.FinalObs[i] != nil {
				r.Episodes = append(r.Episodes, ShardEpisode{Step: s, Env: lo + i, Episode: step.Episodes[e]})
				e++
			}
			r.NextObs[j] = append([]float64(nil), step.Obs[i]...)
			r.Actions[j], r.LogP[j], r.Value[j], r.Reward[j], r.Done[j] = acts[i], logp[i], values[i], reward, done
		}
		obs = step.Obs
	}
	r.LastValue = append([]float64(nil), sp.critic.Forward(sp.normRows(obs)).RawMatrix().Data...)
	if r.Vec, err = vec.State(); err != nil {
		return ShardRollout{}, fmt.Errorf("shard %d: %w", o.Shard, err)
	}
	return r, nil
}

// sample draws one action per row of the actor's output, as Update does.
func (sp *ShardPolicy) sample(out *mat.Dense, k int, rng *rand.Rand) (acts, envActs [][]float64, logp []float64) {
	acts, envActs = make([][]float64, k), make([][]float64, k)
	if sp.space.Discrete() {
		d := nn.NewCategorical(out)
		a := d.Sample(rng)
		logp = d.LogProb(a)
		for i := range a {
			acts[i] = []float64{float64(a[i])}
			envActs[i] = acts[i]
		}
		return acts, envActs, logp
	}
	ls := mat.NewDense(k, sp.logStd.Cols, nil)
	for i := 0; i < k; i++ {
		ls.SetRow(i, sp.logStd.Data)
	}
	g := nn.Gaussian{Mean: out, LogStd: ls}
	a := g.Sample(rng)
	logp = g.LogProb(a)
	for i := 0; i < k; i++ {
		acts[i] = mat.Row(nil, i, a)
		envActs[i] = make([]float64, sp.space.Dim())
		for j, v := range acts[i] {
			envActs[i][j] = clamp(v, sp.space.Low[j], sp.space.High[j])
		}
	}
	return acts, envActs, logp
}

// vecFromState rebuilds k environments from a shard's state without
// resetting them.
func vecFromState(env string, s VecState, k, obsDim, workers int) (*VecEnv, error) {
	if len(s.Env) != k || len(s.Seeds) != k || len(s.Obs) != k || len(s.Return) != k || len(s.Length) != k {
		return nil, fmt.Errorf("the order holds %d environments, the shard has %d", len(s.Env), k)
	}
	v := &VecEnv{Workers: max(1, workers), ret: make([]float64, k), length: make([]int, k), obs: make([][]float64, k)}
	for i := 0; i < k; i++ {
		e, err := NewEnv(env)
		if err != nil {
			return nil, err
		}
		if len(s.Obs[i]) != obsDim {
			return nil, fmt.Errorf("environment %d: observation of width %d, want %d", i, len(s.Obs[i]), obsDim)
		}
		v.Envs = append(v.Envs, e)
		v.seeds = append(v.seeds, new(rand.PCG))
	}
	if err := v.SetState(s); err != nil {
		return nil, err
	}
	return v, nil
}

// slice returns environments [lo, hi) of s (sharing its memory).
func (s VecState) slice(lo, hi int) VecState {
	return VecState{Env: s.Env[lo:hi], Seeds: s.Seeds[lo:hi], Obs: s.Obs[lo:hi], Return: s.Return[lo:hi], Length: s.Length[lo:hi]}
}

// shardOrders cuts the environments' current state into the orders of
// the next update.
func (p *PPO) shardOrders(pv PolicyVersion) ([]ShardOrder, error) {
	vs, err := p.Vec.State()
	if err != nil {
		return nil, err
	}
	k := p.Config.NumEnvs / p.Config.Shards
	orders := make([]ShardOrder, p.Config.Shards)
	for j := range orders {
		orders[j] = ShardOrder{Version: pv.Version, Hash: pv.Hash, Env: p.Config.Env, Steps: p.Config.NumSteps, Shard: j, Vec: vs.slice(j*k, (j+1)*k)}
	}
	return orders, nil
}

// UpdateSharded collects one rollout through c, shard by shard, and learns
// from it. A collector's failure leaves the learner as it was.
func (p *PPO) UpdateSharded(ctx context.Context, c Collector) (PPOStats, error) {
	if p.Config.Shards < 1 {
		return PPOStats{}, fmt.Errorf("ppo: the run is not sharded")
	}
	start := time.Now()
	pv, err := p.Policy()
	if err != nil {
		return PPOStats{}, err
	}
	orders, err := p.shardOrders(pv)
	if err != nil {
		return PPOStats{}, err
	}
	rs, err := c.Collect(ctx, pv, orders)
	if err != nil {
		return PPOStats{}, fmt.Errorf("ppo update %d: collect: %w", p.Updates+1, err)
	}
	if len(rs) != len(orders) {
		return PPOStats{}, fmt.Errorf("ppo update %d: %d shards collected of %d", p.Updates+1, len(rs), len(orders))
	}
	for j := range rs {
		if err := p.checkShard(orders[j], rs[j]); err != nil {
			return PPOStats{}, fmt.Errorf("ppo update %d: %w", p.Updates+1, err)
		}
	}
	frac := 1.0
	if p.Config.AnnealLR {
		frac = 1 - float64(p.Updates)/float64(p.NumUpdates())
	}
	p.Opt.LR = frac * p.Config.LR
	st := PPOStats{LR: p.Opt.LR}
	b, err := p.assemble(orders, rs, &st)
	if err != nil {
		return PPOStats{}, fmt.Errorf("ppo update %d: %w", p.Updates+1, err)
	}
	p.learn(&st, b, time.Since(start))
	return st, nil
}

// checkShard refuses a rollout that is not the answer to o.
func (p *PPO) checkShard(o ShardOrder, r ShardRollout) error {
	if o.Env != p.Config.Env || o.Steps != p.Config.NumSteps || len(o.Vec.Env) != p.Config.NumEnvs/p.Config.Shards {
		return fmt.Errorf("shard %d: the order is not of this run", o.Shard)
	}
	return o.Check(r)
}

// Check refuses a rollout that is not the answer to o: another shard, the
// wrong number or width of samples, environments that do not restore,
// episodes outside the shard. (It cannot tell a wrong value from a right
// one; app/disttrain's workers refuse orders from another build.)
func (o ShardOrder) Check(r ShardRollout) error {
	probe, err := NewEnv(o.Env)
	if err != nil {
		return err
	}
	obsDim, actDim := probe.ObsDim(), probe.ActionSpace().Dim()
	k := len(o.Vec.Env)
	n := k * o.Steps
	if r.Shard != o.Shard {
		return fmt.Errorf("shard %d came back as shard %d", o.Shard, r.Shard)
	}
	if len(r.NextObs) != n || len(r.Actions) != n || len(r.LogP) != n || len(r.Value) != n || len(r.Reward) != n || len(r.Done) != n || len(r.LastValue) != k {
		return fmt.Errorf("shard %d holds the wrong number of samples", o.Shard)
	}
	for j := range r.NextObs {
		if len(r.NextObs[j]) != obsDim || len(r.Actions[j]) != actDim {
			return fmt.Errorf("shard %d: sample %d has the wrong width", o.Shard, j)
		}
	}
	if _, err := vecFromState(o.Env, r.Vec, k, obsDim, 1); err != nil {
		return fmt.Errorf("shard %d: its environments' state: %w", o.Shard, err)
	}
	for _, e := range r.Episodes {
		if e.Step < 0 || e.Step >= o.Steps || e.Env < o.Shard*k || e.Env >= (o.Shard+1)*k {
			return fmt.Errorf("shard %d: an episode out of its range", o.Shard)
		}
	}
	return nil
}

// assemble lays the shards out as Update's time-major buffers, normalising
// the observations with the version's statistics, then folds the
// rollout's observations into the statistics and takes the environments'
// new state.
func (p *PPO) assemble(orders []ShardOrder, rs []ShardRollout, st *PPOStats) (batch, error) {
	cfg := p.Config
	n, t := cfg.NumEnvs, cfg.NumSteps
	k := n / cfg.Shards
	total := n * t
	b := batch{obs: make([][]float64, total), act: make([][]float64, total), logp: make([]float64, total),
		val: make([]float64, total), rew: make([]float64, total), done: make([]bool, total), last: make([]float64, n)}
	next := make([][]float64, total) // raw observation after each step, Update's layout
	nodes := map[string]bool{}
	for j, r := range rs {
		nodes[r.Node] = true
		lo := j * k
		for s := 0; s < t; s++ {
			for i := 0; i < k; i++ {
				g, src := s*n+lo+i, s*k+i
				raw := orders[j].Vec.Obs[i]
				if s > 0 {
					raw = r.NextObs[src-k]
				}
				b.obs[g] = p.frozen(raw)
				next[g] = r.NextObs[src]
				b.act[g], b.logp[g], b.val[g], b.rew[g], b.done[g] = r.Actions[src], r.LogP[src], r.Value[src], r.Reward[src], r.Done[src]
			}
		}
		copy(b.last[lo:lo+k], r.LastValue)
	}
	if p.ObsNorm != nil {
		for s := 0; s < t; s++ {
			p.ObsNorm.RMS.Update(next[s*n : (s+1)*n])
		}
	}
	var eps []ShardEpisode
	vs := VecState{}
	for _, r := range rs {
		eps = append(eps, r.Episodes...)
		vs.Env = append(vs.Env, r.Vec.Env...)
		vs.Seeds = append(vs.Seeds, r.Vec.Seeds...)
		vs.Obs = append(vs.Obs, r.Vec.Obs...)
		vs.Return = append(vs.Return, r.Vec.Return...)
		vs.Length = append(vs.Length, r.Vec.Length...)
	}
	slices.SortFunc(eps, func(a, b ShardEpisode) int { return cmp.Or(cmp.Compare(a.Step, b.Step), cmp.Compare(a.Env, b.Env)) })
	for _, e := range eps {
		st.Episodes = append(st.Episodes, e.Episode)
	}
	// checkShard has restored every shard's state once already.
	if err := p.Vec.SetState(vs); err != nil {
		return batch{}, fmt.Errorf("environments' state: %w", err)
	}
	p.obs = make([][]float64, n)
	for i, o := range vs.Obs {
		p.obs[i] = p.frozen(o)
	}
	p.Steps += total
	st.Nodes = len(nodes)
	return b, nil
}
