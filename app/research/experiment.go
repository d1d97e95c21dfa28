package research

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/stat"
)

// Hypothesis is a testable market claim: trading Signal at Horizon on the
// instruments of Set, in Regime, earns a positive return after costs.
type Hypothesis struct {
	ID        int     `json:"id"`
	Signal    Signal  `json:"signal"`
	Set       Set     `json:"set"`
	Regime    Regime  `json:"regime"`
	Horizon   int     `json:"horizon"`
	Sign      float64 `json:"sign"` // +1: as the signal says
	Statement string  `json:"statement"`
	Novelty   float64 `json:"novelty"` // 1 − max cosine to any paper of the corpus
	// Where it came from: the gap's two concepts and their bridges, and the
	// memories (papers) that are its evidence.
	From      []string `json:"from,omitempty"`
	Bridges   []string `json:"bridges,omitempty"`
	GapScore  float64  `json:"gap_score,omitempty"`
	Papers    []int64  `json:"papers,omitempty"`
	NoiseSeed uint64   `json:"noise_seed,omitempty"` // the noise rule's coin (tests)
}

// Key identifies a hypothesis's market content.
func (h Hypothesis) Key() string {
	return fmt.Sprintf("%s/%s/%s/%d/%+.0f/%d", h.Signal, h.Set, h.Regime, h.Horizon, h.Sign, h.NoiseSeed)
}

// lookbacks is the grid a hypothesis's horizon is tuned over in sample:
// half, once and twice the horizon. Every point is a counted trial.
func lookbacks(h int) []int { return []int{max(2, h/2), h, 2 * h} }

// Plan fixes how experiments run: which simulator seeds select parameters
// (in sample) and which held-out seeds report (out of sample, later days
// only), how long each path is, the effects planted in the simulated world,
// and the real files.
type Plan struct {
	SelectSeeds  []uint64  `json:"select_seeds"`
	HoldoutSeeds []uint64  `json:"holdout_seeds"`
	Days         int       `json:"days"`
	Effects      []Effect  `json:"effects"`
	Real         []Dataset `json:"-"`
	CostFree     bool      `json:"cost_free,omitempty"` // tests of the statistics only: p-values uniform under the null
}

// DefaultPlan is the plan the app and the bench run: three seeds to select,
// four held out, ten simulated years each.
func DefaultPlan(effects []Effect, real []Dataset) Plan {
	return Plan{SelectSeeds: []uint64{1, 2, 3}, HoldoutSeeds: []uint64{101, 102, 103, 104}, Days: 2520, Effects: effects, Real: real}
}

// Trial is one backtest the run made, counted: its rule, its data and what
// it earned.
type Trial struct {
	ID         int         `json:"id"`
	Hypothesis int         `json:"hypothesis"`
	Phase      string      `json:"phase"` // "select" (in sample), "holdout" (held-out seeds, out of sample), "real"
	Rule       Rule        `json:"rule"`
	Data       []string    `json:"data"`  // dataset names
	Seeds      []uint64    `json:"seeds"` // simulator seeds, none for real data
	DataHash   string      `json:"data_hash"`
	From       int         `json:"from"` // first day of each path used
	Perf       Performance `json:"perf"`
	// Curve is the cumulative net log-return, sampled at up to curvePoints
	// days, for the memo's chart (held-out and real trials only).
	Curve []float64 `json:"curve,omitempty"`
	pnl   []float64
}

// curvePoints caps a trial's stored curve.
const curvePoints = 240

// curveOf samples the cumulative sum of pnl at up to curvePoints evenly
// spaced days (the last day always), rounded to 5 decimals.
func curveOf(pnl []float64) []float64 {
	if len(pnl) == 0 {
		return nil
	}
	step := max(1, (len(pnl)+curvePoints-1)/curvePoints)
	var out []float64
	var cum float64
	for i, x := range pnl {
		cum += x
		if (i+1)%step == 0 || i == len(pnl)-1 {
			out = append(out, math.Round(cum*1e5)/1e5)
		}
	}
	return out
}

// RealCheck is the chosen rule on one real file, out of sample.
type RealCheck struct {
	Trial int         `json:"trial"`
	File  string      `json:"file"`
	From  string      `json:"from"` // first out-of-sample date
	To    string      `json:"to"`
	Perf  Performance `json:"perf"`
}

