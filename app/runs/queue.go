// The queue of a Registry: runs wait their turn in order, train one at a
// time (they are CPU-bound), and can be asked to stop while they wait or
// while they train. The registry keeps the records of runs; the queue holds
// only run ids.

package runs

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// queueConfig sets up a queue.
type queueConfig struct {
	CheckpointEvery time.Duration // wall time between Train's checkpoints; 0 checkpoints after every step
	PublishEvery    time.Duration // least time between Train's progress snapshots; 0 publishes after every step
	Publish         func()        // sends the service's progress snapshot, without the lock; may be nil
}

// queue holds the ids of the runs waiting to train, whether each continues
// from its checkpoint, and the stop requests.
//
// Like sync.Cond, a queue is guarded by a lock it is given: the registry's
// own, which also guards the registry's records, so that a run's status and
// its place in the queue change together. Push, Remove and Stop want the
// lock held; Run and Train take it themselves.
type queue struct {
	mu   sync.Locker
	cfg  queueConfig
	jobs []job
	stop map[int64]bool // stop requests, by run id
	wake chan struct{}  // a job was pushed
}

// job is a run waiting its turn.
type job struct {
	id     int64
	resume bool // continue from the run's checkpoint
}

// newQueue returns an empty queue guarded by mu.
func newQueue(mu sync.Locker, cfg queueConfig) *queue {
	if cfg.Publish == nil {
		cfg.Publish = func() {}
	}
	return &queue{mu: mu, cfg: cfg, stop: map[int64]bool{}, wake: make(chan struct{}, 1)}
}

// Push queues run id, to continue from its checkpoint when resume is set,
// and wakes Run. Call it with the lock held.
func (q *queue) Push(id int64, resume bool) {
	// A stop request the run's last turn did not honour (it was saving or
	// being evaluated) is void now that it is asked to run again.
	delete(q.stop, id)
	q.jobs = append(q.jobs, job{id: id, resume: resume})
	select {
	case q.wake <- struct{}{}:
	default: // Run is already due to look at the queue
	}
}

// Remove takes run id off the queue if it waits there, and reports whether
// it did. Call it with the lock held.
func (q *queue) Remove(id int64) bool {
	i := slices.IndexFunc(q.jobs, func(j job) bool { return j.id == id })
	if i < 0 {
		return false
	}
	q.jobs = slices.Delete(q.jobs, i, i+1)
	return true
}

// Stop asks run id to stop: Train checkpoints it and stops at its next
// step, or Run passes it over when its turn comes. Call it with the lock held.
func (q *queue) Stop(id int64) {
	q.stop[id] = true
}

// takeStop reports whether run id was asked to stop, and forgets the
// request. Call it with the lock held.
func (q *queue) takeStop(id int64) bool {
	stop := q.stop[id]
	delete(q.stop, id)
	return stop
}

// Run hands the queued runs to train one after another, in the order they
// were pushed, until ctx ends. A run asked to stop while it waited is not
// trained: stopped gets it instead, with the lock held, to record it
// stopped. Whenever the queue runs empty, Run publishes and waits.
func (q *queue) Run(ctx context.Context, train func(ctx context.Context, id int64, resume bool), stopped func(id int64)) {
	for {
		q.mu.Lock()
		var next job
		found := false
		for len(q.jobs) > 0 && !found {
			next, q.jobs = q.jobs[0], q.jobs[1:]
			if q.takeStop(next.id) {
				stopped(next.id)
				continue
			}
			found = true
		}
		q.mu.Unlock()
		if !found {
			q.cfg.Publish()
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
				continue
			}
		}
		train(ctx, next.id, next.resume)
		if ctx.Err() != nil {
			return
		}
	}
}

// Train is the loop of training run id: it calls step until done reports
// true, checkpoints with save every CheckpointEvery of wall time, publishes
// every PublishEvery, and checkpoints once more at the end. When the run is
// asked to stop or ctx ends, it checkpoints and returns stopped. A step
// that fails once ctx has ended counts as the end of ctx; any other error
// of step comes back as it is, and save's come back wrapped with what the
// checkpoint was for.
func (q *queue) Train(ctx context.Context, id int64, done func() bool, step, save func() error) (stopped bool, err error) {
	lastSave, lastPublish := time.Now(), time.Now()
	for !done() {
		q.mu.Lock()
		stop := q.takeStop(id)
		q.mu.Unlock()
		if stop || ctx.Err() != nil {
			if err := save(); err != nil {
				return false, fmt.Errorf("checkpoint on stop: %w", err)
			}
			return true, nil
		}
		if err := step(); err != nil {
			if ctx.Err() != nil {
				continue // checkpointed at the top of the loop
			}
			return false, err
		}
		if time.Since(lastSave) >= q.cfg.CheckpointEvery {
			if err := save(); err != nil {
				return false, fmt.Errorf("checkpoint: %w", err)
			}
			lastSave = time.Now()
		}
		if time.Since(lastPublish) >= q.cfg.PublishEvery {
			q.cfg.Publish()
			lastPublish = time.Now()
		}
	}
	if err := save(); err != nil {
		return false, fmt.Errorf("final checkpoint: %w", err)
	}
	return false, nil
}
