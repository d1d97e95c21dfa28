package bench

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v7"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/heapwatch"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/synth"
	"github.com/metastation/metastation/app/synth/detect"
	"github.com/metastation/metastation/app/synth/quality"
)

// SynthBenchResult is what `metastation bench synth --json` prints last.
type SynthBenchResult struct {
	Rows          int     `json:"rows"`
	Workers       int     `json:"workers"`
	Gen1PerS      float64 `json:"gen_1worker_per_s"`
	GenPerS       float64 `json:"gen_per_s"`
	Speedup       float64 `json:"speedup"` // all workers over one, same run
	GenSeconds    float64 `json:"gen_s"`
	Gen1Cores     float64 `json:"gen_1worker_cores"` // CPU seconds over wall seconds: the cores the run got
	GenPerCPUS    float64 `json:"gen_per_cpu_s"`     // rows per CPU second on one worker, whatever else runs
	GenAllPerCPUS float64 `json:"gen_all_per_cpu_s"` // the same on all workers: near gen_per_cpu_s means no parallel overhead
	GenCores      float64 `json:"gen_cores"`
	CSVPerS       float64 `json:"csv_per_s"`
	CSVSeconds    float64 `json:"csv_s"`
	CSVMB         float64 `json:"csv_mb"`
	ParquetPerS   float64 `json:"parquet_per_s"`
	ParquetMB     float64 `json:"parquet_mb"`
	// gofakeit building the equivalent record on one goroutine, measured
	// right after our one-worker run, with the unlocked Faker a one-goroutine
	// program would use; the locked one (gofakeit.New, a mutex around every
	// draw) is reported beside it.
	GofakeitPerS       float64 `json:"gofakeit_per_s"`
	GofakeitCores      float64 `json:"gofakeit_cores"`
	GofakeitRatio      float64 `json:"gofakeit_ratio"` // ours on one worker over gofakeit on one goroutine
	GofakeitLockedPerS float64 `json:"gofakeit_locked_per_s"`
	SQLiteRows         int     `json:"sqlite_rows"`
	SQLitePerS         float64 `json:"sqlite_per_s"`
	PeakHeapMB         float64 `json:"peak_heap_mb"`
	PeakRSSMB          float64 `json:"peak_rss_mb"`
	// @faker-js/faker building the gofakeit record on one core, measured in
	// this run; left out when node or the package is missing.
	FakerJSPerS   *float64 `json:"fakerjs_per_s,omitempty"`
	FakerJSRatio  *float64 `json:"fakerjs_ratio,omitempty"` // ours on one worker over faker-js
	FraudRate     float64  `json:"fraud_rate"`
	ROCAUC        float64  `json:"roc_auc"`
	PRAUC         float64  `json:"pr_auc"`
	GBTROCAUC     float64  `json:"gbt_roc_auc"` // gradient-boosted trees on the same split: a stronger model
	GBTPRAUC      float64  `json:"gbt_pr_auc"`
	GBTTrainS     float64  `json:"gbt_train_s"` // wall seconds of fitting the GBT (one goroutine), features excluded
	GBTTrees      int      `json:"gbt_trees"`   // trees kept after early stopping
	Quality       float64  `json:"quality"`
	DetectorRows  int      `json:"detector_rows"`
	DetectSeconds float64  `json:"detector_s"`
}

