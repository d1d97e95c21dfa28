package memory

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/metastation/metastation/app/memory/wordvec"
	"github.com/metastation/metastation/app/store"
)

// BenchConfig sets up `metastation bench memory`.
type BenchConfig struct {
	Dir        string // a directory for the benchmark's database (removed after)
	Migrations fs.FS
	Memories   int    // default 100,000
	Queries    int    // timed hybrid searches; default 500
	Seed       uint64 // default 1
	// Progress, when set, is told each phase and its share done (0..1).
	Progress func(phase string, done float64)
	// CPU, when set, returns the process's CPU time so far (user and
	// system): the figures per CPU-second say what the code costs when
	// other programs share the machine.
	CPU func() time.Duration
}

// BenchResult is what the benchmark measured, in the JSON keys of issue 13.
type BenchResult struct {
	Memories            int     `json:"memories"`
	Dims                int     `json:"dims"`
	EmbedPerS           float64 `json:"embed_per_s"`                // sentences/s on one goroutine
	InsertPerS          float64 `json:"insert_per_s"`               // WriteBatch of benchBatch through the batching writer until committed, embedding included
	InsertSinglePerS    float64 `json:"insert_single_per_s"`        // one Write per memory
	InsertPerCPUS       float64 `json:"insert_per_cpu_s,omitempty"` // WriteBatch inserts per second of the process's CPU time (writer goroutine included)
	QueryCPUms          float64 `json:"query_cpu_ms,omitempty"`     // mean CPU time of one hybrid search
	QueryP50ms          float64 `json:"query_p50_ms"`               // hybrid search at Memories
	QueryP99ms          float64 `json:"query_p99_ms"`
	VectorP50ms         float64 `json:"vector_p50_ms"`  // the exact cosine scan alone
	LexicalP50ms        float64 `json:"lexical_p50_ms"` // the BM25 part alone
	Queries             int     `json:"queries"`
	RecallAt10VsExact   float64 `json:"recall_at_10_vs_exact"` // served vector top 10 against float64 brute force over the stored vectors
	ConsolidatePerS     float64 `json:"consolidate_per_s"`     // memories examined per second by a pass
	ConsolidationMerged int     `json:"consolidation_merged"`
	PlantedFacts        int     `json:"planted_facts"`
	PlantedEvents       int     `json:"planted_events"`
	PlantedHybrid       float64 `json:"planted_recall_at_10_hybrid"`
	PlantedLexical      float64 `json:"planted_recall_at_10_lexical"`
	PlantedVector       float64 `json:"planted_recall_at_10_vector"`
	PlantedHybridAfter  float64 `json:"planted_recall_at_10_hybrid_after_consolidation"`
	DBBytes             int64   `json:"db_bytes"`
}

// benchBatch is the batch the insert figure writes with.
const benchBatch = 256

// RunBench measures the memory on this machine: embedding, inserts, search
// latency at cfg.Memories, served against exact vector recall,
// consolidation, and the planted-fact recall of the three modes.
func RunBench(ctx context.Context, cfg BenchConfig, emb *wordvec.Embedder, log *slog.Logger) (BenchResult, error) {
	if cfg.Memories <= 0 {
		cfg.Memories = 100_000
	}
	if cfg.Queries <= 0 {
		cfg.Queries = 500
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string, float64) {}
	}
	res := BenchResult{Memories: cfg.Memories, Dims: emb.Dims(), Queries: cfg.Queries}
	evs := SeededEvents(cfg.Seed, cfg.Memories, simDay0().Add(9*time.Hour), 14*24*time.Hour)

	// Embedding alone.
	progress("embed", 0)
	vec := make([]float32, emb.Dims())
	n := min(len(evs), 20_000)
	t0 := time.Now()
	for _, m := range evs[:n] {
		emb.Embed(m.Text, vec)
	}
	res.EmbedPerS = math.Round(float64(n) / time.Since(t0).Seconds())

	env, err := openBenchStore(ctx, filepath.Join(cfg.Dir, "bench-memory.db"), cfg.Migrations, emb, log)
	if err != nil {
		return res, err
	}
	defer env.close()
	st := env.st

	// Inserts, until the last is committed: the first tenth one Write at a
	// time, the rest through WriteBatch.
	single := len(evs) / 10
	t0 = time.Now()
	for _, m := range evs[:single] {
		if _, err := st.Write(ctx, m); err != nil {
			return res, err
		}
	}
	if err := st.Flush(ctx); err != nil {
		return res, err
	}
	res.InsertSinglePerS = math.Round(float64(single) / time.Since(t0).Seconds())
	cpu := cfg.CPU
	if cpu == nil {
		cpu = func() time.Duration { return 0 }
	}
	t0, c0 := time.Now(), cpu()
	for i := single; i < len(evs); i += benchBatch {
		if _, err := st.WriteBatch(ctx, evs[i:min(i+benchBatch, len(evs))]); err != nil {
			return res, err
		}
		progress("insert", float64(i)/float64(len(evs)))
	}
	if err := st.Flush(ctx); err != nil {
		return res, err
	}
	res.InsertPerS = math.Round(float64(len(evs)-single) / time.Since(t0).Seconds())
	if c := cpu() - c0; c > 0 {
		res.InsertPerCPUS = math.Round(float64(len(evs)-single) / c.Seconds())
	}

	// Search latency over queries unlike and like the stored texts.
	pairs, err := PlantedSet()
	if err != nil {
		return res, err
	}
	queries := make([]string, cfg.Queries)
	for i := range queries {
		if i%2 == 0 {
			queries[i] = pairs[i/2%len(pairs)].Query
		} else {
			queries[i] = evs[(i*7919)%len(evs)].Text
		}
	}
	var hybrid, vector, lex []time.Duration
	var hybridCPU time.Duration
	for i, q := range queries {
		for _, mode := range []Mode{Hybrid, Vector, Lexical} {
			t, c := time.Now(), cpu()
			if _, err := st.Search(ctx, Query{Text: q, Mode: mode}); err != nil {
				return res, err
			}
			d := time.Since(t)
			switch mode {
			case Hybrid:
				hybrid = append(hybrid, d)
				hybridCPU += cpu() - c
			case Vector:
				vector = append(vector, d)
			default:
				lex = append(lex, d)
			}
		}
		if i%20 == 0 {
			progress("search", float64(i)/float64(len(queries)))
		}
	}
	res.QueryP50ms, res.QueryP99ms = quantileMS(hybrid, 0.5), quantileMS(hybrid, 0.99)
	res.VectorP50ms, res.LexicalP50ms = quantileMS(vector, 0.5), quantileMS(lex, 0.5)
	res.QueryCPUms = math.Round(float64(hybridCPU)/float64(len(hybrid))/1e3) / 1e3

	// Served vector search against exact float64 search over the vectors
	// as stored in the database.
	progress("recall", 0)
	if res.RecallAt10VsExact, err = recallVsExact(ctx, st, queries[:min(200, len(queries))]); err != nil {
		return res, err
	}

	progress("consolidate", 0)
	rep, err := st.Consolidate(ctx)
	if err != nil {
		return res, err
	}
	res.ConsolidatePerS = math.Round(float64(rep.Examined) / rep.Took.Seconds())
	res.ConsolidationMerged = rep.Merged
	if fi, err := os.Stat(env.db.Path); err == nil {
		res.DBBytes = fi.Size()
	}
	env.close()

	progress("planted", 0)
	penv, err := openBenchStore(ctx, filepath.Join(cfg.Dir, "bench-planted.db"), cfg.Migrations, emb, log)
	if err != nil {
		return res, err
	}
	defer penv.close()
	pr, err := EvaluatePlanted(ctx, penv.st, 13, 10_000)
	if err != nil {
		return res, err
	}
	res.PlantedFacts, res.PlantedEvents = pr.Facts, pr.Events
	res.PlantedHybrid, res.PlantedLexical, res.PlantedVector, res.PlantedHybridAfter = pr.Hybrid, pr.Lexical, pr.Vector, pr.HybridAfter
	progress("done", 1)
	return res, nil
}

