package tournament

import (
	"os"
	"testing"
	"time"
)

func runRound(t testing.TB, cfg RoundConfig) *Round {
	t.Helper()
	r, err := NewRound(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for !r.Done() {
		r.Step()
	}
	return r
}

func TestRoundRuns(t *testing.T) {
	start := time.Now()
	r := runRound(t, RoundConfig{Seed: 1, Script: DefaultScript})
	t.Logf("round of %d steps in %v", r.Steps(), time.Since(start))
	for _, res := range r.Results(BySortino) {
		t.Logf("%-18s pnl %10.0f ret %7.4f sharpe %7.2f sortino %7.2f dd %.4f turnover %6.2f hit %.2f fees %8.0f stopped %v",
			res.Name, res.PnL, res.Return, res.Sharpe, res.Sortino, res.MaxDrawdown, res.Turnover, res.HitRate, res.Fees, res.Stopped)
	}
}

func TestSameSeedSameRound(t *testing.T) {
	cfg := RoundConfig{Seed: 42, Script: DefaultScript, Length: 2 * time.Hour}
	a, b := runRound(t, cfg), runRound(t, cfg)
	ra, rb := a.Results(BySortino), b.Results(BySortino)
	for k := range ra {
		if ra[k] != rb[k] {
			t.Fatalf("result %d differs:\n%+v\n%+v", k, ra[k], rb[k])
		}
	}
	for k := range a.Profiles() {
		ea, eb := a.Equity(k), b.Equity(k)
		for i := range ea {
			if ea[i] != eb[i] {
				t.Fatalf("%s equity differs at step %d", a.Profiles()[k].Name, i)
			}
		}
	}
	c := runRound(t, RoundConfig{Seed: 43, Script: DefaultScript, Length: 2 * time.Hour})
	if c.Results(BySortino)[0] == ra[0] && c.Equity(0)[100] == a.Equity(0)[100] {
		t.Error("another seed gave the same round")
	}
}

func TestEveryStrategyTrades(t *testing.T) {
	r := runRound(t, RoundConfig{Seed: 3, Script: DefaultScript})
	for _, res := range r.Results(BySortino) {
		if res.Turnover == 0 {
			t.Errorf("%s never traded", res.Name)
		}
	}
}

// A high-turnover strategy suffers visibly as fees rise; the round is the
// same market each time (same seed).
func TestFeesHurtHighTurnover(t *testing.T) {
	var pnl []float64
	var turnover float64
	for _, fee := range []float64{-1, 2, 5} { // -1 is no fee
		r := runRound(t, RoundConfig{Seed: 11, Script: DefaultScript, FeeBps: fee, StopDrawdown: 0.99,
			Roster: []Maker{func(seed uint64) Strategy { return NewLearner(seed) }}})
		res := r.Results(ByPnL)[0]
		pnl = append(pnl, res.PnL)
		turnover = res.Turnover
		t.Logf("fee %g bp: P&L %.0f, turnover %.1f, fees %.0f", fee, res.PnL, res.Turnover, res.Fees)
	}
	if turnover < 20 {
		t.Fatalf("the learner's turnover is only %.1f; it is not a high-turnover strategy", turnover)
	}
	if !(pnl[0] > pnl[1] && pnl[1] > pnl[2]) {
		t.Errorf("P&L does not fall as fees rise: %v", pnl)
	}
	// 5 bp on a turnover of T costs about 5e-4·T of capital.
	if drop := (pnl[0] - pnl[2]) / 1e6; drop < 2e-4*turnover {
		t.Errorf("fees of 5 bp cost only %.4f of capital on a turnover of %.1f", drop, turnover)
	}
}

func TestPositionLimitHolds(t *testing.T) {
	greedy := func(uint64) Strategy { return greedyStrategy{} }
	r, err := NewRound(RoundConfig{Seed: 5, Length: 10 * time.Minute, Roster: []Maker{greedy}})
	if err != nil {
		t.Fatal(err)
	}
	for !r.Done() {
		r.Step()
		a := r.Account(0)
		for i, p := range a.Position {
			if v := p * r.Quote(i).Mid; v > 0.3*1e6*1.02 {
				t.Fatalf("step %d: position on %s worth %.0f, above the limit", r.StepNo(), r.Instruments()[i].Symbol, v)
			}
		}
	}
}

type greedyStrategy struct{}

func (greedyStrategy) Profile() Profile { return Profile{ID: "greedy", Name: "Greedy"} }
func (greedyStrategy) Decide(v *View, out []Order) []Order {
	for i := range v.Instruments {
		out = append(out, Order{Instrument: i, Side: 1, Qty: 1e9})
	}
	return out
}

// Over many seeds and the four scenarios, every strategy wins some rounds:
// the tournament is not decided before it starts. Long: METASTATION_LONG=1.
func TestEveryStrategyCanWin(t *testing.T) {
	if os.Getenv("METASTATION_LONG") != "1" {
		t.Skip("long test: set METASTATION_LONG=1")
	}
	wins := map[string]int{}
	for s := uint64(1); s <= 40; s++ {
		sc := Scenarios[int(s)%len(Scenarios)]
		r := runRound(t, RoundConfig{Seed: s, Script: sc.Script})
		wins[r.Results(BySortino)[0].Name]++
	}
	t.Logf("round wins over 40 seeds: %v", wins)
	for _, mk := range DefaultRoster() {
		if p := mk(1).Profile(); wins[p.Name] == 0 {
			t.Errorf("%s never won", p.Name)
		}
	}
}
