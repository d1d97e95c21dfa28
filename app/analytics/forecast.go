package analytics

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// ErrTooShort is returned when a series has too few points to forecast.
var ErrTooShort = errors.New("too few points")

// A Model is a forecasting method: Fit estimates it on y and returns the
// fitted model, which forecasts the next h values with their standard
// deviations (for prediction intervals under normal errors).
type Model interface {
	Name() string
	Fit(y []float64) (Fitted, error)
}

// Fitted is a model estimated on one series.
type Fitted interface {
	// Forecast returns the mean forecast and its standard deviation for the
	// h steps after the data the model was fitted on.
	Forecast(h int) (mean, sd []float64)
}

// HoltWinters is additive Holt-Winters exponential smoothing in error
// correction form (ETS(A,A,A)): level, trend and, when Period > 1, an
// additive season of Period steps. Its smoothing parameters minimise the sum
// of squared one-step errors (Nelder-Mead on logistic transforms that keep
// 0 < alpha < 1, 0 < beta < alpha, 0 < gamma < 1-alpha).
type HoltWinters struct {
	Period int // season length in steps; 0 or 1 for no season (Holt's linear trend)
}

// Name is "holt-winters(m)" or "holt" without a season.
func (hw HoltWinters) Name() string {
	if hw.Period > 1 {
		return fmt.Sprintf("holt-winters(%d)", hw.Period)
	}
	return "holt"
}

type hwFit struct {
	alpha, beta, gamma float64
	level, trend       float64
	season             []float64 // season[i] is the effect at step t with t mod m == i
	n                  int       // points fitted
	sigma2             float64
}

// Fit estimates the model on y.
func (hw HoltWinters) Fit(y []float64) (Fitted, error) {
	m := hw.Period
	if m < 2 {
		m = 0
	}
	need := 2*m + 4
	if m == 0 {
		need = 6
	}
	if len(y) < need {
		return nil, fmt.Errorf("holt-winters needs %d points, has %d: %w", need, len(y), ErrTooShort)
	}
	params := func(x []float64) (a, b, g float64) {
		a = 0.001 + 0.998*logistic(x[0])
		b = a * logistic(x[1])
		if m > 0 {
			g = (1 - a) * logistic(x[2])
		}
		return
	}
	dim := 2
	if m > 0 {
		dim = 3
	}
	p := optimize.Problem{Func: func(x []float64) float64 {
		a, b, g := params(x)
		sse, _ := hwRun(y, m, a, b, g)
		return sse
	}}
	x0 := []float64{logit(0.3), logit(0.1), logit(0.1)}[:dim]
	res, err := optimize.Minimize(p, x0, &optimize.Settings{FuncEvaluations: 600}, &optimize.NelderMead{})
	x := x0
	if err == nil || res != nil && res.X != nil {
		x = res.X
	}
	a, b, g := params(x)
	sse, f := hwRun(y, m, a, b, g)
	k := dim + 2 + m // smoothing parameters and initial states
	dof := len(y) - k
	if dof < 1 {
		dof = 1
	}
	f.sigma2 = sse / float64(dof)
	return f, nil
}

// hwRun filters y with the given parameters and returns the sum of squared
// one-step errors and the final state.
func hwRun(y []float64, m int, alpha, beta, gamma float64) (float64, *hwFit) {
	f := &hwFit{alpha: alpha, beta: beta, gamma: gamma, n: len(y)}
	if m > 0 {
		// Initial level and trend from the first two seasons' means, season
		// from the first season's deviations.
		m1 := floats.Sum(y[:m]) / float64(m)
		m2 := floats.Sum(y[m:2*m]) / float64(m)
		f.trend = (m2 - m1) / float64(m)
		f.level = m1 - f.trend*float64(m-1)/2
		f.season = make([]float64, m)
		for i := 0; i < m; i++ {
			f.season[i] = y[i] - (f.level + f.trend*float64(i))
		}
		// The level is the level before the first step.
		f.level -= f.trend
	} else {
		f.level = y[0]
		f.trend = y[1] - y[0]
		f.level -= f.trend
	}
	var sse float64
	for t, v := range y {
		s := 0.0
		if m > 0 {
			s = f.season[t%m]
		}
		e := v - (f.level + f.trend + s)
		sse += e * e
		f.level = f.level + f.trend + alpha*e
		f.trend += beta * e
		if m > 0 {
			f.season[t%m] += gamma * e
		}
	}
	if math.IsNaN(sse) || math.IsInf(sse, 0) {
		sse = math.MaxFloat64
	}
	return sse, f
}

