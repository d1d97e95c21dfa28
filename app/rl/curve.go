package rl

import "sync"

// Curve is a run's learning curve as the service keeps it in memory, for a
// page opened in the middle of a run (or after a restart) to draw from its
// start. It is bounded: at most MaxPoints points (when there are more, every
// other point of the older half goes) and MaxEpisodes episode returns (when
// there are more, the returns of the oldest points go, down to nine tenths
// of the cap, so that the database follows in one statement now and then
// rather than one per point).
//
// The database keeps exactly the returns the curve holds: Add reports the
// points whose returns it let go, and the service clears them there too.
// Replaying the stored points through a new Curve (Service.Load) then gives
// the same curve, returns and all.
type Curve struct {
	MaxPoints   int
	MaxEpisodes int

	points   []RunMetric
	episodes int // returns held across points
}

// The default bounds of a run's curve.
const (
	DefaultCurvePoints   = 4000
	DefaultCurveEpisodes = 20000
)

// Add appends m. Points at or past m's steps go first: a resumed run
// continues from its checkpoint and trains them again. It returns the steps
// of the earlier points whose episode returns were let go to keep the curve
// within its bounds (not those replaced by m's rewind).
func (c *Curve) Add(m RunMetric) (lost []int) {
	for len(c.points) > 0 && c.points[len(c.points)-1].Steps >= m.Steps {
		c.episodes -= len(c.points[len(c.points)-1].Episodes)
		c.points = c.points[:len(c.points)-1]
	}
	c.points = append(c.points, m)
	c.episodes += len(m.Episodes)
	if maxEps := c.maxEpisodes(); c.episodes > maxEps {
		low := maxEps - maxEps/10
		for i := 0; c.episodes > low && i < len(c.points)-1; i++ {
			if n := len(c.points[i].Episodes); n > 0 {
				c.episodes -= n
				c.points[i].Episodes = nil
				lost = append(lost, c.points[i].Steps)
			}
		}
	}
	if len(c.points) > c.maxPoints() {
		// Keep every other point of the older half.
		half := len(c.points) / 2
		kept := c.points[:0]
		for i, p := range c.points {
			if i >= half || i%2 == 1 {
				kept = append(kept, p)
				continue
			}
			if len(p.Episodes) > 0 {
				c.episodes -= len(p.Episodes)
				lost = append(lost, p.Steps)
			}
		}
		clear(c.points[len(kept):])
		c.points = kept
	}
	return lost
}

// Truncate drops the points past steps: a run about to train again from
// there.
func (c *Curve) Truncate(steps int) {
	for len(c.points) > 0 && c.points[len(c.points)-1].Steps > steps {
		c.episodes -= len(c.points[len(c.points)-1].Episodes)
		c.points = c.points[:len(c.points)-1]
	}
}

// Points returns a copy of the curve (the returns are shared, never changed).
func (c *Curve) Points() []RunMetric {
	return append([]RunMetric{}, c.points...)
}

// Episodes is the number of episode returns the curve holds.
func (c *Curve) Episodes() int { return c.episodes }

func (c *Curve) maxPoints() int {
	if c.MaxPoints > 0 {
		return c.MaxPoints
	}
	return DefaultCurvePoints
}

func (c *Curve) maxEpisodes() int {
	if c.MaxEpisodes > 0 {
		return c.MaxEpisodes
	}
	return DefaultCurveEpisodes
}

// curves are the learning curves of a trainer's runs, each bounded as the
// trainer is configured; safe for concurrent use.
type curves struct {
	maxPoints, maxEpisodes int

	mu sync.Mutex // guards m
	m  map[int64]*Curve
}

func newCurves(maxPoints, maxEpisodes int) *curves {
	return &curves{maxPoints: maxPoints, maxEpisodes: maxEpisodes, m: map[int64]*Curve{}}
}

// add adds m to its run's curve and returns the steps of the points whose
// returns the curve let go.
func (cs *curves) add(m RunMetric) []int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.m[m.Run]
	if c == nil {
		c = &Curve{MaxPoints: cs.maxPoints, MaxEpisodes: cs.maxEpisodes}
		cs.m[m.Run] = c
	}
	return c.Add(m)
}

// truncate drops the points of run id's curve past steps.
func (cs *curves) truncate(id int64, steps int) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c := cs.m[id]; c != nil {
		c.Truncate(steps)
	}
}

// points returns a copy of run id's curve; nil when it has no point yet.
func (cs *curves) points(id int64) []RunMetric {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c := cs.m[id]; c != nil {
		return c.Points()
	}
	return nil
}
