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
