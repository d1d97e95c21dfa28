package market

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// DailyReturns simulates days daily log-returns of every instrument of u
// from seed, one process step per day. out[i] holds instrument i's returns.
func DailyReturns(u Universe, days int, seed uint64) ([][]float64, error) {
	p, err := NewProcess(u, seed)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(u.Instruments))
	for i := range out {
		out[i] = make([]float64, days)
	}
	for d := range days {
		p.Step(1)
		for i, r := range p.Returns() {
			out[i][d] = r
		}
	}
	return out, nil
}

// MaxSimulateSteps caps SimulateBars: days times steps per day, summed.
const MaxSimulateSteps = 20_000_000

// SimulateBars simulates days trading days of bars of every instrument of
// u from the latent process (fast: no order book). Daily bars take their
// OHLC from 96 fifteen-minute steps, hourly bars from one-minute steps, and
// minute bars from ten-second steps. Weekends are skipped unless every
// instrument is crypto. Volume is synthetic: larger on larger moves.
// out[i] holds instrument i's bars, oldest first.
func SimulateBars(u Universe, days int, seed uint64, iv Interval, start time.Time) ([][]Bar, error) {
	var step time.Duration
	switch iv {
	case Day:
		step = 15 * time.Minute
	case Hour:
		step = time.Minute
	case Minute:
		step = 10 * time.Second
	default:
		return nil, fmt.Errorf("unknown interval %q (choose 1m, 1h or 1d)", iv)
	}
	perDay := int(24 * time.Hour / step)
	if days < 1 || days*perDay > MaxSimulateSteps {
		return nil, fmt.Errorf("days must be between 1 and %d for %s bars, not %d", MaxSimulateSteps/perDay, iv, days)
	}
	p, err := NewProcess(u, seed)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0xba5))
	weekends := false
	for _, in := range u.Instruments {
		weekends = weekends || in.Class != ClassCrypto
	}
	n := len(u.Instruments)
	out := make([][]Bar, n)
	cur := make([]Bar, n)
	day := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	dt := step.Hours() / 24
	for range days {
		for weekends && (day.Weekday() == time.Saturday || day.Weekday() == time.Sunday) {
			day = day.AddDate(0, 0, 1)
		}
		for k := range perDay {
			t := day.Add(time.Duration(k) * step)
			open := t.Truncate(iv.Duration())
			for i := range n {
				px := p.Price(i)
				b := &cur[i]
				if b.Time != open || b.Symbol == "" {
					if b.Symbol != "" {
						out[i] = append(out[i], roundBar(*b, u.Instruments[i]))
					}
					*b = Bar{Symbol: u.Instruments[i].Symbol, Interval: iv, Time: open, Open: px, High: px, Low: px, Close: px}
				}
			}
			p.Step(dt)
			for i, r := range p.Returns() {
				px := p.Price(i)
				b := &cur[i]
				b.High, b.Low, b.Close = max(b.High, px), min(b.Low, px), px
				sd := u.Instruments[i].AnnualVol / math.Sqrt(u.Instruments[i].Class.DaysPerYear()*float64(perDay))
				b.Volume += math.Round(1000 * (0.5 + rng.Float64()) * (1 + math.Abs(r)/sd))
				b.Trades++
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	for i := range n {
		out[i] = append(out[i], roundBar(cur[i], u.Instruments[i]))
	}
	return out, nil
}

// roundBar rounds a bar's prices to whole ticks of in.
func roundBar(b Bar, in Instrument) Bar {
	r := func(x float64) float64 { return in.PriceOf(in.Ticks(x)) }
	b.Open, b.High, b.Low, b.Close = r(b.Open), r(b.High), r(b.Low), r(b.Close)
	return b
}

// ReplayUniverse builds a one-instrument universe for replaying s as the
// market: it starts at the first adjusted close, with a tick of about a
// hundredth of a percent of it, and the series' own volatility. Pass
// s.Returns() as SimConfig.Replay[symbol].
func ReplayUniverse(s Series, symbol string, class Class) (Universe, error) {
	if len(s.Bars) < 2 {
		return Universe{}, errs.Errorf(errs.Invalid, "a replay needs at least two bars")
	}
	px := s.Bars[0].AdjClose
	tick := math.Pow(10, math.Floor(math.Log10(px/10000)))
	r := s.Returns()
	var v float64
	for _, x := range r {
		v += x * x
	}
	vol := math.Min(math.Sqrt(v/float64(len(r))*class.DaysPerYear()), 4.9)
	in := Instrument{Symbol: symbol, Name: symbol + " (replay)", Class: class, Price: px, TickSize: tick, LotSize: 1,
		AnnualVol: vol, GARCH: GARCH{Alpha: 0.05, Beta: 0.9, Nu: 6}}
	u := Universe{Name: "replay " + symbol, Instruments: []Instrument{in}, Correlation: [][]float64{{1}}}
	return u, u.Validate()
}