// Forecast gives the mean and, from the ETS(A,A,A) variance formula
// (Hyndman et al. 2008, class 1), the standard deviation h steps ahead.
func (f *hwFit) Forecast(h int) (mean, sd []float64) {
	m := len(f.season)
	mean, sd = make([]float64, h), make([]float64, h)
	a, b, g := f.alpha, f.beta, f.gamma
	for i := 1; i <= h; i++ {
		s := 0.0
		if m > 0 {
			s = f.season[(f.n+i-1)%m]
		}
		mean[i-1] = f.level + float64(i)*f.trend + s
		hf := float64(i)
		v := 1 + (hf-1)*(a*a+a*b*hf+b*b*hf*(2*hf-1)/6)
		if m > 0 {
			k := float64((i - 1) / m)
			v += g * k * (2*a + g + b*float64(m)*(k+1))
		}
		sd[i-1] = math.Sqrt(f.sigma2 * v)
	}
	return mean, sd
}

// AR is an autoregressive model of order P (chosen by AIC up to MaxP when P
// is 0) fitted by ordinary least squares with an intercept, on the levels or,
// with Diff, on the first differences (ARIMA(p,1,0) with drift).
type AR struct {
	P    int
	MaxP int  // upper bound of the AIC search; default min(n/5, 30)
	Diff bool // fit the differences and integrate the forecast
}

// Name is "ar(p)" or "ari(p,1)"; p is "auto" when chosen by AIC.
func (ar AR) Name() string {
	p := "auto"
	if ar.P > 0 {
		p = fmt.Sprint(ar.P)
	}
	if ar.Diff {
		return "ari(" + p + ",1)"
	}
	return "ar(" + p + ")"
}

type arFit struct {
	c      float64
	phi    []float64
	sigma2 float64
	hist   []float64 // the last len(phi) values of the fitted series (levels or differences)
	diff   bool
	last   float64 // last level, to integrate differences
}

// Fit estimates the model on y.
func (ar AR) Fit(y []float64) (Fitted, error) {
	x := y
	if ar.Diff {
		x = make([]float64, len(y)-1)
		for i := range x {
			x[i] = y[i+1] - y[i]
		}
	}
	maxP := ar.MaxP
	if maxP <= 0 {
		maxP = min(len(x)/5, 30)
	}
	ps := []int{ar.P}
	if ar.P <= 0 {
		ps = ps[:0]
		for p := 1; p <= maxP; p++ {
			ps = append(ps, p)
		}
	} else {
		maxP = ar.P
	}
	if len(ps) == 0 || len(x)-maxP < maxP+8 {
		return nil, fmt.Errorf("ar needs more than %d points, has %d: %w", 2*maxP+8, len(x), ErrTooShort)
	}
	var best *arFit
	bestAIC := math.Inf(1)
	for _, p := range ps {
		// Every order is fitted on the same rows (from maxP on), so that
		// their AICs compare.
		c, phi, rss, err := olsAR(x, p, maxP)
		if err != nil {
			continue
		}
		nobs := float64(len(x) - maxP)
		aic := nobs*math.Log(rss/nobs) + 2*float64(p+1)
		if aic < bestAIC {
			bestAIC = aic
			best = &arFit{c: c, phi: phi, sigma2: rss / math.Max(1, nobs-float64(p+1)), diff: ar.Diff}
		}
	}
	if best == nil {
		return nil, errors.New("ar: least squares failed for every order")
	}
	p := len(best.phi)
	best.hist = append([]float64(nil), x[len(x)-p:]...)
	best.last = y[len(y)-1]
	return best, nil
}

// olsAR regresses x[t] on 1, x[t-1], ..., x[t-p] for t >= from.
func olsAR(x []float64, p, from int) (c float64, phi []float64, rss float64, err error) {
	n := len(x) - from
	X := mat.NewDense(n, p+1, nil)
	Y := mat.NewVecDense(n, nil)
	for r := 0; r < n; r++ {
		t := from + r
		X.Set(r, 0, 1)
		for j := 1; j <= p; j++ {
			X.Set(r, j, x[t-j])
		}
		Y.SetVec(r, x[t])
	}
	var beta mat.VecDense
	if err := beta.SolveVec(X, Y); err != nil {
		return 0, nil, 0, fmt.Errorf("ar(%d) least squares: %w", p, err)
	}
	var fit mat.VecDense
	fit.MulVec(X, &beta)
	for r := 0; r < n; r++ {
		d := Y.AtVec(r) - fit.AtVec(r)
		rss += d * d
	}
	phi = make([]float64, p)
	for j := range phi {
		phi[j] = beta.AtVec(j + 1)
	}
	return beta.AtVec(0), phi, rss, nil
}

