package cluster

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// TestCallBetweenNodes: a service registered on a follower answers a call
// from the leader and the other way round, over the authenticated channel;
// unknown services, oversized bodies, handler errors, cancellation and a
// closed node fail with their own errors.
func TestCallBetweenNodes(t *testing.T) {
	c := newTestCluster(t, clusterOpts{n: 2})
	a, b := c.Node(0), c.Node(1)
	block := make(chan struct{})
	for _, n := range []*Node{a, b} {
		id := n.ID()
		n.Handle("echo", func(_ context.Context, body []byte) ([]byte, error) {
			return append([]byte(id+":"), body...), nil
		})
		n.Handle("refuse", func(context.Context, []byte) ([]byte, error) {
			return nil, errs.Errorf(errs.Conflict, "refused on %s", id)
		})
		n.Handle("block", func(ctx context.Context, _ []byte) ([]byte, error) {
			select {
			case <-block:
			case <-ctx.Done():
			}
			return nil, ctx.Err()
		})
	}
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	big := bytes.Repeat([]byte{7}, 600<<10) // base64 in JSON: ~800 KB of one line
	for _, tc := range []struct {
		from, to *Node
		body     []byte
	}{{a, b, []byte("hello")}, {b, a, []byte("back")}, {a, b, big}} {
		got, err := tc.from.Call(ctx, tc.to.Addr(), "echo", tc.body)
		if err != nil {
			t.Fatalf("%s → %s: %v", tc.from.ID(), tc.to.ID(), err)
		}
		if want := append([]byte(tc.to.ID()+":"), tc.body...); !bytes.Equal(got, want) {
			t.Fatalf("%s → %s: %d bytes back, want %d", tc.from.ID(), tc.to.ID(), len(got), len(want))
		}
	}
	if _, err := a.Call(ctx, b.Addr(), "nope", nil); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("unknown service: %v", err)
	}
	if _, err := a.Call(ctx, b.Addr(), "refuse", nil); errs.CodeOf(err) != errs.Conflict || !strings.Contains(err.Error(), "efused on n2") {
		t.Fatalf("handler error: %v", err)
	}
	if _, err := a.Call(ctx, b.Addr(), "echo", make([]byte, MaxCallBody+1)); errs.CodeOf(err) != errs.TooLarge {
		t.Fatalf("oversized body: %v", err)
	}
	// The answer to an oversized echo is refused by the receiver.
	if _, err := a.Call(ctx, b.Addr(), "echo", make([]byte, MaxCallBody)); errs.CodeOf(err) != errs.TooLarge {
		t.Fatalf("oversized answer: %v", err)
	}
	short, cancelShort := context.WithCancel(ctx)
	time.AfterFunc(200*time.Millisecond, cancelShort)
	start := time.Now()
	if _, err := a.Call(short, b.Addr(), "block", nil); err == nil || !errors.Is(err, context.Canceled) && errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("cancelled call: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second { // uncancelled, it would wait for the 60 s deadline
		t.Fatalf("a cancelled call returned after %v", d)
	}
	// The pool still works after the cancelled call.
	if _, err := a.Call(ctx, b.Addr(), "echo", []byte("again")); err != nil {
		t.Fatalf("after a cancelled call: %v", err)
	}
	addr := b.Addr()
	c.Stop(1)
	if _, err := a.Call(ctx, addr, "echo", nil); errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("closed node: %v", err)
	}
}