type benchStore struct {
	db     *store.DB
	w      *store.Writer
	st     *Store
	closed bool
}

func openBenchStore(ctx context.Context, path string, migrations fs.FS, emb *wordvec.Embedder, log *slog.Logger) (*benchStore, error) {
	db, err := store.Open(ctx, path, migrations)
	if err != nil {
		return nil, err
	}
	w := store.NewWriter(db, store.WriterOptions{}, log)
	st, err := Open(ctx, Config{}, db, w, emb, log)
	if err != nil {
		w.Close()
		db.Close()
		return nil, err
	}
	return &benchStore{db: db, w: w, st: st}, nil
}

func (b *benchStore) close() {
	if b.closed {
		return
	}
	b.closed = true
	b.w.Close()
	b.db.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(b.db.Path + suffix)
	}
}

// recallVsExact is the share of the exact top 10 (float64 cosine over every
// active stored vector, read back from the database) that the served vector
// search returns.
func recallVsExact(ctx context.Context, st *Store, queries []string) (float64, error) {
	type row struct {
		id  int64
		vec []float32
	}
	var rows []row
	err := loadMemories(ctx, st.db.R, func(m Memory, vec []float32) error {
		if m.Status == Active {
			rows = append(rows, row{m.ID, vec})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	q := make([]float32, st.emb.Dims())
	hits, total := 0, 0
	for _, text := range queries {
		if !st.emb.Embed(text, q) {
			continue
		}
		type scored struct {
			id  int64
			cos float64
		}
		all := make([]scored, len(rows))
		for i, r := range rows {
			var dot, nr float64
			for d, x := range r.vec {
				dot += float64(q[d]) * float64(x)
				nr += float64(x) * float64(x)
			}
			all[i] = scored{r.id, dot / math.Sqrt(max(nr, 1e-30))}
		}
		slices.SortFunc(all, func(a, b scored) int { return cmp.Or(cmp.Compare(b.cos, a.cos), cmp.Compare(a.id, b.id)) })
		exact := all[:min(10, len(all))]
		// Equal cosines are common (seeded texts that differ only in
		// their numbers embed alike), so a served memory whose exact
		// cosine ties the tenth counts: which of equals is returned is
		// not a search error.
		kth := all[min(10, len(all))-1].cos
		cosOf := map[int64]float64{}
		for _, s := range all {
			if s.cos < kth-1e-6 {
				break
			}
			cosOf[s.id] = s.cos
		}
		served, err := st.Search(ctx, Query{Text: text, Mode: Vector, Limit: 10, Weights: Weights{Relevance: 1}})
		if err != nil {
			return 0, err
		}
		// Served order is by score; the set is what recall compares.
		for _, r := range served {
			if _, ok := cosOf[r.Memory.ID]; ok {
				hits++
			}
		}
		total += len(exact)
	}
	if total == 0 {
		return 0, fmt.Errorf("no query had a vector")
	}
	return math.Round(float64(hits)/float64(total)*1e4) / 1e4, nil
}

func quantileMS(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	d := s[int(q*float64(len(s)-1))]
	return math.Round(float64(d)/1e3) / 1e3
}
