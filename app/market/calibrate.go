package market

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Fit is a GJR-GARCH(1,1) model with Student-t innovations fitted to daily
// log-returns by maximum likelihood:
//
//	r_t = Mu + e_t,  e_t = sqrt(h_t)·z_t,  z_t ~ t(Nu) scaled to unit variance
//	h_t = Omega + (Alpha + Gamma·[e_{t-1}<0])·e²_{t-1} + Beta·h_{t-1}
type Fit struct {
	Mu     float64 `json:"mu"`
	Omega  float64 `json:"omega"`
	Alpha  float64 `json:"alpha"`
	Gamma  float64 `json:"gamma"`
	Beta   float64 `json:"beta"`
	Nu     float64 `json:"nu"`
	LogLik float64 `json:"loglik"`
	N      int     `json:"n"`
}

// Persistence is Alpha + Gamma/2 + Beta.
func (f Fit) Persistence() float64 { return f.Alpha + f.Gamma/2 + f.Beta }

// AnnualVol is the model's long-run volatility over a year of days.
func (f Fit) AnnualVol(days float64) float64 {
	return math.Sqrt(f.Omega / (1 - f.Persistence()) * days)
}

// FitGARCH fits a GJR-GARCH(1,1)-t to r (at least 500 returns) by maximum
// likelihood with Nelder-Mead. The long-run variance is targeted to the
// sample variance (Omega follows from it), which leaves four free
// parameters, each mapped to an unbounded one: the persistence and the
// reaction's share in (0, 1), the leverage share in (0, 1), and Nu-2 > 0.
// Without leverage, Gamma is held at zero.
func FitGARCH(r []float64, leverage bool) (Fit, error) {
	if len(r) < 500 {
		return Fit{}, fmt.Errorf("a GARCH fit needs at least 500 returns, got %d", len(r))
	}
	mu, v := stat.MeanVariance(r, nil)
	if !(v > 0) {
		return Fit{}, errors.New("the returns do not vary")
	}
	decode := func(x []float64) Fit {
		p := 0.5 + 0.4999*math.Tanh(x[0]) // persistence in (0.0001, 0.9999)
		a := logistic(x[1])               // share of p that reacts to news
		g := 0.0
		if leverage {
			g = logistic(x[2])
		}
		f := Fit{Mu: mu, Alpha: a * p * (1 - g), Gamma: 2 * a * p * g, Beta: (1 - a) * p, Nu: 2.05 + math.Exp(x[3])}
		f.Omega = v * (1 - p)
		return f
	}
	nll := func(x []float64) float64 {
		ll := garchLogLik(r, decode(x))
		if math.IsNaN(ll) || math.IsInf(ll, 0) {
			return math.Inf(1)
		}
		return -ll
	}
	// Start at persistence 0.97, reaction share 0.08, leverage share 0.5, nu 7.
	x0 := []float64{math.Atanh((0.97 - 0.5) / 0.4999), logit(0.08), 0, math.Log(7 - 2.05)}
	res, err := optimize.Minimize(optimize.Problem{Func: nll}, x0,
		&optimize.Settings{MajorIterations: 4000, FuncEvaluations: 20000}, &optimize.NelderMead{})
	if err != nil && res == nil {
		return Fit{}, fmt.Errorf("GARCH fit: %w", err)
	}
	f := decode(res.X)
	f.LogLik = -res.F
	f.N = len(r)
	return f, nil
}

// garchLogLik is the log-likelihood of r under f, starting from the sample
// variance.
func garchLogLik(r []float64, f Fit) float64 {
	nu := f.Nu
	lg1, _ := math.Lgamma((nu + 1) / 2)
	lg2, _ := math.Lgamma(nu / 2)
	c := lg1 - lg2 - 0.5*math.Log(math.Pi*(nu-2))
	h := f.Omega / (1 - f.Persistence())
	var ll float64
	for _, x := range r {
		e := x - f.Mu
		ll += c - 0.5*math.Log(h) - (nu+1)/2*math.Log1p(e*e/((nu-2)*h))
		react := f.Alpha
		if e < 0 {
			react += f.Gamma
		}
		h = f.Omega + react*e*e + f.Beta*h
	}
	return ll
}

// Simulate draws n daily log-returns from the fitted model (no regimes, no
// jumps): a calibrated synthetic path of the series it was fitted to.
func (f Fit) Simulate(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0xf17))
	t := distuv.StudentsT{Mu: 0, Sigma: math.Sqrt((f.Nu - 2) / f.Nu), Nu: f.Nu, Src: rng}
	h := f.Omega / (1 - f.Persistence())
	out := make([]float64, n)
	for k := range out {
		e := math.Sqrt(h) * t.Rand()
		out[k] = f.Mu + e
		react := f.Alpha
		if e < 0 {
			react += f.Gamma
		}
		h = f.Omega + react*e*e + f.Beta*h
	}
	return out
}

