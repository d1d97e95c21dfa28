package rl

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/metastation/metastation/app/atomicfile"
	"github.com/metastation/metastation/app/nn"
)

// CheckpointVersion is the layout version of checkpoint files.
const CheckpointVersion = 1

const checkpointKind = "rl-checkpoint"

// Checkpoint is everything needed to continue a run exactly: weights,
// optimiser states, random-number state, environments and counters. One of
// PPO and SAC is set.
type Checkpoint struct {
	Algo string // "ppo" or "sac"
	PPO  *PPOCheckpoint
	SAC  *SACCheckpoint
}

// PPOCheckpoint is a PPO learner's state.
type PPOCheckpoint struct {
	Config         PPOConfig
	Params         []nn.Tensor // actor, critic, log σ
	Adam           nn.AdamState
	RNG            []byte
	Steps, Updates int
	Vec            VecState
	Obs            [][]float64
	ObsNorm        *RunningMeanStd
	RewNorm        *RewardNormalizer
}

// SACCheckpoint is a SAC learner's state, replay buffer included.
type SACCheckpoint struct {
	Config                  SACConfig
	Actor, Q1, Q2, Q1T, Q2T []nn.Tensor
	LogAlpha                []nn.Tensor
	ActorAdam, QAdam        nn.AdamState
	AlphaAdam               nn.AdamState
	RNG                     []byte
	Steps                   int
	Vec                     VecState
	Obs                     []float64
	Buffer                  *Replay
}

// Checkpoint captures the learner's state.
func (p *PPO) Checkpoint() (Checkpoint, error) {
	rng, err := p.src.MarshalBinary()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("ppo checkpoint: %w", err)
	}
	vec, err := p.Vec.State()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("ppo checkpoint: %w", err)
	}
	c := &PPOCheckpoint{
		Config: p.Config, Params: nn.Export(p.params()), Adam: p.Opt.State(),
		RNG: rng, Steps: p.Steps, Updates: p.Updates, Vec: vec, Obs: copyRows(p.obs),
	}
	if p.ObsNorm != nil {
		c.ObsNorm = p.ObsNorm.RMS.clone()
	}
	if p.RewNorm != nil {
		c.RewNorm = &RewardNormalizer{RMS: p.RewNorm.RMS.clone(), Returns: append([]float64(nil), p.RewNorm.Returns...), Gamma: p.RewNorm.Gamma, Clip: p.RewNorm.Clip}
	}
	return Checkpoint{Algo: "ppo", PPO: c}, nil
}

// RestorePPO rebuilds a learner from a checkpoint.
func RestorePPO(c *PPOCheckpoint) (*PPO, error) {
	p, err := NewPPO(c.Config)
	if err != nil {
		return nil, err
	}
	if err := nn.Import(p.params(), c.Params); err != nil {
		return nil, fmt.Errorf("restore ppo: %w", err)
	}
	if err := p.Opt.SetState(c.Adam); err != nil {
		return nil, fmt.Errorf("restore ppo: %w", err)
	}
	if err := p.src.UnmarshalBinary(c.RNG); err != nil {
		return nil, fmt.Errorf("restore ppo rng: %w", err)
	}
	if err := p.Vec.SetState(c.Vec); err != nil {
		return nil, fmt.Errorf("restore ppo: %w", err)
	}
	p.Steps, p.Updates, p.obs = c.Steps, c.Updates, copyRows(c.Obs)
	if p.ObsNorm != nil {
		if c.ObsNorm == nil {
			return nil, fmt.Errorf("restore ppo: checkpoint has no observation statistics")
		}
		p.ObsNorm.RMS = c.ObsNorm.clone()
	}
	if p.RewNorm != nil {
		if c.RewNorm == nil {
			return nil, fmt.Errorf("restore ppo: checkpoint has no reward statistics")
		}
		p.RewNorm.RMS = c.RewNorm.RMS.clone()
		p.RewNorm.Returns = append([]float64(nil), c.RewNorm.Returns...)
	}
	return p, nil
}

