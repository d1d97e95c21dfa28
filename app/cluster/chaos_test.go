package cluster

import (
	"os"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// TestLinearizableUnderFaults records a concurrent history of votes and
// alias moves (put and compare-and-set) with linearizable reads, from
// clients on every node, while the leader is killed and restarted, then
// isolated and healed, then the network delays and drops; porcupine checks
// the history and the invariants are checked after.
func TestLinearizableUnderFaults(t *testing.T) {
	d := 4 * time.Second
	if os.Getenv("METASTATION_LONG") != "" {
		d = 30 * time.Second
	}
	for _, tc := range []struct {
		name string
		o    ChaosOptions
	}{
		{"kills", ChaosOptions{Kills: true}},
		{"partitions and a flaky network", ChaosOptions{Isolate: true, Flaky: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCluster(t, clusterOpts{n: 3, fast: true})
			o := tc.o
			o.Duration, o.Clients, o.Keys, o.Seed = d, 6, 3, 7
			rep, err := RunChaos(t.Context(), c.LocalCluster, o)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Faults {
				t.Log(f)
			}
			t.Logf("%d ops, %d acknowledged, %d unknown, %d cas refused, check %s, failovers %v",
				rep.Ops, rep.Acknowledged, rep.Unknown, rep.Rejected, rep.Check, rep.Failovers)
			if rep.Ops < 50 { // a loaded CI machine runs fewer; none would mean the run did nothing
				t.Fatalf("only %d operations ran", rep.Ops)
			}
			if !rep.Linearizable {
				t.Errorf("the history is not linearizable (%s)", rep.Check)
			}
			if rep.LostAcknowledged != 0 {
				t.Errorf("%d acknowledged writes are missing", rep.LostAcknowledged)
			}
			if !rep.SameSequence || !rep.SameState {
				t.Errorf("nodes differ: same sequence %v, same state %v", rep.SameSequence, rep.SameState)
			}
		})
	}
}

// TestCheckerCatchesAStaleRead makes sure the check can fail: a read that
// returns an overwritten value after the overwrite returned is illegal.
func TestCheckerCatchesAStaleRead(t *testing.T) {
	ok := regOutput{Known: true, OK: true}
	for _, tc := range []struct {
		name string
		ops  []porcupine.Operation
		want bool
	}{
		{"stale read", []porcupine.Operation{
			{ClientId: 0, Input: regInput{Op: "put", Key: "k", Val: 1}, Output: ok, Call: 0, Return: 10},
			{ClientId: 0, Input: regInput{Op: "put", Key: "k", Val: 2}, Output: ok, Call: 20, Return: 30},
			{ClientId: 1, Input: regInput{Op: "get", Key: "k"}, Output: regOutput{Known: true, Val: 1}, Call: 40, Return: 50},
		}, false},
		{"concurrent read", []porcupine.Operation{
			{ClientId: 0, Input: regInput{Op: "put", Key: "k", Val: 1}, Output: ok, Call: 0, Return: 10},
			{ClientId: 0, Input: regInput{Op: "put", Key: "k", Val: 2}, Output: ok, Call: 20, Return: 60},
			{ClientId: 1, Input: regInput{Op: "get", Key: "k"}, Output: regOutput{Known: true, Val: 1}, Call: 40, Return: 50},
		}, true},
		{"cas that succeeded against the wrong value", []porcupine.Operation{
			{ClientId: 0, Input: regInput{Op: "put", Key: "k", Val: 3}, Output: ok, Call: 0, Return: 10},
			{ClientId: 1, Input: regInput{Op: "cas", Key: "k", Want: 1, Val: 4}, Output: ok, Call: 20, Return: 30},
		}, false},
		{"removal of an alias that exists reported as not found", []porcupine.Operation{
			{ClientId: 0, Input: regInput{Op: "put", Key: "k", Val: 3}, Output: ok, Call: 0, Return: 10},
			{ClientId: 1, Input: regInput{Op: "del", Key: "k"}, Output: regOutput{Known: true}, Call: 20, Return: 30},
		}, false},
		{"removal then a read of nothing", []porcupine.Operation{
			{ClientId: 0, Input: regInput{Op: "put", Key: "k", Val: 3}, Output: ok, Call: 0, Return: 10},
			{ClientId: 1, Input: regInput{Op: "del", Key: "k"}, Output: ok, Call: 20, Return: 30},
			{ClientId: 0, Input: regInput{Op: "get", Key: "k"}, Output: regOutput{Known: true, Val: 0}, Call: 40, Return: 50},
		}, true},
		{"unknown write seen later", []porcupine.Operation{
			{ClientId: 0, Input: regInput{Op: "put", Key: "k", Val: 5}, Output: regOutput{}, Call: 0, Return: 1 << 60},
			{ClientId: 1, Input: regInput{Op: "get", Key: "k"}, Output: regOutput{Known: true, Val: 5}, Call: 20, Return: 30},
			{ClientId: 1, Input: regInput{Op: "get", Key: "k"}, Output: regOutput{Known: true, Val: 5}, Call: 40, Return: 50},
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := porcupine.CheckOperations(registerModel, tc.ops); got != tc.want {
				t.Fatalf("linearizable = %v, want %v", got, tc.want)
			}
		})
	}
}
