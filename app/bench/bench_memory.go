package bench

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/memory"
)

// MemoryBenchResult is what `metastation bench memory --json` prints last:
// the measuring function's figures in issue 13's keys, and the load the
// machine was under while they were taken.
type MemoryBenchResult struct {
	memory.BenchResult
	Load1mStart float64 `json:"load_1m_start,omitempty"` // /proc/loadavg when the run began
	Load1mEnd   float64 `json:"load_1m_end,omitempty"`
	CPUs        int     `json:"cpus"`
	WallS       float64 `json:"wall_s"`
}

// The targets of issue 13 the run is held against.
const (
	memoryTargetInsertPerS = 50_000
	memoryTargetQueryP99ms = 20
	memoryTargetRecall     = 0.95
	memoryTargetPlanted    = 0.9
)

// runBenchMemory is `metastation bench memory [--json]`: embedding,
// inserts into SQLite with embeddings, hybrid search latency at 100,000
// memories with exact vectors, served against exact recall@10,
// consolidation, and the planted-fact recall@10 of the three modes. Each
// figure is measured in this run (memory.RunBench).
func runBenchMemory(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench memory", env.Stderr)
	n := fs.Int("memories", 100_000, "memories to insert and search")
	queries := fs.Int("queries", 500, "timed searches (each in hybrid, vector and lexical mode)")
	seed := fs.Uint64("seed", 1, "seed of the generated memories")
	dir := fs.String("dir", "", "directory for the benchmark's databases (default: a temporary one, removed after)")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *n < 1000 || *n > 2_000_000 {
		return command.Usagef("bench memory: --memories must be between 1000 and 2000000, not %d", *n)
	}
	if *queries < 10 || *queries > 100_000 {
		return command.Usagef("bench memory: --queries must be between 10 and 100000, not %d", *queries)
	}
	if *seed == 0 {
		return command.Usagef("bench memory: --seed must be 1 or more")
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "metastation-bench-memory-")
		if err != nil {
			return fmt.Errorf("bench memory: %w", err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	emb, err := memory.NewEmbedder()
	if err != nil {
		return fmt.Errorf("bench memory: %w", err)
	}

	// One bar over the run's phases, each phase's share of its own work.
	phases := []string{"embed", "insert", "search", "recall", "consolidate", "planted", "done"}
	bar := progressbar.NewOptions(len(phases)*100, progressbar.OptionSetWriter(env.Stderr),
		progressbar.OptionSetDescription("memory"), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	progress := func(phase string, done float64) {
		for i, p := range phases {
			if p == phase {
				bar.Describe(phase)
				_ = bar.Set(i*100 + int(100*min(max(done, 0), 1)))
			}
		}
	}
	res := MemoryBenchResult{Load1mStart: loadAvg1(), CPUs: runtime.NumCPU()}
	start := time.Now()
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	br, err := memory.RunBench(ctx, memory.BenchConfig{Dir: *dir, Migrations: env.Assets.Migrations, Memories: *n, Queries: *queries,
		Seed: *seed, Progress: progress, CPU: func() time.Duration { return time.Duration(cpuSeconds() * float64(time.Second)) }}, emb, log)
	_ = bar.Finish()
	if err != nil {
		return fmt.Errorf("bench memory: %w", err)
	}
	res.BenchResult = br
	res.WallS = math.Round(time.Since(start).Seconds()*1000) / 1000
	res.Load1mEnd = loadAvg1()

	say := func(format string, a ...any) { fmt.Fprintf(env.Stdout, format+"\n", a...) }
	mark := func(ok bool) string {
		if ok {
			return "meets"
		}
		return "MISSES"
	}
	say("memory: %d memories, %d-dim sentence vectors, %d CPUs, load %.1f at the start and %.1f at the end", br.Memories, br.Dims, res.CPUs, res.Load1mStart, res.Load1mEnd)
	say("embed:        %.0f sentences/s on one goroutine", br.EmbedPerS)
	say("insert:       %.0f memories/s with embeddings into SQLite, batches of 256 until committed (%s the target of %d); %.0f per CPU second; one at a time %.0f/s",
		br.InsertPerS, mark(br.InsertPerS >= memoryTargetInsertPerS), memoryTargetInsertPerS, br.InsertPerCPUS, br.InsertSinglePerS)
	say("search:       hybrid p50 %.2f ms, p99 %.2f ms over %d queries (%s the p99 target of %d ms); %.2f ms CPU each; vector scan alone p50 %.2f ms, BM25 alone p50 %.2f ms",
		br.QueryP50ms, br.QueryP99ms, br.Queries, mark(br.QueryP99ms <= memoryTargetQueryP99ms), memoryTargetQueryP99ms, br.QueryCPUms, br.VectorP50ms, br.LexicalP50ms)
	say("exactness:    served vector search holds %.4f of the exact float64 top 10 (%s %.2f)", br.RecallAt10VsExact, mark(br.RecallAt10VsExact >= memoryTargetRecall), memoryTargetRecall)
	say("consolidate:  %.0f memories examined/s, %d merged", br.ConsolidatePerS, br.ConsolidationMerged)
	say("planted:      %d facts among %d events, paraphrased queries sharing no content word: recall@10 hybrid %.2f, lexical %.2f, vector %.2f; hybrid after consolidation %.2f (%s %.1f)",
		br.PlantedFacts, br.PlantedEvents, br.PlantedHybrid, br.PlantedLexical, br.PlantedVector, br.PlantedHybridAfter,
		mark(br.PlantedHybrid >= memoryTargetPlanted && br.PlantedHybridAfter >= memoryTargetPlanted), memoryTargetPlanted)
	say("database:     %.1f MB at %d memories; run took %.1f s", float64(br.DBBytes)/1e6, br.Memories, res.WallS)
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}

// loadAvg1 is the one-minute load average (Linux), 0 where unknown.
func loadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	x, _ := strconv.ParseFloat(f[0], 64)
	return x
}
