package rl

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestTradingStep(t *testing.T) {
	e := NewTrading()
	obs := e.Reset(5)
	if len(obs) != e.ObsDim() || e.Equity != 1 || e.Position != 0 {
		t.Fatalf("reset: obs %d values, equity %v, position %v", len(obs), e.Equity, e.Position)
	}
	r := e.Rets[e.T]
	s := e.Step([]float64{4}) // go long from flat
	wantEq := 1 + r - 5e-4
	if math.Abs(e.Equity-wantEq) > 1e-15 {
		t.Fatalf("equity %v, want %v", e.Equity, wantEq)
	}
	wantRew := 100*(r-5e-4) - 0.01*(100*r)*(100*r)
	if math.Abs(s.Reward-wantRew) > 1e-12 {
		t.Fatalf("reward %v, want %v", s.Reward, wantRew)
	}
	if s.Obs[e.Window+1] != 1 || s.Obs[e.Window+2] != 0 || s.Obs[e.Window-1] != 100*r {
		t.Fatalf("observation %v does not show the position, cash and last return", s.Obs)
	}
	// The same seed gives the same episode; State round-trips.
	st := e.State()
	e2 := NewTrading()
	e2.Reset(5)
	e2.Step([]float64{4})
	if e2.Equity != e.Equity {
		t.Fatal("same seed, different episode")
	}
	e3 := NewTrading()
	if err := e3.SetState(st); err != nil {
		t.Fatal(err)
	}
	a, b := e.Step([]float64{0}), e3.Step([]float64{0})
	if a.Reward != b.Reward || e.Equity != e3.Equity {
		t.Fatal("restored state steps differently")
	}
	// Episodes are truncated after Horizon days.
	e.Reset(6)
	for i := 1; ; i++ {
		s := e.Step([]float64{2})
		if s.Truncated {
			if i != e.Horizon {
				t.Fatalf("truncated after %d days, want %d", i, e.Horizon)
			}
			break
		}
	}
}

// TestPPOTradingBeatsRandom trains briefly and compares with a random policy
// on held-out episodes (bench rl reports the comparison with buy-and-hold).
func TestPPOTradingBeatsRandom(t *testing.T) {
	cfg := DefaultPPOConfig("trading")
	cfg.TotalSteps = 61_440
	p, err := NewPPO(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for !p.Done() {
		p.Update()
	}
	ppo := ScoreTrading(p, 300, 99)
	rnd := ScoreTrading(RandomPolicy{Space: Space{N: len(TradingLevels)}, RNG: rand.New(rand.NewPCG(1, 1))}, 300, 99)
	d, se := PairedDiff(ppo.Rewards, rnd.Rewards)
	t.Logf("ppo reward %.2f (turnover %.0f); random %.2f (turnover %.0f); paired difference %.2f ± %.2f (se)", ppo.Reward, ppo.Turnover, rnd.Reward, rnd.Turnover, d, se)
	if d < 3*se {
		t.Fatalf("PPO does not clearly beat random: paired difference %.2f, standard error %.2f", d, se)
	}
}
