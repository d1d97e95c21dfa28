package tournament

import (
	"context"
	"log/slog"
	"sync"
)

// feed is the live commentary: it turns a round's events into lines (the
// Commentator), has a local model rewrite them when one is configured,
// keeps the recent ones for the state, queues new ones for the bus and
// saves them. It is safe for concurrent use.
type feed struct {
	llm    *LLM // nil: the templates' lines as they are
	tables *tables
	log    *slog.Logger

	ctx context.Context // rewrites stop with it; nil until Run
	wg  sync.WaitGroup  // rewrites in flight

	mu      sync.Mutex
	com     *Commentator // nil before the first round
	recent  []Line       // the last recentLines lines
	pending []Line       // not yet published
}

// recentLines is how many lines the state carries.
const recentLines = 30

// start lets rewrites run until ctx ends.
func (f *feed) start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctx = ctx
}

// wait waits for the rewrites in flight.
func (f *feed) wait() { f.wg.Wait() }

// newRound starts commenting round id.
func (f *feed) newRound(seed uint64, id int64, profiles []Profile) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.com = NewCommentator(seed, id, profiles)
}

// rewrites reports whether lines go through a model (and so whether say
// needs the names and symbols a rewrite may quote).
func (f *feed) rewrites() bool { return f.llm != nil }

// say turns e into a line, if the commentator has one. With a model, the
// line is rewritten in the background and kept only if it quotes nothing
// but e's fields, names and symbols; otherwise the template's line is used.
func (f *feed) say(e Event, names, symbols []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.com == nil {
		return
	}
	l, ok := f.com.Say(e)
	if !ok {
		return
	}
	if f.llm == nil || f.ctx == nil {
		f.emitLocked(l)
		return
	}
	ctx := f.ctx
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		text, err := f.llm.Rewrite(ctx, l.Text)
		if err == nil {
			err = QuotesOnly(text, e, names, symbols)
		}
		if err == nil {
			l.Text = text
		} else {
			f.log.Debug("tournament: commentary rewrite dropped", "err", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.emitLocked(l)
	}()
}

func (f *feed) emitLocked(l Line) {
	f.pending = append(f.pending, l)
	f.recent = append(f.recent, l)
	if len(f.recent) > recentLines {
		f.recent = f.recent[len(f.recent)-recentLines:]
	}
	if !f.tables.saveLine(l) {
		f.log.Warn("tournament: commentary line not persisted, the writer is full")
	}
}

// drain returns the lines not yet published.
func (f *feed) drain() []Line {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.pending
	f.pending = nil
	return l
}

// recentCopy returns the recent lines, oldest first.
func (f *feed) recentCopy() []Line {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Line(nil), f.recent...)
}