// Checkpoint captures the learner's state, replay buffer included.
func (s *SAC) Checkpoint() (Checkpoint, error) {
	rng, err := s.src.MarshalBinary()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sac checkpoint: %w", err)
	}
	vec, err := s.Vec.State()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sac checkpoint: %w", err)
	}
	buf := *s.Buffer
	return Checkpoint{Algo: "sac", SAC: &SACCheckpoint{
		Config: s.Config,
		Actor:  nn.Export(s.Actor.Params()), Q1: nn.Export(s.Q1.Params()), Q2: nn.Export(s.Q2.Params()),
		Q1T: nn.Export(s.Q1T.Params()), Q2T: nn.Export(s.Q2T.Params()),
		LogAlpha:  nn.Export([]*nn.Param{s.LogAlpha}),
		ActorAdam: s.ActorOpt.State(), QAdam: s.QOpt.State(), AlphaAdam: s.AlphaOpt.State(),
		RNG: rng, Steps: s.Steps, Vec: vec, Obs: append([]float64(nil), s.obs...),
		Buffer: &buf,
	}}, nil
}

// RestoreSAC rebuilds a learner from a checkpoint.
func RestoreSAC(c *SACCheckpoint) (*SAC, error) {
	s, err := NewSAC(c.Config)
	if err != nil {
		return nil, err
	}
	imports := []struct {
		ps []*nn.Param
		ts []nn.Tensor
	}{
		{s.Actor.Params(), c.Actor}, {s.Q1.Params(), c.Q1}, {s.Q2.Params(), c.Q2},
		{s.Q1T.Params(), c.Q1T}, {s.Q2T.Params(), c.Q2T}, {[]*nn.Param{s.LogAlpha}, c.LogAlpha},
	}
	for _, im := range imports {
		if err := nn.Import(im.ps, im.ts); err != nil {
			return nil, fmt.Errorf("restore sac: %w", err)
		}
	}
	for _, o := range []struct {
		opt *nn.Adam
		st  nn.AdamState
	}{{s.ActorOpt, c.ActorAdam}, {s.QOpt, c.QAdam}, {s.AlphaOpt, c.AlphaAdam}} {
		if err := o.opt.SetState(o.st); err != nil {
			return nil, fmt.Errorf("restore sac: %w", err)
		}
	}
	if err := s.src.UnmarshalBinary(c.RNG); err != nil {
		return nil, fmt.Errorf("restore sac rng: %w", err)
	}
	if err := s.Vec.SetState(c.Vec); err != nil {
		return nil, fmt.Errorf("restore sac: %w", err)
	}
	if c.Buffer == nil || c.Buffer.ObsDim != s.obsDim || c.Buffer.ActDim != s.actDim {
		return nil, fmt.Errorf("restore sac: replay buffer missing or of another shape")
	}
	s.Steps, s.obs, s.Buffer = c.Steps, append([]float64(nil), c.Obs...), c.Buffer
	return s, nil
}

// SaveCheckpoint writes c to path atomically: a temporary file in the same
// directory is written, synced and renamed over path.
func SaveCheckpoint(path string, c Checkpoint) error {
	var buf bytes.Buffer
	if err := nn.Encode(&buf, checkpointKind, CheckpointVersion, c); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint.
func LoadCheckpoint(path string) (Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("load checkpoint: %w", err)
	}
	defer f.Close()
	c, err := ReadCheckpoint(f)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("load checkpoint %s: %w", path, err)
	}
	return c, nil
}

// ReadCheckpoint decodes a checkpoint written by SaveCheckpoint from r (the
// model registry reads them from bytes it has verified).
func ReadCheckpoint(r io.Reader) (Checkpoint, error) {
	var c Checkpoint
	if err := nn.Decode(r, checkpointKind, CheckpointVersion, &c); err != nil {
		return Checkpoint{}, err
	}
	if (c.Algo == "ppo") != (c.PPO != nil) || (c.Algo == "sac") != (c.SAC != nil) {
		return Checkpoint{}, fmt.Errorf("algorithm %q does not match its contents", c.Algo)
	}
	return c, nil
}

func copyRows(rows [][]float64) [][]float64 {
	out := make([][]float64, len(rows))
	for i, r := range rows {
		out[i] = append([]float64(nil), r...)
	}
	return out
}

// Spec returns the run a checkpoint belongs to.
func (c Checkpoint) Spec() RunSpec {
	switch {
	case c.PPO != nil:
		cfg := c.PPO.Config
		return RunSpec{Algo: "ppo", Env: cfg.Env, Steps: cfg.TotalSteps, Seed: cfg.Seed, Hidden: cfg.Hidden, Workers: cfg.Workers, Cluster: cfg.Shards > 0}
	case c.SAC != nil:
		cfg := c.SAC.Config
		return RunSpec{Algo: "sac", Env: cfg.Env, Steps: cfg.TotalSteps, Seed: cfg.Seed, Hidden: cfg.Hidden}
	}
	return RunSpec{Algo: c.Algo}
}
