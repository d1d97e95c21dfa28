package marl

import (
	"math"
	"testing"
)

func trainQMIX(t *testing.T, env, mixer string, seed uint64) *QMIX {
	t.Helper()
	cfg := DefaultQMIXConfig(env, mixer)
	cfg.Seed = seed
	q, err := NewQMIX(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for !q.Done() {
		q.Run()
	}
	return q
}

func greedyReturn(q *QMIX) float64 {
	rs := EvaluateTeam(q.Env, q, 1, 1, true)
	return rs[0]
}

// The QMIX paper's two-step game: with uniform exploration QMIX learns the
// optimal 8 and VDN settles for 7; QMIX's Q_tot in state 1 matches the
// paper's table (γ·7 after A, γ·8 after B).
func TestTwoStepQMIXvsVDN(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		qm := trainQMIX(t, "matrix2", "qmix", seed)
		vd := trainQMIX(t, "matrix2", "vdn", seed)
		obs := qm.Env.Reset(0)
		qa, qb := qm.QTot(obs, qm.Env.State(), []int{0, 0}), qm.QTot(obs, qm.Env.State(), []int{1, 1})
		rq, rv := greedyReturn(qm), greedyReturn(vd)
		t.Logf("seed %d: qmix greedy return %.0f, Q_tot(s1, A·) %.2f, Q_tot(s1, B·) %.2f; vdn greedy return %.0f", seed, rq, qa, qb, rv)
		if rq != 8 {
			t.Errorf("seed %d: qmix greedy return %v, want 8", seed, rq)
		}
		if math.Abs(qb-0.99*8) > 0.5 || math.Abs(qa-0.99*7) > 0.5 {
			t.Errorf("seed %d: qmix Q_tot(s1) = %.2f after A, %.2f after B; want about 6.93 and 7.92", seed, qa, qb)
		}
		if rv != 7 {
			t.Errorf("seed %d: vdn greedy return %v, want 7", seed, rv)
		}
	}
}

// The one-step non-monotonic game pays 8 only for (0, 0) and −12 for any
// miscoordination with it. No monotonic mixer can represent it: if agent 0
// ranks action 0 above 1, monotonicity forces Q(0,1) ≥ Q(1,1) (true −12 and
// 0), otherwise Q(1,0) ≥ Q(0,0) (true −12 and 8), so some entry is off by
// at least 6. The test checks that trained QMIX obeys this bound and logs
// where its greedy joint action lands (seed 1 lands on a payoff of 0, as in
// the Weighted QMIX paper; other seeds find (0, 0) but misfit the rest).
func TestNonMonotonicLimit(t *testing.T) {
	misses := 0
	for _, seed := range []uint64{1, 2, 3} {
		q := trainQMIX(t, "nonmonotonic", "qmix", seed)
		obs := q.Env.Reset(0)
		worst := 0.0
		for a := 0; a < 3; a++ {
			for b := 0; b < 3; b++ {
				worst = max(worst, math.Abs(q.QTot(obs, q.Env.State(), []int{a, b})-NonMonotonicPayoff[a][b]))
			}
		}
		acts := q.Actions(obs, nil, q.Env.AvailActions(), true, nil)
		got := NonMonotonicPayoff[acts[0]][acts[1]]
		t.Logf("seed %d: greedy joint action %v pays %.0f (optimum 8); worst Q_tot error %.2f", seed, acts, got, worst)
		if worst < 6-1e-9 {
			t.Errorf("seed %d: worst Q_tot error %.2f < 6, impossible for a monotonic mixer", seed, worst)
		}
		if got != 8 {
			misses++
		}
	}
	if misses == 0 {
		t.Errorf("every seed found the optimum; seed 1 used to miss it")
	}
}

