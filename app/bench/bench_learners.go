package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/stats"
)

// LearnerRow is one policy's held-out figures over training seeds. Means are
// over seeds of the per-seed mean over that seed's held-out episodes; *_ci95
// are Student-t 95% half-widths across seeds (app/stats.MeanCI95). The
// *_vs_buyhold figures are paired: per seed, the policy minus buy-and-hold on
// the same held-out episodes, then the mean and CI of those differences; *_p
// is the paired t-test across seeds and *_p_holm its Holm adjustment over
// every learned row of the run × both metrics (HolmFamily tests).
type LearnerRow struct {
	Policy           string  `json:"policy"`
	World            string  `json:"world"` // the variant the policy acts in; see LearnersBenchResult.Worlds
	Learned          bool    `json:"learned"`
	Sharpe           float64 `json:"sharpe"`
	SharpeCI95       float64 `json:"sharpe_ci95"`
	Sortino          float64 `json:"sortino"`
	SortinoCI95      float64 `json:"sortino_ci95"`
	Return           float64 `json:"return"`
	ReturnCI95       float64 `json:"return_ci95"`
	Turnover         float64 `json:"turnover"`
	Exposure         float64 `json:"exposure,omitempty"` // mean |position| (single-agent worlds)
	SharpeVsBH       float64 `json:"sharpe_vs_buyhold"`
	SharpeVsBHCI95   float64 `json:"sharpe_vs_buyhold_ci95"`
	SharpeVsBHP      float64 `json:"sharpe_vs_buyhold_p"`
	SharpeVsBHPHolm  float64 `json:"sharpe_vs_buyhold_p_holm,omitempty"`
	SortinoVsBH      float64 `json:"sortino_vs_buyhold"`
	SortinoVsBHCI95  float64 `json:"sortino_vs_buyhold_ci95"`
	SortinoVsBHP     float64 `json:"sortino_vs_buyhold_p"`
	SortinoVsBHPHolm float64 `json:"sortino_vs_buyhold_p_holm,omitempty"`
	// The record metrics: a seed's held-out episodes scored as one track
	// record (rl.PooledSharpeSortino), paired per seed the same way.
	RecordSharpe           float64            `json:"record_sharpe"`
	RecordSharpeCI95       float64            `json:"record_sharpe_ci95"`
	RecordSortino          float64            `json:"record_sortino"`
	RecordSortinoCI95      float64            `json:"record_sortino_ci95"`
	RecordSharpeVsBH       float64            `json:"record_sharpe_vs_buyhold"`
	RecordSharpeVsBHCI95   float64            `json:"record_sharpe_vs_buyhold_ci95"`
	RecordSharpeVsBHP      float64            `json:"record_sharpe_vs_buyhold_p"`
	RecordSharpeVsBHPHolm  float64            `json:"record_sharpe_vs_buyhold_p_holm,omitempty"`
	RecordSortinoVsBH      float64            `json:"record_sortino_vs_buyhold"`
	RecordSortinoVsBHCI95  float64            `json:"record_sortino_vs_buyhold_ci95"`
	RecordSortinoVsBHP     float64            `json:"record_sortino_vs_buyhold_p"`
	RecordSortinoVsBHPHolm float64            `json:"record_sortino_vs_buyhold_p_holm,omitempty"`
	BeatsBHOnRecordSharpe  bool               `json:"beats_buyhold_on_record_sharpe"`
	BeatsBHOnRecordSortino bool               `json:"beats_buyhold_on_record_sortino"`
	SharpeBySeed           []float64          `json:"sharpe_by_seed"`
	SharpeVsBHBySeed       []float64          `json:"sharpe_vs_buyhold_by_seed"`
	SortinoVsBHBySeed      []float64          `json:"sortino_vs_buyhold_by_seed"`
	SharpeVsBHRegime       map[string]float64 `json:"sharpe_vs_buyhold_by_regime"` // mean over seeds, episodes grouped by starting regime
	// Beats*: the paired mean is above zero and, for learned rows, the
	// Holm-adjusted p-value is below 0.05 (for fixed rules, the raw 95 % CI
	// excludes zero).
	BeatsBHOnSharpe  bool `json:"beats_buyhold_on_sharpe"`
	BeatsBHOnSortino bool `json:"beats_buyhold_on_sortino"`
	perSeed          [][]rl.TradingEpisode
}

