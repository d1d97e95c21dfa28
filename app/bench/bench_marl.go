package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/stats"
)

// MARLBenchResult is what `metastation bench marl --json` prints last.
// Returns are team returns on simple_spread (summed over agents, PettingZoo
// semantics), greedy, over EvalEpisodes held-out episodes; figures over
// seeds are means with Student-t 95% half-widths (*_ci95). Improvement is
// 1 − return/random_return: 0.3 means 30% better than random.
type MARLBenchResult struct {
	Seeds                  int       `json:"seeds"`
	EvalEpisodes           int       `json:"eval_episodes"`
	SpreadEnvStepsPerS     float64   `json:"spread_env_steps_per_s"`
	SpreadRandomReturn     float64   `json:"spread_random_return"`
	SpreadRandomCI95       float64   `json:"spread_random_return_ci95"`
	SpreadRandomOrigMPE    float64   `json:"spread_random_return_original_mpe"`
	QMIXTwoStepValue       float64   `json:"qmix_two_step_value"`
	VDNTwoStepValue        float64   `json:"vdn_two_step_value"`
	MADDPGEpisodes         int       `json:"maddpg_episodes"`
	MADDPGUpdatesPerS      float64   `json:"maddpg_updates_per_s"`
	MADDPGSpreadReturn     float64   `json:"maddpg_spread_return"`
	MADDPGSpreadCI95       float64   `json:"maddpg_spread_return_ci95"`
	MADDPGSpreadBySeed     []float64 `json:"maddpg_spread_return_by_seed"`
	MADDPGImprovement      float64   `json:"maddpg_improvement"`
	MADDPGSeedsAtLeast30   int       `json:"maddpg_seeds_at_least_30pct"`
	QMIXEpisodes           int       `json:"qmix_episodes"`
	QMIXUpdatesPerS        float64   `json:"qmix_updates_per_s"`
	QMIXSpreadReturn       float64   `json:"qmix_spread_return"`
	QMIXSpreadCI95         float64   `json:"qmix_spread_return_ci95"`
	QMIXSpreadBySeed       []float64 `json:"qmix_spread_return_by_seed"`
	QMIXImprovement        float64   `json:"qmix_improvement"`
	QMIXSeedsAtLeast30     int       `json:"qmix_seeds_at_least_30pct"`
	CurriculumEpisodes     int       `json:"curriculum_episodes"`
	CurriculumMixer        string    `json:"curriculum_mixer"`
	CurriculumCompleted    int       `json:"curriculum_seeds_completed"` // seeds that passed all four stages
	CurriculumStageBySeed  []int     `json:"curriculum_stage_by_seed"`   // stages passed
	CurriculumForgot       int       `json:"curriculum_forgetting_events"`
	CurriculumBlackSwan    float64   `json:"curriculum_black_swan_return"` // held-out black-swan team return
	CurriculumBlackSwanCI  float64   `json:"curriculum_black_swan_return_ci95"`
	CurriculumBySeed       []float64 `json:"curriculum_black_swan_return_by_seed"`
	CurriculumDrawdown     float64   `json:"curriculum_black_swan_drawdown"`
	DirectBlackSwan        float64   `json:"direct_black_swan_return"`
	DirectBlackSwanCI      float64   `json:"direct_black_swan_return_ci95"`
	DirectBySeed           []float64 `json:"direct_black_swan_return_by_seed"`
	DirectDrawdown         float64   `json:"direct_black_swan_drawdown"`
	CurriculumMinusDirect  float64   `json:"curriculum_minus_direct"` // paired by seed
	CurriculumMinusDirCI   float64   `json:"curriculum_minus_direct_ci95"`
	WallS                  float64   `json:"wall_s"`
	SpreadRandomEpisodes   int       `json:"spread_random_episodes"`
	SpreadEnvStepsMeasured int       `json:"spread_env_steps_measured"`
}

