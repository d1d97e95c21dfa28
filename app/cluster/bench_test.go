package cluster

import (
	"testing"
	"time"
)

// TestBenchSmall runs every stage of the bench on a small budget: the
// figures exist and the checks hold.
func TestBenchSmall(t *testing.T) {
	o := BenchOptions{Dir: t.TempDir(), Commits: 30, Clients: 8, Throughput: 300 * time.Millisecond, Kills: 2, FastKills: 1,
		SnapshotWrite: 200, Chaos: 1500 * time.Millisecond, Seed: 3}
	var stages []string
	rep, err := Bench(t.Context(), o, func(s string) { stages = append(stages, s) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	if len(stages) != 6 {
		t.Errorf("stages %v", stages)
	}
	if rep.CommitP50ms <= 0 || rep.CommitP99ms < rep.CommitP50ms || rep.WritesPerS <= 0 || rep.FailoverP50ms <= 0 ||
		rep.FailoverMaxms < rep.FailoverP50ms || rep.FastFailoverP50ms <= 0 || rep.SnapshotInstallms <= 0 {
		t.Errorf("implausible figures %+v", rep)
	}
	if !rep.Linearizable || rep.LostAcknowledgedWrites != 0 || !rep.SameStateHash {
		t.Errorf("fault run failed its checks: %+v", rep)
	}
}

func BenchmarkCommit(b *testing.B) {
	c := newTestCluster(b, clusterOpts{n: 3, fast: true})
	l := c.waitLeader(30 * time.Second)
	b.ResetTimer()
	for i := range b.N {
		if _, err := l.MoveAlias(b.Context(), "", AliasMove{Model: "b", Alias: "a", Version: i + 1}); err != nil {
			b.Fatal(err)
		}
	}
}
