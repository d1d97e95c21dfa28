package marl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
)

// RunSpec names a multi-agent training run: what `metastation train` and
// the Training page ask for.
type RunSpec struct {
	Env        string `json:"env"`
	Algo       string `json:"algo"`             // qmix, vdn or maddpg
	Episodes   int    `json:"episodes"`         // 0: the algorithm's default budget on Env
	Seed       uint64 `json:"seed"`             // the learner's seed
	Curriculum bool   `json:"curriculum"`       // trading-ma with qmix or vdn only
	Hidden     []int  `json:"hidden,omitempty"` // nil: the default hidden layers
}

// Run is one multi-agent learner with what it trains through: QMIX/VDN
// (with the market curriculum on the trading world when Cur is set) or
// MADDPG. Exactly one of Q and M is set.
type Run struct {
	Q   *QMIX
	M   *MADDPG
	Cur *Curriculum
}

// EpisodeStats describe one training episode of a Run.
type EpisodeStats struct {
	Episode int
	Return  float64   // team return
	Agents  []float64 // each agent's return
	Epsilon float64   // QMIX/VDN's exploration rate; NaN for MADDPG
}

// NewRun builds a fresh learner for spec. The trading world trains
// QMIX/VDN through the curriculum (spec.Curriculum) or on the market's
// long-run mix of regimes, and MADDPG on that mix too.
func NewRun(spec RunSpec) (*Run, error) {
	switch spec.Algo {
	case "maddpg":
		if spec.Curriculum {
			return nil, errors.New("the curriculum trains qmix or vdn, not maddpg")
		}
		cfg := DefaultMADDPGConfig(spec.Env)
		cfg.Seed = spec.Seed
		if spec.Episodes > 0 {
			cfg.Episodes = spec.Episodes
		}
		if spec.Hidden != nil {
			cfg.Hidden = spec.Hidden
		}
		m, err := NewMADDPG(cfg)
		if err != nil {
			return nil, err
		}
		if t, ok := m.Env.(*TradingMA); ok {
			t.Mixed = true // the market's long-run mix of regimes
		}
		return &Run{M: m}, nil
	case "qmix", "vdn":
		cfg := DefaultQMIXConfig(spec.Env, spec.Algo)
		cfg.Seed = spec.Seed
		if spec.Episodes > 0 {
			cfg.Episodes = spec.Episodes
		}
		if spec.Hidden != nil {
			cfg.Hidden = spec.Hidden
		}
		q, err := NewQMIX(cfg)
		if err != nil {
			return nil, err
		}
		r := &Run{Q: q}
		if spec.Curriculum {
			if _, ok := q.Env.(*TradingMA); !ok {
				return nil, fmt.Errorf("the curriculum runs on the trading world (trading-ma), not %s", spec.Env)
			}
			r.Cur = NewCurriculum(DefaultCurriculumConfig())
		}
		return r, nil
	default:
		return nil, fmt.Errorf("unknown algorithm %q (known: qmix, vdn, maddpg)", spec.Algo)
	}
}

// LoadRun reads a checkpoint written by Run.Save: QMIX/VDN (with its
// curriculum, if any) or MADDPG.
func LoadRun(r io.ReadSeeker) (*Run, error) {
	q, cur, err := LoadQMIX(r)
	if err == nil {
		return &Run{Q: q, Cur: cur}, nil
	}
	if _, serr := r.Seek(0, io.SeekStart); serr != nil {
		return nil, err
	}
	m, merr := LoadMADDPG(r)
	if merr != nil {
		return nil, fmt.Errorf("neither a QMIX/VDN nor a MADDPG checkpoint: %w", err)
	}
	return &Run{M: m}, nil
}

// Spec describes the run as built (Episodes is its budget).
func (r *Run) Spec() RunSpec {
	if r.M != nil {
		c := r.M.Config
		return RunSpec{Env: c.Env, Algo: "maddpg", Episodes: c.Episodes, Seed: c.Seed, Hidden: c.Hidden}
	}
	c := r.Q.Config
	return RunSpec{Env: c.Env, Algo: c.Mixer, Episodes: c.Episodes, Seed: c.Seed, Curriculum: r.Cur != nil, Hidden: c.Hidden}
}

// Learner is the trained controller.
func (r *Run) Learner() Controller {
	if r.M != nil {
		return r.M
	}
	return r.Q
}

// Env is the learner's environment.
func (r *Run) Env() Env {
	if r.M != nil {
		return r.M.Env
	}
	return r.Q.Env
}

// Done reports whether the episode budget is spent.
func (r *Run) Done() bool {
	if r.M != nil {
		return r.M.Done()
	}
	return r.Q.Done()
}

// Episodes is the number of training episodes played so far.
func (r *Run) Episodes() int {
	if r.M != nil {
		return r.M.Episodes
	}
	return r.Q.Episodes
}

// Budget is the number of training episodes the run plays in all.
func (r *Run) Budget() int {
	if r.M != nil {
		return r.M.Config.Episodes
	}
	return r.Q.Config.Episodes
}

// SetBudget changes the episode budget (a resumed run trained further).
func (r *Run) SetBudget(n int) {
	if r.M != nil {
		r.M.Config.Episodes = n
		return
	}
	r.Q.Config.Episodes = n
}

// Step plays one training episode (with its updates) and returns its
// statistics. On the trading world QMIX/VDN goes through TrainCurriculum or
// TrainDirect, one episode at a time; onEval, if not nil, sees the
// curriculum's evaluations. It returns ctx's error, having played nothing,
// once ctx has ended.
func (r *Run) Step(ctx context.Context, onEval func(CurriculumEvent)) (EpisodeStats, error) {
	if err := ctx.Err(); err != nil {
		return EpisodeStats{}, err
	}
	if r.M != nil {
		st := r.M.Run()
		return EpisodeStats{Episode: st.Episode, Return: st.Return, Agents: st.Agents, Epsilon: math.NaN()}, nil
	}
	q := r.Q
	if _, ok := q.Env.(*TradingMA); !ok {
		st := q.Run()
		return EpisodeStats{Episode: st.Episode, Return: st.Return, Agents: st.Agents, Epsilon: st.Epsilon}, nil
	}
	var got QMIXStats
	prev := q.OnEpisode
	q.OnEpisode = func(st QMIXStats) {
		got = st
		if prev != nil {
			prev(st)
		}
	}
	budget := q.Config.Episodes
	q.Config.Episodes = q.Episodes + 1
	var err error
	if r.Cur != nil {
		err = TrainCurriculum(ctx, q, r.Cur, onEval)
	} else {
		err = TrainDirect(ctx, q)
	}
	q.Config.Episodes, q.OnEpisode = budget, prev
	if err != nil {
		return EpisodeStats{}, err
	}
	return EpisodeStats{Episode: got.Episode, Return: got.Return, Agents: got.Agents, Epsilon: got.Epsilon}, nil
}

// Save writes the run's checkpoint (LoadRun reads it back).
func (r *Run) Save(w io.Writer) error {
	if r.M != nil {
		return SaveMADDPG(w, r.M)
	}
	return SaveQMIX(w, r.Q, r.Cur)
}
