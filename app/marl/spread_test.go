package marl

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/metastation/metastation/app/rl"
)

// The random-policy return of simple_spread, summed over agents and
// averaged over episodes, pins the physics and the reward: about −78 with
// PettingZoo's current semantics and about −115 when agents collide with
// themselves (original MPE).
func TestSpreadRandomReturn(t *testing.T) {
	for _, tc := range []struct {
		self bool
		want float64
	}{{false, -78}, {true, -115}} {
		env := NewSpread(SpreadConfig{SelfCollision: tc.self})
		rs := EvaluateTeam(env, RandomController{}, 4000, 7, false)
		m, sd := rl.MeanStd(rs)
		half := 1.96 * sd / math.Sqrt(float64(len(rs)))
		t.Logf("self collision %v: random return %.2f ± %.2f (95%% CI, %d episodes)", tc.self, m, half, len(rs))
		// The figures are rounded; accept ±2 around them, and the
		// interval itself must be narrow enough to mean something.
		if math.Abs(m-tc.want) > 2 || half > 1.5 {
			t.Errorf("self collision %v: random return %.2f ± %.2f, want about %.0f", tc.self, m, half, tc.want)
		}
	}
}

func TestSpreadDeterministic(t *testing.T) {
	run := func() []float64 {
		return EvaluateTeam(NewSpread(SpreadConfig{}), RandomController{}, 5, 3, false)
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("episode %d: %v then %v", i, a[i], b[i])
		}
	}
}

func TestSpreadShapes(t *testing.T) {
	e := NewSpread(SpreadConfig{})
	obs := e.Reset(1)
	if len(obs) != 3 || len(obs[0]) != e.ObsDim() || len(e.State()) != e.StateDim() {
		t.Fatalf("obs %d×%d, state %d", len(obs), len(obs[0]), len(e.State()))
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 24; i++ {
		s := e.Step(RandomController{}.Actions(obs, nil, e.AvailActions(), false, rng))
		if s.Done() {
			t.Fatalf("done at step %d", i+1)
		}
		obs = s.Obs
	}
	if s := e.Step([]int{0, 0, 0}); !s.Done() || s.AnyTerminated() {
		t.Fatal("step 25 must truncate, not terminate")
	}
}

// Two agents pushed into each other must be pushed apart by the contact force.
func TestSpreadContact(t *testing.T) {
	e := NewSpread(SpreadConfig{})
	e.Reset(1)
	e.Pos[0], e.Pos[1], e.Pos[2] = [2]float64{0, 0}, [2]float64{0.2, 0}, [2]float64{5, 5}
	e.Step([]int{0, 0, 0})
	if !(e.Vel[0][0] < 0 && e.Vel[1][0] > 0) {
		t.Fatalf("velocities after contact %v %v", e.Vel[0], e.Vel[1])
	}
}
