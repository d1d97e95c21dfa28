package mlops

import (
	"context"
	"math"
	"slices"
)

// shadowJob is a champion request mirrored to the challenger.
type shadowJob struct {
	model                string
	kind                 string
	champion, challenger int
	rows                 [][]float64
	answers              []Prediction // the champion's, already returned
}

// ShadowPoint is one mirrored answer: the champion's value and the
// challenger's (a fraud score, a target position, an action's first value).
type ShadowPoint struct {
	Champion   float64 `json:"champion"`
	Challenger float64 `json:"challenger"`
}

// ShadowStats compare the challenger's discarded answers with the
// champion's on the same requests.
type ShadowStats struct {
	Champion    int           `json:"champion"`
	Challenger  int           `json:"challenger"`
	Compared    int64         `json:"compared"` // answers compared
	Agree       int64         `json:"agree"`    // the same decision: both above or below 0.5, the same action
	Agreement   float64       `json:"agreement"`
	MeanAbsDiff float64       `json:"mean_abs_diff"`
	MaxAbsDiff  float64       `json:"max_abs_diff"`
	Dropped     int64         `json:"dropped"` // mirrored requests dropped because the shadow lagged
	Points      []ShadowPoint `json:"points"`  // the latest, for the chart
}

const shadowPoints = 200

func (s ShadowStats) clone() ShadowStats {
	s.Points = slices.Clone(s.Points)
	return s
}

// runShadow answers a mirrored request with the challenger and records the
// comparison. Nothing of it reaches the caller, who has the champion's
// answer already.
func (s *Service) runShadow(ctx context.Context, j shadowJob) {
	w, err := s.pool.get(ctx, j.model, j.challenger)
	if err != nil {
		s.log.Warn("mlops: shadow challenger not loaded", "model", j.model, "version", j.challenger, "err", err)
		return
	}
	if checkRows(j.rows, w.p.InputDim(), s.cfg.Serve.MaxRows) != nil {
		return // the challenger takes other inputs; nothing to compare
	}
	got, err := s.pool.predict(ctx, w, j.rows)
	if err != nil {
		return
	}
	l := s.liveOf(j.model)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &l.shadow
	if st.Champion != j.champion || st.Challenger != j.challenger {
		*st = ShadowStats{Champion: j.champion, Challenger: j.challenger, Dropped: st.Dropped}
	}
	for i := range got {
		a, b := shadowValue(j.answers[i]), shadowValue(got[i])
		d := math.Abs(a - b)
		st.Compared++
		if agree(j.answers[i], got[i]) {
			st.Agree++
		}
		st.MeanAbsDiff += (d - st.MeanAbsDiff) / float64(st.Compared)
		st.MaxAbsDiff = max(st.MaxAbsDiff, d)
		st.Points = append(st.Points, ShadowPoint{Champion: a, Challenger: b})
	}
	if n := len(st.Points); n > shadowPoints {
		st.Points = slices.Delete(st.Points, 0, n-shadowPoints)
	}
	st.Agreement = float64(st.Agree) / float64(st.Compared)
	s.changed = true
}

func shadowValue(p Prediction) float64 {
	switch {
	case p.Score != nil:
		return *p.Score
	case p.Position != nil:
		return *p.Position
	case len(p.Action) > 0:
		return p.Action[0]
	}
	return math.NaN()
}

func agree(a, b Prediction) bool {
	if a.Score != nil && b.Score != nil {
		return (*a.Score >= 0.5) == (*b.Score >= 0.5)
	}
	return slices.Equal(a.Action, b.Action)
}
