package market

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/metastation/metastation/app/stats"
)

// The crash study runs the scripted flash crash and a calm twin on the same
// seed (the twin's script forces calm all day and has no shock; up to the
// crash both markets are the same draw for draw) and measures what a trader
// would see on one instrument: the traded price, the spread and the depth
// of the book, second by second.

// CrashScript is the flash crash of the study and of the /market page's
// button, as a script for a simulation that starts at DefaultStart.
const CrashScript = "calm; 10:30 black_swan shock=-6; 10:40 crisis; 11:30 volatile; 13:00 calm"

// calmScript is the twin: calm all day, no shock.
const calmScript = "calm"

// The study's windows, as clock times on the first day: before the crash,
// its first ten minutes, and the half hour after.
var (
	crashAt    = 60 * time.Minute // 10:30 from the 09:30 start
	preFrom    = crashAt - 10*time.Minute
	crashUntil = crashAt + 10*time.Minute
	studyEnd   = crashAt + 30*time.Minute
)

// CrashStudyConfig sets up a crash study.
type CrashStudyConfig struct {
	Preset string   // universe preset; default "equity"
	Symbol string   // the instrument measured; default the preset's first
	Agents int      // background agents; default 2,000
	Seeds  []uint64 // default 1..5
}

// CrashRun is one simulated morning, summarised. Prices are relative to the
// last trade before the crash (10:30); spreads in basis points of the mid;
// depths in lots.
type CrashRun struct {
	Seed  uint64 `json:"seed"`
	Crash bool   `json:"crash"` // false: the calm twin
	// Medians over the ten minutes before 10:30 and the ten minutes after.
	SpreadPre   float64 `json:"spread_pre_bps"`
	SpreadCrash float64 `json:"spread_crash_bps"`
	TouchPre    float64 `json:"touch_pre_lots"` // best bid size + best ask size
	TouchCrash  float64 `json:"touch_crash_lots"`
	DepthPre    float64 `json:"depth_pre_lots"` // lots resting within 1 % of the mid
	DepthCrash  float64 `json:"depth_crash_lots"`
	// The traded price path.
	At5      float64 `json:"at_5m"`       // last trade at 10:35, minus 1
	Low      float64 `json:"low"`         // lowest trade from 10:30 to 11:00, minus 1
	LowAfter float64 `json:"low_after_s"` // seconds from 10:30 to that low
	At30     float64 `json:"at_30m"`      // last trade at 11:00, minus 1
	Rebound  float64 `json:"rebound"`     // At30 - Low: how much of the fall 11:00 made good
	Latent30 float64 `json:"latent_30m"`  // the fundamental at 11:00, minus 1
	// Path is the last trade each minute from 10:20 to 11:00, relative.
	Path []float64 `json:"path"`
}

// CrashSummary is the mean and 95 % interval half-width of one figure over
// the seeds, for the crash and for the calm twin.
type CrashSummary struct {
	Name      string  `json:"name"`
	Crash     float64 `json:"crash"`
	CrashHalf float64 `json:"crash_ci95"`
	Calm      float64 `json:"calm"`
	CalmHalf  float64 `json:"calm_ci95"`
}

// CrashStudy is what RunCrashStudy measured.
type CrashStudy struct {
	Symbol  string         `json:"symbol"`
	Agents  int            `json:"agents"`
	Seeds   []uint64       `json:"seeds"`
	Runs    []CrashRun     `json:"runs"`
	Summary []CrashSummary `json:"summary"`
}

// RunCrashStudy runs the crash and its calm twin on every seed.
func RunCrashStudy(ctx context.Context, cfg CrashStudyConfig) (CrashStudy, error) {
	if cfg.Preset == "" {
		cfg.Preset = "equity"
	}
	if cfg.Agents == 0 {
		cfg.Agents = 2000
	}
	if len(cfg.Seeds) == 0 {
		cfg.Seeds = []uint64{1, 2, 3, 4, 5}
	}
	u, err := Preset(cfg.Preset)
	if err != nil {
		return CrashStudy{}, err
	}
	if cfg.Symbol == "" {
		cfg.Symbol = u.Instruments[0].Symbol
	}
	idx := u.Index(cfg.Symbol)
	if idx < 0 {
		return CrashStudy{}, fmt.Errorf("no instrument %q in the %s preset", cfg.Symbol, cfg.Preset)
	}
	out := CrashStudy{Symbol: cfg.Symbol, Agents: cfg.Agents, Seeds: cfg.Seeds}
	for _, seed := range cfg.Seeds {
		for _, crash := range []bool{true, false} {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			text := calmScript
			if crash {
				text = CrashScript
			}
			sc, err := ParseScript(text, DefaultStart)
			if err != nil {
				return out, err
			}
			sim, err := NewSim(SimConfig{Universe: u, Seed: seed, Agents: cfg.Agents, Script: sc})
			if err != nil {
				return out, err
			}
			sim.KeepEvents(false)
			r := measureCrash(sim, idx)
			r.Seed, r.Crash = seed, crash
			out.Runs = append(out.Runs, r)
		}
	}
	out.Summary = summarise(out.Runs)
	return out, nil
}