// runBenchSynth is `metastation bench synth`: transaction generation in
// memory on one worker and on all, the same job written to CSV, peak memory,
// and the detector and quality figures on a smaller job.
func runBenchSynth(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench synth", env.Stderr)
	rows := fs.Int("rows", 10_000_000, "transactions to generate")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "workers for the parallel runs")
	detRows := fs.Int("detector-rows", 200_000, "transactions for the detector and quality figures")
	dbRows := fs.Int("sqlite-rows", 1_000_000, "transactions loaded into a temporary SQLite database (0 skips)")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *rows < 1 || *rows > synth.MaxRows || *detRows < 20_000 || *detRows > 5_000_000 || *dbRows < 0 || *dbRows > synth.MaxRows {
		return command.Usagef("bench synth: --rows must be in [1, %d] and --detector-rows in [20000, 5000000]", synth.MaxRows)
	}
	if *workers < 1 || *workers > synth.MaxWorkers {
		return command.Usagef("bench synth: --workers must be in [1, %d]", synth.MaxWorkers)
	}
	res := SynthBenchResult{Rows: *rows, Workers: *workers}
	peak := heapwatch.Start(10 * time.Millisecond)
	say := func(format string, a ...any) { fmt.Fprintf(env.Stderr, format+"\n", a...) }

	// gen returns the wall seconds of a run and the cores it used on average
	// (CPU seconds over wall seconds), which shows when other processes hold
	// the machine's cores.
	gen := func(w int) (float64, float64, error) {
		cfg := synth.Config{Seed: 1, Rows: *rows, Workers: w}
		cpu0 := cpuSeconds()
		start := time.Now()
		n := 0
		err := synth.StreamTransactions(ctx, cfg, func(rows []synth.Transaction) error { n += len(rows); return nil })
		if err == nil && n != *rows {
			err = fmt.Errorf("generated %d rows, want %d", n, *rows)
		}
		wall := time.Since(start).Seconds()
		return wall, (cpuSeconds() - cpu0) / wall, err
	}
	secs1, cores1, err := gen(1)
	if err != nil {
		return fmt.Errorf("bench synth: %w", err)
	}
	res.Gen1PerS, res.Gen1Cores = float64(*rows)/secs1, cores1
	if cores1 > 0 {
		res.GenPerCPUS = res.Gen1PerS / cores1
	}
	say("generate in memory, 1 worker: %d rows in %.2fs, %.0f rows/s (%.2f cores busy; %.0f rows per CPU second)",
		*rows, secs1, res.Gen1PerS, cores1, res.GenPerCPUS)
	// The baseline straight after, so that both see the same machine.
	fakeRows := min(*rows, 2_000_000)
	fakeSecs, fakeCores := gofakeitRecords(gofakeit.NewFaker(rand.NewPCG(1, 1), false), fakeRows)
	res.GofakeitPerS, res.GofakeitCores = float64(fakeRows)/fakeSecs, fakeCores
	res.GofakeitRatio = res.Gen1PerS / res.GofakeitPerS
	lockedSecs, _ := gofakeitRecords(gofakeit.New(1), fakeRows)
	res.GofakeitLockedPerS = float64(fakeRows) / lockedSecs
	say("gofakeit, the same record on one goroutine: %.0f rows/s (%.2f cores busy; %.0f rows/s with gofakeit.New's locked Faker); ours on one worker is %.2fx",
		res.GofakeitPerS, res.GofakeitCores, res.GofakeitLockedPerS, res.GofakeitRatio)
	if res.GenSeconds, res.GenCores, err = gen(*workers); err != nil {
		return fmt.Errorf("bench synth: %w", err)
	}
	res.GenPerS = float64(*rows) / res.GenSeconds
	res.Speedup = res.GenPerS / res.Gen1PerS
	if res.GenCores > 0 {
		res.GenAllPerCPUS = res.GenPerS / res.GenCores
	}
	say("generate in memory, %d workers: %.2fs, %.0f rows/s (%.2fx one worker; %.2f cores busy; %.0f rows per CPU second)",
		*workers, res.GenSeconds, res.GenPerS, res.Speedup, res.GenCores, res.GenAllPerCPUS)

	dir, err := os.MkdirTemp("", "metastation-bench-synth-")
	if err != nil {
		return fmt.Errorf("bench synth: %w", err)
	}
	defer os.RemoveAll(dir)
	// SQLite first: the files written below leave gigabytes of dirty pages
	// whose write-back would slow the load down.
	if *dbRows > 0 {
		db, err := store.Open(ctx, filepath.Join(dir, "bench.db"), env.Assets.Migrations)
		if err != nil {
			return fmt.Errorf("bench synth: %w", err)
		}
		start := time.Now()
		log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		_, err = synth.LoadSQLite(ctx, db, synth.Config{Seed: 1, Rows: *dbRows, Workers: *workers}, nil, log)
		secs := time.Since(start).Seconds()
		db.Close()
		if err != nil {
			return fmt.Errorf("bench synth: %w", err)
		}
		res.SQLiteRows, res.SQLitePerS = *dbRows, float64(*dbRows)/secs
		say("load SQLite, %d rows: %.2fs, %.0f rows/s", *dbRows, secs, res.SQLitePerS)
	}
	path := filepath.Join(dir, "tx.csv")
	start := time.Now()
	cfg := synth.Config{Seed: 1, Rows: *rows, Workers: *workers}
	if err := synth.GenerateFile(ctx, cfg, "transactions", synth.CSV, path, nil); err != nil {
		return fmt.Errorf("bench synth: %w", err)
	}
	res.CSVSeconds = time.Since(start).Seconds()
	res.CSVPerS = float64(*rows) / res.CSVSeconds
	if st, err := os.Stat(path); err == nil {
		res.CSVMB = float64(st.Size()) / 1e6
	}
	os.Remove(path)
	say("write CSV, %d workers: %.2fs, %.0f rows/s, %.0f MB", *workers, res.CSVSeconds, res.CSVPerS, res.CSVMB)
	path = filepath.Join(dir, "tx.parquet")
	start = time.Now()
	if err := synth.GenerateFile(ctx, cfg, "transactions", synth.Parquet, path, nil); err != nil {
		return fmt.Errorf("bench synth: %w", err)
	}
	secs := time.Since(start).Seconds()
	res.ParquetPerS = float64(*rows) / secs
	if st, err := os.Stat(path); err == nil {
		res.ParquetMB = float64(st.Size()) / 1e6
	}
	os.Remove(path)
	say("write Parquet, %d workers: %.2fs, %.0f rows/s, %.0f MB", *workers, secs, res.ParquetPerS, res.ParquetMB)
	res.PeakHeapMB = peak() / 1e6 // the detector below holds its rows; it is not part of a streaming job
	res.PeakRSSMB = peakRSS() / 1e6

	start = time.Now()
	dcfg := synth.Config{Seed: 1, Rows: *detRows, Workers: *workers}
	txs, err := synth.Transactions(dcfg)
	if err != nil {
		return fmt.Errorf("bench synth: %w", err)
	}
	for i := range txs {
		if txs[i].IsFraud() {
			res.FraudRate++
		}
	}
	res.FraudRate /= float64(len(txs))
	rep, err := detect.Evaluate(txs, detect.Options{})
	if err != nil {
		return fmt.Errorf("bench synth: %w", err)
	}
	gbt, err := detect.Evaluate(txs, detect.Options{Model: "gbt"})
	if err != nil {
		return fmt.Errorf("bench synth: %w", err)
	}
	res.GBTROCAUC, res.GBTPRAUC, res.GBTTrainS, res.GBTTrees = gbt.ROCAUC, gbt.PRAUC, gbt.TrainSeconds, len(gbt.Fitted.GBT.Trees)
	q, err := quality.Transactions(dcfg, txs)
	if err != nil {
		return fmt.Errorf("bench synth: %w", err)
	}
	res.DetectorRows, res.ROCAUC, res.PRAUC, res.Quality = len(txs), rep.ROCAUC, rep.PRAUC, q.Score
	res.DetectSeconds = time.Since(start).Seconds()
	say("detector on %d rows (%.2f%% fraud): logistic ROC-AUC %.3f, PR-AUC %.3f; GBT ROC-AUC %.3f, PR-AUC %.3f (%d trees, trained in %.2fs); quality %.3f (%.1fs)",
		len(txs), res.FraudRate*100, res.ROCAUC, res.PRAUC, res.GBTROCAUC, res.GBTPRAUC, res.GBTTrees, res.GBTTrainS, res.Quality, res.DetectSeconds)
	say("peak heap during generation %.0f MB, peak RSS %.0f MB", res.PeakHeapMB, res.PeakRSSMB)
	switch perS, err := fakerJSPerS(ctx, min(*rows, 200_000)); {
	case err != nil:
		say("@faker-js/faker not measured: %v", err)
	default:
		ratio := res.Gen1PerS / perS
		res.FakerJSPerS, res.FakerJSRatio = &perS, &ratio
		say("@faker-js/faker, the same record on one core: %.0f rows/s; ours on one worker is %.1fx", perS, ratio)
	}
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}

