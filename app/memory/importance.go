package memory

import (
	"math"

	"github.com/metastation/metastation/app/memory/wordvec"
)

// Importance rules. Generative Agents ask a model to rate poignancy 1-10;
// here three measurable signals stand in for it:
//   - P&L impact: |Value| against Config.PnLScale, capped at 1;
//   - novelty: 1 - the highest cosine to the agent's NoveltyWindow latest
//     memories (the whole stream would cost a scan per write);
//   - surprise: how far Value lands from Expected, relative to the
//     expectation's size.
//
// The weights sum to 1 with a floor of 0.05, so a memory that is none of
// these still ranks (and decays) rather than being born forgotten.
const (
	weightPnL      = 0.35
	weightNovelty  = 0.35
	weightSurprise = 0.25
	importanceBase = 0.05
)

// importanceLocked rates m; s.mu is held.
func (s *Store) importanceLocked(m *Memory, vec []float32) float64 {
	pnl := math.Min(1, math.Abs(m.Value)/s.cfg.PnLScale)
	novelty := 1.0
	if a, ok := s.x.agents[m.Agent]; ok {
		stream := s.x.streams[a]
		best := float32(-1)
		for _, pos := range stream[max(0, len(stream)-s.cfg.NoveltyWindow):] {
			best = max(best, wordvec.Dot(vec, s.x.vec(pos)))
		}
		if best > -1 {
			novelty = math.Max(0, math.Min(1, 1-float64(best)))
		}
	}
	surprise := 0.0
	if m.Expected != nil {
		e := *m.Expected
		surprise = math.Min(1, math.Abs(m.Value-e)/(math.Abs(e)+s.cfg.PnLScale/10))
	}
	imp := importanceBase + weightPnL*pnl + weightNovelty*novelty + weightSurprise*surprise
	return math.Round(math.Min(1, imp)*1e4) / 1e4
}
