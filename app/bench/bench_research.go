package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/research"
)

// runBenchResearch is `metastation bench research`: papers ingested per
// second (files read, embedded and committed into memory), backtests per
// second, the gap finder's time-split AUC, the mean BH discoveries among
// 100 noise hypotheses over seeds, and the recall of planted effects.
func runBenchResearch(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench research", env.Stderr)
	noise := fs.Int("noise-seeds", 20, "seeds of 100 pure-noise hypotheses")
	planted := fs.Int("planted-seeds", 5, "seeds of the planted world (108 hypotheses each)")
	corpora := fs.Int("corpus-seeds", 5, "synthetic corpora for the time-split AUC")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *noise < 1 || *planted < 1 || *corpora < 1 || *noise > 1000 || *planted > 100 || *corpora > 100 {
		return command.Usagef("bench research: seeds between 1 and 1000 (noise), 100 (planted, corpus)")
	}
	dir, err := os.MkdirTemp("", "metastation-bench-research-")
	if err != nil {
		return fmt.Errorf("bench research: %w", err)
	}
	defer os.RemoveAll(dir)
	emb, err := memory.NewEmbedder()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := research.RunBench(ctx, research.BenchConfig{
		Dir: dir, Migrations: env.Assets.Migrations, NoiseSeeds: *noise, PlantedSeeds: *planted, CorpusSeeds: *corpora,
		Progress: func(phase string, done float64) { fmt.Fprintf(env.Stderr, "\r%-10s %3.0f %%", phase, 100*done) },
	}, emb, log)
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "papers ingested      %10.1f /s  (%d files into memory)\n", r.PapersPerS, r.Papers)
	fmt.Fprintf(env.Stdout, "backtests            %10.1f /s  (%d: one rule, one ten-year path of a set)\n", r.BacktestsPerS, r.Backtests)
	fmt.Fprintf(env.Stdout, "gap time-split AUC   %10.3f     (min %.3f; Adamic–Adar %.3f; planted gap worst rank %d)\n", r.GapAUC, r.GapAUCMin, r.GapAUCAdamicAdar, r.PlantedGapWorstRank)
	fmt.Fprintf(env.Stdout, "noise BH discoveries %10.3f     (of 100 per seed, %d seeds; Holm clean in %.0f %%)\n", r.NoiseDiscoveriesBH, r.NoiseSeeds, 100*r.NoiseHolmCleanShare)
	fmt.Fprintf(env.Stdout, "planted recall       %10.3f     (%d seeds × 3 effects among 108 hypotheses)\n", r.PlantedRecall, r.PlantedSeeds)
	fmt.Fprintf(env.Stdout, "one full run         %10.2f s\n", r.PipelineS)
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, r)
	}
	return nil
}