// Experiment is everything the run learned about one hypothesis.
type Experiment struct {
	ID         int         `json:"id"`
	Hypothesis Hypothesis  `json:"hypothesis"`
	Chosen     Rule        `json:"chosen"`
	Select     []int       `json:"select_trials"`
	Holdout    int         `json:"holdout_trial"`
	Perf       Performance `json:"perf"` // held out
	Real       []RealCheck `json:"real,omitempty"`
	RealAgrees bool        `json:"real_agrees"`
	// Filled by Judge, across all experiments of the run.
	PBH       float64  `json:"p_bh"`
	PHolm     float64  `json:"p_holm"`
	PSR       float64  `json:"psr"`
	DSR       float64  `json:"dsr"`
	SR0       float64  `json:"sr0"`    // the DSR's benchmark, annualised
	Trials    int      `json:"trials"` // in-sample trials of the whole run: the DSR's N
	Family    int      `json:"family"` // hypotheses sharing the BH and Holm corrections
	PBO       float64  `json:"pbo"`    // 0 with PBOSplits 0 when it could not be computed
	PBOSplits int      `json:"pbo_splits"`
	Verdict   Verdict  `json:"verdict"`
	Reasons   []string `json:"reasons"`
}

// Verdict is the memo's recommendation, forced by the statistics.
type Verdict string

// The verdicts.
const (
	Pursue       Verdict = "pursue"
	PaperTrade   Verdict = "paper trade"
	Insufficient Verdict = "insufficient evidence"
)

// Lab runs experiments under one plan, numbering and keeping every trial.
type Lab struct {
	plan   Plan
	data   map[string]Dataset // by Set and seed
	Trials []Trial
	runs   int // backtests run
}

// NewLab simulates the plan's datasets once.
func NewLab(ctx context.Context, plan Plan) (*Lab, error) {
	if len(plan.SelectSeeds) == 0 || len(plan.HoldoutSeeds) == 0 || plan.Days < 600 {
		return nil, fmt.Errorf("a plan needs select and holdout seeds and at least 600 days")
	}
	l := &Lab{plan: plan, data: map[string]Dataset{}}
	for _, set := range Sets {
		for _, seed := range append(append([]uint64{}, plan.SelectSeeds...), plan.HoldoutSeeds...) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			d, err := Simulate(set, seed, plan.Days, plan.Effects)
			if err != nil {
				return nil, err
			}
			if plan.CostFree {
				d.Cost = 0
			}
			l.data[dataKey(set, seed)] = d
		}
	}
	return l, nil
}

func dataKey(s Set, seed uint64) string { return fmt.Sprintf("%s/%d", s, seed) }

// Backtests is how many single-dataset backtests the lab ran.
func (l *Lab) Backtests() int { return l.runs }

// pooled backtests rule on the set's paths of seeds over [from(d), d.Days)
// and concatenates the daily returns, recording one trial.
func (l *Lab) pooled(h Hypothesis, phase string, rule Rule, seeds []uint64, inSample bool) (Trial, error) {
	tr := Trial{ID: len(l.Trials) + 1, Hypothesis: h.ID, Phase: phase, Rule: rule, Seeds: seeds}
	var turn, cost float64
	hash := sha256.New()
	for _, seed := range seeds {
		d := l.data[dataKey(h.Set, seed)]
		from, to := d.OOS, d.Days
		if inSample {
			from, to = 0, d.OOS
		}
		bt, err := rule.Run(d, from, to)
		if err != nil {
			return Trial{}, err
		}
		l.runs++
		tr.pnl = append(tr.pnl, bt.PnL...)
		turn += bt.Turnover * float64(len(bt.PnL))
		cost += bt.Costs * float64(len(bt.PnL))
		tr.Data = append(tr.Data, d.Name)
		tr.From = from
		hash.Write([]byte(d.Hash))
	}
	n := float64(len(tr.pnl))
	tr.DataHash = hex.EncodeToString(hash.Sum(nil))[:16]
	tr.Perf = Measure(tr.pnl, turn/n, cost/n)
	if phase != "select" {
		tr.Curve = curveOf(tr.pnl)
	}
	l.Trials = append(l.Trials, tr)
	return tr, nil
}

