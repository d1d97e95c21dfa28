package bench

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/metastation/metastation/app/command"
)

// TestBenchHostileSmall runs the hostile-client benchmark end to end with
// small numbers and checks its counts, not its timings: every normal client
// stays connected and gets its messages, every oversized and garbage sender
// is closed by the server, and no foreign-origin socket or cookie-less or
// forged vote gets in.
func TestBenchHostileSmall(t *testing.T) {
	env := command.Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }, Assets: testAssets()}
	o := hostileOptions{Normal: 20, Seconds: 2, Rate: 4, SlowReaders: 2, NeverReaders: 2, Oversized: 1, Garbage: 1,
		StormRate: 20, StormSeconds: 1, VoteWorkers: 1, BulkBytes: 64 << 10, BulkHz: 20, Procs: -1,
		DrainWait: 2 * time.Second, LateWait: 30 * time.Second}
	r, err := benchHostile(context.Background(), env, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if r.NormalConnected != 20 || r.NormalDisconnected != 0 {
		t.Fatalf("normal clients: %d connected, %d disconnected", r.NormalConnected, r.NormalDisconnected)
	}
	// Each phase waits (up to LateWait) for its late frames.
	if r.ExpectedQuiet != 20*8 || r.ExpectedAttack != 20*8 || r.DeliveredQuiet != r.ExpectedQuiet || r.DeliveredAttack != r.ExpectedAttack {
		t.Fatalf("delivered %d of %d (quiet %d, under attack %d)", r.DeliveredTotal, r.ExpectedQuiet+r.ExpectedAttack, r.DeliveredQuiet, r.DeliveredAttack)
	}
	if r.NormalP99Quiet <= 0 || r.NormalP99Attack <= 0 {
		t.Fatalf("no latencies: %+v", r)
	}
	if r.Oversized == 0 || r.OversizedKicked != r.Oversized || r.Garbage == 0 || r.GarbageKicked != r.Garbage {
		t.Fatalf("oversized %d kicked %d, garbage %d kicked %d", r.Oversized, r.OversizedKicked, r.Garbage, r.GarbageKicked)
	}
	if r.Kicked < r.OversizedKicked+r.GarbageKicked {
		t.Fatalf("kicked %d is less than its parts", r.Kicked)
	}
	if r.StormSubscribed+r.StormFailed != r.StormAttempts || r.StormAttempts+r.ForeignTried != 20 || r.StormSubscribed == 0 {
		t.Fatalf("storm: %d tried, %d subscribed, %d failed, %d foreign", r.StormAttempts, r.StormSubscribed, r.StormFailed, r.ForeignTried)
	}
	if r.ForeignTried != 2 || r.ForeignLetIn != 0 || r.Votes == 0 || r.WronglyLetIn != 0 {
		t.Fatalf("let in: foreign %d of %d, votes %d %v, wrongly %d", r.ForeignLetIn, r.ForeignTried, r.Votes, r.VoteStatus, r.WronglyLetIn)
	}
}