// measureCrash steps sim from its start to 11:00 and summarises instrument
// i's book and trades.
func measureCrash(s *Sim, i int) CrashRun {
	var r CrashRun
	var spreadPre, spreadCrash, touchPre, touchCrash, depthPre, depthCrash []float64
	var p0, low float64
	lowAt := time.Duration(0)
	steps := int(studyEnd / s.StepSize())
	for k := 1; k <= steps; k++ {
		s.Step()
		at := time.Duration(k) * s.StepSize()
		q := s.Quote(i)
		if at == crashAt-s.StepSize() { // the last step before the script's crash step
			p0, low = q.Last, q.Last
		}
		if at >= preFrom && at%time.Minute == 0 {
			r.Path = append(r.Path, q.Last) // made relative to p0 below
		}
		if at >= preFrom && at < crashUntil {
			spread, touch, depth := bookShape(s, i)
			if at < crashAt {
				spreadPre, touchPre, depthPre = append(spreadPre, spread), append(touchPre, touch), append(depthPre, depth)
			} else {
				spreadCrash, touchCrash, depthCrash = append(spreadCrash, spread), append(touchCrash, touch), append(depthCrash, depth)
			}
		}
		if at >= crashAt && q.Last < low {
			low, lowAt = q.Last, at-crashAt
		}
		if at == crashAt+5*time.Minute {
			r.At5 = q.Last/p0 - 1
		}
		if at == studyEnd {
			r.At30 = q.Last/p0 - 1
			r.Latent30 = q.Latent/p0 - 1
		}
	}
	for k := range r.Path {
		r.Path[k] = r.Path[k]/p0 - 1
	}
	r.SpreadPre, r.SpreadCrash = median(spreadPre), median(spreadCrash)
	r.TouchPre, r.TouchCrash = median(touchPre), median(touchCrash)
	r.DepthPre, r.DepthCrash = median(depthPre), median(depthCrash)
	r.Low, r.LowAfter = low/p0-1, lowAt.Seconds()
	r.Rebound = r.At30 - r.Low
	return r
}

// bookShape is instrument i's spread in basis points of the mid (a missing
// side counts as 1,000 bps: there is no price to trade at), the lots at the
// best bid and ask, and the lots resting within 1 % of the mid.
func bookShape(s *Sim, i int) (spread, touch, depth float64) {
	q := s.books[i].Top()
	touch = float64(q.BidQty + q.AskQty)
	if q.BidQty == 0 || q.AskQty == 0 {
		spread = 1000
	} else {
		mid := float64(q.Bid+q.Ask) / 2
		spread = 1e4 * float64(q.Ask-q.Bid) / mid
	}
	ref := float64(s.inst[i].ref)
	bids, asks := s.books[i].Depth(200)
	for _, l := range bids {
		if float64(l.Price) < 0.99*ref {
			break
		}
		depth += float64(l.Qty)
	}
	for _, l := range asks {
		if float64(l.Price) > 1.01*ref {
			break
		}
		depth += float64(l.Qty)
	}
	return spread, touch, depth
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	ys := slices.Clone(xs)
	slices.Sort(ys)
	n := len(ys)
	if n%2 == 1 {
		return ys[n/2]
	}
	return (ys[n/2-1] + ys[n/2]) / 2
}

// summarise takes the mean and interval of each figure over the seeds.
func summarise(runs []CrashRun) []CrashSummary {
	fields := []struct {
		name string
		get  func(CrashRun) float64
	}{
		{"spread before (bps)", func(r CrashRun) float64 { return r.SpreadPre }},
		{"spread 10:30-10:40 (bps)", func(r CrashRun) float64 { return r.SpreadCrash }},
		{"lots at the touch before", func(r CrashRun) float64 { return r.TouchPre }},
		{"lots at the touch 10:30-10:40", func(r CrashRun) float64 { return r.TouchCrash }},
		{"lots within 1% before", func(r CrashRun) float64 { return r.DepthPre }},
		{"lots within 1% 10:30-10:40", func(r CrashRun) float64 { return r.DepthCrash }},
		{"price at 10:35 (%)", func(r CrashRun) float64 { return 100 * r.At5 }},
		{"low 10:30-11:00 (%)", func(r CrashRun) float64 { return 100 * r.Low }},
		{"minutes to the low", func(r CrashRun) float64 { return r.LowAfter / 60 }},
		{"price at 11:00 (%)", func(r CrashRun) float64 { return 100 * r.At30 }},
		{"rebound from the low by 11:00 (pp)", func(r CrashRun) float64 { return 100 * r.Rebound }},
		{"fundamental at 11:00 (%)", func(r CrashRun) float64 { return 100 * r.Latent30 }},
	}
	var out []CrashSummary
	for _, f := range fields {
		var crash, calm []float64
		for _, r := range runs {
			if r.Crash {
				crash = append(crash, f.get(r))
			} else {
				calm = append(calm, f.get(r))
			}
		}
		s := CrashSummary{Name: f.name}
		s.Crash, s.CrashHalf = stats.MeanCI95(crash)
		s.Calm, s.CalmHalf = stats.MeanCI95(calm)
		out = append(out, s)
	}
	return out
}

// CrashTable formats a study as a Markdown table: each figure's mean and
// 95 % interval over the seeds, crash against calm twin.
func CrashTable(st CrashStudy) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s, %d agents, seeds %v | flash crash | calm twin |\n| --- | ---: | ---: |\n", st.Symbol, st.Agents, st.Seeds)
	for _, s := range st.Summary {
		fmt.Fprintf(&b, "| %s | %.2f ± %.2f | %.2f ± %.2f |\n", s.Name, s.Crash, s.CrashHalf, s.Calm, s.CalmHalf)
	}
	return b.String()
}
