package research

import (
	"fmt"
	"slices"
)

// signalPhrase says what a signal does, for statements.
func signalPhrase(s Signal, h int) string {
	switch s {
	case Momentum:
		return fmt.Sprintf("holding the direction of the past %d days' return", h)
	case Reversal:
		return fmt.Sprintf("fading the past %d days' move", h)
	case Trend:
		return fmt.Sprintf("holding the side of the %d-day moving average the price is on", h)
	case VolTiming:
		return fmt.Sprintf("going long when %d-day volatility is below its yearly level and short when above", h)
	}
	return "a coin"
}

func regimePhrase(r Regime) string {
	switch r {
	case Calm:
		return "only while the market is calm"
	case Stressed:
		return "only while the market is stressed"
	}
	return "in every regime"
}

// Statement is the plain-language claim of h.
func (h Hypothesis) statementText() string {
	return fmt.Sprintf("Trading %s instruments by %s, %s, earns a positive return after costs.",
		h.Set, signalPhrase(h.Signal, h.Horizon), regimePhrase(h.Regime))
}

// FromGaps maps the top gaps to testable hypotheses: a gap between a
// signal and a regime, instrument set or mechanism becomes the signal
// traded on the set and horizon its neighbours in the graph point to, in
// the regime the gap names (or every regime). Gaps with no testable signal
// at either end are not hypotheses; they are returned as skipped.
func FromGaps(gaps []Gap, g *Graph, cs []Concept, papers []Paper, top int) (hyps []Hypothesis, skipped []Gap) {
	seen := map[string]bool{}
	for _, gp := range gaps {
		if len(hyps) >= top {
			break
		}
		sig, other := gp.A, gp.C
		if cs[sig].Kind != "signal" {
			sig, other = other, sig
		}
		if cs[sig].Kind != "signal" || signalOf(cs[sig].Name) == noSignal {
			skipped = append(skipped, gp)
			continue
		}
		h := Hypothesis{Signal: signalOf(cs[sig].Name), Regime: AnyRegime, Set: Equity, Horizon: 21, Sign: 1,
			From: []string{cs[gp.A].Name, cs[gp.C].Name}, GapScore: gp.Scores.Combined}
		switch cs[other].Kind {
		case "regime":
			h.Regime = regimeOf(cs[other].Name)
		case "set":
			h.Set = setOf(cs[other].Name)
		case "horizon":
			h.Horizon = horizonOf(cs[other].Name)
		}
		if cs[other].Kind != "set" {
			if n := strongestOfKind(g, cs, "set", sig, other); n >= 0 {
				h.Set = setOf(cs[n].Name)
			}
		}
		if cs[other].Kind != "horizon" {
			if n := strongestOfKind(g, cs, "horizon", sig, other); n >= 0 {
				h.Horizon = horizonOf(cs[n].Name)
			}
		}
		for _, b := range gp.Bridges {
			h.Bridges = append(h.Bridges, b.Name)
			for _, d := range b.Papers {
				if m := papers[d].Memory; m != 0 && !slices.Contains(h.Papers, m) {
					h.Papers = append(h.Papers, m)
				}
			}
		}
		if seen[h.Key()] {
			skipped = append(skipped, gp)
			continue
		}
		seen[h.Key()] = true
		h.Statement = h.statementText()
		hyps = append(hyps, h)
	}
	return hyps, skipped
}

// strongestOfKind is the concept of kind most linked to a and c together,
// or −1.
func strongestOfKind(g *Graph, cs []Concept, kind string, a, c int) int {
	best, bestW := -1, 0
	for i := range cs {
		if cs[i].Kind != kind || i == a || i == c {
			continue
		}
		if w := g.Weight(a, i) + g.Weight(c, i); w > bestW {
			best, bestW = i, w
		}
	}
	return best
}
