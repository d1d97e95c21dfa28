package mlops

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Running is a running mean and variance (Welford).
type Running struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	m2   float64
}

// Add adds one observation.
func (r *Running) Add(x float64) {
	r.N++
	d := x - r.Mean
	r.Mean += d / float64(r.N)
	r.m2 += d * (x - r.Mean)
}

// Var is the sample variance (0 below two observations).
func (r *Running) Var() float64 {
	if r.N < 2 {
		return 0
	}
	return r.m2 / float64(r.N-1)
}

// PairedTest is a one-sided paired t-test that the challenger beats the
// champion on the same held-out units (episodes, rows): the differences
// d_i = challenger_i − champion_i have a positive mean.
type PairedTest struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean_diff"` // mean of the differences
	SE     float64 `json:"se"`
	T      float64 `json:"t"`
	P      float64 `json:"p"`        // one-sided
	CILow  float64 `json:"ci95_low"` // two-sided 95 % interval of the mean difference
	CIHigh float64 `json:"ci95_high"`
	Alpha  float64 `json:"alpha"`
	MinN   int     `json:"min_n"`
	Passed bool    `json:"passed"` // N ≥ MinN, P < Alpha and Mean > 0
}

// NewPairedTest computes the test on champion and challenger scores of the
// same units (higher is better), at level alpha with at least minN units.
func NewPairedTest(champion, challenger []float64, alpha float64, minN int) PairedTest {
	t := PairedTest{N: min(len(champion), len(challenger)), Alpha: alpha, MinN: minN, P: 1}
	var r Running
	for i := range t.N {
		r.Add(challenger[i] - champion[i])
	}
	t.Mean = r.Mean
	if t.N < 2 {
		return t
	}
	t.SE = math.Sqrt(r.Var() / float64(t.N))
	dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(t.N - 1)}
	switch {
	case t.SE > 0:
		t.T = t.Mean / t.SE
		t.P = 1 - dist.CDF(t.T)
		q := dist.Quantile(0.975)
		t.CILow, t.CIHigh = t.Mean-q*t.SE, t.Mean+q*t.SE
	case t.Mean > 0: // every difference the same positive number
		t.T, t.P, t.CILow, t.CIHigh = math.Inf(1), 0, t.Mean, t.Mean
	default:
		t.CILow, t.CIHigh = t.Mean, t.Mean
	}
	t.Passed = t.N >= minN && t.P < alpha && t.Mean > 0
	return t
}

// SequentialConfig sets the live regression test.
type SequentialConfig struct {
	Alpha float64 // chance of a rollback when the challenger is no worse; default 0.01
	// Margin is the regression the test tolerates: it rolls back only when
	// the challenger's mean is below the champion's by more than Margin.
	Margin float64
	// Tau is the standard deviation of the normal mixing distribution over
	// the difference: the size of regression the test is most sensitive
	// to. Default 0.05 (in the metric's units).
	Tau        float64
	MinSamples int // per arm before any decision; default 100
	Window     int // challenger observations after which the canary passes; default 5000
}

func (c SequentialConfig) withDefaults() SequentialConfig {
	if c.Alpha <= 0 {
		c.Alpha = 0.01
	}
	if c.Tau <= 0 {
		c.Tau = 0.05
	}
	if c.MinSamples <= 0 {
		c.MinSamples = 100
	}
	if c.Window <= 0 {
		c.Window = 5000
	}
	return c
}

// Sequential is an always-valid test that a canary regresses against the
// champion on a live metric (higher is better): the mixture sequential
// probability ratio test (mSPRT) of Johari, Pekelis and Walsh (2017) for a
// difference of two means, with a normal mixture of width Tau over the
// difference and the plug-in variance of the estimate. Its likelihood ratio
//
//	Λ = sqrt(V/(V+τ²)) · exp(θ̂²τ² / (2V(V+τ²))),  θ̂ = x̄₁ − x̄₂ + Margin,  V = s₁²/n₁ + s₂²/n₂
//
// may be checked after every observation: the chance that it ever exceeds
// 1/α when the challenger is no worse is at most α, so peeking does not
// inflate false rollbacks. A rollback needs Λ ≥ 1/α with θ̂ < 0.
type Sequential struct {
	Config     SequentialConfig `json:"config"`
	Challenger Running          `json:"challenger"`
	Champion   Running          `json:"champion"`
}

// NewSequential starts a test.
func NewSequential(cfg SequentialConfig) *Sequential {
	return &Sequential{Config: cfg.withDefaults()}
}

// Verdicts of the sequential test.
const (
	Continue   = "continue"  // not enough evidence yet
	Regressed  = "regressed" // roll back
	WindowPass = "passed"    // the window ended with no regression found
)

// SequentialState is the test's statistics at one moment.
type SequentialState struct {
	Verdict        string  `json:"verdict"`
	ChallengerN    int     `json:"challenger_n"`
	ChampionN      int     `json:"champion_n"`
	ChallengerMean float64 `json:"challenger_mean"`
	ChampionMean   float64 `json:"champion_mean"`
	Diff           float64 `json:"diff"` // challenger − champion
	SE             float64 `json:"se"`
	LogLR          float64 `json:"log_lr"`        // log Λ
	Threshold      float64 `json:"log_threshold"` // log(1/α)
	Alpha          float64 `json:"alpha"`
	Margin         float64 `json:"margin"`
	Tau            float64 `json:"tau"`
	Window         int     `json:"window"`
}

// State computes the test on the observations so far.
func (s *Sequential) State() SequentialState {
	c := s.Config
	st := SequentialState{
		Verdict: Continue, ChallengerN: s.Challenger.N, ChampionN: s.Champion.N,
		ChallengerMean: s.Challenger.Mean, ChampionMean: s.Champion.Mean, Diff: s.Challenger.Mean - s.Champion.Mean,
		Threshold: math.Log(1 / c.Alpha), Alpha: c.Alpha, Margin: c.Margin, Tau: c.Tau, Window: c.Window,
	}
	if s.Challenger.N < c.MinSamples || s.Champion.N < c.MinSamples {
		return st
	}
	v := s.Challenger.Var()/float64(s.Challenger.N) + s.Champion.Var()/float64(s.Champion.N)
	v = max(v, 1e-12)
	st.SE = math.Sqrt(v)
	theta := st.Diff + c.Margin
	t2 := c.Tau * c.Tau
	st.LogLR = 0.5*math.Log(v/(v+t2)) + theta*theta*t2/(2*v*(v+t2))
	switch {
	case theta < 0 && st.LogLR >= st.Threshold:
		st.Verdict = Regressed
	case s.Challenger.N >= c.Window:
		st.Verdict = WindowPass
	}
	return st
}
