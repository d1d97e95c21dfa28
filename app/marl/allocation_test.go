package marl

import (
	"testing"

	"github.com/metastation/metastation/app/rl"
)

func TestAllocationMasksAndConflicts(t *testing.T) {
	e := NewAllocation()
	e.Reset(1)
	e.Queue = []Task{{Work: 2, Deadline: 5, Value: 2}}
	av := e.AvailActions()
	if !av[0][0] || av[0][1] || !av[0][allocSlots] {
		t.Fatalf("masks %v with one task", av[0])
	}
	e.Arrival = 0
	s := e.Step([]int{0, 0, allocSlots}) // two agents on one task
	if e.Fight != 1 || e.Queue[0].Work != 1 {
		t.Fatalf("conflicts %d, work left %d", e.Fight, e.Queue[0].Work)
	}
	if r := s.TeamReward(); r > -0.99 || r < -1.06 {
		t.Fatalf("team reward %.3f, want −2·0.5 − 0.05", r)
	}
	s = e.Step([]int{0, allocSlots, allocSlots})
	if e.Finished != 1 || len(e.Queue) != 0 || s.TeamReward() < 1.9 {
		t.Fatalf("finished %d, queue %d, reward %.2f", e.Finished, len(e.Queue), s.TeamReward())
	}
}

// Coordinated earliest-deadline assignment beats random choices.
func TestAllocationHeuristicBeatsRandom(t *testing.T) {
	e := NewAllocation()
	edf, _ := rl.MeanStd(EvaluateTeam(e, EarliestDeadline{Env: e}, 50, 4, true))
	rnd, _ := rl.MeanStd(EvaluateTeam(NewAllocation(), RandomController{}, 50, 4, false))
	t.Logf("team return: earliest deadline %.1f, random %.1f", edf, rnd)
	if edf <= rnd+5 {
		t.Fatalf("earliest deadline %.1f not clearly above random %.1f", edf, rnd)
	}
}
