package marl

import (
	"fmt"
	"io"

	"github.com/metastation/metastation/app/nn"
)

// CheckpointVersion is the layout version of QMIX checkpoints.
const CheckpointVersion = 1

const checkpointKind = "marl-qmix-checkpoint"

// QMIXCheckpoint is everything a QMIX run needs to continue: weights of the
// online and target networks, the optimiser, the random-number streams, the
// counters, the episode replay and, for curriculum runs, the curriculum with
// its stage.
type QMIXCheckpoint struct {
	Config                   QMIXConfig
	Agent, AgentT, Mix, Mix2 []nn.Tensor
	Adam                     nn.AdamState
	RNG, Seeds               []byte
	Episodes, Steps          int
	Updates                  int
	Rew                      RunningStat
	Buffer                   *EpisodeReplay
	Curriculum               *Curriculum
	Env                      *TradingMA // the trading world's settings, when it is the environment
}

// SaveQMIX writes q and, when not nil, the curriculum cur.
func SaveQMIX(w io.Writer, q *QMIX, cur *Curriculum) error {
	rng, err := q.src.MarshalBinary()
	if err != nil {
		return fmt.Errorf("save qmix: %w", err)
	}
	seeds, err := q.seedSrc.MarshalBinary()
	if err != nil {
		return fmt.Errorf("save qmix: %w", err)
	}
	ck := QMIXCheckpoint{
		Config: q.Config, Agent: nn.Export(q.Agent.Params()), AgentT: nn.Export(q.AgentT.Params()),
		Mix: nn.Export(q.Mix.Params()), Mix2: nn.Export(q.MixT.Params()), Adam: q.Opt.State(),
		RNG: rng, Seeds: seeds, Episodes: q.Episodes, Steps: q.Steps, Updates: q.Updates, Rew: q.Rew,
		Buffer: q.Buffer, Curriculum: cur,
	}
	if t, ok := q.Env.(*TradingMA); ok {
		ck.Env = &TradingMA{N: t.N, Horizon: t.Horizon, Window: t.Window, Lots: t.Lots, Levels: t.Levels,
			Depth: t.Depth, Noise: t.Noise, PermImpact: t.PermImpact, Risk: t.Risk, Regime: t.Regime, Mixed: t.Mixed}
	}
	return nn.Encode(w, checkpointKind, CheckpointVersion, ck)
}

// LoadQMIX rebuilds a learner and its curriculum (nil if none was saved).
func LoadQMIX(r io.Reader) (*QMIX, *Curriculum, error) {
	var ck QMIXCheckpoint
	if err := nn.Decode(r, checkpointKind, CheckpointVersion, &ck); err != nil {
		return nil, nil, fmt.Errorf("load qmix: %w", err)
	}
	var env Env
	if ck.Env != nil {
		env = ck.Env
	} else {
		e, err := NewEnv(ck.Config.Env)
		if err != nil {
			return nil, nil, fmt.Errorf("load qmix: %w", err)
		}
		env = e
	}
	if err := checkAllocation(ck.Config, env, ck.Agent); err != nil {
		return nil, nil, fmt.Errorf("load qmix: %w", err)
	}
	q, err := NewQMIXEnv(ck.Config, env)
	if err != nil {
		return nil, nil, fmt.Errorf("load qmix: %w", err)
	}
	for _, p := range []struct {
		dst []*nn.Param
		src []nn.Tensor
	}{{q.Agent.Params(), ck.Agent}, {q.AgentT.Params(), ck.AgentT}, {q.Mix.Params(), ck.Mix}, {q.MixT.Params(), ck.Mix2}} {
		if err := nn.Import(p.dst, p.src); err != nil {
			return nil, nil, fmt.Errorf("load qmix: %w", err)
		}
	}
	if err := q.Opt.SetState(ck.Adam); err != nil {
		return nil, nil, fmt.Errorf("load qmix: %w", err)
	}
	if err := q.src.UnmarshalBinary(ck.RNG); err != nil {
		return nil, nil, fmt.Errorf("load qmix: %w", err)
	}
	if err := q.seedSrc.UnmarshalBinary(ck.Seeds); err != nil {
		return nil, nil, fmt.Errorf("load qmix: %w", err)
	}
	q.Episodes, q.Steps, q.Updates, q.Rew = ck.Episodes, ck.Steps, ck.Updates, ck.Rew
	if ck.Buffer != nil {
		q.Buffer = ck.Buffer
	}
	return q, ck.Curriculum, nil
}

// Caps on what a checkpoint's configuration may ask to allocate.
const (
	maxAgents     = 64
	maxLayers     = 16
	maxWidth      = 4096
	maxBufferEps  = 1_000_000  // QMIX/VDN replay, in episodes
	maxBufferTr   = 10_000_000 // MADDPG replay, in transitions
	maxEmbedWidth = 4096
)

// checkAllocation refuses a checkpoint whose configuration asks for more
// than the weights it holds, before anything is allocated: networks are
// built from the configuration's sizes, so a 2 KB file asking for
// [3000, 3000] hidden layers took 29 s and 760 MB before it was refused.
func checkAllocation(cfg QMIXConfig, env Env, agent []nn.Tensor) error {
	if len(cfg.Hidden) > maxLayers {
		return fmt.Errorf("the checkpoint asks for %d hidden layers, more than %d", len(cfg.Hidden), maxLayers)
	}
	if cfg.Embed < 0 || cfg.Embed > maxEmbedWidth {
		return fmt.Errorf("the checkpoint asks for a mixer %d wide; at most %d", cfg.Embed, maxEmbedWidth)
	}
	if cfg.BufferSize < 0 || cfg.BufferSize > maxBufferEps {
		return fmt.Errorf("the checkpoint asks for a replay of %d episodes; at most %d", cfg.BufferSize, maxBufferEps)
	}
	want, err := mlpWeights(append(append([]int{env.ObsDim() + env.NumAgents()}, cfg.Hidden...), env.NumActions()))
	if err != nil {
		return err
	}
	have := tensorsLen(agent)
	if have != want {
		return fmt.Errorf("the checkpoint's configuration makes an agent network of %d weights, but it holds %d", want, have)
	}
	return nil
}

// mlpWeights counts the weights and biases of an MLP with these layer
// sizes, refusing a width outside 1..maxWidth before anything is built.
func mlpWeights(sizes []int) (int, error) {
	n := 0
	for i, w := range sizes {
		if w <= 0 || w > maxWidth {
			return 0, fmt.Errorf("the checkpoint asks for a layer %d wide; widths go from 1 to %d", w, maxWidth)
		}
		if i > 0 {
			n += sizes[i-1]*w + w
		}
	}
	return n, nil
}

// tensorsLen is the number of values the tensors hold.
func tensorsLen(ts []nn.Tensor) int {
	n := 0
	for _, t := range ts {
		n += len(t.Data)
	}
	return n
}
