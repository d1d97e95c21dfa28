package entrant

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/tournament"
)

// trainedTradingCheckpoint trains a small VDN learner of the trading world
// through a (lenient) curriculum and returns its checkpoint.
func trainedTradingCheckpoint(t testing.TB, seed uint64, episodes int) []byte {
	t.Helper()
	cfg := marl.DefaultQMIXConfig("trading-ma", "vdn")
	cfg.Seed, cfg.Episodes, cfg.BatchSize, cfg.Hidden, cfg.EpsAnnealSteps = seed, episodes, 8, []int{32}, 1000
	env := marl.NewTradingMA()
	env.Horizon = 30
	q, err := marl.NewQMIXEnv(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	cc := marl.DefaultCurriculumConfig()
	cc.EvalEvery, cc.EvalEpisodes = 10, 2
	for i := range cc.Stages {
		cc.Stages[i].Threshold, cc.Stages[i].MaxDrawdown, cc.Stages[i].MinEpisodes = -1e9, 1, 10
	}
	cur := marl.NewCurriculum(cc)
	if err := marl.TrainCurriculum(context.Background(), q, cur, nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := marl.SaveQMIX(&buf, q, cur); err != nil {
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
	env := marl.NewTradingMA()
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
	cfg := marl.DefaultQMIXConfig("matrix2", "qmix")
	cfg.Episodes = 5
	q, err := marl.NewQMIX(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := marl.SaveQMIX(&buf, q, nil); err != nil {
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

// METASTATION_TRADING_CKPT=a.ckpt,b.ckpt,...: real checkpoints, each in
// rounds 1..METASTATION_TRADING_ROUNDS (default 20; the four scenarios in
// turn) against the house roster, with a constant short and cash on the
// same rounds for scale (the figures of the closing note).
func TestTradingAgentCheckpointFile(t *testing.T) {
	paths := os.Getenv("METASTATION_TRADING_CKPT")
	if paths == "" {
		t.Skip("set METASTATION_TRADING_CKPT to trading-ma checkpoints, comma-separated")
	}
	n := 20
	if v, err := strconv.Atoi(os.Getenv("METASTATION_TRADING_ROUNDS")); err == nil && v > 1 {
		n = v
	}
	ci := func(xs []float64) (float64, float64) {
		m, sd := stat.MeanStdDev(xs, nil)
		return m, distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(xs) - 1)}.Quantile(0.975) * sd / math.Sqrt(float64(len(xs)))
	}
	// play runs rounds 1..n with the house and mk, and returns mk's return
	// (percent), score and rank per round.
	play := func(mk tournament.Maker, id string) (ret, score, rank []float64) {
		for seed := 1; seed <= n; seed++ {
			sc := tournament.Scenarios[(seed-1)%len(tournament.Scenarios)]
			r, err := tournament.NewRound(tournament.RoundConfig{Seed: uint64(seed), Script: sc.Script,
				Roster: append(tournament.DefaultRoster(), mk)})
			if err != nil {
				t.Fatal(err)
			}
			for !r.Done() {
				r.Step()
			}
			for _, x := range r.Results(tournament.BySortino) {
				if x.Strategy == id {
					ret, score, rank = append(ret, 100*x.Return), append(score, x.Score), append(rank, float64(x.Rank))
				}
			}
		}
		return ret, score, rank
	}
	report := func(name string, ret, score, rank []float64) {
		mr, hr := ci(ret)
		ms, hs := ci(score)
		mk, hk := ci(rank)
		wins := 0
		for _, k := range rank {
			if k == 1 {
				wins++
			}
		}
		t.Logf("%-28s return %6.3f ± %.3f %%  sortino %7.2f ± %6.2f  rank %.2f ± %.2f of 6  wins %d/%d", name, mr, hr, ms, hs, mk, hk, wins, n)
	}
	byKind := map[string][]float64{}
	for _, path := range strings.Split(paths, ",") {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		a, err := LoadTradingAgent(f, TradingAgentConfig{})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		levels := map[float64]int{}
		ret, score, rank := play(func(uint64) tournament.Strategy {
			return &countingStrategy{a.Strategy().(*tradingStrategy), levels}
		}, a.ID())
		report(a.ID()+" "+a.Profile().Name, ret, score, rank)
		t.Logf("%-28s target positions at its bars: %v", "", levels)
		kind := "mix"
		if a.Curriculum {
			kind = "curriculum"
		}
		m, _ := ci(ret)
		byKind[kind] = append(byKind[kind], m)
	}
	for kind, ms := range byKind {
		if len(ms) > 1 {
			m, h := ci(ms)
			t.Logf("%s learners: mean return per training seed %v → %.3f ± %.3f %% (95%% t-CI over %d seeds)", kind, ms, m, h, len(ms))
		}
	}
	ret, score, rank := play(func(uint64) tournament.Strategy { return constShort{from: 60 * 11} }, "short")
	report("constant short SPX", ret, score, rank)
	ret, score, rank = play(func(uint64) tournament.Strategy { return constShort{from: 1 << 30} }, "short")
	report("cash", ret, score, rank)
}

// countingStrategy counts the target positions a tradingStrategy picks.
type countingStrategy struct {
	*tradingStrategy
	levels map[float64]int
}

func (c *countingStrategy) Decide(v *tournament.View, out []tournament.Order) []tournament.Order {
	out = c.tradingStrategy.Decide(v, out)
	if c.k > 0 && v.Step%c.k == 0 && len(c.marks) > c.a.window {
		c.levels[marl.TradingLevels[c.level]]++
	}
	return out
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
