package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/synth"
	"github.com/metastation/metastation/app/synth/detect"
	"github.com/metastation/metastation/app/synth/quality"
)

// fraudReportRows caps the rows --kind fraud trains and scores the detector
// on, in memory: the job itself when it is no larger, else a job of the same
// seed and rate with this many rows.
const fraudReportRows = 1_000_000

// runGenerate is `metastation generate`: a synthetic data job written to a
// file atomically, with a progress bar.
func runGenerate(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("generate", env.Stderr)
	kind := fs.String("kind", "transactions", "what to generate: "+strings.Join(append(synth.Kinds, "fraud"), ", ")+
		" (fraud: transactions plus a detector and quality report in FILE.report.json, on at most 1M rows)")
	rows := fs.Int("rows", 100_000, "number of `rows` to generate")
	seed := fs.Uint64("seed", 1, "random `seed`; the same seed gives the same data")
	rate := fs.String("fraud-rate", "1.5%", "share of fraudulent transactions, 0.1% to 10% (\"1.5%\" or \"0.015\")")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "generator goroutines (0: one per core); the output does not depend on it")
	days := fs.Int("days", synth.DefaultDays, "length of the simulated period in days")
	out := fs.String("out", "", "output `FILE`; written to a hidden partial file, renamed when complete; a killed CSV or JSONL job resumes when run again")
	toDB := fs.Bool("db", false, "load transactions into the database in --data instead of a file; a killed load resumes when run again")
	data := fs.String("data", defaultDataDir(env.Getenv), "data `directory` holding the database (with --db)")
	format := fs.String("format", "", "csv, jsonl or parquet (default: from the extension of --out, else csv)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	check := fs.String("check", "", "read back a transactions `FILE` (csv, jsonl or parquet) and print its rows and fraud rate, then stop")
	entities := fs.Bool("entities", false, "with transactions: also write the customers, accounts, cards, devices and merchants they refer to, beside --out (tx.csv: tx.customers.csv, ...)")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *check != "" {
		s, err := synth.CheckTransactionsFile(*check)
		if err != nil {
			return fmt.Errorf("generate --check: %w", err)
		}
		fmt.Fprintf(env.Stdout, "%s: %d rows (ids %d to %d), %d fraud (%.3f%%)", *check, s.Rows, s.FirstID, s.LastID, s.Fraud, s.FraudRate*100)
		for _, t := range []string{"account_takeover", "card_testing", "compromised_merchant", "velocity_burst", "geo_impossible", "amount_anomaly"} {
			fmt.Fprintf(env.Stdout, ", %s %d", t, s.ByType[t])
		}
		fmt.Fprintln(env.Stdout)
		return nil
	}
	fraudRate, err := parseRate(*rate)
	if err != nil {
		return command.Usagef("generate: --fraud-rate: %v", err)
	}
	cfg := synth.Config{Seed: *seed, Rows: *rows, FraudRate: fraudRate, Workers: *workers, Days: *days}.Normalize()
	if err := cfg.Validate(); err != nil {
		return command.Usagef("generate: %v", err)
	}
	k := *kind
	if k != "fraud" && !containsString(synth.Kinds, k) {
		return command.Usagef("generate: unknown kind %q (want one of %s, fraud)", k, strings.Join(synth.Kinds, ", "))
	}
	if *entities && (k != "transactions" && k != "fraud" || *toDB) {
		return command.Usagef("generate: --entities goes with --kind transactions or fraud and --out")
	}
	if *toDB {
		if k != "transactions" {
			return command.Usagef("generate: --db loads --kind transactions only")
		}
		if *out != "" {
			return command.Usagef("generate: give --out FILE or --db, not both")
		}
	} else if *out == "" {
		return command.Usagef("generate: --out FILE or --db is required")
	}
	f := *format
	if f == "" {
		f = "csv"
		switch strings.ToLower(filepath.Ext(*out)) {
		case ".jsonl", ".json":
			f = "jsonl"
		case ".parquet":
			f = "parquet"
		}
	}
	ff, err := synth.ParseFormat(f)
	if err != nil {
		return command.Usagef("generate: --format: %v", err)
	}
	dir := filepath.Dir(*out)
	if *toDB {
		dir = *data
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return command.Usagef("generate: --data %s: %v", dir, err)
		}
	}
	if err := checkWritableDir(dir); err != nil {
		return command.Usagef("generate: --out %s: %v", *out, err)
	}
	if !*toDB {
		if err := checkSpace(cfg, genKindOf(k), ff, dir); err != nil {
			return command.Usagef("generate: %v", err)
		}
	}

	var bar *progressbar.ProgressBar
	progress := func(int) {}
	if !*quiet {
		bar = command.NewProgress(env.Stderr, int64(cfg.Rows), k, "rows")
		progress = func(n int) { bar.Set(n) }
	}
	start := time.Now()
	genKind := genKindOf(k)
	if *toDB {
		return loadDB(ctx, env, cfg, filepath.Join(*data, store.FileName), progress, bar, start)
	}
	resumed, err := synth.GenerateFileResumable(ctx, cfg, genKind, ff, *out, progress)
	if err != nil {
		if errs.Is(err, errs.Invalid) {
			return command.Usagef("generate: %v", err)
		}
		return fmt.Errorf("generate %s: %w", k, err)
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(env.Stderr)
	}
	secs := time.Since(start).Seconds()
	if resumed > 0 {
		fmt.Fprintf(env.Stdout, "resumed an interrupted job after %d rows; ", resumed)
	}
	fmt.Fprintf(env.Stdout, "wrote %d %s rows to %s in %.2fs (%.0f rows/s)\n", cfg.Rows, k, *out, secs, float64(cfg.Rows-resumed)/secs)
	if *entities {
		if err := synth.WriteEntities(ctx, cfg, ff, *out); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		fmt.Fprintf(env.Stdout, "wrote the %s tables beside it (%s, ...)\n",
			strings.Join(synth.EntityTables, ", "), synth.EntityPath(*out, synth.EntityTables[0], ff))
	}
	if k == "fraud" {
		return writeFraudReport(cfg, *out+".report.json", env)
	}
	return nil
}

