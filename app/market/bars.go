package market

import (
	"fmt"
	"math"
	"time"
)

// Interval is a bar length.
type Interval string

// The bar intervals the market keeps.
const (
	Minute Interval = "1m"
	Hour   Interval = "1h"
	Day    Interval = "1d"
)

// Intervals lists the kept intervals, shortest first.
var Intervals = []Interval{Minute, Hour, Day}

// Duration is the length of the interval.
func (iv Interval) Duration() time.Duration {
	switch iv {
	case Minute:
		return time.Minute
	case Hour:
		return time.Hour
	case Day:
		return 24 * time.Hour
	}
	return 0
}

// ParseInterval reads "1m", "1h" or "1d".
func ParseInterval(s string) (Interval, error) {
	for _, iv := range Intervals {
		if string(iv) == s {
			return iv, nil
		}
	}
	return "", fmt.Errorf("unknown interval %q (choose 1m, 1h or 1d)", s)
}

// Bar is one OHLCV bar of traded prices. Time is the start of the bar.
// A bar without trades repeats the last close with zero volume.
type Bar struct {
	Symbol   string    `json:"symbol"`
	Interval Interval  `json:"interval"`
	Time     time.Time `json:"time"`
	Open     float64   `json:"open"`
	High     float64   `json:"high"`
	Low      float64   `json:"low"`
	Close    float64   `json:"close"`
	Volume   float64   `json:"volume"`
	Trades   int       `json:"trades"`
}

// barMaker builds the bars of one symbol and interval from trades.
type barMaker struct {
	cur     Bar
	open    bool // cur has a start time
	lastPx  float64
	hasLast bool
}

// add records a trade at time t (within the current bar; call roll first).
// A trade with a price or quantity that is not a positive finite number
// is left out: one bad trade must not become a bar that is saved and served
// forever.
func (m *barMaker) add(px, qty float64) {
	if !validTrade(px, qty) {
		return
	}
	b := &m.cur
	if b.Trades == 0 {
		b.Open, b.High, b.Low = px, px, px
	}
	b.High = max(b.High, px)
	b.Low = min(b.Low, px)
	b.Close = px
	b.Volume += qty
	b.Trades++
	m.lastPx, m.hasLast = px, true
}

// roll closes the current bar if now is past its end, appending it to out,
// and starts the bar that holds now.
func (m *barMaker) roll(now time.Time, out []Bar) []Bar {
	d := m.cur.Interval.Duration()
	start := now.Truncate(d)
	if m.open && start.Equal(m.cur.Time) {
		return out
	}
	if m.open && (m.cur.Trades > 0 || m.hasLast) {
		if m.cur.Trades == 0 {
			px := m.lastPx
			m.cur.Open, m.cur.High, m.cur.Low, m.cur.Close = px, px, px, px
		}
		out = append(out, m.cur)
	}
	m.cur = Bar{Symbol: m.cur.Symbol, Interval: m.cur.Interval, Time: start}
	m.open = true
	return out
}

// barRing keeps the latest bars of one symbol and interval in memory.
type barRing struct {
	bars []Bar
	next int
	full bool
}

func (r *barRing) push(b Bar) {
	if !r.full && len(r.bars) < cap(r.bars) {
		r.bars = append(r.bars, b)
		return
	}
	r.full = true
	r.bars[r.next] = b
	r.next = (r.next + 1) % len(r.bars)
}

// between returns the kept bars with from <= Time < to, oldest first.
func (r *barRing) between(from, to time.Time) []Bar {
	var out []Bar
	n := len(r.bars)
	for k := range n {
		b := r.bars[(r.next+k)%n]
		if !r.full {
			b = r.bars[k]
		}
		if !b.Time.Before(from) && b.Time.Before(to) {
			out = append(out, b)
		}
	}
	return out
}

// validTrade reports whether a trade's price and quantity can go into a bar.
func validTrade(px, qty float64) bool {
	return px > 0 && qty > 0 && !math.IsInf(px, 0) && !math.IsInf(qty, 0)
}