// Forecast iterates the recursion for the mean; the standard deviation comes
// from the psi weights of the model for the levels (for differences, the AR
// polynomial times 1-B).
func (f *arFit) Forecast(h int) (mean, sd []float64) {
	p := len(f.phi)
	hist := append([]float64(nil), f.hist...)
	mean, sd = make([]float64, h), make([]float64, h)
	level := f.last
	for i := 0; i < h; i++ {
		v := f.c
		for j := 1; j <= p; j++ {
			v += f.phi[j-1] * hist[len(hist)-j]
		}
		hist = append(hist, v)
		if f.diff {
			level += v
			mean[i] = level
		} else {
			mean[i] = v
		}
	}
	a := f.phi
	if f.diff {
		a = make([]float64, p+1)
		for i := 0; i <= p; i++ {
			if i < p {
				a[i] += f.phi[i]
			}
			if i == 0 {
				a[i] += 1
			} else {
				a[i] -= f.phi[i-1]
			}
		}
	}
	psi := make([]float64, h)
	psi[0] = 1
	var acc float64
	for j := 0; j < h; j++ {
		if j > 0 {
			for i := 1; i <= min(j, len(a)); i++ {
				psi[j] += a[i-1] * psi[j-i]
			}
		}
		acc += psi[j] * psi[j]
		sd[j] = math.Sqrt(f.sigma2 * acc)
	}
	return mean, sd
}

// Naive forecasts the last value; its standard deviation grows as sqrt(h).
type Naive struct{}

// Name is "naive".
func (Naive) Name() string { return "naive" }

type naiveFit struct{ last, sigma2 float64 }

// Fit estimates the random walk's step variance on y.
func (Naive) Fit(y []float64) (Fitted, error) {
	if len(y) < 3 {
		return nil, fmt.Errorf("naive needs 3 points, has %d: %w", len(y), ErrTooShort)
	}
	var ss float64
	for i := 1; i < len(y); i++ {
		d := y[i] - y[i-1]
		ss += d * d
	}
	return naiveFit{last: y[len(y)-1], sigma2: ss / float64(len(y)-1)}, nil
}

func (f naiveFit) Forecast(h int) (mean, sd []float64) {
	mean, sd = make([]float64, h), make([]float64, h)
	for i := range mean {
		mean[i] = f.last
		sd[i] = math.Sqrt(f.sigma2 * float64(i+1))
	}
	return mean, sd
}

// Forecast is a model's forecast of a series with its prediction intervals
// and how well the model did in rolling-origin validation.
type Forecast struct {
	Model  string    `json:"model"`
	Mean   []float64 `json:"mean"`
	Lo80   []float64 `json:"lo80"`
	Hi80   []float64 `json:"hi80"`
	Lo95   []float64 `json:"lo95"`
	Hi95   []float64 `json:"hi95"`
	Period int       `json:"period"` // season length used (0: none found)
	// MASE is the chosen model's mean absolute error over the validation
	// folds, scaled by the in-sample mean absolute error of the one-step
	// naive forecast; NaiveMASE is the same figure for the naive forecast.
	MASE      float64      `json:"mase"`
	NaiveMASE float64      `json:"naive_mase"`
	Scores    []ModelScore `json:"scores"` // every candidate, best first
}

// ModelScore is one candidate's validation result.
type ModelScore struct {
	Model string  `json:"model"`
	MASE  float64 `json:"mase"`
}

// SelectOptions tune Select.
type SelectOptions struct {
	Horizon int // steps to forecast; required
	Period  int // season length; 0 detects it from the autocorrelation
	Folds   int // rolling origins; default 4
}

// Candidates returns the models Select tries for a series with the given
// season length.
func Candidates(period int) []Model {
	ms := []Model{HoltWinters{}, AR{}, AR{Diff: true}, Naive{}}
	if period > 1 {
		ms = append([]Model{HoltWinters{Period: period}}, ms...)
	}
	return ms
}

