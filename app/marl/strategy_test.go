package marl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/tournament"
)

// trainedTradingCheckpoint trains a small VDN learner of the trading world
// through a (lenient) curriculum and returns its checkpoint.
func trainedTradingCheckpoint(t testing.TB, seed uint64, episodes int) []byte {
	t.Helper()
	cfg := DefaultQMIXConfig("trading-ma", "vdn")
	cfg.Seed, cfg.Episodes, cfg.BatchSize, cfg.Hidden, cfg.EpsAnnealSteps = seed, episodes, 8, []int{32}, 1000
	env := NewTradingMA()
	env.Horizon = 30
	q, err := NewQMIXEnv(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	cc := DefaultCurriculumConfig()
	cc.EvalEvery, cc.EvalEpisodes = 10, 2
	for i := range cc.Stages {
		cc.Stages[i].Threshold, cc.Stages[i].MaxDrawdown, cc.Stages[i].MinEpisodes = -1e9, 1, 10
	}
	cur := NewCurriculum(cc)
	if err := TrainCurriculum(context.Background(), q, cur, nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := SaveQMIX(&buf, q, cur); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func loadAgent(t testing.TB, ck []byte) *TradingAgent {
	t.Helper()
	a, err := LoadTradingAgent(bytes.NewReader(ck), TradingAgentConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The entrant's index in a round whose roster is the house's plus it.
func entrantRound(t testing.TB, a *TradingAgent, seed uint64, length time.Duration) (*tournament.Round, int) {
	t.Helper()
	r, err := tournament.NewRound(tournament.RoundConfig{Seed: seed, Script: tournament.DefaultScript, Length: length,
		Roster: append(tournament.DefaultRoster(), a.Maker())})
	if err != nil {
		t.Fatal(err)
	}
	return r, len(r.Profiles()) - 1
}

// A learner trained for a few dozen episodes plays a full real round
// against the house roster: it trades SPX, within the position limit, is
// scored, and the same seed replays the same round.
func TestTradingAgentPlaysARound(t *testing.T) {
	ck := trainedTradingCheckpoint(t, 1, 40)
	a := loadAgent(t, ck)
	if a.Algo != "vdn" || a.Episodes != 40 || !a.Curriculum || a.Stage != "all stages passed" {
		t.Fatalf("agent %+v", a)
	}
	p := a.Profile()
	if p.ID != "rl-vdn-s1" || p.Name != "Curriculum Learner" || !strings.Contains(p.Bio, "40 episodes") || !strings.Contains(p.Bio, "VDN") {
		t.Errorf("profile %+v", p)
	}
	play := func() (*tournament.Round, int) {
		r, k := entrantRound(t, a, 1, 0)
		spx := -1
		for i, in := range r.Instruments() {
			if in.Symbol == "SPX" {
				spx = i
			}
		}
		limit := r.Config().MaxPosition * r.Config().Capital
		for !r.Done() {
			r.Step()
			acc := r.Account(k)
			for i, pos := range acc.Position {
				if i != spx && pos != 0 {
					t.Fatalf("step %d: holds %v of %s; it trades SPX only", r.StepNo(), pos, r.Instruments()[i].Symbol)
				}
				if v := math.Abs(pos * r.Quote(i).Mid); v > limit*1.02 {
					t.Fatalf("step %d: position worth %.0f, above the limit %.0f", r.StepNo(), v, limit)
				}
			}
		}
		return r, k
	}
	start := time.Now()
	r, k := play()
	t.Logf("round of %d steps with the entrant in %v", r.Steps(), time.Since(start))
	var res tournament.Result
	for _, x := range r.Results(tournament.BySortino) {
		t.Logf("%-18s rank %d pnl %9.0f ret %7.4f sortino %6.2f dd %.4f turnover %5.2f stopped %v", x.Name, x.Rank, x.PnL, x.Return, x.Sortino, x.MaxDrawdown, x.Turnover, x.Stopped)
		if x.Strategy == "rl-vdn-s1" {
			res = x
		}
	}
	if res.Strategy == "" || res.Rank < 1 || math.IsNaN(res.Score) {
		t.Fatalf("the entrant is not scored: %+v", res)
	}
	if res.Turnover == 0 || r.Traded(k) == 0 {
		t.Fatal("the entrant never traded")
	}
	// Same seed, same round, same fills.
	r2, k2 := play()
	e1, e2 := r.Equity(k), r2.Equity(k2)
	for i := range e1 {
		if e1[i] != e2[i] {
			t.Fatalf("equity differs at step %d: %v vs %v", i, e1[i], e2[i])
		}
	}
}

// The bar features have the scale of the training world's daily features:
// the volatility feature in a calm round is of the order of the training
// world's calm volatility.
func TestTradingAgentFeatureScale(t *testing.T) {
	a := loadAgent(t, trainedTradingCheckpoint(t, 2, 10))
	s := a.Strategy().(*tradingStrategy)
	r, err := tournament.NewRound(tournament.RoundConfig{Seed: 3, Script: "calm", Roster: []tournament.Maker{func(uint64) tournament.Strategy { return s }}})
	if err != nil {
		t.Fatal(err)
	}
	var vols []float64
	for !r.Done() {
		r.Step()
		if s.k > 0 && r.StepNo()%s.k == 0 && len(s.marks) > a.window {
			vols = append(vols, s.obs[a.window])
		}
	}
	if s.k != 60 || math.Abs(s.scale-math.Sqrt(78)) > 1e-9 {
		t.Fatalf("bar of %d steps, scale %v; want 60 and √78", s.k, s.scale)
	}
	env := NewTradingMA()
	env.Regime = market.Calm
	var train []float64
	for ep := range 20 {
		obs := env.Reset(uint64(ep + 1))
		train = append(train, obs[0][env.Window])
	}
	mt, mv := mean(train), mean(vols)
	t.Logf("vol feature: tournament calm round %.2f (%d bars), training world calm %.2f", mv, len(vols), mt)
	if len(vols) < 60 || mv < mt/3 || mv > mt*3 {
		t.Errorf("the tournament's vol feature %.2f is not of the training world's scale %.2f", mv, mt)
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// A file that is not a checkpoint, and a checkpoint of another world, are
// refused with a clear error.
func TestTradingAgentBadCheckpoint(t *testing.T) {
	if _, err := LoadTradingAgent(strings.NewReader("not a checkpoint"), TradingAgentConfig{}); err == nil || !strings.Contains(err.Error(), "trading agent: load qmix") {
		t.Errorf("garbage: %v", err)
	}
	cfg := DefaultQMIXConfig("matrix2", "qmix")
	cfg.Episodes = 5
	q, err := NewQMIX(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := SaveQMIX(&buf, q, nil); err != nil {
		t.Fatal(err)
	}
	_, err = LoadTradingAgent(&buf, TradingAgentConfig{})
	if !errors.Is(err, ErrNotTrading) || !strings.Contains(err.Error(), `"matrix2"`) {
		t.Errorf("matrix2 checkpoint: %v", err)
	}
	ck := trainedTradingCheckpoint(t, 1, 2)
	if _, err := LoadTradingAgent(bytes.NewReader(ck), TradingAgentConfig{Symbol: "DOGE"}); err == nil || !strings.Contains(err.Error(), `no instrument "DOGE"`) {
		t.Errorf("unknown symbol: %v", err)
	}
	if _, err := LoadTradingAgent(bytes.NewReader(ck[:len(ck)/2]), TradingAgentConfig{}); err == nil {
		t.Error("a truncated checkpoint loaded")
	}
}

// METASTATION_TRADING_CKPT=runs/.../checkpoint.ckpt: a real checkpoint over
// a few rounds (for the closing note's figures).
func TestTradingAgentCheckpointFile(t *testing.T) {
	path := os.Getenv("METASTATION_TRADING_CKPT")
	if path == "" {
		t.Skip("set METASTATION_TRADING_CKPT to a trading-ma checkpoint")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := LoadTradingAgent(f, TradingAgentConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", a.Profile())
	// Rounds of the four scenarios in turn, seeds 1..n, against the house.
	n := 20
	var ret, score, rank, turnover []float64
	levels := map[string]int{}
	for seed := 1; seed <= n; seed++ {
		sc := tournament.Scenarios[(seed-1)%len(tournament.Scenarios)]
		s := a.Strategy().(*tradingStrategy)
		r, err := tournament.NewRound(tournament.RoundConfig{Seed: uint64(seed), Script: sc.Script,
			Roster: append(tournament.DefaultRoster(), func(uint64) tournament.Strategy { return s })})
		if err != nil {
			t.Fatal(err)
		}
		k := len(r.Profiles()) - 1
		for !r.Done() {
			r.Step()
			if s.k > 0 && r.StepNo()%s.k == 0 && len(s.marks) > a.window {
				levels[fmt.Sprint(TradingLevels[s.level])]++
			}
		}
		for _, x := range r.Results(tournament.BySortino) {
			if x.Strategy == a.ID() {
				ret, score, rank, turnover = append(ret, 100*x.Return), append(score, x.Score), append(rank, float64(x.Rank)), append(turnover, x.Turnover)
				t.Logf("seed %2d %-24s rank %d/%d return %6.3f%% sortino %7.2f turnover %5.2f stopped %v", seed, sc.Name, x.Rank, k+1, 100*x.Return, x.Score, x.Turnover, x.Stopped)
			}
		}
	}
	ci := func(xs []float64) (float64, float64) {
		m, sd := stat.MeanStdDev(xs, nil)
		return m, distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(xs) - 1)}.Quantile(0.975) * sd / math.Sqrt(float64(len(xs)))
	}
	for _, f := range []struct {
		name string
		xs   []float64
	}{{"return %", ret}, {"sortino score", score}, {"rank", rank}, {"turnover", turnover}} {
		m, h := ci(f.xs)
		t.Logf("%s over %d rounds: %.3f ± %.3f (95%% t-CI)", f.name, n, m, h)
	}
	t.Logf("target positions chosen at bars: %v", levels)
	// For scale: a constant short at the limit from the same bar on.
	var short []float64
	for seed := 1; seed <= n; seed++ {
		sc := tournament.Scenarios[(seed-1)%len(tournament.Scenarios)]
		r, err := tournament.NewRound(tournament.RoundConfig{Seed: uint64(seed), Script: sc.Script,
			Roster: append(tournament.DefaultRoster(), func(uint64) tournament.Strategy { return constShort{from: 60 * (a.window + 1)} })})
		if err != nil {
			t.Fatal(err)
		}
		for !r.Done() {
			r.Step()
		}
		for _, x := range r.Results(tournament.BySortino) {
			if x.Strategy == "short" {
				short = append(short, 100*x.Return)
			}
		}
	}
	m, h := ci(short)
	t.Logf("constant short SPX at the limit from bar %d: return %% over %d rounds %.3f ± %.3f", a.window+1, n, m, h)
}

// constShort holds SPX short at the position limit from step from on.
type constShort struct{ from int }

func (constShort) Profile() tournament.Profile { return tournament.Profile{ID: "short", Name: "Short"} }
func (c constShort) Decide(v *tournament.View, out []tournament.Order) []tournament.Order {
	if v.Step < c.from || v.Step%60 != 0 {
		return out
	}
	if o := v.Target(0, -v.MaxPosition); o.Qty > 0 && v.Instruments[0].Symbol == "SPX" {
		out = append(out, o)
	}
	return out
}