// LearnersBenchResult is what `metastation bench learners --json` prints.
type LearnersBenchResult struct {
	Quick        bool    `json:"quick"`
	Seeds        int     `json:"seeds"`
	TrainSteps   int     `json:"train_steps"` // PPO environment steps per seed and world
	SACSteps     int     `json:"sac_steps"`
	MAEpisodes   int     `json:"ma_episodes"` // trading-ma training episodes per seed and learner
	Episodes     int     `json:"heldout_episodes_per_seed"`
	EvalStream   string  `json:"eval_stream"` // "heldout" (1e6+seed) or "validation" (2e6+seed)
	CostBps      float64 `json:"cost_bps"`
	VolThreshold float64 `json:"vol_threshold_pct"`
	VolTarget    float64 `json:"vol_target_pct"`
	// Rows: the single-agent world; every row meets the same price paths.
	Rows []LearnerRow `json:"rows"`
	// SplitRows: held-out regimes. The learner trains on episodes starting
	// in SplitTrain and is scored, with the baselines, on held-out episodes
	// starting in SplitTest.
	SplitTrain []string     `json:"split_train_regimes"`
	SplitTest  []string     `json:"split_test_regimes"`
	SplitRows  []LearnerRow `json:"split_rows"`
	// MARows: the multi-agent world trading-ma (3 traders, price impact,
	// 60-day episodes in one regime from the long-run mix), per agent
	// then averaged; buy-and-hold is every agent long.
	MARows       []LearnerRow      `json:"ma_rows"`
	Worlds       map[string]string `json:"worlds"`
	HolmFamily   int               `json:"holm_family"`
	NotEvaluated []string          `json:"not_evaluated"`
	WallS        float64           `json:"wall_s"`
}

// learnersBudget is one preset of training budgets per seed.
type learnersBudget struct{ ppo, sac, ma int }

var (
	// quickBudget is the default: minutes on two shared cores.
	quickBudget = learnersBudget{ppo: 20_000, sac: 5_000, ma: 100}
	// fullBudget is opt-in with --full: PPO's 100k steps as issue 22
	// measured first, SAC and VDN as far as two shared cores allow in
	// about half an hour.
	fullBudget = learnersBudget{ppo: 100_000, sac: 20_000, ma: 400}
)

// learnersWorlds describes the variants, for the JSON and the notes.
var learnersWorlds = map[string]string{
	"base": "the trading world: 5 discrete positions, last 10 returns + 20-day vol observed",
	"cont": "the same world and price paths, the action a continuous target position in [-1, 1]",
	"vt":   "the same price paths; observation + 5-day vol, EWMA vol, 20-day drawdown and return; action a long-only level (0, 1/4, 1/2, 3/4, 1) × vol_target/EWMA vol, at most 1",
	"ma":   "trading-ma: 3 traders on one order book with price impact, 60-day episodes from the long-run regime mix",
}

// splitTrain and splitTest are the starting regimes of the regime split:
// the learner never trains on an episode that starts in a negative-drift
// crisis or black swan, and is scored only on those.
var (
	splitTrain = []market.Regime{market.Calm, market.Volatile}
	splitTest  = []market.Regime{market.Crisis, market.BlackSwan}
)