// runBenchMARL is `metastation bench marl`: simple_spread stepping and
// random baselines, the two-step matrix game for QMIX and VDN, then for each
// seed a MADDPG run and a QMIX run on simple_spread scored greedily.
func runBenchMARL(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench marl", env.Stderr)
	seeds := fs.Int("seeds", 3, "training seeds (1, 2, ...) for the simple_spread runs")
	maddpgEps := fs.Int("maddpg-episodes", 3000, "MADDPG training episodes per seed (0 skips MADDPG)")
	qmixEps := fs.Int("qmix-episodes", 8000, "QMIX training episodes per seed (0 skips QMIX); 8000 is the spread budget of marl.DefaultQMIXConfig")
	evalEps := fs.Int("eval-episodes", 200, "greedy evaluation episodes per trained seed")
	curEps := fs.Int("curriculum-episodes", 0, "trading-world episodes per seed for the curriculum and the direct run each (0 skips the comparison)")
	curMixer := fs.String("curriculum-mixer", "vdn", "mixer of the trading learners: qmix or vdn")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *seeds < 1 || *seeds > 20 || *maddpgEps < 0 || *qmixEps < 0 || *curEps < 0 || *evalEps < 1 || (*curMixer != "qmix" && *curMixer != "vdn") {
		return command.Usagef("bench marl: --seeds in [1, 20], episode counts not negative, --eval-episodes at least 1, --curriculum-mixer qmix or vdn")
	}
	say := func(format string, a ...any) { fmt.Fprintf(env.Stderr, format+"\n", a...) }
	start := time.Now()
	res := MARLBenchResult{Seeds: *seeds, EvalEpisodes: *evalEps, MADDPGEpisodes: *maddpgEps, QMIXEpisodes: *qmixEps,
		SpreadRandomEpisodes: 4000, SpreadEnvStepsMeasured: 250_000, CurriculumEpisodes: *curEps, CurriculumMixer: *curMixer}

	res.SpreadEnvStepsPerS = benchSpreadSteps(res.SpreadEnvStepsMeasured)
	rs := marl.EvaluateTeam(marl.NewSpread(marl.SpreadConfig{}), marl.RandomController{}, res.SpreadRandomEpisodes, 7, false)
	res.SpreadRandomReturn, res.SpreadRandomCI95 = stats.MeanCI95(rs)
	orig := marl.EvaluateTeam(marl.NewSpread(marl.SpreadConfig{SelfCollision: true}), marl.RandomController{}, res.SpreadRandomEpisodes, 7, false)
	res.SpreadRandomOrigMPE, _ = stats.MeanCI95(orig)
	say("spread: %.0f env steps/s; random return %.2f ± %.2f (PettingZoo), %.2f (original MPE self-collision)",
		res.SpreadEnvStepsPerS, res.SpreadRandomReturn, res.SpreadRandomCI95, res.SpreadRandomOrigMPE)

	for _, mixer := range []string{"qmix", "vdn"} {
		q, err := marl.NewQMIX(marl.DefaultQMIXConfig("matrix2", mixer))
		if err != nil {
			return fmt.Errorf("bench marl: %w", err)
		}
		for !q.Done() {
			q.Run()
		}
		v := marl.EvaluateTeam(q.Env, q, 1, 1, true)[0]
		if mixer == "qmix" {
			res.QMIXTwoStepValue = v
		} else {
			res.VDNTwoStepValue = v
		}
	}
	say("two-step game: qmix %.0f, vdn %.0f (optimum 8)", res.QMIXTwoStepValue, res.VDNTwoStepValue)

	bar := progressbar.NewOptions(*seeds*(*maddpgEps+*qmixEps+2*(*curEps)), progressbar.OptionSetWriter(env.Stderr),
		progressbar.OptionSetDescription("training"), progressbar.OptionShowCount(), progressbar.OptionThrottle(250*time.Millisecond), progressbar.OptionClearOnFinish())
	var mRets, mUps, qRets, qUps []float64
	for seed := 1; seed <= *seeds && *maddpgEps > 0; seed++ {
		cfg := marl.DefaultMADDPGConfig("spread")
		cfg.Seed, cfg.Episodes = uint64(seed), *maddpgEps
		m, err := marl.NewMADDPG(cfg)
		if err != nil {
			return fmt.Errorf("bench marl: %w", err)
		}
		for !m.Done() {
			if err := ctx.Err(); err != nil {
				return err
			}
			m.Run()
			_ = bar.Add(1)
		}
		// Evaluate first: the timed updates change the learner.
		mRets = append(mRets, evalSpread(m, *evalEps))
		mUps = append(mUps, timeUpdates(m.Update, 50))
		if 1-mRets[len(mRets)-1]/res.SpreadRandomReturn >= 0.3 {
			res.MADDPGSeedsAtLeast30++
		}
		bar.Clear()
		say("maddpg seed %d: greedy return %.2f over %d episodes after %d episodes; %.1f updates/s", seed, mRets[len(mRets)-1], *evalEps, *maddpgEps, mUps[len(mUps)-1])
	}
	for seed := 1; seed <= *seeds && *qmixEps > 0; seed++ {
		cfg := marl.DefaultQMIXConfig("spread", "qmix")
		cfg.Seed, cfg.Episodes = uint64(seed), *qmixEps
		q, err := marl.NewQMIX(cfg)
		if err != nil {
			return fmt.Errorf("bench marl: %w", err)
		}
		for !q.Done() {
			if err := ctx.Err(); err != nil {
				return err
			}
			q.Run()
			_ = bar.Add(1)
		}
		// Evaluate first: the timed updates change the learner.
		qRets = append(qRets, evalSpread(q, *evalEps))
		qUps = append(qUps, timeUpdates(q.Update, 50))
		if 1-qRets[len(qRets)-1]/res.SpreadRandomReturn >= 0.3 {
			res.QMIXSeedsAtLeast30++
		}
		bar.Clear()
		say("qmix seed %d: greedy return %.2f over %d episodes after %d episodes; %.1f updates/s", seed, qRets[len(qRets)-1], *evalEps, *qmixEps, qUps[len(qUps)-1])
	}
	if *curEps > 0 {
		if err := benchCurriculum(ctx, *seeds, *curEps, *curMixer, &res, bar, say); err != nil {
			return err
		}
	}
	_ = bar.Finish()
	res.MADDPGSpreadBySeed, res.QMIXSpreadBySeed = mRets, qRets
	res.MADDPGSpreadReturn, res.MADDPGSpreadCI95 = stats.MeanCI95(mRets)
	res.QMIXSpreadReturn, res.QMIXSpreadCI95 = stats.MeanCI95(qRets)
	res.MADDPGUpdatesPerS, _ = stats.MeanCI95(mUps)
	res.QMIXUpdatesPerS, _ = stats.MeanCI95(qUps)
	if len(mRets) > 0 {
		res.MADDPGImprovement = 1 - res.MADDPGSpreadReturn/res.SpreadRandomReturn
		say("maddpg: %.2f ± %.2f (95%% CI over %d seeds), %.0f%% better than random; %d/%d seeds at least 30%% better",
			res.MADDPGSpreadReturn, res.MADDPGSpreadCI95, len(mRets), 100*res.MADDPGImprovement, res.MADDPGSeedsAtLeast30, len(mRets))
	}
	if len(qRets) > 0 {
		res.QMIXImprovement = 1 - res.QMIXSpreadReturn/res.SpreadRandomReturn
		say("qmix: %.2f ± %.2f (95%% CI over %d seeds), %.0f%% better than random; %d/%d seeds at least 30%% better",
			res.QMIXSpreadReturn, res.QMIXSpreadCI95, len(qRets), 100*res.QMIXImprovement, res.QMIXSeedsAtLeast30, len(qRets))
	}
	if *curEps > 0 {
		say("curriculum (%s, %d episodes): %d/%d seeds passed all four stages; black swan %.2f ± %.2f (drawdown %.1f%%) vs direct on mixed regimes %.2f ± %.2f (drawdown %.1f%%); paired difference %.2f ± %.2f (95%% CI)",
			*curMixer, *curEps, res.CurriculumCompleted, *seeds, res.CurriculumBlackSwan, res.CurriculumBlackSwanCI, 100*res.CurriculumDrawdown,
			res.DirectBlackSwan, res.DirectBlackSwanCI, 100*res.DirectDrawdown, res.CurriculumMinusDirect, res.CurriculumMinusDirCI)
	}
	res.WallS = time.Since(start).Seconds()
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}

