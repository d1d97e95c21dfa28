package tournament

import "math"

// detector watches a round step by step and reports the events the
// commentary talks about: lead changes, new highs, drawdowns, comebacks and
// the final minute. Big fills, stops and regime changes come from the round
// itself; detector passes them through, rate-limiting the big fills.
type detector struct {
	leader      int // index of the announced leader, -1 before the first
	candidate   int // who leads now, waiting to hold the lead
	since       int // step the candidate took the lead
	highs       []float64
	inDrawdown  []bool
	inRed       []bool
	finalDone   bool
	lastBigFill int
	by          ScoreBy
	sums        []runningScore
}

// runningScore keeps the sums the live score needs, one whole minute's
// return at a time, so that the leader the commentary names is the leader
// of the board (whose last return may be a part of a minute: tail).
type runningScore struct {
	n                 int
	sum, sumsq, down2 float64
}

func (s *runningScore) add(r float64) {
	s.n++
	s.sum += r
	s.sumsq += r * r
	if r < 0 {
		s.down2 += r * r
	}
}

// score is the live score by by, in the conventions of score.go, with the
// return of the minute under way (tail) when hasTail (Calmar falls back to
// P&L, which needs no running sums).
func (s *runningScore) score(by ScoreBy, pnl, ppy, tail float64, hasTail bool) float64 {
	t := *s
	if hasTail {
		t.add(tail)
	}
	if t.n < MinReturns && by != ByPnL {
		return 0
	}
	n := float64(t.n)
	mean := t.sum / n
	switch by {
	case BySortino:
		if t.down2 == 0 {
			return 0
		}
		return mean * ppy / (math.Sqrt(t.down2/n) * math.Sqrt(ppy))
	case BySharpe:
		v := (t.sumsq - n*mean*mean) / (n - 1)
		if !(v > 0) {
			return 0
		}
		return mean / math.Sqrt(v) * math.Sqrt(ppy)
	}
	return pnl
}

// Detector thresholds, as shares of capital or in steps.
const (
	leadHold      = 12    // steps a new leader must hold the lead before it is announced
	highStep      = 0.004 // a new high is announced every 0.4% of capital above the last one
	drawdownAlarm = 0.02  // drawdown from the peak that is announced
	drawdownReset = 0.01  // drawdown under which the alarm rearms
	redLevel      = -0.01 // P&L below which a strategy is "in the red" for a comeback
	greenLevel    = 0.002 // P&L above which a strategy in the red has come back
	bigFillGap    = 24    // steps between two big-fill lines
)

func newDetector(n int, by ScoreBy) *detector {
	return &detector{leader: -1, candidate: -1, highs: make([]float64, n), inDrawdown: make([]bool, n),
		inRed: make([]bool, n), lastBigFill: -bigFillGap, by: by, sums: make([]runningScore, n)}
}

// step examines r after a step and appends the events found to out.
func (d *detector) step(r *Round, own []Event, out []Event) []Event {
	for _, e := range own {
		if e.Kind == EventBigFill {
			if e.Step-d.lastBigFill < bigFillGap {
				continue
			}
			d.lastBigFill = e.Step
		}
		out = append(out, e)
	}
	capital := r.cfg.Capital
	step, clock := r.StepNo(), r.clock()
	best, bestScore, bestPnL := -1, math.Inf(-1), 0.0
	for k, p := range r.profiles {
		a := r.accounts[k]
		pnl := a.Equity - capital
		// The board's returns: equity once a minute, and now (everyMinute).
		var tail float64
		eq, m := r.equity[k], r.minuteSteps()
		last := len(eq) - 1
		hasTail := last%m != 0
		if last >= m && !hasTail {
			d.sums[k].add(eq[last]/eq[last-m] - 1)
		}
		if hasTail {
			tail = eq[last]/eq[last-last%m] - 1
		}
		if sc := d.sums[k].score(d.by, pnl, r.PeriodsPerYear(), tail, hasTail); sc > bestScore || sc == bestScore && pnl > bestPnL {
			best, bestScore, bestPnL = k, sc, pnl
		}
		if pnl > d.highs[k]+highStep*capital {
			d.highs[k] = pnl
			out = append(out, Event{Kind: EventNewHigh, Step: step, Clock: clock, Strategy: p.ID, Name: p.Name, Value: math.Round(pnl)})
		}
		dd := 1 - a.Equity/a.Peak
		if !a.Stopped && !d.inDrawdown[k] && dd >= drawdownAlarm {
			d.inDrawdown[k] = true
			out = append(out, Event{Kind: EventDrawdown, Step: step, Clock: clock, Strategy: p.ID, Name: p.Name, Pct: round2(100 * dd)})
		} else if d.inDrawdown[k] && dd < drawdownReset {
			d.inDrawdown[k] = false
		}
		if !d.inRed[k] && pnl < redLevel*capital {
			d.inRed[k] = true
		} else if d.inRed[k] && pnl > greenLevel*capital {
			d.inRed[k] = false
			out = append(out, Event{Kind: EventComeback, Step: step, Clock: clock, Strategy: p.ID, Name: p.Name, Value: math.Round(pnl)})
		}
	}
	if best != d.candidate {
		d.candidate, d.since = best, step
	}
	if best >= 0 && best != d.leader && step-d.since >= leadHold {
		if d.leader >= 0 {
			p, o := r.profiles[best], r.profiles[d.leader]
			out = append(out, Event{Kind: EventLeadChange, Step: step, Clock: clock, Strategy: p.ID, Name: p.Name,
				Other: o.Name, Value: math.Round(bestPnL)})
		}
		d.leader = best
	}
	if !d.finalDone && best >= 0 && r.steps-step <= int(60/r.cfg.Step.Seconds()) {
		d.finalDone = true
		p := r.profiles[best]
		out = append(out, Event{Kind: EventFinal, Step: step, Clock: clock, Strategy: p.ID, Name: p.Name, Value: math.Round(bestPnL)})
	}
	return out
}
