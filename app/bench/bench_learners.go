package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/stats"
)

// LearnerRow is one policy's held-out figures over training seeds. Means are
// over seeds of the per-seed mean over that seed's held-out episodes; *_ci95
// are Student-t 95% half-widths across seeds (app/stats.MeanCI95). The
// *_vs_buyhold figures are paired: per seed, the policy minus buy-and-hold on
// the same held-out episodes, then the mean and CI of those differences.
type LearnerRow struct {
	Policy           string             `json:"policy"`
	Learned          bool               `json:"learned"`
	Sharpe           float64            `json:"sharpe"`
	SharpeCI95       float64            `json:"sharpe_ci95"`
	Sortino          float64            `json:"sortino"`
	SortinoCI95      float64            `json:"sortino_ci95"`
	Return           float64            `json:"return"`
	ReturnCI95       float64            `json:"return_ci95"`
	Turnover         float64            `json:"turnover"`
	SharpeVsBH       float64            `json:"sharpe_vs_buyhold"`
	SharpeVsBHCI95   float64            `json:"sharpe_vs_buyhold_ci95"`
	SortinoVsBH      float64            `json:"sortino_vs_buyhold"`
	SortinoVsBHCI95  float64            `json:"sortino_vs_buyhold_ci95"`
	SharpeBySeed     []float64          `json:"sharpe_by_seed"`
	SharpeVsBHRegime map[string]float64 `json:"sharpe_vs_buyhold_by_regime"` // mean over seeds, episodes grouped by starting regime
	BeatsBHOnSharpe  bool               `json:"beats_buyhold_on_sharpe"`     // paired CI excludes zero, above
	BeatsBHOnSortino bool               `json:"beats_buyhold_on_sortino"`
	perSeed          [][]rl.TradingEpisode
}

// LearnersBenchResult is what `metastation bench learners --json` prints.
type LearnersBenchResult struct {
	Seeds        int          `json:"seeds"`
	TrainSteps   int          `json:"train_steps"`
	Episodes     int          `json:"heldout_episodes_per_seed"`
	CostBps      float64      `json:"cost_bps"`
	VolThreshold float64      `json:"vol_threshold_pct"`
	Rows         []LearnerRow `json:"rows"`
	NotEvaluated []string     `json:"not_evaluated"`
	WallS        float64      `json:"wall_s"`
}

// runBenchLearners is `metastation bench learners`: for each training seed
// it trains PPO on the single-agent trading world (episodes from the
// learner's own environment streams), then scores PPO, buy-and-hold, cash,
// random and a fixed volatility-timing rule on held-out episodes of an
// evaluation stream no training run draws from, after the world's costs.
func runBenchLearners(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench learners", env.Stderr)
	seeds := fs.Int("seeds", 5, "training seeds (1, 2, ...); each also gets its own held-out episodes")
	steps := fs.Int("train-steps", 100_000, "PPO environment steps per training seed")
	episodes := fs.Int("episodes", 100, "held-out evaluation episodes (252 days each) per seed")
	volThr := fs.Float64("vol-threshold", 1.5, "the volatility-timing rule's threshold, percent a day (fixed in advance from the preset: SPX 0.19/yr ≈ 1.2 %/day, calm ×0.85, volatile ×1.25)")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *seeds < 2 || *seeds > 20 || *steps < 2048 || *steps > 5_000_000 || *episodes < 10 || *episodes > 2000 || *volThr <= 0 {
		return command.Usagef("bench learners: --seeds in [2, 20], --train-steps in [2048, 5000000], --episodes in [10, 2000], --vol-threshold positive")
	}
	start := time.Now()
	probe := rl.NewTrading()
	res := LearnersBenchResult{Seeds: *seeds, TrainSteps: *steps, Episodes: *episodes, CostBps: probe.CostBps, VolThreshold: *volThr,
		NotEvaluated: []string{
			"sac: SAC needs continuous actions and the trading world's are five discrete positions",
			"qmix, vdn, maddpg: they train on trading-ma (N traders with price impact), a different world; not run here",
		}}
	names := []string{"ppo", "buy_and_hold", "cash", "random", "vol_timing_rule"}
	rows := make([]LearnerRow, len(names))
	for i, n := range names {
		rows[i] = LearnerRow{Policy: n, Learned: n == "ppo"}
	}
	bar := command.NewProgress(env.Stderr, int64(*seeds**steps), "bench learners: training PPO", "steps")
	for s := 1; s <= *seeds; s++ {
		cfg := rl.DefaultPPOConfig("trading")
		cfg.Seed, cfg.TotalSteps = uint64(s), *steps
		p, err := rl.NewPPO(cfg)
		if err != nil {
			return fmt.Errorf("bench learners: %w", err)
		}
		for !p.Done() {
			if err := ctx.Err(); err != nil {
				return err
			}
			p.Update()
			bar.Set((s-1)**steps + min(p.Steps, *steps))
		}
		// Held out: the evaluation stream of 1e6+s, never an environment
		// stream of any training run (those are PCG(s, env index)).
		evalSeed := uint64(1_000_000 + s)
		pols := []rl.Policy{p, rl.FixedPolicy(4), rl.FixedPolicy(2),
			rl.RandomPolicy{Space: probe.ActionSpace(), RNG: rand.New(rand.NewPCG(evalSeed, 0x72616e64))},
			rl.VolTimingPolicy{Window: probe.Window, Threshold: *volThr}}
		for i, pol := range pols {
			rows[i].perSeed = append(rows[i].perSeed, rl.EvalTradingEpisodes(pol, *episodes, evalSeed))
		}
	}
	bar.Finish()
	for i := range rows {
		summariseLearner(&rows[i], rows[1].perSeed)
	}
	res.Rows, res.WallS = rows, time.Since(start).Seconds()
	printLearners(env, res)
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}

