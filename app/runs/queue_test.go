package runs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Run trains the pushed runs in order with their resume flags, passes over
// the runs asked to stop and those removed, publishes whenever the queue
// runs empty, and returns when ctx ends.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name        string
		stale       []int64 // asked to stop before they are pushed
		push        []int64 // pushed in this order; odd ids resume
		stop        []int64 // asked to stop before Run starts
		remove      []int64 // taken off the queue before Run starts
		wantTrained []string
		wantStopped []int64
	}{
		{name: "empty"},
		{name: "in order", push: []int64{3, 1, 2}, wantTrained: []string{"3 resume", "1 resume", "2"}},
		{name: "stopped while waiting", push: []int64{1, 2, 4}, stop: []int64{2, 4},
			wantTrained: []string{"1 resume"}, wantStopped: []int64{2, 4}},
		{name: "removed", push: []int64{1, 2, 4}, remove: []int64{1, 4}, wantTrained: []string{"2"}},
		{name: "stop of a run not queued", push: []int64{2}, stop: []int64{7}, wantTrained: []string{"2"}},
		// A request left over from a run's last turn (it ended before
		// honouring it) must not pass over the run when it is pushed again.
		{name: "stale stop requests", stale: []int64{1, 2}, push: []int64{1, 2}, wantTrained: []string{"1 resume", "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			publishes := make(chan struct{}, 100)
			q := newQueue(&mu, queueConfig{Publish: func() { publishes <- struct{}{} }})
			var trained []string
			var stopped []int64
			mu.Lock()
			for _, id := range tc.stale {
				q.Stop(id)
			}
			for _, id := range tc.push {
				q.Push(id, id%2 == 1)
			}
			for _, id := range tc.stop {
				q.Stop(id)
			}
			for _, id := range tc.remove {
				if !q.Remove(id) {
					t.Errorf("Remove(%d) found nothing", id)
				}
			}
			if q.Remove(99) {
				t.Error("Remove(99) removed a run never pushed")
			}
			mu.Unlock()

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				q.Run(ctx, func(ctx context.Context, id int64, resume bool) {
					if mu.TryLock() {
						mu.Unlock()
					} else {
						t.Errorf("train %d called with the lock held", id)
					}
					s := fmt.Sprint(id)
					if resume {
						s += " resume"
					}
					trained = append(trained, s)
				}, func(id int64) {
					if mu.TryLock() {
						mu.Unlock()
						t.Errorf("stopped %d called without the lock", id)
					}
					stopped = append(stopped, id)
				})
			}()
			waitFor(t, publishes) // the queue ran empty
			cancel()
			<-done
			if !slices.Equal(trained, tc.wantTrained) || !slices.Equal(stopped, tc.wantStopped) {
				t.Errorf("trained %q and stopped %v, want %q and %v", trained, stopped, tc.wantTrained, tc.wantStopped)
			}
		})
	}
}

