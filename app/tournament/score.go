package tournament

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Conventions of the metrics (those of the empyrical library):
//
//   - Returns are simple returns per period: r_t = E_t / E_{t−1} − 1 of the
//     equity curve E. A round's period is one simulated minute (its equity
//     is sampled once a minute): five-second returns are mostly the bid-ask
//     bounce, which would inflate the volatility.
//   - Sharpe and Sortino rest on at least MinReturns returns; before that
//     they are withheld (zero, Scored false) and the board ranks by P&L.
//     A handful of returns gives ratios in the hundreds that mean nothing.
//   - Standard deviations are sample ones (divided by n − 1).
//   - Annualisation multiplies means by periodsPerYear and standard
//     deviations by √periodsPerYear. A round is one trading day, so
//     periodsPerYear = 252 × minutes per round.
//   - Sharpe = mean(r) / std(r) · √periodsPerYear, risk-free rate zero; its
//     standard error is √((1 + SR²/2) / n) per period (Lo 2002, iid
//     returns), annualised the same way.
//   - Sortino = mean(r) · periodsPerYear / (DD · √periodsPerYear), where the
//     downside deviation DD = √(mean over ALL periods of min(r, 0)²):
//     periods with gains count as zeros, they are not left out.
//   - Max drawdown is the largest fall from a running peak of the equity,
//     as a positive fraction: max_t (1 − E_t / max_{s≤t} E_s).
//   - Annual return is geometric: (E_n/E_0)^(periodsPerYear/n) − 1.
//   - Calmar = annual return / max drawdown (0 without a drawdown).
//   - Turnover = money traded / starting capital.
//   - Hit rate = share of periods with a non-zero return whose return is
//     positive.
//
// Metrics that cannot be computed (a flat curve has no Sharpe) are zero,
// never NaN, so they can be stored and sent as JSON.

// Metrics are a strategy's scores over one round.
type Metrics struct {
	PnL         float64 `json:"pnl"`
	Return      float64 `json:"return"`
	Sharpe      float64 `json:"sharpe"`
	Sortino     float64 `json:"sortino"`
	MaxDrawdown float64 `json:"max_drawdown"`
	Calmar      float64 `json:"calmar"`
	Turnover    float64 `json:"turnover"`
	HitRate     float64 `json:"hit_rate"`
	Fees        float64 `json:"fees"`
	Score       float64 `json:"score"` // the risk-adjusted score rounds are won by
	// Returns is how many returns the ratios rest on; Scored says there are
	// at least MinReturns of them (or the score is P&L, which needs none).
	Returns  int     `json:"returns"`
	Scored   bool    `json:"scored"`
	SharpeSE float64 `json:"sharpe_se"` // annualised standard error of Sharpe
	Losses   int     `json:"losses"`    // returns below zero: what Sortino's downside rests on
}

// MinReturns is how many returns Sharpe and Sortino need before they are
// shown or rank anyone: half an hour of one-minute returns.
const MinReturns = 30

// Returns turns an equity curve into simple returns per period.
func Returns(equity []float64) []float64 {
	if len(equity) < 2 {
		return nil
	}
	r := make([]float64, len(equity)-1)
	for t := 1; t < len(equity); t++ {
		r[t-1] = equity[t]/equity[t-1] - 1
	}
	return r
}

// Sharpe is the annualised Sharpe ratio of returns r (sample standard
// deviation, risk-free rate zero).
func Sharpe(r []float64, periodsPerYear float64) float64 {
	if len(r) < 2 {
		return 0
	}
	mean, sd := stat.MeanStdDev(r, nil)
	if !(sd > 0) {
		return 0
	}
	return mean / sd * math.Sqrt(periodsPerYear)
}

// SharpeSE is the annualised standard error of an annualised Sharpe ratio
// sr estimated from n returns (Lo 2002, iid returns).
func SharpeSE(sr float64, n int, periodsPerYear float64) float64 {
	if n < 2 || !(periodsPerYear > 0) {
		return 0
	}
	per := sr / math.Sqrt(periodsPerYear)
	return math.Sqrt((1+per*per/2)/float64(n)) * math.Sqrt(periodsPerYear)
}

// DownsideDeviation is √(mean over all periods of min(r, 0)²), annualised.
func DownsideDeviation(r []float64, periodsPerYear float64) float64 {
	if len(r) == 0 {
		return 0
	}
	var s float64
	for _, x := range r {
		if x < 0 {
			s += x * x
		}
	}
	return math.Sqrt(s/float64(len(r))) * math.Sqrt(periodsPerYear)
}