// runBenchLearners is `metastation bench learners`: for each training seed
// it trains PPO on the trading world and on its informed,
// volatility-targeted variant, SAC on the continuous-position variant, PPO
// again on a regime split, and VDN on the multi-agent world; then scores
// every learner and the baselines (buy-and-hold, cash, random, two fixed
// rules) on held-out episodes of an evaluation stream no training run
// draws from, after the worlds' costs.
func runBenchLearners(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench learners", env.Stderr)
	seeds := fs.Int("seeds", 5, "training seeds (1, 2, ...); each also gets its own held-out episodes")
	full := fs.Bool("full", false, fmt.Sprintf("full budgets per seed (PPO %d steps, SAC %d, VDN %d episodes) instead of the quick ones (%d, %d, %d)",
		fullBudget.ppo, fullBudget.sac, fullBudget.ma, quickBudget.ppo, quickBudget.sac, quickBudget.ma))
	steps := fs.Int("train-steps", 0, "PPO environment steps per seed and world (0: the preset's)")
	sacSteps := fs.Int("sac-steps", 0, "SAC environment steps per seed (0: the preset's)")
	maEps := fs.Int("ma-episodes", 0, "VDN training episodes on trading-ma per seed (0: the preset's)")
	episodes := fs.Int("episodes", 100, "held-out evaluation episodes per seed and world")
	volThr := fs.Float64("vol-threshold", 1.5, "the volatility-timing rule's threshold, percent a day (fixed in advance from the preset: SPX 0.19/yr ≈ 1.2 %/day, calm ×0.85, volatile ×1.25)")
	volTarget := fs.Float64("vol-target", 0.8, "the vt world's volatility target, percent a day (chosen on the validation stream, never the held-out one)")
	validation := fs.Bool("validation", false, "score on the validation stream (2e6+seed) instead of the held-out one (1e6+seed): for choosing settings without looking at held-out results")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	b := quickBudget
	if *full {
		b = fullBudget
	}
	if *steps != 0 {
		b.ppo = *steps
	}
	if *sacSteps != 0 {
		b.sac = *sacSteps
	}
	if *maEps != 0 {
		b.ma = *maEps
	}
	if *seeds < 2 || *seeds > 20 || b.ppo < 2048 || b.ppo > 5_000_000 || b.sac < 1000 || b.sac > 1_000_000 || b.ma < 10 || b.ma > 100_000 ||
		*episodes < 10 || *episodes > 2000 || *volThr <= 0 || *volTarget <= 0 {
		return command.Usagef("bench learners: --seeds in [2, 20], --train-steps in [2048, 5000000], --sac-steps in [1000, 1000000], --ma-episodes in [10, 100000], --episodes in [10, 2000], --vol-threshold and --vol-target positive")
	}
	start := time.Now()
	probe := rl.NewTrading()
	res := LearnersBenchResult{Quick: !*full, Seeds: *seeds, TrainSteps: b.ppo, SACSteps: b.sac, MAEpisodes: b.ma, Episodes: *episodes,
		EvalStream: "heldout", CostBps: probe.CostBps, VolThreshold: *volThr, VolTarget: *volTarget, Worlds: learnersWorlds,
		SplitTrain: regimeNames(splitTrain), SplitTest: regimeNames(splitTest),
		NotEvaluated: []string{
			"qmix, maddpg on trading-ma: not run (VDN stands for the value-decomposition learners; each costs as much again)",
		}}
	evalBase := uint64(1_000_000)
	if *validation {
		res.EvalStream, evalBase = "validation", 2_000_000
	}
	worlds := learnerWorlds{volTarget: *volTarget}
	rows := newRows([][3]string{{"ppo", "base", "l"}, {"ppo_vt", "vt", "l"}, {"sac", "cont", "l"}, {"buy_and_hold", "base", ""},
		{"cash", "base", ""}, {"random", "base", ""}, {"random_vt", "vt", ""}, {"vol_timing_rule", "base", ""}, {"vol_target_rule", "vt", ""}})
	split := newRows([][3]string{{"ppo_vt", "vt", "l"}, {"buy_and_hold", "base", ""}, {"cash", "base", ""}, {"vol_target_rule", "vt", ""}})
	ma := newRows([][3]string{{"vdn", "ma", "l"}, {"buy_and_hold", "ma", ""}, {"cash", "ma", ""}, {"random", "ma", ""}})

	perSeed := 3*b.ppo + b.sac + b.ma*marl.NewTradingMA().Horizon
	bar := command.NewProgress(env.Stderr, int64(*seeds*perSeed), "bench learners: training", "steps")
	for s := 1; s <= *seeds; s++ {
		done := (s - 1) * perSeed
		progress := func(n int) { bar.Set(done + n) }
		evalSeed := evalBase + uint64(s)
		// The single-agent world: PPO on the base world and on vt, SAC on
		// cont; every policy then meets the same held-out price paths.
		ppo, err := trainPPO(ctx, uint64(s), b.ppo, "trading", worlds.make("base", nil), progress)
		if err != nil {
			return err
		}
		done += b.ppo
		ppoVT, err := trainPPO(ctx, uint64(s), b.ppo, "trading-vt", worlds.make("vt", nil), progress)
		if err != nil {
			return err
		}
		done += b.ppo
		sac, err := trainSAC(ctx, uint64(s), b.sac, worlds.make("cont", nil), progress)
		if err != nil {
			return err
		}
		done += b.sac
		rnd := rl.RandomPolicy{Space: probe.ActionSpace(), RNG: rand.New(rand.NewPCG(evalSeed, 0x72616e64))}
		rndVT := rl.RandomPolicy{Space: rl.Space{N: len(vtLevels)}, RNG: rand.New(rand.NewPCG(evalSeed, 0x72616e6476))}
		pols := []rl.Policy{ppo, ppoVT, sac, rl.FixedPolicy(4), rl.FixedPolicy(2), rnd, rndVT,
			rl.VolTimingPolicy{Window: probe.Window, Threshold: *volThr}, rl.FixedPolicy(4)}
		for i, pol := range pols {
			rows[i].perSeed = append(rows[i].perSeed, rl.EvalTradingEnv(worlds.trading(rows[i].World, nil), pol, *episodes, evalSeed))
		}

		// Held-out regimes: train on calm and volatile starts only.
		ppoSplit, err := trainPPO(ctx, uint64(s), b.ppo, "trading-vt-split", worlds.make("vt", splitTrain), progress)
		if err != nil {
			return err
		}
		done += b.ppo
		for i, pol := range []rl.Policy{ppoSplit, rl.FixedPolicy(4), rl.FixedPolicy(2), rl.FixedPolicy(4)} {
			split[i].perSeed = append(split[i].perSeed, rl.EvalTradingEnv(worlds.trading(split[i].World, splitTest), pol, *episodes, evalSeed))
		}

		// The multi-agent world: VDN trained on the long-run regime mix.
		vdn, err := trainVDN(ctx, uint64(s), b.ma, func(n int) { progress(n * marl.NewTradingMA().Horizon) })
		if err != nil {
			return err
		}
		mixed := func() *marl.TradingMA { e := marl.NewTradingMA(); e.Mixed = true; return e }
		for i, c := range []marl.Controller{vdn, marl.Fixed(4), marl.Fixed(2), marl.RandomController{}} {
			ma[i].perSeed = append(ma[i].perSeed, fromMA(marl.EvalTradingDaily(c, mixed, *episodes, evalSeed)))
		}
	}
	bar.Finish()
	for _, t := range [][]LearnerRow{rows, split, ma} {
		bh := t[slices.IndexFunc(t, func(r LearnerRow) bool { return r.Policy == "buy_and_hold" })].perSeed
		for i := range t {
			summariseLearner(&t[i], bh)
		}
	}
	res.HolmFamily = holmLearned(rows, split, ma)
	res.Rows, res.SplitRows, res.MARows, res.WallS = rows, split, ma, time.Since(start).Seconds()
	printLearners(env, res)
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}

