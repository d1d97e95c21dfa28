package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/supply"
)

// runBenchSupply is `metastation bench supply [--json]`: simulated periods
// per second on each network preset (the six agents deciding), the
// comparison's headline numbers (coordinated/uncoordinated cost ratio with
// its paired-bootstrap 95 % interval, both arms' bullwhip) and whether
// measured bullwhip respects Chen et al.'s lower bound. Everything printed
// is measured in this run.
func runBenchSupply(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench supply", env.Stderr)
	scenario := fs.String("scenario", "port-closure", "the comparison's scenario (metastation supply scenarios lists them)")
	seeds := fs.Int("seeds", 30, "the comparison's evaluation seeds")
	perPreset := fs.Duration("per-preset", time.Second, "wall time spent playing each preset for its periods/s")
	learned := fs.String("learned", "", "multi-agent checkpoint `file` on the supply world for the comparison's learned arm")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *perPreset < 10*time.Millisecond || *perPreset > time.Minute {
		return command.Usagef("bench supply: --per-preset must be 10ms to 1m, not %v", *perPreset)
	}
	cfg := supply.BenchConfig{Scenario: *scenario, Seeds: *seeds, PerPreset: *perPreset}
	if *learned != "" {
		c, label, err := supply.LoadLearned(*learned)
		if err != nil {
			return command.Usagef("bench supply: %v", err)
		}
		cfg.Learned, cfg.LearnedLabel = c, label
	}
	bar := progressbar.NewOptions(1, progressbar.OptionSetWriter(env.Stderr), progressbar.OptionShowCount(),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	stage := ""
	cfg.Progress = func(s string, done, total int) {
		if s != stage {
			stage = s
			bar.Describe(s)
		}
		bar.ChangeMax(total)
		_ = bar.Set(done)
	}
	res, err := supply.Bench(ctx, cfg)
	_ = bar.Finish()
	if err != nil {
		return command.Usagef("bench supply: %v", err)
	}
	for _, name := range supply.PresetNames() {
		fmt.Fprintf(env.Stdout, "%-7s %10.0f periods/s (six agents deciding, coordinated base-stock)\n", name, res.PeriodsPerS[name])
	}
	fmt.Fprintf(env.Stdout, "%s over %d seeds: coordinated cost %.1f ± %.1f, uncoordinated (Sterman) %.1f ± %.1f\n",
		res.Scenario, res.Seeds, res.CostCoordinated, res.CostCoordinatedCI95, res.CostUncoordinated, res.CostUncoordinatedCI95)
	fmt.Fprintf(env.Stdout, "coordinated/uncoordinated cost ratio %.3f [%.3f, %.3f], lower on %d of %d seeds, Holm p %.2g\n",
		res.CoordinatedCostRatio, res.CoordinatedCostRatioCI95[0], res.CoordinatedCostRatioCI95[1], res.CoordinatedWins, res.Seeds, res.CoordinatedPHolm)
	fmt.Fprintf(env.Stdout, "bullwhip of the top echelon: uncoordinated %.2f, coordinated %.2f\n", res.BullwhipUncoordinated, res.BullwhipCoordinated)
	for _, c := range res.Chen {
		what := fmt.Sprintf("smoothing α=%.1f", c.Alpha)
		if c.Forecast == "ma" {
			what = fmt.Sprintf("moving average p=%d", c.Window)
		}
		fmt.Fprintf(env.Stdout, "Chen bound, base-stock with %s, lead %d: bullwhip %.3f ≥ %.3f: %v\n", what, c.Lead, c.Measured, c.Bound, c.Holds)
	}
	fmt.Fprintf(env.Stdout, "learned arm: %s\n", res.Learned)
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}
