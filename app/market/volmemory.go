package market

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// VolComponent is one component of an instrument's long-memory volatility,
// in the spirit of HAR (daily, weekly, monthly volatility cascades) and of
// multi-component EGARCH. It is a log-volatility that decays with a
// half-life of HalfLife days and that each day's standardised innovation z
// (unit variance, clipped to ±4) pushes:
//
//	x' = φ·x + React·(|z| − E|z|) − Leverage·z,   φ = 2^(−1/HalfLife)
//
// React makes large moves of either sign raise volatility (clustering);
// Leverage makes falls raise it and rises lower it (the leverage effect).
// Several components with half-lives from days to months add up to a
// volatility whose autocorrelation decays slowly, the way real markets'
// does, which one GARCH(1,1) cannot give: its memory is one exponential.
type VolComponent struct {
	HalfLife float64 `json:"half_life"` // days, 1 to 1000
	React    float64 `json:"react"`     // 0 to 0.5
	Leverage float64 `json:"leverage"`  // -0.5 to 0.5; positive for equities
}

// maxVolComponents caps the components of one instrument.
const maxVolComponents = 6

// memoryClip is where the innovation driving the components is clipped: a
// 10-sigma day moves the volatility as much as a 4-sigma one, so one
// outlier does not leave the market absurdly volatile for months.
const memoryClip = 4.0

// maxMemoryLog caps the summed log-volatility of the components: the
// memory may multiply the volatility by e^0.7 ≈ 2 at most. Without the cap
// (or with it at e^1.5) the leverage terms feed on themselves in a long
// fall — falls raise volatility, which makes the next falls larger — and a
// few simulated quarters lose 60-75 %, far beyond any quarter of the real
// S&P 500 since 1990, which ruins the aggregational Gaussianity of 63-day
// returns.
const maxMemoryLog = 0.7

func (c VolComponent) validate() error {
	switch {
	case !(c.HalfLife >= 1 && c.HalfLife <= 1000):
		return fmt.Errorf("half_life must be between 1 and 1000 days, not %g", c.HalfLife)
	case !(c.React >= 0 && c.React <= 0.5):
		return fmt.Errorf("react must be between 0 and 0.5, not %g", c.React)
	case !(c.Leverage >= -0.5 && c.Leverage <= 0.5):
		return fmt.Errorf("leverage must be between -0.5 and 0.5, not %g", c.Leverage)
	}
	return nil
}

// memory is the state of an instrument's volatility components.
type memory struct {
	phi, react, lev []float64
	x               []float64
	meanAbs         float64 // E|z| of the clipped unit-variance t
	offset          float64 // ½·log E[exp(2·Σx)]: divides the mean variance back to one
	mult            float64 // today's volatility factor exp(Σx − offset)
}

// newMemory builds the components cs for innovations that are Student-t
// with nu degrees of freedom scaled to unit variance. The factor starts at
// its long-run level: every component at zero.
func newMemory(cs []VolComponent, nu float64) memory {
	m := memory{mult: 1}
	if len(cs) == 0 {
		return m
	}
	for _, c := range cs {
		m.phi = append(m.phi, math.Exp2(-1/c.HalfLife))
		m.react = append(m.react, c.React)
		m.lev = append(m.lev, c.Leverage)
	}
	m.x = make([]float64, len(cs))
	nodes, weights := tGrid(nu)
	for i, z := range nodes {
		m.meanAbs += weights[i] * math.Abs(z)
	}
	logMean, variance := m.logMeanExp2(nodes, weights)
	m.offset = 0.5 * (logMean + capEffect(variance))
	m.mult = math.Exp(-m.offset)
	return m
}

// logMeanExp2 is log E[exp(2·Σ_k x_k)] in the stationary law, and the
// variance of Σ_k x_k. The x_k are linear in the past innovations, which
// are independent: Σ_k x_k = Σ_j Σ_k φ_k^j·u_k(z_j), so the expectation is
// a product over lags j of one-dimensional expectations, taken on the grid.
// Far lags, whose coefficients are small, use the second-order cumulant
// instead.
func (m *memory) logMeanExp2(nodes, weights []float64) (logMean, variance float64) {
	var varAbs, varZ float64
	for i, z := range nodes {
		a := math.Abs(z) - m.meanAbs
		varAbs += weights[i] * a * a
		varZ += weights[i] * z * z
	}
	var total float64
	pow := make([]float64, len(m.phi))
	for k := range pow {
		pow[k] = 1
	}
	for j := 0; ; j++ {
		var cr, cl, biggest float64 // coefficients of |z|−E|z| and of z at lag j
		for k := range m.phi {
			cr += m.react[k] * pow[k]
			cl += m.lev[k] * pow[k]
			biggest = max(biggest, pow[k])
		}
		variance += cr*cr*varAbs + cl*cl*varZ
		switch {
		case biggest < 1e-9:
			return total, variance
		case math.Abs(cr)+math.Abs(cl) < 0.002:
			// log E e^{2u} ≈ 2·Var(u) for a small centred u.
			total += 2 * (cr*cr*varAbs + cl*cl*varZ)
		default:
			var e float64
			for i, z := range nodes {
				e += weights[i] * math.Exp(2*(cr*(math.Abs(z)-m.meanAbs)-cl*z))
			}
			total += math.Log(e)
		}
		for k := range pow {
			pow[k] *= m.phi[k]
		}
	}
}

// capEffect is log E[exp(2·min(x, maxMemoryLog))] − log E[exp(2x)] for x
// normal with mean zero and the given variance: how much the cap trims the
// mean variance, in the normal approximation of Σx (a sum of many small
// independent terms), by the midpoint rule over ±8 standard deviations.
func capEffect(variance float64) float64 {
	sd := math.Sqrt(variance)
	if sd == 0 {
		return 0
	}
	const cells = 1600
	w := 16.0 / cells
	var capped float64
	for i := range cells {
		u := -8 + (float64(i)+0.5)*w
		capped += math.Exp(2*min(u*sd, maxMemoryLog)) * math.Exp(-u*u/2) / math.Sqrt(2*math.Pi) * w
	}
	return math.Log(capped) - 2*variance
}

// tGrid discretises a unit-variance Student-t with nu degrees of freedom,
// clipped to ±memoryClip: cell midpoints with the cells' probabilities, the
// tails as point masses at the clip.
func tGrid(nu float64) (nodes, weights []float64) {
	t := distuv.StudentsT{Mu: 0, Sigma: math.Sqrt((nu - 2) / nu), Nu: nu}
	const cells = 200
	w := 2 * memoryClip / cells
	tail := t.CDF(-memoryClip)
	nodes = append(nodes, -memoryClip)
	weights = append(weights, tail)
	for i := range cells {
		a := -memoryClip + float64(i)*w
		nodes = append(nodes, a+w/2)
		weights = append(weights, t.CDF(a+w)-t.CDF(a))
	}
	nodes = append(nodes, memoryClip)
	weights = append(weights, tail)
	return nodes, weights
}

// update moves the components by the day's standardised innovation z.
func (m *memory) update(z float64) {
	if len(m.x) == 0 {
		return
	}
	z = min(max(z, -memoryClip), memoryClip)
	a := math.Abs(z) - m.meanAbs
	var sum float64
	for k := range m.x {
		m.x[k] = m.phi[k]*m.x[k] + m.react[k]*a - m.lev[k]*z
		sum += m.x[k]
	}
	m.mult = math.Exp(min(sum, maxMemoryLog) - m.offset)
}
