package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/stats"
)

// RLBenchResult is what `metastation bench rl --json` prints last. Figures
// over seeds are means; the *_ci95 fields are half-widths of Student-t 95%
// intervals across seeds (0 with one seed).
type RLBenchResult struct {
	Seeds                 int       `json:"seeds"`
	CartPoleEnvStepsPerS  float64   `json:"cartpole_env_steps_per_s"`
	CartPoleEnvs          int       `json:"cartpole_envs"`
	Workers               int       `json:"workers"`
	PPOSamplesPerS        float64   `json:"ppo_samples_per_s"`
	CartPoleSolveSteps    float64   `json:"cartpole_solve_steps"` // mean over seeds that solved
	CartPoleSolveWallS    float64   `json:"cartpole_solve_wall_s"`
	CartPoleSolved        int       `json:"cartpole_solved"` // seeds solved within the step budget
	CartPoleSolveBySeed   []int     `json:"cartpole_solve_steps_by_seed"`
	CartPoleFinalReturn   float64   `json:"cartpole_final_return"` // 100 evaluation episodes at the end of the budget
	CartPoleFinalCI95     float64   `json:"cartpole_final_return_ci95"`
	CartPoleFinalBySeed   []float64 `json:"cartpole_final_return_by_seed"`
	PPOSteps              int       `json:"ppo_steps"`
	SACUpdatesPerS        float64   `json:"sac_updates_per_s"`
	PendulumReturn        float64   `json:"pendulum_return"` // 10 evaluation episodes after the SAC budget
	PendulumReturnCI95    float64   `json:"pendulum_return_ci95"`
	PendulumReturnBySeed  []float64 `json:"pendulum_return_by_seed"`
	SACSteps              int       `json:"sac_steps"`
	SACHidden             []int     `json:"sac_hidden"`
	PendulumAtLeast250    int       `json:"pendulum_seeds_at_least_minus_250"`
	TradingSteps          int       `json:"trading_steps"`
	TradingPPOReward      float64   `json:"trading_ppo_reward"` // mean episode reward on 300 held-out episodes
	TradingPPORewardCI95  float64   `json:"trading_ppo_reward_ci95"`
	TradingRandomReward   float64   `json:"trading_random_reward"`
	TradingBuyHoldReward  float64   `json:"trading_buyhold_reward"`
	TradingCashReward     float64   `json:"trading_cash_reward"`
	TradingPPOEquity      float64   `json:"trading_ppo_final_equity"`
	TradingBuyHoldEquity  float64   `json:"trading_buyhold_final_equity"`
	TradingBeatsRandom    int       `json:"trading_seeds_beating_random"`  // paired difference > 2 standard errors
	TradingBeatsBuyHold   int       `json:"trading_seeds_beating_buyhold"` // paired difference > 2 standard errors
	WallS                 float64   `json:"wall_s"`
	CartPoleRandomReturn  float64   `json:"cartpole_random_return"`
	PendulumRandomReturn  float64   `json:"pendulum_random_return"`
	PublishedCartPoleGoal float64   `json:"published_cartpole_goal"`
}

