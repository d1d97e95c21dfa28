package marl

import (
	"fmt"
	"io"

	"github.com/metastation/metastation/app/nn"
)

// MADDPGCheckpointVersion is the layout version of MADDPG checkpoints.
const MADDPGCheckpointVersion = 1

const maddpgCheckpointKind = "marl-maddpg-checkpoint"

// MADDPGCheckpoint is everything a MADDPG run needs to continue exactly
// where it stopped: every agent's actor and critic with their target
// copies and optimisers, both random-number streams, the counters, the
// joint replay and, on the trading world, the world's settings (a MADDPG
// run there trains on the regime mix).
type MADDPGCheckpoint struct {
	Config                   MADDPGConfig
	Actors, ActorsT          [][]nn.Tensor // per agent
	Critics, CriticsT        [][]nn.Tensor
	ActorAdam, CriticAdam    []nn.AdamState
	RNG, Seeds               []byte
	Episodes, Steps, Updates int
	Buffer                   *JointReplay
	Env                      *TradingMA
}

// SaveMADDPG writes m between episodes (after Run returns).
func SaveMADDPG(w io.Writer, m *MADDPG) error {
	rng, err := m.src.MarshalBinary()
	if err != nil {
		return fmt.Errorf("save maddpg: %w", err)
	}
	seeds, err := m.seedSrc.MarshalBinary()
	if err != nil {
		return fmt.Errorf("save maddpg: %w", err)
	}
	ck := MADDPGCheckpoint{Config: m.Config, RNG: rng, Seeds: seeds, Episodes: m.Episodes, Steps: m.Steps,
		Updates: m.Updates, Buffer: m.Buffer}
	for i := range m.Actors {
		ck.Actors = append(ck.Actors, nn.Export(m.Actors[i].Params()))
		ck.ActorsT = append(ck.ActorsT, nn.Export(m.ActorsT[i].Params()))
		ck.Critics = append(ck.Critics, nn.Export(m.Critics[i].Params()))
		ck.CriticsT = append(ck.CriticsT, nn.Export(m.CritT[i].Params()))
		ck.ActorAdam = append(ck.ActorAdam, m.ActorOpt[i].State())
		ck.CriticAdam = append(ck.CriticAdam, m.CrOpt[i].State())
	}
	if t, ok := m.Env.(*TradingMA); ok {
		ck.Env = &TradingMA{N: t.N, Horizon: t.Horizon, Window: t.Window, Lots: t.Lots, Levels: t.Levels,
			Depth: t.Depth, Noise: t.Noise, PermImpact: t.PermImpact, Risk: t.Risk, Regime: t.Regime, Mixed: t.Mixed}
	}
	return nn.Encode(w, maddpgCheckpointKind, MADDPGCheckpointVersion, ck)
}

// LoadMADDPG rebuilds a learner saved by SaveMADDPG.
func LoadMADDPG(r io.Reader) (*MADDPG, error) {
	var ck MADDPGCheckpoint
	if err := nn.Decode(r, maddpgCheckpointKind, MADDPGCheckpointVersion, &ck); err != nil {
		return nil, fmt.Errorf("load maddpg: %w", err)
	}
	var env Env = ck.Env
	if ck.Env == nil {
		e, err := NewEnv(ck.Config.Env)
		if err != nil {
			return nil, fmt.Errorf("load maddpg: %w", err)
		}
		env = e
	}
	if err := checkMADDPGAllocation(&ck, env); err != nil {
		return nil, fmt.Errorf("load maddpg: %w", err)
	}
	m := NewMADDPGEnv(ck.Config, env)
	n := len(m.Actors)
	if len(ck.Actors) != n || len(ck.ActorsT) != n || len(ck.Critics) != n || len(ck.CriticsT) != n ||
		len(ck.ActorAdam) != n || len(ck.CriticAdam) != n {
		return nil, fmt.Errorf("load maddpg: the file holds %d agents' networks, the %s world has %d", len(ck.Actors), ck.Config.Env, n)
	}
	for i := range n {
		for _, p := range []struct {
			dst []*nn.Param
			src []nn.Tensor
		}{{m.Actors[i].Params(), ck.Actors[i]}, {m.ActorsT[i].Params(), ck.ActorsT[i]},
			{m.Critics[i].Params(), ck.Critics[i]}, {m.CritT[i].Params(), ck.CriticsT[i]}} {
			if err := nn.Import(p.dst, p.src); err != nil {
				return nil, fmt.Errorf("load maddpg: agent %d: %w", i, err)
			}
		}
		if err := m.ActorOpt[i].SetState(ck.ActorAdam[i]); err != nil {
			return nil, fmt.Errorf("load maddpg: agent %d: %w", i, err)
		}
		if err := m.CrOpt[i].SetState(ck.CriticAdam[i]); err != nil {
			return nil, fmt.Errorf("load maddpg: agent %d: %w", i, err)
		}
	}
	if err := m.src.UnmarshalBinary(ck.RNG); err != nil {
		return nil, fmt.Errorf("load maddpg: %w", err)
	}
	if err := m.seedSrc.UnmarshalBinary(ck.Seeds); err != nil {
		return nil, fmt.Errorf("load maddpg: %w", err)
	}
	m.Episodes, m.Steps, m.Updates = ck.Episodes, ck.Steps, ck.Updates
	if b := ck.Buffer; b != nil {
		if b.N != n || b.ObsDim != m.obsDim || b.NAct != m.nAct {
			return nil, fmt.Errorf("load maddpg: the replay's transitions (%d agents, %d observations, %d actions) do not fit the world", b.N, b.ObsDim, b.NAct)
		}
		m.Buffer = b
	}
	return m, nil
}

// checkMADDPGAllocation refuses a checkpoint whose configuration or world
// asks for more networks or weights than the file holds, before the
// learner is built from them (as checkAllocation does for QMIX): a small
// file naming a million agents or [3000, 3000] layers would otherwise
// allocate gigabytes first.
func checkMADDPGAllocation(ck *MADDPGCheckpoint, env Env) error {
	n, obs, acts := env.NumAgents(), env.ObsDim(), env.NumActions()
	if n < 1 || n > maxAgents {
		return fmt.Errorf("the checkpoint's world has %d agents; from 1 to %d", n, maxAgents)
	}
	if len(ck.Config.Hidden) > maxLayers {
		return fmt.Errorf("the checkpoint asks for %d hidden layers, more than %d", len(ck.Config.Hidden), maxLayers)
	}
	if ck.Config.BufferSize < 0 || ck.Config.BufferSize > maxBufferTr {
		return fmt.Errorf("the checkpoint asks for a replay of %d transitions; at most %d", ck.Config.BufferSize, maxBufferTr)
	}
	if len(ck.Actors) != n || len(ck.Critics) != n {
		return fmt.Errorf("the file holds %d agents' networks, the %s world has %d", len(ck.Actors), ck.Config.Env, n)
	}
	actor, err := mlpWeights(append(append([]int{obs}, ck.Config.Hidden...), acts))
	if err != nil {
		return err
	}
	critic, err := mlpWeights(append(append([]int{n * (obs + acts)}, ck.Config.Hidden...), 1))
	if err != nil {
		return err
	}
	if have := tensorsLen(ck.Actors[0]); have != actor {
		return fmt.Errorf("the checkpoint's configuration makes an actor of %d weights, but it holds %d", actor, have)
	}
	if have := tensorsLen(ck.Critics[0]); have != critic {
		return fmt.Errorf("the checkpoint's configuration makes a critic of %d weights, but it holds %d", critic, have)
	}
	return nil
}
