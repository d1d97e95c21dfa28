package research

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/memory/wordvec"
	"github.com/metastation/metastation/app/store"
)

// BenchConfig sets up `metastation bench research`.
type BenchConfig struct {
	Dir          string // scratch directory for the corpus files and the database
	Migrations   fs.FS
	NoiseSeeds   int // default 20
	PlantedSeeds int // default 5
	CorpusSeeds  int // default 5
	Progress     func(phase string, done float64)
}

// BenchResult is what the benchmark measured, in issue 17's JSON keys and
// a few more.
type BenchResult struct {
	Papers              int     `json:"papers"`
	PapersPerS          float64 `json:"papers_per_s"` // files read, parsed and written into memory (embedded, committed)
	Backtests           int     `json:"backtests"`
	BacktestsPerS       float64 `json:"backtests_per_s"` // one rule on one path of ten years of daily returns of a set's instruments
	GapAUC              float64 `json:"gap_auc"`         // time-split AUC of the gap score, mean over corpus seeds
	GapAUCMin           float64 `json:"gap_auc_min"`
	GapAUCAdamicAdar    float64 `json:"gap_auc_adamic_adar"`
	PlantedGapWorstRank int     `json:"planted_gap_worst_rank"`
	NoiseSeeds          int     `json:"noise_seeds"`
	NoiseDiscoveriesBH  float64 `json:"noise_discoveries_bh_mean"` // of 100 noise hypotheses, at q = 0.10
	NoiseHolmCleanShare float64 `json:"noise_holm_clean_share"`    // seeds where Holm found nothing
	PlantedSeeds        int     `json:"planted_seeds"`
	PlantedRecall       float64 `json:"planted_recall"` // planted effects found by BH among 108 hypotheses, over seeds
	PipelineS           float64 `json:"pipeline_s"`     // one full run of the five agents on the built-in corpus
}