// Select chooses a model for y by rolling-origin validation (the lowest mean
// MASE over the folds, each fold forecasting Horizon steps from an origin a
// half horizon later than the previous one), refits it on all of y and
// forecasts Horizon steps with 80 % and 95 % intervals.
func Select(y []float64, opt SelectOptions) (*Forecast, error) {
	h := opt.Horizon
	if h < 1 {
		return nil, errors.New("the horizon must be at least one step")
	}
	for _, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("the series holds a value that is not a finite number")
		}
	}
	folds := opt.Folds
	if folds <= 0 {
		folds = 4
	}
	step := max(1, h/2)
	if len(y)-h < 12 {
		return nil, fmt.Errorf("forecasting %d steps needs at least %d points, the series has %d: %w",
			h, 12+h, len(y), ErrTooShort)
	}
	// The season is detected on all but the last horizon (which every fold's
	// training data covers in part); then the folds are cut down so that the
	// first origin leaves a seasonal model two seasons to fit.
	period := opt.Period
	if period == 0 {
		period = DetectPeriod(y[:len(y)-h], (len(y)-h)/3)
	}
	need := max(12, 2*period+4)
	for folds > 1 && len(y)-h-(folds-1)*step < need {
		folds--
	}
	first := len(y) - h - (folds-1)*step // first origin
	type score struct {
		m    Model
		sum  float64
		ok   int
		mase float64
	}
	var scores []score
	for _, m := range Candidates(period) {
		sc := score{m: m}
		fm := m // the model fitted on each fold
		for k := 0; k < folds; k++ {
			o := first + k*step
			fit, err := fm.Fit(y[:o])
			if err != nil {
				break
			}
			// An AR model's order, chosen by AIC on the first fold, is kept
			// for the others: the search over orders is most of its cost.
			if ar, ok := m.(AR); ok && ar.P == 0 {
				fm = AR{P: len(fit.(*arFit).phi), Diff: ar.Diff}
			}
			mean, _ := fit.Forecast(h)
			sc.sum += mase(y[:o], y[o:o+h], mean)
			sc.ok++
		}
		if sc.ok == folds {
			sc.mase = sc.sum / float64(folds)
			if !math.IsNaN(sc.mase) {
				scores = append(scores, sc)
			}
		}
	}
	if len(scores) == 0 {
		return nil, fmt.Errorf("no model could be fitted on %d points: %w", len(y), ErrTooShort)
	}
	sort.SliceStable(scores, func(i, j int) bool { return scores[i].mase < scores[j].mase })
	out := &Forecast{Period: period, MASE: scores[0].mase}
	for _, sc := range scores {
		out.Scores = append(out.Scores, ModelScore{Model: sc.m.Name(), MASE: sc.mase})
		if sc.m.Name() == "naive" {
			out.NaiveMASE = sc.mase
		}
	}
	fit, err := scores[0].m.Fit(y)
	if err != nil {
		return nil, fmt.Errorf("refit %s: %w", scores[0].m.Name(), err)
	}
	out.Model = scores[0].m.Name()
	mean, sd := fit.Forecast(h)
	out.Mean = mean
	out.Lo80, out.Hi80 = interval(mean, sd, 0.80)
	out.Lo95, out.Hi95 = interval(mean, sd, 0.95)
	return out, nil
}

// interval returns the central prediction interval of the given level under
// normal errors.
func interval(mean, sd []float64, level float64) (lo, hi []float64) {
	z := distuv.UnitNormal.Quantile(0.5 + level/2)
	lo, hi = make([]float64, len(mean)), make([]float64, len(mean))
	for i := range mean {
		lo[i] = mean[i] - z*sd[i]
		hi[i] = mean[i] + z*sd[i]
	}
	return lo, hi
}

// MASE is the mean absolute error of forecast against actual, scaled by the
// in-sample mean absolute error of the one-step naive forecast on train
// (Hyndman and Koehler 2006). Below 1, the forecast beats what the naive
// method does one step ahead on the training data.
func MASE(train, actual, forecast []float64) float64 { return mase(train, actual, forecast) }

func mase(train, actual, forecast []float64) float64 {
	var scale float64
	for i := 1; i < len(train); i++ {
		scale += math.Abs(train[i] - train[i-1])
	}
	scale /= float64(len(train) - 1)
	var mae float64
	for i := range actual {
		mae += math.Abs(actual[i] - forecast[i])
	}
	mae /= float64(len(actual))
	if scale == 0 {
		if mae == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return mae / scale
}

// DetectPeriod returns the season length of y: the first local peak of the
// autocorrelation of the linearly detrended series, at lags 2..maxLag, that
// is above 0.3 and within 90 % of the highest such peak (so that a multiple
// of the season does not win by noise); 0 when there is none.
func DetectPeriod(y []float64, maxLag int) int {
	n := len(y)
	if n < 8 {
		return 0
	}
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i)
	}
	a, b := stat.LinearRegression(xs, y, nil, false)
	d := make([]float64, n)
	for i := range d {
		d[i] = y[i] - (a + b*xs[i])
	}
	maxLag = min(maxLag, n/2)
	var den float64
	for _, v := range d {
		den += v * v
	}
	if den == 0 {
		return 0
	}
	acf := make([]float64, maxLag+2)
	for lag := 1; lag <= maxLag+1 && lag < n; lag++ {
		var num float64
		for i := lag; i < n; i++ {
			num += d[i] * d[i-lag]
		}
		acf[lag] = num / den
	}
	var peaks []int
	top := 0.3
	for lag := 2; lag <= maxLag; lag++ {
		if acf[lag] > 0.3 && acf[lag] >= acf[lag-1] && acf[lag] >= acf[lag+1] {
			peaks = append(peaks, lag)
			top = math.Max(top, acf[lag])
		}
	}
	for _, lag := range peaks {
		if acf[lag] >= 0.9*top {
			return lag
		}
	}
	return 0
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
func logit(p float64) float64    { return math.Log(p / (1 - p)) }
