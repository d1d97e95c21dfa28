package rl

import "testing"

// TestCurve checks the record of a learning curve: a resumed run forgets
// the points past its checkpoint, the curve stays within its caps, and Add
// reports exactly the points whose returns it let go.
func TestCurve(t *testing.T) {
	c := &Curve{}
	for s := 1; s <= 5; s++ {
		c.Add(RunMetric{Run: 1, Metric: Metric{Steps: s * 100, Episodes: []float64{float64(s)}}})
	}
	c.Add(RunMetric{Run: 1, Metric: Metric{Steps: 400, Episodes: []float64{9}}})
	got := c.Points()
	if len(got) != 4 || got[3].Steps != 400 || got[3].Episodes[0] != 9 || c.Episodes() != 4 {
		t.Fatalf("after a rewind to 400: %+v (episodes %d)", got, c.Episodes())
	}
	c.Truncate(200)
	if got := c.Points(); len(got) != 2 || c.Episodes() != 2 {
		t.Fatalf("after truncating to 200: %+v (episodes %d)", got, c.Episodes())
	}

	// Held returns: by steps, what the curve holds after each Add, minus
	// what it reported let go, must be what it holds.
	held := map[int]int{100: 1, 200: 1}
	eps := make([]float64, 10)
	for s := 3; s < 3+3*DefaultCurvePoints; s++ {
		for _, lost := range c.Add(RunMetric{Run: 1, Metric: Metric{Steps: s * 100, Episodes: eps}}) {
			if held[lost] == 0 {
				t.Fatalf("reported %d as let go, which held no returns", lost)
			}
			delete(held, lost)
		}
		held[s*100] = len(eps)
	}
	pts := c.Points()
	n := 0
	for _, p := range pts {
		n += len(p.Episodes)
		if len(p.Episodes) > 0 && held[p.Steps] != len(p.Episodes) {
			t.Errorf("point at %d holds %d returns, the reports say %d", p.Steps, len(p.Episodes), held[p.Steps])
		}
	}
	sum := 0
	for _, k := range held {
		sum += k
	}
	if len(pts) > DefaultCurvePoints || c.Episodes() != n || sum != n || n > DefaultCurveEpisodes || n < DefaultCurveEpisodes*9/10-10 {
		t.Errorf("curve holds %d points and %d returns (counted %d, reports %d); caps %d and %d", len(pts), c.Episodes(), n, sum, DefaultCurvePoints, DefaultCurveEpisodes)
	}
	if last := pts[len(pts)-1].Steps; last != (2+3*DefaultCurvePoints)*100 {
		t.Errorf("last point at %d steps", last)
	}
}

func TestReturnsEncoding(t *testing.T) {
	rs := []float64{1.5, -200.25, 0, 500, 1e-300}
	got := decodeReturns(encodeReturns(rs))
	if len(got) != len(rs) {
		t.Fatalf("decoded %v", got)
	}
	for i := range rs {
		if got[i] != rs[i] {
			t.Errorf("return %d: %v, want %v", i, got[i], rs[i])
		}
	}
	if encodeReturns(nil) != nil || decodeReturns(nil) != nil {
		t.Error("no returns should be stored as NULL and read back as none")
	}
}
