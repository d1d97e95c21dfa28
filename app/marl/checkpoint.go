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