// runBenchRL is `metastation bench rl`: raw CartPole stepping, then for each
// seed a full PPO run on CartPole and a full SAC run on Pendulum.
func runBenchRL(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench rl", env.Stderr)
	seeds := fs.Int("seeds", 1, "training seeds (1, 2, ...) for the PPO and SAC runs")
	ppoSteps := fs.Int("ppo-steps", 500_000, "PPO CartPole environment steps per seed (0 skips the CartPole runs)")
	sacSteps := fs.Int("sac-steps", 30_000, "SAC Pendulum environment steps per seed (0 skips the Pendulum runs)")
	tradingSteps := fs.Int("trading-steps", 300_000, "PPO trading environment steps per seed (0 skips the trading runs)")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *seeds < 1 || *seeds > 20 || (*ppoSteps != 0 && *ppoSteps < 2048) || (*sacSteps != 0 && *sacSteps < 6000) || *tradingSteps < 0 {
		return command.Usagef("bench rl: --seeds in [1, 20], --ppo-steps 0 or at least 2048, --sac-steps 0 or at least 6000, --trading-steps not negative (0 skips a part)")
	}
	say := func(format string, a ...any) { fmt.Fprintf(env.Stderr, format+"\n", a...) }
	start := time.Now()
	res := RLBenchResult{Seeds: *seeds, PPOSteps: *ppoSteps, SACSteps: *sacSteps, TradingSteps: *tradingSteps, PublishedCartPoleGoal: rl.CartPoleSolved}

	res.CartPoleEnvs, res.Workers = 8, runtime.GOMAXPROCS(0)
	res.CartPoleEnvStepsPerS = benchCartPoleSteps(res.CartPoleEnvs, res.Workers, 400_000)
	say("cartpole: %.0f env steps/s (%d envs, %d workers)", res.CartPoleEnvStepsPerS, res.CartPoleEnvs, res.Workers)
	res.CartPoleRandomReturn = randomReturn("cartpole", 100)
	res.PendulumRandomReturn = randomReturn("pendulum", 10)

	var solveSteps, solveWall, finals, sps []float64
	for seed := 1; seed <= *seeds && *ppoSteps > 0; seed++ {
		cfg := rl.DefaultPPOConfig("cartpole")
		cfg.Seed, cfg.TotalSteps = uint64(seed), *ppoSteps
		p, err := rl.NewPPO(cfg)
		if err != nil {
			return fmt.Errorf("bench rl: %w", err)
		}
		run, err := rl.TrainPPO(ctx, p, rl.PPOTrainOptions{EvalEpisodes: 100, Target: rl.CartPoleSolved,
			OnUpdate: func(st rl.PPOStats) { sps = append(sps, st.SamplesPerSecond) }})
		if err != nil {
			return fmt.Errorf("bench rl: %w", err)
		}
		m, _ := rl.MeanStd(run.FinalReturn)
		finals = append(finals, m)
		res.CartPoleSolveBySeed = append(res.CartPoleSolveBySeed, run.SolveStep)
		if run.SolveStep > 0 {
			res.CartPoleSolved++
			solveSteps = append(solveSteps, float64(run.SolveStep))
			solveWall = append(solveWall, run.SolveWall)
		}
		say("ppo cartpole seed %d: solved at step %d (%.1fs); final evaluation %.1f over 100 episodes; %.1fs", seed, run.SolveStep, run.SolveWall, m, run.Wall)
	}
	res.CartPoleFinalBySeed = finals
	res.CartPoleFinalReturn, res.CartPoleFinalCI95 = stats.MeanCI95(finals)
	res.CartPoleSolveSteps, _ = stats.MeanCI95(solveSteps)
	res.CartPoleSolveWallS, _ = stats.MeanCI95(solveWall)
	res.PPOSamplesPerS, _ = stats.MeanCI95(sps)

	var pend, ups []float64
	for seed := 1; seed <= *seeds && *sacSteps > 0; seed++ {
		cfg := rl.DefaultSACConfig("pendulum")
		cfg.Seed, cfg.TotalSteps = uint64(seed), *sacSteps
		res.SACHidden = cfg.Hidden
		s, err := rl.NewSAC(cfg)
		if err != nil {
			return fmt.Errorf("bench rl: %w", err)
		}
		var learnStart time.Time
		updates := 0
		for !s.Done() {
			if err := ctx.Err(); err != nil {
				return err
			}
			st := s.Step()
			if st.Updated {
				if updates == 0 {
					learnStart = time.Now()
				}
				updates++
			}
		}
		ups = append(ups, float64(updates)/time.Since(learnStart).Seconds())
		rs, err := rl.Evaluate(s, "pendulum", 10, uint64(seed)+1000)
		if err != nil {
			return fmt.Errorf("bench rl: %w", err)
		}
		m, _ := rl.MeanStd(rs)
		pend = append(pend, m)
		if m >= -250 {
			res.PendulumAtLeast250++
		}
		say("sac pendulum seed %d: evaluation %.1f over 10 episodes; %.0f updates/s", seed, m, ups[len(ups)-1])
	}
	res.PendulumReturnBySeed = pend
	res.PendulumReturn, res.PendulumReturnCI95 = stats.MeanCI95(pend)
	res.SACUpdatesPerS, _ = stats.MeanCI95(ups)
	if *tradingSteps > 0 {
		if err := benchTrading(ctx, *seeds, *tradingSteps, &res, say); err != nil {
			return err
		}
	}
	res.WallS = time.Since(start).Seconds()

	if *ppoSteps > 0 {
		say("ppo cartpole: %d/%d seeds solved (mean return ≥ %.0f over 100 episodes) within %d steps; final return %.1f ± %.1f (95%% CI over seeds)",
			res.CartPoleSolved, *seeds, rl.CartPoleSolved, *ppoSteps, res.CartPoleFinalReturn, res.CartPoleFinalCI95)
	}
	if *sacSteps > 0 {
		say("sac pendulum: %.1f ± %.1f (95%% CI over seeds) after %d steps; %d/%d seeds ≥ −250", res.PendulumReturn, res.PendulumReturnCI95, *sacSteps, res.PendulumAtLeast250, *seeds)
	}
	if *tradingSteps > 0 {
		say("trading: ppo reward %.2f ± %.2f (95%% CI over seeds), random %.2f, buy-and-hold %.2f, cash %.2f; final equity ppo %.4f, buy-and-hold %.4f; seeds beating random %d/%d, beating buy-and-hold %d/%d",
			res.TradingPPOReward, res.TradingPPORewardCI95, res.TradingRandomReward, res.TradingBuyHoldReward, res.TradingCashReward,
			res.TradingPPOEquity, res.TradingBuyHoldEquity, res.TradingBeatsRandom, *seeds, res.TradingBeatsBuyHold, *seeds)
	}
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}

