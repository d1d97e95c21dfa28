package disttrain

import (
	"context"
	"testing"
)

// TestBenchSmall runs the bench at its smallest: every run it compares
// must come out bit-identical, and its times must be measured.
func TestBenchSmall(t *testing.T) {
	rep, err := Bench(context.Background(), BenchOptions{Env: "cartpole", Updates: 2, Seed: 3, Kill: true}, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	if !rep.BitIdentical || rep.MaxAbsDiff != 0 || !rep.KillIdentical {
		t.Fatalf("runs differ: %+v", rep)
	}
	if rep.Wall1 <= 0 || rep.Wall3 <= 0 || rep.WallClassic <= 0 || rep.Speedup <= 0 || rep.Steps != 2*4*128 {
		t.Fatalf("times or budget not measured: %+v", rep)
	}
}