// vtLevels are the vt world's actions: long-only multiples of the
// volatility-targeted position, so that the learner chooses how much of it
// to hold (random_vt shows what choosing at random in this space earns).
var vtLevels = []float64{0, 0.25, 0.5, 0.75, 1}

// learnerWorlds builds the single-agent variants.
type learnerWorlds struct{ volTarget float64 }

// trading returns the variant kind ("base", "cont" or "vt") starting in
// starts (nil: all four regimes).
func (w learnerWorlds) trading(kind string, starts []market.Regime) *rl.Trading {
	e := rl.NewTrading()
	e.Starts = starts
	switch kind {
	case "cont":
		e.Continuous = true
	case "vt":
		e.Informed, e.VolTarget, e.Levels = true, w.volTarget, vtLevels
	}
	return e
}

func (w learnerWorlds) make(kind string, starts []market.Regime) func() rl.Env {
	return func() rl.Env { return w.trading(kind, starts) }
}

// newRows makes a table's rows from {policy, world, "l" if learned}.
func newRows(spec [][3]string) []LearnerRow {
	rows := make([]LearnerRow, len(spec))
	for i, s := range spec {
		rows[i] = LearnerRow{Policy: s[0], World: s[1], Learned: s[2] == "l"}
	}
	return rows
}

