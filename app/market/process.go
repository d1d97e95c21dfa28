package market

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Process is the latent (fundamental) log price of every instrument of a
// universe. Each step of dt days it draws correlated innovations, scales them
// by a GJR-GARCH volatility, the instrument's long-memory components
// (VolComponent), a market-wide slow volatility and the regime, adds the
// drift and Merton jumps, and moves the regime chain (or follows the forced
// script).
//
// The GARCH variance and the memory components are updated once per
// simulated day from that day's innovation, and the Student-t mixing
// variable is drawn once per day, so daily returns have the same law
// whatever the step: one step a day or 86,400. A Process is not safe for concurrent use.
type Process struct {
	u      Universe
	rng    *rand.Rand
	chol   [numRegimes][][]float64 // Cholesky factor per regime, correlations pushed toward one
	assets []asset

	regime  Regime
	days    float64 // simulated days since the start
	dayFrac float64 // part of the current day already simulated
	script  Script
	next    int  // index of the next script step to apply
	forced  bool // the script, not the chain, sets the regime

	slow    float64 // market-wide slow log-volatility factor, AR(1) day by day
	slowVol float64 // exp(slow) with the mean variance divided out, for the day

	normal []float64 // scratch: independent normals
	corr   []float64 // scratch: correlated normals
	ret    []float64 // log-returns of the last step
}

type asset struct {
	in         Instrument
	logPrice   float64
	h          float64 // GARCH daily variance
	hbar       float64 // its long-run level
	omega      float64
	dayShock   float64 // GARCH innovation accumulated over the current day
	mix        float64 // Student-t mixing factor of the current day
	drift      float64 // calm log drift per day
	jumpPerDay float64 // jump intensity per day before the regime's factor
	dailyStd   float64 // long-run daily standard deviation
	regimeBeta float64 // 1 if regimes move the drift, 0 for FX
	mem        memory  // long-memory volatility components

	replay    []float64 // daily log-returns to follow instead of the model
	replayDay int       // index of the day being replayed
	replayVar float64   // variance of the replayed returns, for the bridge
	left      float64   // part of the replayed day still to come
	remaining float64   // log-return still to come in the replayed day
	chi       distuv.Gamma
}

// NewProcess builds the latent process of u from seed. u must be valid.
func NewProcess(u Universe, seed uint64) (*Process, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	p := &Process{
		u:      u,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		normal: make([]float64, len(u.Instruments)),
		corr:   make([]float64, len(u.Instruments)),
		ret:    make([]float64, len(u.Instruments)),
	}
	pi := stationaryRegimes()
	var meanVol2, meanJump float64
	for r := range numRegimes {
		meanVol2 += pi[r] * regimeEffects[r].Vol * regimeEffects[r].Vol
		meanJump += pi[r] * regimeEffects[r].Jumps
	}
	for _, in := range u.Instruments {
		a := asset{in: in, logPrice: math.Log(in.Price), dailyStd: math.Sqrt(in.dailyVariance())}
		days := in.Class.DaysPerYear()
		a.jumpPerDay = in.Jumps.PerYear / days
		jumpVar := meanJump * a.jumpPerDay * (in.Jumps.Mean*in.Jumps.Mean + in.Jumps.Std*in.Jumps.Std)
		// The GARCH share of the variance is what the jumps leave, at least
		// half; the regimes' mean squared factor is divided out.
		hbar := max(in.dailyVariance()-jumpVar, in.dailyVariance()/2) / meanVol2
		a.h, a.hbar = hbar, hbar
		a.omega = hbar * (1 - in.GARCH.Persistence())
		a.drift = in.Drift / days
		if in.Class != ClassFX {
			a.regimeBeta = 1
		}
		a.chi = distuv.Gamma{Alpha: in.GARCH.Nu / 2, Beta: 0.5, Src: p.rng}
		a.mem = newMemory(in.Memory, in.GARCH.Nu)
		p.assets = append(p.assets, a)
	}
	p.slowVol = math.Exp(-slowSD * slowSD)
	p.drawMixes()
	if err := p.factorize(u.Correlation); err != nil {
		return nil, err
	}
	return p, nil
}

