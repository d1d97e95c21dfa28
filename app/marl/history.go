package marl

import "sync"

// history is what the service keeps of a run besides its RunInfo: its
// learning curve, its curriculum promotions and the window of its running
// means.
type history struct {
	points []Point
	events []Event
	team   []float64   // the last recentWindow team returns
	agents [][]float64 // the same episodes' per-agent returns
}

// histories are the histories of a service's runs; safe for concurrent use.
type histories struct {
	maxPoints int // learning-curve points kept per run

	mu sync.Mutex // guards m
	m  map[int64]*history
}

func newHistories(maxPoints int) *histories {
	return &histories{maxPoints: maxPoints, m: map[int64]*history{}}
}

// of returns run id's history, made when it has none; hs.mu is held.
func (hs *histories) of(id int64) *history {
	h := hs.m[id]
	if h == nil {
		h = &history{}
		hs.m[id] = h
	}
	return h
}

// rewind forgets the points and events of run id past episode: it resumes
// from its checkpoint there. Unless it continues where it was (keepWindow),
// its running means start again too.
func (hs *histories) rewind(id int64, episode int, keepWindow bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	h := hs.of(id)
	for len(h.points) > 0 && h.points[len(h.points)-1].Episode > episode {
		h.points = h.points[:len(h.points)-1]
	}
	for len(h.events) > 0 && h.events[len(h.events)-1].Episode > episode {
		h.events = h.events[:len(h.events)-1]
	}
	if !keepWindow {
		h.team, h.agents = nil, nil
	}
}

// add records a training episode of run id in its running means, and on
// its learning curve when point is set. It returns the team's and each
// agent's mean over the window, and the point added (nil when none).
func (hs *histories) add(id int64, st EpisodeStats, point bool) (team float64, per []float64, p *Point) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	h := hs.of(id)
	if len(h.team) == recentWindow {
		h.team, h.agents = h.team[1:], h.agents[1:]
	}
	h.team = append(h.team, st.Return)
	h.agents = append(h.agents, append([]float64(nil), st.Agents...))
	team = finite(meanOf(h.team))
	per = make([]float64, len(st.Agents))
	for _, a := range h.agents {
		for i := range per {
			if i < len(a) {
				per[i] += a[i] / float64(len(h.agents))
			}
		}
	}
	for i := range per {
		per[i] = finite(per[i])
	}
	if point {
		p = &Point{Run: id, Episode: st.Episode, Team: team, Agents: per}
		h.addPoint(*p, hs.maxPoints)
	}
	return team, per, p
}

// addPoint appends p, after the points at or past its episode, keeping at
// most maxPoints: every other point of the older half goes.
func (h *history) addPoint(p Point, maxPoints int) {
	for len(h.points) > 0 && h.points[len(h.points)-1].Episode >= p.Episode {
		h.points = h.points[:len(h.points)-1]
	}
	h.points = append(h.points, p)
	if len(h.points) > maxPoints {
		half := len(h.points) / 2
		kept := h.points[:0]
		for i, q := range h.points {
			if i >= half || i%2 == 1 {
				kept = append(kept, q)
			}
		}
		h.points = kept
	}
}

// addEvent records a curriculum promotion.
func (hs *histories) addEvent(ev Event) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	h := hs.of(ev.Run)
	h.events = append(h.events, ev)
}

// copy returns copies of run id's points and events (empty, not nil, when
// it has none).
func (hs *histories) copy(id int64) ([]Point, []Event) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	points, events := []Point{}, []Event{}
	if h := hs.m[id]; h != nil {
		points, events = append(points, h.points...), append(events, h.events...)
	}
	return points, events
}

// set adds the histories read from the database.
func (hs *histories) set(m map[int64]*history) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for id, h := range m {
		hs.m[id] = h
	}
}