func regimeNames(rs []market.Regime) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

// trainPPO trains PPO with the trading defaults on the world mk builds.
func trainPPO(ctx context.Context, seed uint64, steps int, name string, mk func() rl.Env, progress func(int)) (*rl.PPO, error) {
	cfg := rl.DefaultPPOConfig("trading")
	cfg.Env, cfg.Seed, cfg.TotalSteps, cfg.MakeEnv = name, seed, steps, mk
	p, err := rl.NewPPO(cfg)
	if err != nil {
		return nil, fmt.Errorf("bench learners: %w", err)
	}
	for !p.Done() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p.Update()
		progress(min(p.Steps, steps))
	}
	return p, nil
}

// trainSAC trains SAC on the continuous-position world. CleanRL's settings
// except, for CPU: batch 64, one update every 2 steps, and learning from
// the first fifth of the budget (at most 5000 steps) of random actions.
func trainSAC(ctx context.Context, seed uint64, steps int, mk func() rl.Env, progress func(int)) (*rl.SAC, error) {
	cfg := rl.DefaultSACConfig("trading-cont")
	cfg.Seed, cfg.TotalSteps, cfg.MakeEnv = seed, steps, mk
	cfg.BatchSize, cfg.UpdateEvery, cfg.LearningStarts = 64, 2, min(5000, steps/5)
	s, err := rl.NewSAC(cfg)
	if err != nil {
		return nil, fmt.Errorf("bench learners: %w", err)
	}
	for !s.Done() {
		if s.Steps%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			progress(s.Steps)
		}
		s.Step()
	}
	return s, nil
}

// trainVDN trains VDN on trading-ma with every episode's regime from the
// long-run mix (marl.TrainDirect), the trading-ma defaults otherwise.
func trainVDN(ctx context.Context, seed uint64, episodes int, progress func(int)) (*marl.QMIX, error) {
	cfg := marl.DefaultQMIXConfig("trading-ma", "vdn")
	cfg.Seed, cfg.Episodes = seed, episodes
	q, err := marl.NewQMIX(cfg)
	if err != nil {
		return nil, fmt.Errorf("bench learners: %w", err)
	}
	q.Env.(*marl.TradingMA).Mixed = true
	for !q.Done() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		q.Run()
		progress(q.Episodes)
	}
	return q, nil
}

// fromMA converts multi-agent episodes for summariseLearner.
func fromMA(eps []marl.TradingEpisode) []rl.TradingEpisode {
	out := make([]rl.TradingEpisode, len(eps))
	for i, e := range eps {
		out[i] = rl.TradingEpisode{Regime: float64(e.Regime), Return: e.Return, Sharpe: e.Sharpe, Sortino: e.Sortino, Turnover: e.Turnover,
			Days: e.Days, Sum: e.Sum, SumSq: e.SumSq, DownSq: e.DownSq}
	}
	return out
}