// factorize builds one Cholesky factor per regime from the innovation
// correlations base, every off-diagonal correlation pushed toward ±1 by the
// regime's CorrPush. The sign is that of the market's main factor (the
// leading eigenvector): in a crisis everything moves together, and pairs that
// move against each other (EURUSD, USDJPY) do so more strongly. The pushed
// matrix is a convex blend of two positive definite ones, so it stays
// positive definite.
func (p *Process) factorize(base [][]float64) error {
	n := len(base)
	sign := mainFactorSigns(base)
	for r := range numRegimes {
		push := regimeEffects[r].CorrPush
		c := make([][]float64, n)
		for i := range n {
			c[i] = slices.Clone(base[i])
			for j := range n {
				if i != j {
					c[i][j] += push * (0.98*sign[i]*sign[j] - c[i][j])
				}
			}
		}
		l, err := cholesky(c)
		if err != nil {
			return fmt.Errorf("regime %s: %w", Regime(r), err)
		}
		p.chol[r] = l
	}
	return nil
}

// mainFactorSigns returns the signs of the leading eigenvector of c.
func mainFactorSigns(c [][]float64) []float64 {
	n := len(c)
	s := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			s.SetSym(i, j, c[i][j])
		}
	}
	sign := make([]float64, n)
	for i := range sign {
		sign[i] = 1
	}
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return sign
	}
	var v mat.Dense
	eig.VectorsTo(&v)
	lead := n - 1 // eigenvalues come in ascending order
	ref := 1.0
	if v.At(0, lead) < 0 {
		ref = -1 // orient the factor so the first instrument is positive
	}
	for i := range n {
		if v.At(i, lead)*ref < 0 {
			sign[i] = -1
		}
	}
	return sign
}

// meanMix is E[W] for W = sqrt((nu-2)/X), X chi-squared with nu degrees of
// freedom: the mean of the factor that turns a normal into a unit-variance t.
func meanMix(nu float64) float64 {
	lg1, _ := math.Lgamma((nu - 1) / 2)
	lg2, _ := math.Lgamma(nu / 2)
	return math.Sqrt((nu-2)/2) * math.Exp(lg1-lg2)
}

// drawMixes draws the day's Student-t mixing factors. One uniform drives
// every instrument's chi-squared draw through its quantile: heavy news days
// are heavy for the whole market, and the factors do not dilute the
// correlations the way independent draws would.
func (p *Process) drawMixes() {
	u := min(max(p.rng.Float64(), 1e-5), 1-1e-12)
	for i := range p.assets {
		a := &p.assets[i]
		a.mix = math.Sqrt((a.in.GARCH.Nu - 2) / a.chi.Quantile(u))
	}
}

// SetScript forces the regimes from now on; nil hands them back to the chain.
func (p *Process) SetScript(s Script) {
	s = slices.Clone(s)
	p.script, p.next, p.forced = s, 0, false
	for i := range s {
		s[i].At += dayDuration(p.days)
	}
	p.applyScript()
}

// Regime is the current regime.
func (p *Process) Regime() Regime { return p.regime }

// Forced reports whether a script, not the Markov chain, sets the regime.
func (p *Process) Forced() bool { return p.forced }

// Days is the simulated time since the start, in days.
func (p *Process) Days() float64 { return p.days }

// Price returns the latent price of instrument i.
func (p *Process) Price(i int) float64 { return math.Exp(p.assets[i].logPrice) }

// Returns are the log-returns of the last step, one per instrument. The
// slice is reused by the next step.
func (p *Process) Returns() []float64 { return p.ret }

