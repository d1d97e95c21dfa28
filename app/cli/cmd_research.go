package cli

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/atomicfile"
	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/research"
	"github.com/metastation/metastation/app/store"
)

// runResearch is `metastation research ingest DIR | run`: the research
// agents on a folder of papers or on the built-in corpus, into the same
// database (and memory) the server uses.
func runResearch(ctx context.Context, env command.Env, args []string) error {
	if len(args) > 0 && command.IsHelpFlag(args[0]) {
		fmt.Fprintln(env.Stdout, "Usage: metastation research ingest DIR [flags] | research run [flags]; 'metastation research <sub> --help' for the flags.")
		return nil
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return command.Usagef("research needs a subcommand: ingest DIR or run")
	}
	switch args[0] {
	case "ingest":
		if len(args) < 2 || strings.HasPrefix(args[1], "-") {
			return command.Usagef("research ingest needs a DIR of papers (txt, md, html, pdf) before its flags")
		}
		return researchRun(ctx, env, "research ingest", args[1], args[2:])
	case "run":
		return researchRun(ctx, env, "research run", "", args[1:])
	}
	return command.Usagef("unknown research subcommand %q (ingest or run)", args[0])
}

func researchRun(ctx context.Context, env command.Env, name, dir string, args []string) error {
	fs := command.NewFlagSet(name, env.Stderr)
	data := fs.String("data", defaultDataDir(env.Getenv), "`directory` holding the database")
	seed := fs.Uint64("seed", 1, "random `seed` of the corpus (built-in) and the experiments")
	real := fs.String("market-data", "../shared/data/market", "`directory` of real Yahoo CSV prices to check rules against (missing: simulated only)")
	out := fs.String("out", "", "`directory` to write every memo into as Markdown")
	asJSON := fs.Bool("json", false, "print the run's summary as one JSON line at the end")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return command.Usagef("%s: %s is not a folder", name, dir)
		}
	}
	if *seed > research.MaxSeed {
		return command.Usagef("%s: --seed is at most %d", name, uint64(research.MaxSeed))
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := store.Open(ctx, filepath.Join(*data, store.FileName), env.Assets.Migrations)
	if err != nil {
		return err
	}
	defer db.Close()
	w := store.NewWriter(db, store.WriterOptions{}, log)
	defer w.Close()
	emb, err := memory.NewEmbedder()
	if err != nil {
		return err
	}
	mem, err := memory.Open(ctx, memory.Config{}, db, w, emb, log)
	if err != nil {
		return err
	}
	cfg := research.RunConfig{Seed: *seed, Dir: dir}
	if st, err := os.Stat(*real); err == nil && st.IsDir() {
		cfg.RealDir = *real
	} else {
		fmt.Fprintf(env.Stderr, "no real prices at %s: simulated data only\n", *real)
	}
	var bar *progressbar.ProgressBar
	if !*quiet {
		bar = progressbar.NewOptions(100, progressbar.OptionSetWriter(env.Stderr), progressbar.OptionSetDescription("research"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionFullWidth(), progressbar.OptionSetPredictTime(true))
	}
	rep := research.Report{
		Progress: func(p research.Progress) {
			if bar != nil {
				bar.Describe(strings.TrimPrefix(p.Stage, "research."))
				_ = bar.Set(int(100 * p.Share))
			}
		},
		Message: func(m research.Message) {
			if bar != nil {
				bar.Clear()
			}
			fmt.Fprintf(env.Stderr, "%s → %s: %s\n", strings.TrimPrefix(m.From, "research."), strings.TrimPrefix(cmp.Or(m.To, "everyone"), "research."), m.Text)
		},
	}
	rs := &research.Researcher{Mem: mem, DB: db, W: w, Log: log}
	res, err := rs.Run(ctx, cfg, rep)
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(env.Stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "run %d: %d papers, %d concepts, %d hypotheses, %d in-sample trials, %d BH discoveries at q = %.2f; time-split AUC %.3f\n",
		res.ID, res.Papers, len(res.Concepts), len(res.Experiments), res.Summary.Trials, res.Discoveries, research.FDRLevel, res.Validation.AUC)
	for _, e := range res.Experiments {
		fmt.Fprintf(env.Stdout, "  E%-3d %-22s t %6.2f  BH p %.4f  DSR %.3f  %s\n", e.ID, e.Verdict, e.Perf.T, e.PBH, e.DSR, e.Hypothesis.Statement)
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return fmt.Errorf("research: %w", err)
		}
		for _, m := range res.Memos {
			path := filepath.Join(*out, fmt.Sprintf("memo-run%d-E%d.md", res.ID, m.Experiment))
			if err := atomicfile.WriteFile(path, []byte(m.Markdown), 0o644); err != nil {
				return err
			}
		}
		fmt.Fprintf(env.Stdout, "%d memos in %s\n", len(res.Memos), *out)
	}
	fmt.Fprintf(env.Stdout, "open the Research page (metastation --data %s) to read the memos\n", *data)
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res.Summary)
	}
	return nil
}