// Sortino is the annualised Sortino ratio with a zero target.
func Sortino(r []float64, periodsPerYear float64) float64 {
	dd := DownsideDeviation(r, periodsPerYear)
	if len(r) == 0 || !(dd > 0) {
		return 0
	}
	return stat.Mean(r, nil) * periodsPerYear / dd
}

// MaxDrawdown is the largest fall from a running peak of the equity curve,
// as a positive fraction.
func MaxDrawdown(equity []float64) float64 {
	var peak, dd float64
	for _, e := range equity {
		peak = max(peak, e)
		if peak > 0 {
			dd = max(dd, 1-e/peak)
		}
	}
	return dd
}

// AnnualReturn is the geometric annual return of an equity curve of n+1
// points (n periods).
func AnnualReturn(equity []float64, periodsPerYear float64) float64 {
	n := len(equity) - 1
	if n < 1 || !(equity[0] > 0) || equity[n] <= 0 {
		return 0
	}
	return math.Pow(equity[n]/equity[0], periodsPerYear/float64(n)) - 1
}

// Calmar is the annual return over the max drawdown.
func Calmar(equity []float64, periodsPerYear float64) float64 {
	dd := MaxDrawdown(equity)
	if !(dd > 0) {
		return 0
	}
	return AnnualReturn(equity, periodsPerYear) / dd
}

func losses(r []float64) int {
	n := 0
	for _, x := range r {
		if x < 0 {
			n++
		}
	}
	return n
}

