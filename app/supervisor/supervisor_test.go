package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func status(s *Supervisor, name string) Status {
	for _, st := range s.Statuses() {
		if st.Name == name {
			return st
		}
	}
	return Status{}
}

func TestPanicIsRecoveredAndRestarted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := New(quiet(), Options{MinBackoff: 50 * time.Millisecond})
	var runs atomic.Int32
	release := make(chan struct{})
	err := s.Start(ctx, Service{Name: "flaky", Run: func(ctx context.Context) error {
		if runs.Add(1) == 1 {
			<-release
			panic("boom")
		}
		<-ctx.Done()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "running", func() bool { return status(s, "flaky").State == Running })
	close(release)
	waitFor(t, "restarting", func() bool { return status(s, "flaky").State == Restarting })
	st := status(s, "flaky")
	if st.Restarts != 1 || st.LastError != "panic: boom" {
		t.Fatalf("after panic: %+v", st)
	}
	waitFor(t, "running again", func() bool { return status(s, "flaky").State == Running && runs.Load() == 2 })
	cancel()
	s.Wait()
	if got := status(s, "flaky").State; got != Stopped {
		t.Fatalf("after cancel: state %s, want stopped", got)
	}
}

func TestGivesUpAfterMaxFailures(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var restarts atomic.Int32
	s := New(quiet(), Options{MinBackoff: time.Millisecond, MaxFailures: 3, OnRestart: func(string) { restarts.Add(1) }})
	if err := s.Start(ctx, Service{Name: "bad", Run: func(context.Context) error { return errors.New("no disk") }}); err != nil {
		t.Fatal(err)
	}
	ok := Service{Name: "good", Run: func(ctx context.Context) error { <-ctx.Done(); return nil }}
	if err := s.Start(ctx, ok); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failed", func() bool { return status(s, "bad").State == Failed })
	if s.Healthy() {
		t.Fatal("Healthy() with a failed service")
	}
	if got := status(s, "bad"); got.LastError != "no disk" || got.Restarts != 2 || restarts.Load() != 3 {
		t.Fatalf("failed status %+v, OnRestart calls %d", got, restarts.Load())
	}
	if got := status(s, "good").State; got != Running {
		t.Fatalf("a failing neighbour changed good's state to %s", got)
	}
	if err := s.Start(ctx, ok); err == nil {
		t.Fatal("duplicate name accepted")
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{20, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d failures", tt.failures), func(t *testing.T) {
			if got := backoff(100*time.Millisecond, 5*time.Second, tt.failures); got != tt.want {
				t.Errorf("backoff(%d) = %v, want %v", tt.failures, got, tt.want)
			}
		})
	}
}