// benchSpreadSteps measures simple_spread steps per second with random
// actions.
func benchSpreadSteps(steps int) float64 {
	e := marl.NewSpread(marl.SpreadConfig{})
	rng := rand.New(rand.NewPCG(1, 2))
	e.Reset(1)
	acts := make([]int, e.NumAgents())
	begin := time.Now()
	for n := 0; n < steps; n++ {
		for i := range acts {
			acts[i] = rng.IntN(e.NumActions())
		}
		if e.Step(acts).Done() {
			e.Reset(uint64(n))
		}
	}
	return float64(steps) / time.Since(begin).Seconds()
}

// timeUpdates returns the rate of n calls of update.
func timeUpdates(update func(), n int) float64 {
	begin := time.Now()
	for i := 0; i < n; i++ {
		update()
	}
	return float64(n) / time.Since(begin).Seconds()
}

// evalSpread is the mean greedy team return of c on n held-out episodes.
func evalSpread(c marl.Controller, n int) float64 {
	m, _ := stats.MeanCI95(marl.EvaluateTeam(marl.NewSpread(marl.SpreadConfig{}), c, n, 1000, true))
	return m
}

// benchCurriculum trains, for each seed, one trading learner through the
// calm → black-swan curriculum and one directly on mixed regimes for the
// same number of episodes, then scores both on 100 held-out black-swan
// episodes.
func benchCurriculum(ctx context.Context, seeds, episodes int, mixer string, res *MARLBenchResult, bar *progressbar.ProgressBar, say func(string, ...any)) error {
	const evalEpisodes, evalSeed = 100, 0x626c61636b
	var cur, dir, diff, curDD, dirDD []float64
	for seed := 1; seed <= seeds; seed++ {
		cfg := marl.DefaultQMIXConfig("trading-ma", mixer)
		cfg.Seed, cfg.Episodes = uint64(seed), episodes
		qc, err := marl.NewQMIX(cfg)
		if err != nil {
			return fmt.Errorf("bench marl: %w", err)
		}
		c := marl.NewCurriculum(marl.DefaultCurriculumConfig())
		err = marl.TrainCurriculum(ctx, qc, c, func(ev marl.CurriculumEvent) {
			_ = bar.Add(c.Config.EvalEvery)
			if ev.Promoted {
				bar.Clear()
				say("curriculum seed %d: %s", seed, ev)
			}
			res.CurriculumForgot += len(ev.Forgot)
		})
		if err != nil {
			return fmt.Errorf("bench marl: %w", err)
		}
		_ = bar.Add(episodes % c.Config.EvalEvery)
		res.CurriculumStageBySeed = append(res.CurriculumStageBySeed, c.Stage)
		if c.Done() {
			res.CurriculumCompleted++
		}
		qd, err := marl.NewQMIX(cfg)
		if err != nil {
			return fmt.Errorf("bench marl: %w", err)
		}
		if err := marl.TrainDirect(ctx, qd); err != nil {
			return fmt.Errorf("bench marl: %w", err)
		}
		_ = bar.Add(episodes)
		sc := marl.EvaluateTrading(qc, marl.NewTradingMA, market.BlackSwan, evalEpisodes, evalSeed)
		sd := marl.EvaluateTrading(qd, marl.NewTradingMA, market.BlackSwan, evalEpisodes, evalSeed)
		cur, dir, diff = append(cur, sc.Score), append(dir, sd.Score), append(diff, sc.Score-sd.Score)
		curDD, dirDD = append(curDD, sc.Drawdown), append(dirDD, sd.Drawdown)
		bar.Clear()
		say("seed %d: black swan curriculum %.2f (stage %d/4, drawdown %.1f%%), direct %.2f (drawdown %.1f%%)", seed, sc.Score, c.Stage, 100*sc.Drawdown, sd.Score, 100*sd.Drawdown)
	}
	res.CurriculumBySeed, res.DirectBySeed = cur, dir
	res.CurriculumBlackSwan, res.CurriculumBlackSwanCI = stats.MeanCI95(cur)
	res.DirectBlackSwan, res.DirectBlackSwanCI = stats.MeanCI95(dir)
	res.CurriculumMinusDirect, res.CurriculumMinusDirCI = stats.MeanCI95(diff)
	res.CurriculumDrawdown, _ = stats.MeanCI95(curDD)
	res.DirectDrawdown, _ = stats.MeanCI95(dirDD)
	return nil
}
