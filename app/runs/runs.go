// Package runs is the lifecycle of training runs that app/rl and app/marl
// share: a Registry starts, queues, trains, stops, resumes, lists and
// reloads runs, and each domain supplies its learner and its records, the
// way gonum's optimize.Minimize drives any optimize.Method.
//
// A registry trains its runs one at a time (they are CPU-bound). Each domain
// has its own, so a single-agent and a multi-agent run may train at the same
// time, one on each core.
package runs

import (
	"context"
	"time"
)

// Status is where a run stands.
type Status string

// The statuses of a run.
const (
	Queued     Status = "queued"     // waits its turn
	Running    Status = "running"    // trains
	Evaluating Status = "evaluating" // trained to its budget; the held-out evaluation runs
	Done       Status = "done"       // trained and evaluated
	Stopped    Status = "stopped"    // asked to stop, or cut short by a shutdown
	Failed     Status = "failed"     // an error ended it; Record.Error says which
)

// Active reports whether a run in s waits or trains: a shutdown interrupts
// such a run, and the next session finds it stopped.
func (s Status) Active() bool {
	return s == Queued || s == Running || s == Evaluating
}

// InterruptedMessage is the error of a run that trained but had written no
// checkpoint when the server stopped: nothing is left to resume from.
const InterruptedMessage = "the server stopped before the run's first checkpoint"

// Record is what the registry keeps of every run. A domain's description
// of a run (rl.RunInfo, marl.RunInfo) embeds it, so these fields are part
// of the domain's JSON.
type Record struct {
	ID         int64     `json:"id"`
	Status     Status    `json:"status"`
	Error      string    `json:"error,omitempty"`
	Resumable  bool      `json:"resumable"` // stopped or failed, with a checkpoint to continue from or nothing trained
	Started    time.Time `json:"started"`
	Checkpoint string    `json:"-"` // the run's checkpoint file, under the registry's directory
}

// RunRecord returns r. Promoted to the description that embeds a Record, it
// lets that description satisfy Info.
func (r *Record) RunRecord() *Record { return r }

// Info is a domain's description of a run: a pointer to a struct that
// embeds Record.
type Info[I any] interface {
	*I
	RunRecord() *Record
	// Trained is how far the run has trained (steps, episodes). A run that
	// trained nothing resumes afresh when it has no checkpoint.
	Trained() int
}

// Learner is the training of one run, as its domain supplies it: the
// registry calls Begin, then Step until Done (saving now and then, and when
// asked to stop), then Evaluate. Step and Evaluate return how to write what
// they measured into the run's description; the registry applies it with its
// lock held, so that readers see a run whole.
type Learner[I any] interface {
	// Begin writes where the learner starts into info (a resumed run's
	// progress) and forgets what the run recorded past that point. The
	// registry's lock is held.
	Begin(info *I)
	// Step trains one chunk: a PPO update, some SAC steps, an episode.
	Step(ctx context.Context) (func(*I), error)
	// Done reports whether the run's budget is spent.
	Done() bool
	// Save writes a checkpoint to path atomically, for Trainer.Open to
	// resume from.
	Save(path string) error
	// Evaluate scores the trained learner on held-out episodes.
	Evaluate(ctx context.Context) (func(*I), error)
}

// Trainer is what a domain supplies to its registry besides the learners:
// how runs are built, and the statements that record them in the domain's
// own table (the registry runs them).
type Trainer[I any] interface {
	// Open builds the learner of a run: afresh from its spec, or from its
	// checkpoint file when resume is set. info is a copy; the lock is not
	// held (a checkpoint can take a while to read).
	Open(info I, resume bool) (Learner[I], error)
	// Insert returns the statement that records a new run; the row id
	// SQLite gives it is the run's id.
	Insert(info *I) (query string, args []any)
	// Update returns the statement that records a run's state.
	Update(info *I) (query string, args []any)
}