// A run pushed while Run waits wakes it; a stop request is used once.
func TestRunWakes(t *testing.T) {
	var mu sync.Mutex
	publishes := make(chan struct{}, 100)
	trained := make(chan int64, 10)
	q := newQueue(&mu, queueConfig{Publish: func() { publishes <- struct{}{} }})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Run(ctx, func(_ context.Context, id int64, _ bool) { trained <- id }, func(int64) {})
	}()
	defer func() {
		cancel()
		<-done
	}()
	waitFor(t, publishes)
	mu.Lock()
	q.Stop(1)
	q.Push(1, false)
	mu.Unlock()
	waitFor(t, publishes) // passed over
	mu.Lock()
	q.Push(1, false) // the request was used up: this time it trains
	mu.Unlock()
	select {
	case id := <-trained:
		if id != 1 {
			t.Fatalf("trained %d, want 1", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a run pushed while Run waited was not trained")
	}
	if len(trained) != 0 {
		t.Errorf("%d more runs trained", len(trained))
	}
}

// Run returns once ctx ends, even from a run that trains at the time.
func TestRunReturnsWhenCtxEnds(t *testing.T) {
	var mu sync.Mutex
	q := newQueue(&mu, queueConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	mu.Lock()
	q.Push(1, false)
	q.Push(2, false)
	mu.Unlock()
	var trained []int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Run(ctx, func(ctx context.Context, id int64, _ bool) {
			trained = append(trained, id)
			cancel()
		}, func(int64) {})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return when ctx ended")
	}
	if !slices.Equal(trained, []int64{1}) {
		t.Errorf("trained %v, want only run 1", trained)
	}
}

func waitFor(t *testing.T, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
}

// Train steps to the end, checkpoints and publishes as often as it is
// told, stops checkpointed when asked or when ctx ends, and says what a
// failed checkpoint was for.
func TestTrain(t *testing.T) {
	errDisk := errors.New("disk full")
	errStep := errors.New("diverged")
	for _, tc := range []struct {
		name      string
		cfg       queueConfig
		budget    int   // steps to done
		stopAt    int   // ask to stop before this step (0: never)
		cancelAt  int   // end ctx during this step (0: never)
		stepErrAt int   // this step fails (0: never)
		saveErrAt int   // this save fails, counting from 1 (0: never)
		wantSteps int   // steps taken
		wantSaves int   // saves attempted
		wantPubs  int   // progress snapshots
		wantStop  bool  // stopped
		wantErr   error // errors.Is
		wantText  string
	}{
		{name: "to the end, one final checkpoint", cfg: queueConfig{CheckpointEvery: time.Hour, PublishEvery: time.Hour},
			budget: 5, wantSteps: 5, wantSaves: 1},
		{name: "checkpoint and publish after every step", budget: 3, wantSteps: 3, wantSaves: 4, wantPubs: 3},
		{name: "nothing to train", budget: 0, wantSaves: 1},
		{name: "asked to stop", cfg: queueConfig{CheckpointEvery: time.Hour, PublishEvery: time.Hour},
			budget: 5, stopAt: 3, wantSteps: 2, wantSaves: 1, wantStop: true},
		{name: "ctx ends", cfg: queueConfig{CheckpointEvery: time.Hour, PublishEvery: time.Hour},
			budget: 5, cancelAt: 2, wantSteps: 2, wantSaves: 1, wantStop: true},
		{name: "step fails as ctx ends", cfg: queueConfig{CheckpointEvery: time.Hour, PublishEvery: time.Hour},
			budget: 5, cancelAt: 2, stepErrAt: 2, wantSteps: 2, wantSaves: 1, wantStop: true},
		{name: "step fails", cfg: queueConfig{CheckpointEvery: time.Hour, PublishEvery: time.Hour},
			budget: 5, stepErrAt: 2, wantSteps: 2, wantErr: errStep, wantText: "diverged"},
		{name: "final checkpoint fails", cfg: queueConfig{CheckpointEvery: time.Hour, PublishEvery: time.Hour},
			budget: 2, saveErrAt: 1, wantSteps: 2, wantSaves: 1, wantErr: errDisk, wantText: "final checkpoint: disk full"},
		{name: "checkpoint on the way fails", budget: 5, saveErrAt: 2, wantSteps: 2, wantSaves: 2, wantPubs: 1,
			wantErr: errDisk, wantText: "checkpoint: disk full"},
		{name: "checkpoint on stop fails", cfg: queueConfig{CheckpointEvery: time.Hour, PublishEvery: time.Hour},
			budget: 5, stopAt: 2, saveErrAt: 1, wantSteps: 1, wantSaves: 1, wantErr: errDisk, wantText: "checkpoint on stop: disk full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			pubs := 0
			tc.cfg.Publish = func() { pubs++ }
			q := newQueue(&mu, tc.cfg)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			steps, saves := 0, 0
			step := func() error {
				steps++
				if steps == tc.cancelAt {
					cancel()
				}
				if steps == tc.stepErrAt {
					return errStep
				}
				if steps+1 == tc.stopAt {
					mu.Lock()
					q.Stop(7)
					mu.Unlock()
				}
				return nil
			}
			save := func() error {
				saves++
				if saves == tc.saveErrAt {
					return errDisk
				}
				return nil
			}
			mu.Lock()
			q.Stop(8) // another run's request is not this one's
			mu.Unlock()
			stopped, err := q.Train(ctx, 7, func() bool { return steps >= tc.budget }, step, save)
			if stopped != tc.wantStop || !errors.Is(err, tc.wantErr) || (err != nil && err.Error() != tc.wantText) {
				t.Errorf("stopped %v, error %v; want %v, %v %q", stopped, err, tc.wantStop, tc.wantErr, tc.wantText)
			}
			if steps != tc.wantSteps || saves != tc.wantSaves || pubs != tc.wantPubs {
				t.Errorf("%d steps, %d saves, %d snapshots; want %d, %d, %d", steps, saves, pubs, tc.wantSteps, tc.wantSaves, tc.wantPubs)
			}
			if strings.Contains(tc.name, "stop") && tc.wantErr == nil {
				mu.Lock()
				left := q.takeStop(7)
				mu.Unlock()
				if left {
					t.Error("the stop request was not used up")
				}
			}
		})
	}
}

// Train checkpoints and publishes once per interval of wall time, not per
// step.
func TestTrainThrottles(t *testing.T) {
	var mu sync.Mutex
	pubs := 0
	q := newQueue(&mu, queueConfig{CheckpointEvery: 40 * time.Millisecond, PublishEvery: 20 * time.Millisecond, Publish: func() { pubs++ }})
	steps, saves := 0, 0
	start := time.Now()
	stopped, err := q.Train(t.Context(), 1,
		func() bool { return time.Since(start) >= 200*time.Millisecond },
		func() error { steps++; time.Sleep(time.Millisecond); return nil },
		func() error { saves++; return nil })
	if stopped || err != nil {
		t.Fatalf("stopped %v, error %v", stopped, err)
	}
	// 200 ms: at most 5 checkpoints on the way and 1 at the end, at most 10
	// snapshots, however many steps a busy machine takes.
	if saves < 2 || saves > 6 || pubs < 2 || pubs > 10 {
		t.Errorf("%d steps, %d saves, %d snapshots", steps, saves, pubs)
	}
}