func TestQMIXDeterministic(t *testing.T) {
	a := trainQMIX(t, "matrix2", "qmix", 4)
	b := trainQMIX(t, "matrix2", "qmix", 4)
	pa, pb := a.Agent.Params(), b.Agent.Params()
	for i := range pa {
		for j := range pa[i].Data {
			if pa[i].Data[j] != pb[i].Data[j] {
				t.Fatalf("tensor %d differs at %d after the same seed", i, j)
			}
		}
	}
}

// TestTargets checks the TD targets against their forward-view definitions:
// the n-step return G⁽ⁿ⁾ and the λ-return (1−λ)Σλⁿ⁻¹G⁽ⁿ⁾ + λᴺ⁻¹G⁽ᴺ⁾, where
// the last return ends at the episode's end, bootstrapped or not.
func TestTargets(t *testing.T) {
	const gamma = 0.9
	boot := func(t int) float64 { return 100 + float64(t) }
	episode := func(n, limit int, terminal bool) *Episode {
		ep := &Episode{Len: n, Reward: make([]float64, limit), Terminated: make([]float64, limit), Mask: make([]float64, limit)}
		for t := 0; t < n; t++ {
			ep.Reward[t], ep.Mask[t] = float64(t%5)-2, 1
		}
		if terminal {
			ep.Terminated[n-1] = 1
		}
		return ep
	}
	// nstep is G⁽ⁿ⁾ at t, cut at the episode's end; bootLast says whether
	// the episode's last step bootstraps.
	nstep := func(ep *Episode, t, n int, bootLast bool) float64 {
		var g float64
		k := t
		for ; k < t+n && k < ep.Len; k++ {
			g += math.Pow(gamma, float64(k-t)) * ep.Reward[k]
		}
		if k < ep.Len || bootLast {
			g += math.Pow(gamma, float64(k-t)) * boot(k-1)
		}
		return g
	}
	lambdaReturn := func(ep *Episode, t int, lambda float64, bootLast bool) float64 {
		N := ep.Len - t
		var g float64
		for n := 1; n < N; n++ {
			g += (1 - lambda) * math.Pow(lambda, float64(n-1)) * nstep(ep, t, n, bootLast)
		}
		return g + math.Pow(lambda, float64(N-1))*nstep(ep, t, N, bootLast)
	}
	const limit = 25
	cases := []struct {
		name     string
		ep       *Episode
		nsteps   int
		lambda   float64
		limitEnd bool // LimitIsTerminal
		bootLast bool
	}{
		{"one step, cut by the limit", episode(limit, limit, false), 1, 0, false, true},
		{"three steps, cut by the limit", episode(limit, limit, false), 3, 0, false, true},
		{"three steps, limit is terminal", episode(limit, limit, false), 3, 0, true, false},
		{"three steps, terminated early", episode(10, limit, true), 3, 0, false, false},
		{"λ 0.6, cut by the limit", episode(limit, limit, false), 1, 0.6, false, true},
		{"λ 0.6, limit is terminal", episode(limit, limit, false), 1, 0.6, true, false},
		{"λ 0.6, terminated early", episode(10, limit, true), 1, 0.6, false, false},
		{"λ 0.6, early end is not the limit", episode(10, limit, false), 1, 0.6, true, true},
		{"λ 1 is the Monte Carlo return", episode(limit, limit, false), 1, 1, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := &QMIX{limit: limit, Config: QMIXConfig{Gamma: gamma, NSteps: tc.nsteps, TDLambda: tc.lambda, LimitIsTerminal: tc.limitEnd}}
			y := make([]float64, limit)
			q.targets(y, tc.ep, boot, 0, 1)
			for s := 0; s < tc.ep.Len; s++ {
				want := nstep(tc.ep, s, tc.nsteps, tc.bootLast)
				if tc.lambda > 0 {
					want = lambdaReturn(tc.ep, s, tc.lambda, tc.bootLast)
				}
				if math.Abs(y[s]-want) > 1e-9 {
					t.Fatalf("step %d: target %.9f, want %.9f", s, y[s], want)
				}
			}
		})
	}
}