// summariseLearner fills r's figures from its per-seed episodes, paired
// against buy-and-hold's (bh) on the same episodes.
func summariseLearner(r *LearnerRow, bh [][]rl.TradingEpisode) {
	var sh, so, ret, dsh, dso, turn, expo, rsh, rso, drsh, drso []float64
	byRegime := map[string][]float64{}
	for s, eps := range r.perSeed {
		var a, b, c, d, e, t, x float64
		reg := map[string][2]float64{}
		for k, ep := range eps {
			a += ep.Sharpe
			b += ep.Sortino
			c += ep.Return
			d += ep.Sharpe - bh[s][k].Sharpe
			e += ep.Sortino - bh[s][k].Sortino
			t += ep.Turnover
			x += ep.Exposure
			name := market.Regime(ep.Regime).String()
			y := reg[name]
			reg[name] = [2]float64{y[0] + ep.Sharpe - bh[s][k].Sharpe, y[1] + 1}
		}
		n := float64(len(eps))
		x1, x2 := rl.PooledSharpeSortino(eps)
		b1, b2 := rl.PooledSharpeSortino(bh[s])
		rsh, rso, drsh, drso = append(rsh, x1), append(rso, x2), append(drsh, x1-b1), append(drso, x2-b2)
		sh, so, ret = append(sh, a/n), append(so, b/n), append(ret, c/n)
		dsh, dso, turn, expo = append(dsh, d/n), append(dso, e/n), append(turn, t/n), append(expo, x/n)
		for name, y := range reg {
			byRegime[name] = append(byRegime[name], y[0]/y[1])
		}
	}
	r.SharpeBySeed, r.SharpeVsBHBySeed, r.SortinoVsBHBySeed = sh, dsh, dso
	r.Sharpe, r.SharpeCI95 = stats.MeanCI95(sh)
	r.Sortino, r.SortinoCI95 = stats.MeanCI95(so)
	r.Return, r.ReturnCI95 = stats.MeanCI95(ret)
	r.Turnover, _ = stats.MeanCI95(turn)
	r.Exposure, _ = stats.MeanCI95(expo)
	r.SharpeVsBH, r.SharpeVsBHCI95 = stats.MeanCI95(dsh)
	r.SortinoVsBH, r.SortinoVsBHCI95 = stats.MeanCI95(dso)
	r.SharpeVsBHP, r.SortinoVsBHP = stats.TTest(dsh), stats.TTest(dso)
	r.RecordSharpe, r.RecordSharpeCI95 = stats.MeanCI95(rsh)
	r.RecordSortino, r.RecordSortinoCI95 = stats.MeanCI95(rso)
	r.RecordSharpeVsBH, r.RecordSharpeVsBHCI95 = stats.MeanCI95(drsh)
	r.RecordSortinoVsBH, r.RecordSortinoVsBHCI95 = stats.MeanCI95(drso)
	r.RecordSharpeVsBHP, r.RecordSortinoVsBHP = stats.TTest(drsh), stats.TTest(drso)
	r.BeatsBHOnSharpe = r.SharpeVsBH-r.SharpeVsBHCI95 > 0
	r.BeatsBHOnSortino = r.SortinoVsBH-r.SortinoVsBHCI95 > 0
	r.BeatsBHOnRecordSharpe = r.RecordSharpeVsBH-r.RecordSharpeVsBHCI95 > 0
	r.BeatsBHOnRecordSortino = r.RecordSortinoVsBH-r.RecordSortinoVsBHCI95 > 0
	r.SharpeVsBHRegime = map[string]float64{}
	for name, xs := range byRegime {
		r.SharpeVsBHRegime[name], _ = stats.MeanCI95(xs)
	}
}

// holmLearned adjusts the p-values of every learned row's four comparisons
// with buy-and-hold (Sharpe and Sortino, per episode and over the record)
// together, and decides Beats* for learned rows on the adjusted figures. It
// returns the family's size.
func holmLearned(tables ...[]LearnerRow) int {
	var ps []float64
	var rows []*LearnerRow
	for _, t := range tables {
		for i := range t {
			if t[i].Learned {
				rows = append(rows, &t[i])
				ps = append(ps, t[i].SharpeVsBHP, t[i].SortinoVsBHP, t[i].RecordSharpeVsBHP, t[i].RecordSortinoVsBHP)
			}
		}
	}
	adj := stats.Holm(ps)
	for k, r := range rows {
		r.SharpeVsBHPHolm, r.SortinoVsBHPHolm = adj[4*k], adj[4*k+1]
		r.RecordSharpeVsBHPHolm, r.RecordSortinoVsBHPHolm = adj[4*k+2], adj[4*k+3]
		r.BeatsBHOnSharpe = r.SharpeVsBH > 0 && r.SharpeVsBHPHolm < 0.05
		r.BeatsBHOnSortino = r.SortinoVsBH > 0 && r.SortinoVsBHPHolm < 0.05
		r.BeatsBHOnRecordSharpe = r.RecordSharpeVsBH > 0 && r.RecordSharpeVsBHPHolm < 0.05
		r.BeatsBHOnRecordSortino = r.RecordSortinoVsBH > 0 && r.RecordSortinoVsBHPHolm < 0.05
	}
	return len(ps)
}