// benchCartPoleSteps measures vectorised CartPole steps per second with
// uniformly random actions.
func benchCartPoleSteps(envs, workers, steps int) float64 {
	v := rl.NewVecEnv(func() rl.Env { return &rl.CartPole{} }, envs, 1, workers)
	rng := rand.New(rand.NewPCG(1, 2))
	acts := make([][]float64, envs)
	for i := range acts {
		acts[i] = []float64{0}
	}
	start := time.Now()
	for n := 0; n < steps; n += envs {
		for i := range acts {
			acts[i][0] = float64(rng.IntN(2))
		}
		v.Step(acts)
	}
	return float64(steps) / time.Since(start).Seconds()
}

// randomPolicy acts uniformly at random.
type randomPolicy struct {
	space rl.Space
	rng   *rand.Rand
}

func (r randomPolicy) Act([]float64, bool, *rand.Rand) []float64 {
	if r.space.Discrete() {
		return []float64{float64(r.rng.IntN(r.space.N))}
	}
	a := make([]float64, len(r.space.Low))
	for j := range a {
		a[j] = r.space.Low[j] + r.rng.Float64()*(r.space.High[j]-r.space.Low[j])
	}
	return a
}

// randomReturn is the mean evaluation return of a uniformly random policy.
func randomReturn(name string, episodes int) float64 {
	e, _ := rl.NewEnv(name)
	rs, _ := rl.Evaluate(randomPolicy{space: e.ActionSpace(), rng: rand.New(rand.NewPCG(7, 7))}, name, episodes, 1000)
	m, _ := rl.MeanStd(rs)
	return m
}

// benchTrading trains PPO on the trading environment for each seed and
// scores it against a random policy, buy-and-hold and cash on 300 held-out
// episodes, the same episodes for every policy.
func benchTrading(ctx context.Context, seeds, steps int, res *RLBenchResult, say func(string, ...any)) error {
	const episodes, evalSeed = 300, 99
	rnd := rl.ScoreTrading(rl.RandomPolicy{Space: rl.Space{N: len(rl.TradingLevels)}, RNG: rand.New(rand.NewPCG(1, 1))}, episodes, evalSeed)
	hold := rl.ScoreTrading(rl.FixedPolicy(len(rl.TradingLevels)-1), episodes, evalSeed)
	cash := rl.ScoreTrading(rl.FixedPolicy(2), episodes, evalSeed)
	res.TradingRandomReward, res.TradingBuyHoldReward, res.TradingCashReward = rnd.Reward, hold.Reward, cash.Reward
	res.TradingBuyHoldEquity = hold.FinalEquity
	var rewards, equity []float64
	for seed := 1; seed <= seeds; seed++ {
		cfg := rl.DefaultPPOConfig("trading")
		cfg.Seed, cfg.TotalSteps = uint64(seed), steps
		p, err := rl.NewPPO(cfg)
		if err != nil {
			return fmt.Errorf("bench rl: %w", err)
		}
		for !p.Done() {
			if err := ctx.Err(); err != nil {
				return err
			}
			p.Update()
		}
		sc := rl.ScoreTrading(p, episodes, evalSeed)
		rewards = append(rewards, sc.Reward)
		equity = append(equity, sc.FinalEquity)
		dr, ser := rl.PairedDiff(sc.Rewards, rnd.Rewards)
		dh, seh := rl.PairedDiff(sc.Rewards, hold.Rewards)
		if dr > 2*ser {
			res.TradingBeatsRandom++
		}
		if dh > 2*seh {
			res.TradingBeatsBuyHold++
		}
		say("ppo trading seed %d: reward %.2f, final equity %.4f, turnover %.0f; minus random %.2f ± %.2f, minus buy-and-hold %.2f ± %.2f (paired, se)",
			seed, sc.Reward, sc.FinalEquity, sc.Turnover, dr, ser, dh, seh)
	}
	res.TradingPPOReward, res.TradingPPORewardCI95 = stats.MeanCI95(rewards)
	res.TradingPPOEquity, _ = stats.MeanCI95(equity)
	return nil
}
