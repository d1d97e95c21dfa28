package cluster

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Applied is one applied command and what it did, handed to Config.OnApply.
type Applied struct {
	Command Command
	Result  Result
}

// fsm is the raft state machine: it applies committed entries to the
// State and derives the SQLite rows from them. raft calls ApplyBatch,
// Snapshot and Restore from one goroutine; readers take mu.RLock.
type fsm struct {
	key     []byte
	db      *sql.DB // nil: no SQLite derivation
	log     *slog.Logger
	onApply func([]Applied)

	mu      sync.RWMutex
	st      *State
	dirty   bool          // a SQLite write failed: rewrite all rows at the next batch
	applied chan struct{} // closed and replaced after every batch
}

func newFSM(key []byte, db *sql.DB, log *slog.Logger, onApply func([]Applied)) *fsm {
	return &fsm{key: key, db: db, log: log, onApply: onApply, st: NewState(), applied: make(chan struct{})}
}

var _ raft.BatchingFSM = (*fsm)(nil)

// Apply applies one entry (raft uses ApplyBatch; this is for completeness).
func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies committed entries in order and writes their effects to
// SQLite in one transaction.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	var done []Applied
	f.mu.Lock()
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		res := f.st.Apply(l.Index, l.Data, f.key)
		out[i] = res
		var c Command
		if res.Outcome == OutcomeApplied && !res.Duplicate && json.Unmarshal(l.Data, &c) == nil {
			done = append(done, Applied{Command: c, Result: res})
		}
	}
	ch := f.applied
	f.applied = make(chan struct{})
	f.mu.Unlock()
	close(ch)
	f.derive(done)
	if f.onApply != nil && len(done) > 0 {
		f.onApply(done)
	}
	return out
}

// derive writes the effects of applied commands to SQLite.
func (f *fsm) derive(done []Applied) {
	if f.db == nil {
		return
	}
	f.mu.RLock()
	dirty := f.dirty
	f.mu.RUnlock()
	var err error
	if dirty {
		err = f.rewrite()
	} else {
		err = f.writeEffects(done)
	}
	f.mu.Lock()
	f.dirty = err != nil
	f.mu.Unlock()
	if err != nil {
		f.log.Error("cluster: derive SQLite rows; all rows are rewritten at the next batch", "err", err)
	}
}