func printLearners(env command.Env, res LearnersBenchResult) {
	w := env.Stderr
	fmt.Fprintf(w, "%s trading episodes (%s stream): %d seeds × %d episodes; per seed PPO %d steps, SAC %d steps, VDN %d episodes; costs %.0f bp per unit turnover\n",
		map[bool]string{true: "quick:", false: "full:"}[res.Quick], res.EvalStream, res.Seeds, res.Episodes, res.TrainSteps, res.SACSteps, res.MAEpisodes, res.CostBps)
	table := func(title string, rows []LearnerRow) {
		fmt.Fprintf(w, "\n%s (per episode, then over seeds)\n%-16s %-5s %-16s %-16s %-16s %-28s %-28s %s\n", title, "policy", "world", "Sharpe", "Sortino", "return",
			"Sharpe − B&H (p, Holm)", "Sortino − B&H (p, Holm)", "turnover")
		for _, r := range rows {
			fmt.Fprintf(w, "%-16s %-5s %6.3f ± %-7.3f %6.3f ± %-7.3f %6.3f ± %-7.3f %+6.3f ± %-5.3f %-13s %+6.3f ± %-5.3f %-13s %.1f\n",
				r.Policy, r.World, r.Sharpe, r.SharpeCI95, r.Sortino, r.SortinoCI95, r.Return, r.ReturnCI95,
				r.SharpeVsBH, r.SharpeVsBHCI95, pString(r, r.SharpeVsBHP, r.SharpeVsBHPHolm),
				r.SortinoVsBH, r.SortinoVsBHCI95, pString(r, r.SortinoVsBHP, r.SortinoVsBHPHolm), r.Turnover)
		}
		fmt.Fprintf(w, "%s (each seed's held-out episodes as one record)\n%-16s %-5s %-16s %-16s %-28s %-28s %s\n", title, "policy", "world", "Sharpe", "Sortino",
			"Sharpe − B&H (p, Holm)", "Sortino − B&H (p, Holm)", "exposure")
		for _, r := range rows {
			expo := fmt.Sprintf("%.2f", r.Exposure)
			if r.World == "ma" {
				expo = "n/a"
			}
			fmt.Fprintf(w, "%-16s %-5s %6.3f ± %-7.3f %6.3f ± %-7.3f %+6.3f ± %-5.3f %-13s %+6.3f ± %-5.3f %-13s %s\n",
				r.Policy, r.World, r.RecordSharpe, r.RecordSharpeCI95, r.RecordSortino, r.RecordSortinoCI95,
				r.RecordSharpeVsBH, r.RecordSharpeVsBHCI95, pString(r, r.RecordSharpeVsBHP, r.RecordSharpeVsBHPHolm),
				r.RecordSortinoVsBH, r.RecordSortinoVsBHCI95, pString(r, r.RecordSortinoVsBHP, r.RecordSortinoVsBHPHolm), expo)
		}
	}
	table("single-agent world (all starting regimes)", res.Rows)
	table(fmt.Sprintf("held-out regimes: trained on %s starts, scored on %s starts", strings.Join(res.SplitTrain, "+"), strings.Join(res.SplitTest, "+")), res.SplitRows)
	table("multi-agent world trading-ma (per agent, averaged)", res.MARows)
	var beats []string
	for _, t := range [][]LearnerRow{res.Rows, res.SplitRows, res.MARows} {
		for _, r := range t {
			if r.Learned && (r.BeatsBHOnSharpe || r.BeatsBHOnSortino || r.BeatsBHOnRecordSharpe || r.BeatsBHOnRecordSortino) {
				beats = append(beats, r.Policy+"/"+r.World)
			}
		}
	}
	fmt.Fprintf(w, "\nlearners beating buy-and-hold after Holm over %d tests: %d %v\n", res.HolmFamily, len(beats), beats)
	for _, n := range res.NotEvaluated {
		fmt.Fprintf(w, "not evaluated: %s\n", n)
	}
}

func pString(r LearnerRow, p, holm float64) string {
	if !r.Learned {
		if r.Policy == "buy_and_hold" {
			return ""
		}
		return fmt.Sprintf("(%.3f)", p)
	}
	return fmt.Sprintf("(%.3f, %.3f)", p, holm)
}