// HitRate is the share of non-zero returns that are positive.
func HitRate(r []float64) float64 {
	var win, n int
	for _, x := range r {
		if x != 0 {
			n++
			if x > 0 {
				win++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return float64(win) / float64(n)
}

// ScoreBy names the metric rounds are won by.
type ScoreBy string

// The scores a tournament can be run by. The default is Sortino: it
// rewards gains and punishes only the losses' volatility.
const (
	BySortino ScoreBy = "sortino"
	BySharpe  ScoreBy = "sharpe"
	ByCalmar  ScoreBy = "calmar"
	ByPnL     ScoreBy = "pnl"
)

// ParseScoreBy reads a score name; empty means sortino.
func ParseScoreBy(s string) (ScoreBy, error) {
	switch ScoreBy(s) {
	case "":
		return BySortino, nil
	case BySortino, BySharpe, ByCalmar, ByPnL:
		return ScoreBy(s), nil
	}
	return "", fmt.Errorf("unknown score %q (choose sortino, sharpe, calmar or pnl)", s)
}

// Compute scores an equity curve sampled once a period. traded is the
// money traded, fees the fees paid, periodsPerYear as in the conventions
// above. With fewer than MinReturns returns, Sharpe, Sortino and Calmar
// are withheld and a risk-adjusted score is zero (ranking falls to P&L).
func Compute(equity []float64, traded, fees, periodsPerYear float64, by ScoreBy) Metrics {
	if len(equity) == 0 {
		return Metrics{}
	}
	e0, en := equity[0], equity[len(equity)-1]
	r := Returns(equity)
	m := Metrics{
		PnL:         en - e0,
		Return:      en/e0 - 1,
		MaxDrawdown: MaxDrawdown(equity),
		Turnover:    traded / e0,
		HitRate:     HitRate(r),
		Fees:        fees,
		Returns:     len(r),
		Losses:      losses(r),
		Scored:      len(r) >= MinReturns || by == ByPnL,
	}
	if len(r) >= MinReturns {
		m.Sharpe = Sharpe(r, periodsPerYear)
		m.SharpeSE = SharpeSE(m.Sharpe, len(r), periodsPerYear)
		m.Sortino = Sortino(r, periodsPerYear)
		m.Calmar = Calmar(equity, periodsPerYear)
	}
	switch by {
	case BySharpe:
		m.Score = m.Sharpe
	case ByCalmar:
		m.Score = m.Calmar
	case ByPnL:
		m.Score = m.PnL
	default:
		m.Score = m.Sortino
	}
	return m
}

// Moments are the per-period statistics the probabilistic Sharpe ratio
// needs: the non-annualised Sharpe ratio, the skewness and the RAW
// kurtosis (3 for a normal law, not excess kurtosis), over n returns.
type Moments struct {
	SR, Skew, Kurt float64
	N              int
}

// MomentsOf computes Moments of returns r. Skewness and kurtosis are the
// population (biased) moment ratios m3/m2^1.5 and m4/m2², as in Bailey and
// López de Prado; SR uses the sample standard deviation.
func MomentsOf(r []float64) Moments {
	n := len(r)
	if n < 2 {
		return Moments{N: n, Kurt: 3}
	}
	mean, sd := stat.MeanStdDev(r, nil)
	var m2, m3, m4 float64
	for _, x := range r {
		d := x - mean
		m2 += d * d
		m3 += d * d * d
		m4 += d * d * d * d
	}
	m2, m3, m4 = m2/float64(n), m3/float64(n), m4/float64(n)
	if !(m2 > 0) || !(sd > 0) {
		return Moments{N: n, Kurt: 3}
	}
	return Moments{SR: mean / sd, Skew: m3 / math.Pow(m2, 1.5), Kurt: m4 / (m2 * m2), N: n}
}

// PSR is the probabilistic Sharpe ratio (Bailey & López de Prado, 2012):
// the probability that the true per-period Sharpe ratio exceeds the
// benchmark srStar, given the estimate's skewness and raw kurtosis:
//
//	PSR = Φ( (SR − SR*)·√(n − 1) / √(1 − γ₃·SR + (γ₄ − 1)/4 · SR²) )
func PSR(m Moments, srStar float64) float64 {
	if m.N < 2 {
		return 0
	}
	den := 1 - m.Skew*m.SR + (m.Kurt-1)/4*m.SR*m.SR
	if !(den > 0) {
		return 0
	}
	z := (m.SR - srStar) * math.Sqrt(float64(m.N-1)) / math.Sqrt(den)
	return distuv.UnitNormal.CDF(z)
}

// eulerGamma is the Euler–Mascheroni constant.
const eulerGamma = 0.5772156649015329

// ExpectedMaxSharpe is the Sharpe ratio the best of trials independent
// strategies with no skill would show, given the variance of their
// (per-period) Sharpe ratios (Bailey & López de Prado, 2014):
//
//	SR* = √V · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)))
func ExpectedMaxSharpe(variance float64, trials int) float64 {
	if trials < 2 || !(variance > 0) {
		return 0
	}
	n := float64(trials)
	q := distuv.UnitNormal.Quantile
	return math.Sqrt(variance) * ((1-eulerGamma)*q(1-1/n) + eulerGamma*q(1-1/(n*math.E)))
}

// DSR is the deflated Sharpe ratio: the PSR against the Sharpe ratio the
// best of the trials would show by luck alone. srs are the per-period
// Sharpe ratios of all the trials (all the strategies compared).
func DSR(m Moments, srs []float64) float64 {
	if len(srs) < 2 {
		return PSR(m, 0)
	}
	return PSR(m, ExpectedMaxSharpe(stat.Variance(srs, nil), len(srs)))
}

// Standing is one strategy's place in a season.
type Standing struct {
	Strategy    string  `json:"strategy"`
	Name        string  `json:"name"`
	Rounds      int     `json:"rounds"`
	Wins        int     `json:"wins"`
	MedianScore float64 `json:"median_score"`
	TotalPnL    float64 `json:"total_pnl"`
	PSR         float64 `json:"psr"` // probability the true Sharpe ratio is above zero
	DSR         float64 `json:"dsr"` // the same, deflated for the number of strategies compared
	Rank        int     `json:"rank"`
}

// SeasonInput is one strategy's record over the rounds of a season.
type SeasonInput struct {
	Strategy, Name string
	Scores         []float64 // one per round
	PnLs           []float64
	Wins           int
	Returns        []float64 // per-period returns of all its rounds, in order
}

// Standings ranks strategies by the median of their round scores (so one
// outlier round cannot flip the leader), ties broken by total P&L then by
// id, and adds the probabilistic and deflated Sharpe ratios of their
// pooled per-period returns.
func Standings(in []SeasonInput) []Standing {
	moments := make([]Moments, len(in))
	srs := make([]float64, len(in))
	for k, s := range in {
		moments[k] = MomentsOf(s.Returns)
		srs[k] = moments[k].SR
	}
	out := make([]Standing, len(in))
	for k, s := range in {
		st := Standing{Strategy: s.Strategy, Name: s.Name, Rounds: len(s.Scores), Wins: s.Wins,
			MedianScore: Median(s.Scores), PSR: PSR(moments[k], 0), DSR: DSR(moments[k], srs)}
		for _, p := range s.PnLs {
			st.TotalPnL += p
		}
		out[k] = st
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.MedianScore != b.MedianScore {
			return a.MedianScore > b.MedianScore
		}
		if a.TotalPnL != b.TotalPnL {
			return a.TotalPnL > b.TotalPnL
		}
		return a.Strategy < b.Strategy
	})
	for k := range out {
		out[k].Rank = k + 1
	}
	return out
}

// Median is the middle value of xs (the mean of the two middle ones for an
// even count), 0 for none. xs is not changed.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