// RunBench measures the research subsystem on this machine.
func RunBench(ctx context.Context, cfg BenchConfig, emb *wordvec.Embedder, log *slog.Logger) (BenchResult, error) {
	if cfg.NoiseSeeds <= 0 {
		cfg.NoiseSeeds = 20
	}
	if cfg.PlantedSeeds <= 0 {
		cfg.PlantedSeeds = 5
	}
	if cfg.CorpusSeeds <= 0 {
		cfg.CorpusSeeds = 5
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string, float64) {}
	}
	var r BenchResult

	// Papers: write the built-in corpus as Markdown files, then read them
	// and put them into memory, as `research ingest` does.
	progress("papers", 0)
	corpusDir := filepath.Join(cfg.Dir, "corpus")
	if err := os.MkdirAll(corpusDir, 0o755); err != nil {
		return r, fmt.Errorf("bench research: %w", err)
	}
	for _, p := range SyntheticCorpus(CorpusConfig{Seed: 1}) {
		body := fmt.Sprintf("---\ntitle: %s\ndate: %s\n---\n\n# %s\n\n%s\n", p.Title, p.Date.Format("2006-01-02"), p.Title, p.Text)
		if err := os.WriteFile(filepath.Join(corpusDir, filepath.Base(p.Key)+".md"), []byte(body), 0o644); err != nil {
			return r, fmt.Errorf("bench research: %w", err)
		}
	}
	db, err := store.Open(ctx, filepath.Join(cfg.Dir, store.FileName), cfg.Migrations)
	if err != nil {
		return r, fmt.Errorf("bench research: %w", err)
	}
	defer db.Close()
	w := store.NewWriter(db, store.WriterOptions{}, log)
	defer w.Close()
	mem, err := memory.Open(ctx, memory.Config{}, db, w, emb, log)
	if err != nil {
		return r, fmt.Errorf("bench research: %w", err)
	}
	rs := &Researcher{Mem: mem, DB: db, W: w, Log: log}
	t0 := time.Now()
	papers, _, err := ReadDir(ctx, corpusDir)
	if err != nil {
		return r, err
	}
	if err := rs.remember(ctx, papers, func(int) {}); err != nil {
		return r, err
	}
	if err := w.Flush(ctx); err != nil {
		return r, err
	}
	r.Papers, r.PapersPerS = len(papers), round(float64(len(papers))/time.Since(t0).Seconds(), 1)

	// Gaps: the time split on several corpus seeds.
	progress("gaps", 0.1)
	r.GapAUCMin = math.Inf(1)
	var aa float64
	for seed := uint64(1); seed <= uint64(cfg.CorpusSeeds); seed++ {
		ps := SyntheticCorpus(CorpusConfig{Seed: seed})
		cs := Extract(ps, emb, ExtractConfig{})
		vecs := conceptVectors(cs, emb)
		v := Validate(ps, cs, vecs, 2017)
		r.GapAUC += v.AUC / float64(cfg.CorpusSeeds)
		aa += v.AUCAdamic / float64(cfg.CorpusSeeds)
		r.GapAUCMin = math.Min(r.GapAUCMin, v.AUC)
		gaps := Gaps(BuildGraph(ps, len(cs), math.MaxInt), cs, vecs)
		r.PlantedGapWorstRank = max(r.PlantedGapWorstRank, plantedRank(gaps, cs))
	}
	r.GapAUC, r.GapAUCMin, r.GapAUCAdamicAdar = round(r.GapAUC, 3), round(r.GapAUCMin, 3), round(aa, 3)

	// Backtests: the 108 grid hypotheses on the default plan.
	progress("backtests", 0.2)
	lab, err := NewLab(ctx, DefaultPlan(PlantedEffects, nil))
	if err != nil {
		return r, err
	}
	t0 = time.Now()
	for i, h := range GridHypotheses() {
		if _, err := lab.Test(ctx, i+1, h); err != nil {
			return r, err
		}
	}
	r.Backtests, r.BacktestsPerS = lab.Backtests(), round(float64(lab.Backtests())/time.Since(t0).Seconds(), 1)

	// Noise and planted effects over seeds.
	var bh, clean int
	for seed := uint64(1); seed <= uint64(cfg.NoiseSeeds); seed++ {
		progress("noise", 0.3+0.4*float64(seed-1)/float64(cfg.NoiseSeeds))
		nr, err := NoiseTrial(ctx, seed, 100)
		if err != nil {
			return r, err
		}
		bh += nr.BH
		if nr.Holm == 0 {
			clean++
		}
	}
	r.NoiseSeeds, r.NoiseDiscoveriesBH, r.NoiseHolmCleanShare = cfg.NoiseSeeds, round(float64(bh)/float64(cfg.NoiseSeeds), 3), round(float64(clean)/float64(cfg.NoiseSeeds), 3)
	var found, total int
	for seed := uint64(1); seed <= uint64(cfg.PlantedSeeds); seed++ {
		progress("planted", 0.7+0.2*float64(seed-1)/float64(cfg.PlantedSeeds))
		pr, err := PlantedTrial(ctx, seed)
		if err != nil {
			return r, err
		}
		for _, f := range pr.Found {
			total++
			if f {
				found++
			}
		}
	}
	r.PlantedSeeds, r.PlantedRecall = cfg.PlantedSeeds, round(float64(found)/float64(total), 3)

	// One whole run of the agents.
	progress("pipeline", 0.9)
	t0 = time.Now()
	if _, err := rs.Run(ctx, RunConfig{Seed: 1}, Report{}); err != nil {
		return r, err
	}
	r.PipelineS = round(time.Since(t0).Seconds(), 2)
	progress("done", 1)
	return r, nil
}

// plantedRank is the rank of the planted gap among gaps (0: absent).
func plantedRank(gaps []Gap, cs []Concept) int {
	a, c := -1, -1
	for _, x := range cs {
		for _, f := range x.Forms {
			switch f {
			case normForm(PlantedA):
				a = x.ID
			case normForm(PlantedC):
				c = x.ID
			}
		}
	}
	for _, g := range gaps {
		if (g.A == a && g.C == c) || (g.A == c && g.C == a) {
			return g.Rank
		}
	}
	return 0
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