func tstr(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// writeEffects writes what each applied command changed, reading the
// resulting values from the state, plus the meta rows.
func (f *fsm) writeEffects(done []Applied) error {
	ctx := context.Background()
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, a := range done {
		c, idx := a.Command, a.Result.Index
		switch c.Kind {
		case KindVote:
			_, err = tx.Exec(`INSERT INTO cluster_votes(round, voter, strategy) VALUES(?,?,?)
				ON CONFLICT(round, voter) DO UPDATE SET strategy=excluded.strategy`, c.Vote.Round, c.Vote.Voter, c.Vote.Strategy)
		case KindAlias:
			m := c.Alias
			if m.Remove {
				_, err = tx.Exec(`DELETE FROM cluster_aliases WHERE model = ? AND alias = ?`, m.Model, m.Alias)
			} else {
				_, err = tx.Exec(`INSERT INTO cluster_aliases(model, alias, version, raft_index) VALUES(?,?,?,?)
				ON CONFLICT(model, alias) DO UPDATE SET version=excluded.version, raft_index=excluded.raft_index`,
					m.Model, m.Alias, m.Version, idx)
			}
			if err == nil {
				_, err = tx.Exec(`INSERT OR REPLACE INTO cluster_alias_moves(raft_index, model, alias, from_version, to_version, actor, reason, at, node)
					VALUES(?,?,?,?,?,?,?,?,?)`, idx, m.Model, m.Alias, a.Result.Previous, m.Version, m.Actor, m.Reason, tstr(c.At), c.Node)
			}
		case KindEnvelope:
			err = insertEnvelope(tx, EnvelopeRecord{Index: idx, At: c.At, Node: c.Node, Envelope: *c.Envelope})
			if err == nil && len(f.st.Envelopes) > 0 {
				_, err = tx.Exec(`DELETE FROM cluster_envelopes WHERE raft_index < ?`, f.st.Envelopes[0].Index)
			}
		case KindRound:
			err = upsertRound(tx, f.st.Rounds[c.Round.Round])
		}
		if err != nil {
			return fmt.Errorf("write %s at %d: %w", c.Kind, idx, err)
		}
	}
	if err := writeMeta(tx, f.st); err != nil {
		return err
	}
	return tx.Commit()
}

func insertEnvelope(tx *sql.Tx, e EnvelopeRecord) error {
	_, err := tx.Exec(`INSERT OR REPLACE INTO cluster_envelopes(raft_index, at, node, topic, sender, recipient, kind, payload)
		VALUES(?,?,?,?,?,?,?,?)`, e.Index, tstr(e.At), e.Node, e.Topic, e.From, e.To, e.Kind, string(e.Payload))
	return err
}

func upsertRound(tx *sql.Tx, r RoundRecord) error {
	_, err := tx.Exec(`INSERT OR REPLACE INTO cluster_rounds(round, status, seed, step, state, results, raft_index, node, at, started, roster)
		VALUES(?,?,?,?,?,?,?,?,?,?,?)`, r.Round.Round, r.Status, r.Seed, r.Step, string(r.State), string(r.Results), r.Index, r.Node, tstr(r.At), tstr(r.Started), string(r.Roster))
	return err
}

func writeMeta(tx *sql.Tx, s *State) error {
	for k, v := range map[string]string{"applied": fmt.Sprint(s.Applied), "chain": s.Chain, "votes_open": fmt.Sprint(s.VotesOpen)} {
		if _, err := tx.Exec(`INSERT OR REPLACE INTO cluster_meta(key, value) VALUES(?,?)`, k, v); err != nil {
			return fmt.Errorf("write meta %s: %w", k, err)
		}
	}
	return nil
}

// rewrite replaces every cluster_* row with the state's (after a restore,
// or to repair after a failed write).
func (f *fsm) rewrite() error {
	tx, err := f.db.BeginTx(context.Background(), nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	for _, t := range []string{"cluster_meta", "cluster_votes", "cluster_aliases", "cluster_alias_moves", "cluster_envelopes", "cluster_rounds"} {
		if _, err := tx.Exec(`DELETE FROM ` + t); err != nil {
			return fmt.Errorf("clear %s: %w", t, err)
		}
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	s := f.st
	for round, m := range s.Votes {
		for voter, st := range m {
			if _, err := tx.Exec(`INSERT INTO cluster_votes(round, voter, strategy) VALUES(?,?,?)`, round, voter, st); err != nil {
				return fmt.Errorf("write vote: %w", err)
			}
		}
	}
	for _, m := range s.Moves {
		if _, err := tx.Exec(`INSERT INTO cluster_alias_moves(raft_index, model, alias, from_version, to_version, actor, reason, at, node)
			VALUES(?,?,?,?,?,?,?,?,?)`, m.Index, m.Model, m.Alias, m.From, m.To, m.Actor, m.Why, tstr(m.At), m.Node); err != nil {
			return fmt.Errorf("write alias move: %w", err)
		}
	}
	for _, m := range s.Moves { // the current pointer is the last move of each alias
		a := s.Aliases[aliasKey(m.Model, m.Alias)]
		if a.Index != m.Index {
			continue
		}
		if _, err := tx.Exec(`INSERT INTO cluster_aliases(model, alias, version, raft_index) VALUES(?,?,?,?)`, m.Model, m.Alias, a.Version, a.Index); err != nil {
			return fmt.Errorf("write alias: %w", err)
		}
	}
	for _, e := range s.Envelopes {
		if err := insertEnvelope(tx, e); err != nil {
			return fmt.Errorf("write envelope: %w", err)
		}
	}
	for _, r := range s.roundsSorted() {
		if err := upsertRound(tx, r); err != nil {
			return fmt.Errorf("write round: %w", err)
		}
	}
	if err := writeMeta(tx, s); err != nil {
		return err
	}
	return tx.Commit()
}

// Snapshot encodes the state now; raft persists it while applies go on.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	b, err := json.Marshal(f.st)
	if err != nil {
		return nil, fmt.Errorf("encode snapshot: %w", err)
	}
	return snapshot(b), nil
}

// Restore replaces the state with a snapshot's and rewrites the rows.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st := NewState()
	if err := json.NewDecoder(rc).Decode(st); err != nil {
		return fmt.Errorf("decode snapshot: %w", err)
	}
	f.mu.Lock()
	f.st = st
	ch := f.applied
	f.applied = make(chan struct{})
	f.mu.Unlock()
	close(ch)
	if f.db != nil {
		if err := f.rewrite(); err != nil {
			f.mu.Lock()
			f.dirty = true
			f.mu.Unlock()
			return fmt.Errorf("rewrite rows from snapshot: %w", err)
		}
	}
	return nil
}

type snapshot []byte

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return fmt.Errorf("write snapshot: %w", err)
	}
	return sink.Close()
}

func (s snapshot) Release() {}

// read runs fn on the state under the read lock.
func (f *fsm) read(fn func(*State)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.st)
}

// waitApplied blocks until the state has applied index, or ctx ends.
func (f *fsm) waitApplied(ctx context.Context, index uint64) error {
	for {
		f.mu.RLock()
		at, ch := f.st.Applied, f.applied
		f.mu.RUnlock()
		if at >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for index %d (applied %d): %w", index, at, ctx.Err())
		}
	}
}