// Step advances the process by dt days (1 for a daily step, 1/86400 for a
// second).
func (p *Process) Step(dt float64) {
	eff := regimeEffects[p.regime]
	l := p.chol[p.regime]
	for i := range p.normal {
		p.normal[i] = p.rng.NormFloat64()
	}
	for i, row := range l {
		var s float64
		for j, v := range row {
			s += v * p.normal[j]
		}
		p.corr[i] = s
	}
	sq := math.Sqrt(dt)
	for i := range p.assets {
		a := &p.assets[i]
		e := math.Sqrt(a.h) * a.mix * sq * p.corr[i]
		a.dayShock += e
		// Regime, slow factor, memory and GARCH together may lift the
		// volatility to five times its long-run level, not more.
		scale := min(eff.Vol*p.slowVol*a.mem.mult, 5*math.Sqrt(a.hbar/a.h))
		r := (a.drift+a.regimeBeta*eff.Drift/a.in.Class.DaysPerYear())*dt + scale*e
		if a.in.Jumps.PerYear > 0 {
			for k := poisson(p.rng, a.jumpPerDay*eff.Jumps*dt); k > 0; k-- {
				r += a.in.Jumps.Mean + a.in.Jumps.Std*p.rng.NormFloat64()
			}
		}
		if a.replayDay < len(a.replay) {
			r = p.replayStep(a, dt, p.corr[i])
		}
		a.logPrice += r
		p.ret[i] = r
	}
	p.days += dt
	p.dayFrac += dt
	if p.dayFrac >= 1-1e-9 {
		p.dayFrac = 0
		for i := range p.assets {
			if a := &p.assets[i]; a.replayDay < len(a.replay) {
				a.replayDay++
			}
		}
		for i := range p.assets {
			a := &p.assets[i]
			g := a.in.GARCH
			react := g.Alpha
			if a.dayShock < 0 {
				react += g.Gamma
			}
			// The shock feeding the variance is capped at four of today's
			// standard deviations and the variance at six times its
			// long-run level (vol at about 2.5 times normal before the regime),
			// so a run of outliers does not explode into months of absurd
			// volatility.
			e2 := min(a.dayShock*a.dayShock, 16*a.h)
			a.mem.update(a.dayShock / math.Sqrt(a.h))
			a.h = min(a.omega+react*e2+g.Beta*a.h, 6*a.hbar)
			a.dayShock = 0
		}
		p.drawMixes()
		p.slow = slowPhi*p.slow + slowSD*math.Sqrt(1-slowPhi*slowPhi)*p.rng.NormFloat64()
		p.slowVol = math.Exp(p.slow - slowSD*slowSD)
	}
	if !p.applyScript() && !p.forced {
		p.regime = nextRegime(p.regime, dt, p.rng)
	}
}

// Replay makes instrument i follow the daily log-returns r (oldest first)
// instead of its model: every simulated day ends exactly r[d] above the
// previous one, along a Brownian bridge within the day. Regimes, jumps and
// shocks do not touch it. After the last return the model takes over.
func (p *Process) Replay(i int, r []float64) {
	a := &p.assets[i]
	a.replay, a.replayDay = append([]float64(nil), r...), 0
	a.replayVar = max(stat.Variance(r, nil), 1e-12)
	a.left = 0
}

// replayStep is the next increment of a replayed instrument: a Brownian
// bridge from the day's start to its recorded close, z a standard normal.
func (p *Process) replayStep(a *asset, dt, z float64) float64 {
	if a.left <= 1e-12 { // a new day begins
		a.left, a.remaining = 1, a.replay[a.replayDay]
	}
	var r float64
	if dt >= a.left-1e-9 {
		r = a.remaining
	} else {
		r = a.remaining*dt/a.left + math.Sqrt(a.replayVar*dt*(a.left-dt)/a.left)*z
	}
	a.remaining -= r
	a.left = max(0, a.left-dt)
	return r
}

// applyScript applies every script step that is due and reports whether one
// was.
func (p *Process) applyScript() bool {
	applied := false
	for p.next < len(p.script) && p.script[p.next].At <= dayDuration(p.days)+time.Nanosecond {
		st := p.script[p.next]
		p.next++
		applied = true
		p.forced = !st.Auto
		if !st.Auto {
			p.regime = st.Regime
		}
		if st.Shock != 0 {
			for i := range p.assets {
				a := &p.assets[i]
				if a.replayDay < len(a.replay) {
					continue
				}
				p.ret[i] += st.Shock * a.dailyStd
				a.logPrice += st.Shock * a.dailyStd
			}
		}
	}
	return applied
}

// The slow factor: a market-wide log-volatility with a half-life of
// slowHalfLife days and a standard deviation of slowSD, scaled so that it
// leaves the mean variance alone. It gives volatility the long memory of
// real markets (months-long quiet and nervous spells) without the sharp
// GARCH spikes that would fatten the tails of quarterly returns. It is
// exogenous: the leverage effect comes from the instruments' memory
// components. Half-life 60 days and sd 0.45 (it was 90 and 0.30 before
// issue 22) carry most of S20 while the 63-day kurtosis stays below half
// the daily one on most seeds; longer half-lives fattened the quarterly
// tails more than they raised S20.
const (
	slowHalfLife = 60.0
	slowSD       = 0.45
)

var slowPhi = math.Exp(-math.Ln2 / slowHalfLife)

// dayDuration converts simulated days to a duration.
func dayDuration(days float64) time.Duration {
	return time.Duration(math.Round(days * 86400e9))
}

// poisson draws a Poisson count of small mean (Knuth's method; the means
// here are far below one).
func poisson(rng *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	l := math.Exp(-mean)
	k := 0
	for prod := rng.Float64(); prod > l; prod *= rng.Float64() {
		k++
	}
	return k
}