// Instrument turns the fit into an instrument for the simulated market; the
// regimes and jumps of the market then come on top.
func (f Fit) Instrument(symbol string, class Class, price, tick, lot float64) Instrument {
	days := class.DaysPerYear()
	return Instrument{
		Symbol: symbol, Name: symbol + " (calibrated)", Class: class, Price: price, TickSize: tick, LotSize: lot,
		AnnualVol: f.AnnualVol(days), Drift: f.Mu * days,
		GARCH: GARCH{Alpha: f.Alpha, Gamma: f.Gamma, Beta: f.Beta, Nu: f.Nu},
	}
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

// MemoryFit is the long-memory volatility model of an instrument fitted to
// daily log-returns by maximum likelihood: the memory components of
// VolComponent with fixed half-lives, on Student-t innovations,
//
//	r_t = Mu + Vol·m_t·z_t,  z_t ~ t(Nu) scaled to unit variance,
//	m_t = exp(min(Σ_k x_k,t, cap) − offset),
//	x_k,t+1 = φ_k·x_k,t + React_k·(|z_t| − E|z|) − Leverage_k·z_t,
//
// the offset making the mean of m² one, so Vol is the long-run daily
// standard deviation (targeted to the sample's). It is the process's
// instrument without the market's regimes, slow factor and jumps.
type MemoryFit struct {
	Mu         float64        `json:"mu"`
	Vol        float64        `json:"vol"` // daily
	Nu         float64        `json:"nu"`
	Components []VolComponent `json:"components"`
	LogLik     float64        `json:"loglik"`
	N          int            `json:"n"`
}

// FitMemory fits the memory model with one component per half-life (1 to
// 3 of them, in days) to r (at least 500 returns) by maximum likelihood
// with Nelder-Mead. Each React is mapped to (0, 0.5), each Leverage to
// (−0.5, 0.5) and Nu−2.05 to a positive number, as the instrument's
// validation allows.
func FitMemory(r []float64, halfLives []float64) (MemoryFit, error) {
	if len(r) < 500 {
		return MemoryFit{}, fmt.Errorf("a memory fit needs at least 500 returns, got %d", len(r))
	}
	if len(halfLives) < 1 || len(halfLives) > 3 {
		return MemoryFit{}, fmt.Errorf("a memory fit takes 1 to 3 half-lives, not %d", len(halfLives))
	}
	for _, h := range halfLives {
		if err := (VolComponent{HalfLife: h}).validate(); err != nil {
			return MemoryFit{}, err
		}
	}
	mu, v := stat.MeanVariance(r, nil)
	if !(v > 0) {
		return MemoryFit{}, errors.New("the returns do not vary")
	}
	k := len(halfLives)
	decode := func(x []float64) MemoryFit {
		f := MemoryFit{Mu: mu, Vol: math.Sqrt(v), Nu: 2.05 + math.Exp(x[2*k])}
		for i, h := range halfLives {
			f.Components = append(f.Components, VolComponent{HalfLife: h,
				React: 0.5 * logistic(x[2*i]), Leverage: 0.5 * math.Tanh(x[2*i+1])})
		}
		return f
	}
	nll := func(x []float64) float64 {
		ll := decode(x).logLik(r)
		if math.IsNaN(ll) || math.IsInf(ll, 0) {
			return math.Inf(1)
		}
		return -ll
	}
	// Start with mild clustering and leverage on every component, nu 8.
	x0 := make([]float64, 2*k+1)
	for i := range k {
		x0[2*i], x0[2*i+1] = logit(0.02/0.5), math.Atanh(0.02/0.5)
	}
	x0[2*k] = math.Log(8 - 2.05)
	res, err := optimize.Minimize(optimize.Problem{Func: nll}, x0,
		&optimize.Settings{MajorIterations: 3000, FuncEvaluations: 6000}, &optimize.NelderMead{})
	if err != nil && res == nil {
		return MemoryFit{}, fmt.Errorf("memory fit: %w", err)
	}
	f := decode(res.X)
	f.LogLik = -res.F
	f.N = len(r)
	return f, nil
}

// logLik is the log-likelihood of r under f, the components starting at
// zero.
func (f MemoryFit) logLik(r []float64) float64 {
	nu := f.Nu
	lg1, _ := math.Lgamma((nu + 1) / 2)
	lg2, _ := math.Lgamma(nu / 2)
	c := lg1 - lg2 - 0.5*math.Log(math.Pi*(nu-2))
	m := newMemory(f.Components, nu)
	var ll float64
	for _, x := range r {
		sd := f.Vol * m.mult
		z := (x - f.Mu) / sd
		ll += c - math.Log(sd) - (nu+1)/2*math.Log1p(z*z/(nu-2))
		m.update(z)
	}
	return ll
}

// Simulate draws n daily log-returns from the fitted model.
func (f MemoryFit) Simulate(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x3e3))
	t := distuv.StudentsT{Mu: 0, Sigma: math.Sqrt((f.Nu - 2) / f.Nu), Nu: f.Nu, Src: rng}
	m := newMemory(f.Components, f.Nu)
	out := make([]float64, n)
	for k := range out {
		z := t.Rand()
		out[k] = f.Mu + f.Vol*m.mult*z
		m.update(z)
	}
	return out
}

// Instrument turns the fit into an instrument for the simulated market (no
// GARCH: the components carry the volatility); the market's regimes, slow
// factor and any jumps then come on top.
func (f MemoryFit) Instrument(symbol string, class Class, price, tick, lot float64) Instrument {
	days := class.DaysPerYear()
	return Instrument{
		Symbol: symbol, Name: symbol + " (calibrated)", Class: class, Price: price, TickSize: tick, LotSize: lot,
		AnnualVol: f.Vol * math.Sqrt(days), Drift: f.Mu * days,
		GARCH: GARCH{Nu: f.Nu}, Memory: append([]VolComponent(nil), f.Components...),
	}
}