// fakeTransaction is the transaction record built with gofakeit, field for
// field the columns of synth's transactions.
type fakeTransaction struct {
	ID, CustomerID, AccountID, CardID, MerchantID, DeviceID int
	Time                                                    time.Time
	Category, Channel, City, FraudType                      string
	Amount, Lat, Lon                                        float64
	IsFraud                                                 bool
}

// gofakeitRecords builds n records with f into a reused chunk-sized buffer
// (as StreamTransactions reuses its chunks) and returns the wall seconds it
// took and the cores it used on average.
func gofakeitRecords(f *gofakeit.Faker, n int) (float64, float64) {
	cats := []string{"grocery", "restaurant", "fuel", "retail", "electronics", "travel", "transport", "digital"}
	chans := []string{"pos", "online", "transfer", "atm"}
	types := []string{"", "account_takeover", "card_testing", "velocity_burst"}
	from := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 90)
	buf := make([]fakeTransaction, synth.ChunkRows)
	cpu0 := cpuSeconds()
	start := time.Now()
	for i := 0; i < n; i++ {
		buf[i%len(buf)] = fakeTransaction{
			ID: i + 1, CustomerID: f.IntRange(1, 150_000), AccountID: f.IntRange(10, 1_500_000),
			CardID: f.IntRange(100, 15_000_000), MerchantID: f.IntRange(1, 20_000), DeviceID: f.IntRange(1, 1<<40),
			Time: f.DateRange(from, to), Category: f.RandomString(cats), Channel: f.RandomString(chans),
			City: f.City(), FraudType: f.RandomString(types), Amount: f.Price(0.5, 2000),
			Lat: f.Latitude(), Lon: f.Longitude(), IsFraud: f.Float64() < 0.015,
		}
	}
	wall := time.Since(start).Seconds()
	return wall, (cpuSeconds() - cpu0) / wall
}

// cpuSeconds returns the CPU time (user and system) this process has used,
// from /proc/self/stat on Linux; 0 elsewhere. Linux counts it in ticks of
// 1/100 s.
func cpuSeconds() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count fields after it.
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return 0
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}

// peakRSS returns the process's peak resident set size in bytes (Linux;
// 0 elsewhere).
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}