// loadDB is generate --db: the transactions go into the database through
// the batching writer.
func loadDB(ctx context.Context, env command.Env, cfg synth.Config, path string, progress synth.Progress, bar *progressbar.ProgressBar, start time.Time) error {
	db, err := store.Open(ctx, path, env.Assets.Migrations)
	if err != nil {
		return fmt.Errorf("generate --db: %w", err)
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	id, err := synth.LoadSQLite(ctx, db, cfg, progress, log)
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(env.Stderr)
	}
	if err != nil {
		return fmt.Errorf("generate --db: %w", err)
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(env.Stdout, "loaded %d transactions as job %d into %s in %.2fs (%.0f rows/s)\n",
		cfg.Rows, id, path, secs, float64(cfg.Rows)/secs)
	return nil
}

// FraudReport is what --kind fraud writes next to the data.
type FraudReport struct {
	Rows      int             `json:"report_rows"` // rows the report was computed on
	Seed      uint64          `json:"seed"`
	FraudRate float64         `json:"fraud_rate"`
	Detector  *detect.Report  `json:"detector"`
	Quality   *quality.Report `json:"quality"`
}

func writeFraudReport(cfg synth.Config, path string, env command.Env) error {
	cfg.Rows = min(cfg.Rows, fraudReportRows)
	txs, err := synth.Transactions(cfg)
	if err != nil {
		return fmt.Errorf("fraud report: %w", err)
	}
	rep := FraudReport{Rows: len(txs), Seed: cfg.Seed}
	for i := range txs {
		if txs[i].IsFraud() {
			rep.FraudRate++
		}
	}
	rep.FraudRate /= float64(max(1, len(txs)))
	if rep.Detector, err = detect.Evaluate(txs, detect.Options{}); err != nil {
		return fmt.Errorf("fraud report: %w", err)
	}
	if rep.Quality, err = quality.Transactions(cfg, txs); err != nil {
		return fmt.Errorf("fraud report: %w", err)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("fraud report: %w", err)
	}
	if err := synth.WriteFile(path, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return fmt.Errorf("fraud report: %w", err)
	}
	d := rep.Detector
	fmt.Fprintf(env.Stdout, "fraud rate %.2f%%; detector on held-out days: ROC-AUC %.3f, PR-AUC %.3f; quality %.3f; report in %s\n",
		rep.FraudRate*100, d.ROCAUC, d.PRAUC, rep.Quality.Score, path)
	return nil
}

// genKindOf is the kind of rows written for kind: fraud jobs write
// transactions.
func genKindOf(kind string) string {
	if kind == "fraud" {
		return "transactions"
	}
	return kind
}

// checkSpace refuses a job whose file would not fit in dir's free space,
// with a margin of 5 %.
func checkSpace(cfg synth.Config, kind string, format synth.Format, dir string) error {
	free, ok := synth.FreeBytes(dir)
	if !ok {
		return nil
	}
	need, err := synth.EstimateBytes(cfg, kind, format)
	if err != nil {
		return err
	}
	if float64(need)*1.05 > float64(free) {
		return fmt.Errorf("%s has %s free; %d rows of %s as %s need about %s: free some space, write elsewhere (--out), or ask for fewer --rows",
			dir, sizeString(float64(free)), cfg.Rows, kind, format, sizeString(float64(need)))
	}
	return nil
}

func sizeString(b float64) string {
	if b >= 1e9 {
		return fmt.Sprintf("%.1f GB", b/1e9)
	}
	return fmt.Sprintf("%.0f MB", b/1e6)
}

// parseRate reads a rate as a percentage ("1.5%") or a fraction ("0.015").
func parseRate(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a rate (write 1.5%% or 0.015)", s)
	}
	if pct {
		v /= 100
	}
	return v, nil
}

// checkWritableDir reports whether files can be created in dir.
func checkWritableDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("directory %s does not exist", dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".metastation-write-check-*")
	if err != nil {
		return fmt.Errorf("directory %s is not writable", dir)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