// Test runs hypothesis h: every lookback of the grid on the select seeds'
// in-sample days, the best of them (by Sharpe) on the held-out seeds'
// out-of-sample days, and that rule on each real file of the set, out of
// sample.
func (l *Lab) Test(ctx context.Context, id int, h Hypothesis) (Experiment, error) {
	if err := ctx.Err(); err != nil {
		return Experiment{}, err
	}
	h.ID = id
	ex := Experiment{ID: id, Hypothesis: h}
	sign := h.Sign
	if sign == 0 {
		sign = 1
	}
	best, bestSR := Rule{}, math.Inf(-1)
	grid := lookbacks(h.Horizon)
	if h.Signal == NoiseRule {
		grid = []int{h.Horizon}
	}
	for _, lb := range grid {
		rule := Rule{Signal: h.Signal, Lookback: lb, Regime: h.Regime, Sign: sign, Seed: h.NoiseSeed}
		tr, err := l.pooled(h, "select", rule, l.plan.SelectSeeds, true)
		if err != nil {
			return Experiment{}, fmt.Errorf("hypothesis %d: %w", id, err)
		}
		ex.Select = append(ex.Select, tr.ID)
		if tr.Perf.Sharpe > bestSR {
			best, bestSR = rule, tr.Perf.Sharpe
		}
	}
	ex.Chosen = best
	tr, err := l.pooled(h, "holdout", best, l.plan.HoldoutSeeds, false)
	if err != nil {
		return Experiment{}, fmt.Errorf("hypothesis %d: %w", id, err)
	}
	ex.Holdout, ex.Perf = tr.ID, tr.Perf
	ex.RealAgrees = true
	var realSeen int
	for _, d := range l.plan.Real {
		if d.Set != h.Set || h.Signal == NoiseRule {
			continue
		}
		bt, err := best.Run(d, d.OOS, d.Days)
		if err != nil {
			return Experiment{}, fmt.Errorf("hypothesis %d on %s: %w", id, d.Name, err)
		}
		l.runs++
		perf := Measure(bt.PnL, bt.Turnover, bt.Costs)
		rt := Trial{ID: len(l.Trials) + 1, Hypothesis: id, Phase: "real", Rule: best, Data: []string{d.Name},
			DataHash: d.Hash, From: d.OOS, Perf: perf, pnl: bt.PnL, Curve: curveOf(bt.PnL)}
		l.Trials = append(l.Trials, rt)
		ex.Real = append(ex.Real, RealCheck{Trial: rt.ID, File: strings.TrimPrefix(d.Name, "real:"),
			From: d.Dates[d.OOS].Format("2006-01-02"), To: d.Dates[d.Days-1].Format("2006-01-02"), Perf: perf})
		realSeen++
	}
	if realSeen > 0 {
		// Agreement: the real files earn, on average, a positive Sharpe
		// ratio out of sample (a weak check; each file is short and noisy).
		var s float64
		for _, r := range ex.Real {
			s += r.Perf.Sharpe
		}
		ex.RealAgrees = s > 0
	}
	return ex, nil
}

// Judge applies the statistics across all experiments of a run: BH and
// Holm over their held-out p-values, the DSR with the true number of
// trials, the run's PBO by CSCV over every in-sample trial, the t bar, and
// the verdict each may carry.
func (l *Lab) Judge(exps []Experiment) {
	p := make([]float64, len(exps))
	for i, e := range exps {
		p[i] = e.Perf.P
	}
	bh, holm := BenjaminiHochberg(p), Holm(p)
	var selSR []float64
	var cols [][]float64
	for _, t := range l.Trials {
		if t.Phase == "select" {
			selSR = append(selSR, t.Perf.Moments.Sharpe)
			cols = append(cols, t.pnl)
		}
	}
	trials := len(selSR)
	v := 0.0
	if trials > 1 {
		v = stat.Variance(selSR, nil)
	}
	pbo, splits := math.NaN(), 0
	if len(cols) > 1 {
		rows := len(cols[0])
		perf := make([][]float64, rows)
		for t := range rows {
			perf[t] = make([]float64, len(cols))
			for j, c := range cols {
				perf[t][j] = c[t]
			}
		}
		pbo, splits = PBO(perf, 16)
	}
	if math.IsNaN(pbo) {
		pbo, splits = 0, 0
	}
	ann := math.Sqrt(daysPerYear)
	for i := range exps {
		e := &exps[i]
		e.PBH, e.PHolm, e.Trials, e.PBO, e.PBOSplits, e.Family = bh[i], holm[i], trials, pbo, splits, len(exps)
		e.PSR = PSR(e.Perf.Moments, 0)
		var sr0 float64
		e.DSR, sr0 = DSR(e.Perf.Moments, trials, v)
		e.SR0 = sr0 * ann
		e.Verdict, e.Reasons = verdict(*e)
	}
}

// verdict forces the recommendation from the numbers: every bar cleared on
// the held-out simulated data to pursue (or paper-trade when the real files
// disagree); anything short is insufficient evidence, with each reason.
func verdict(e Experiment) (Verdict, []string) {
	var why []string
	if e.PBH > FDRLevel {
		why = append(why, fmt.Sprintf("BH-adjusted p %s is above q = %s", fmtP(e.PBH), fmtNum(FDRLevel, 2)))
	}
	if e.Perf.T < TBar {
		why = append(why, fmt.Sprintf("t = %s is below the bar of %s", fmtNum(e.Perf.T, 2), fmtNum(TBar, 1)))
	}
	if e.DSR < DSRBar {
		why = append(why, fmt.Sprintf("DSR %s is below %s with N = %d trials", fmtNum(e.DSR, 3), fmtNum(DSRBar, 2), e.Trials))
	}
	if e.PBOSplits > 0 && e.PBO >= PBOBar {
		why = append(why, fmt.Sprintf("PBO %s is at least %s", fmtNum(e.PBO, 3), fmtNum(PBOBar, 1)))
	}
	if len(why) > 0 {
		return Insufficient, why
	}
	if !e.RealAgrees {
		return PaperTrade, []string{"Every bar is cleared on held-out simulated data, but the real files' mean out-of-sample Sharpe ratio is not positive"}
	}
	return Pursue, nil
}