// summariseLearner fills r's figures from its per-seed episodes, paired
// against buy-and-hold's (bh) on the same episodes.
func summariseLearner(r *LearnerRow, bh [][]rl.TradingEpisode) {
	var sh, so, ret, dsh, dso, turn []float64
	byRegime := map[string][]float64{}
	for s, eps := range r.perSeed {
		var a, b, c, d, e, t float64
		reg := map[string][2]float64{}
		for k, ep := range eps {
			a += ep.Sharpe
			b += ep.Sortino
			c += ep.Return
			d += ep.Sharpe - bh[s][k].Sharpe
			e += ep.Sortino - bh[s][k].Sortino
			t += ep.Turnover
			name := market.Regime(ep.Regime).String()
			x := reg[name]
			reg[name] = [2]float64{x[0] + ep.Sharpe - bh[s][k].Sharpe, x[1] + 1}
		}
		n := float64(len(eps))
		sh, so, ret = append(sh, a/n), append(so, b/n), append(ret, c/n)
		dsh, dso, turn = append(dsh, d/n), append(dso, e/n), append(turn, t/n)
		for name, x := range reg {
			byRegime[name] = append(byRegime[name], x[0]/x[1])
		}
	}
	r.SharpeBySeed = sh
	r.Sharpe, r.SharpeCI95 = stats.MeanCI95(sh)
	r.Sortino, r.SortinoCI95 = stats.MeanCI95(so)
	r.Return, r.ReturnCI95 = stats.MeanCI95(ret)
	r.Turnover, _ = stats.MeanCI95(turn)
	r.SharpeVsBH, r.SharpeVsBHCI95 = stats.MeanCI95(dsh)
	r.SortinoVsBH, r.SortinoVsBHCI95 = stats.MeanCI95(dso)
	r.BeatsBHOnSharpe = r.SharpeVsBH-r.SharpeVsBHCI95 > 0
	r.BeatsBHOnSortino = r.SortinoVsBH-r.SortinoVsBHCI95 > 0
	r.SharpeVsBHRegime = map[string]float64{}
	for name, xs := range byRegime {
		r.SharpeVsBHRegime[name], _ = stats.MeanCI95(xs)
	}
}

func printLearners(env command.Env, res LearnersBenchResult) {
	w := env.Stderr
	fmt.Fprintf(w, "held-out trading episodes: %d seeds × %d episodes, PPO %d steps per seed, costs %.0f bp per unit turnover\n",
		res.Seeds, res.Episodes, res.TrainSteps, res.CostBps)
	fmt.Fprintf(w, "%-16s %-16s %-16s %-16s %-18s %-18s %s\n", "policy", "Sharpe", "Sortino", "return", "Sharpe − B&H", "Sortino − B&H", "turnover")
	for _, r := range res.Rows {
		fmt.Fprintf(w, "%-16s %6.3f ± %-7.3f %6.3f ± %-7.3f %6.3f ± %-7.3f %+6.3f ± %-9.3f %+6.3f ± %-9.3f %.1f\n",
			r.Policy, r.Sharpe, r.SharpeCI95, r.Sortino, r.SortinoCI95, r.Return, r.ReturnCI95,
			r.SharpeVsBH, r.SharpeVsBHCI95, r.SortinoVsBH, r.SortinoVsBHCI95, r.Turnover)
	}
	for _, n := range res.NotEvaluated {
		fmt.Fprintf(w, "not evaluated: %s\n", n)
	}
}
