package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/metastation/metastation/app/cluster"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/mlops"
)

// aliasSync is the model registry's side of cluster mode: an alias move is
// a replicated command (cluster.KindAlias, compare-and-set decided in log
// order), and aliasSync applies the committed moves to this node's
// registry in log order, recording how far it got in the same transaction
// (cluster_mlops_applied). It is the registry's Replicator: a move asked
// on any node is forwarded to the leader, and returns once this node's
// registry holds it.
type aliasSync struct {
	node *cluster.Node
	svc  *mlops.Service
	db   *sql.DB // the writer connection
	log  *slog.Logger
	wake <-chan struct{} // a move was applied to the replicated state

	mu sync.Mutex
	at uint64        // the raft index of the last move applied here
	ch chan struct{} // closed and replaced whenever at grows
}

// wakeOnAlias wakes an aliasSync when done holds an alias move (on the
// state machine's goroutine: it never blocks; wakes coalesce, since the
// sync reads every move after its last).
func wakeOnAlias(done []cluster.Applied, wake chan<- struct{}) {
	for _, d := range done {
		if d.Command.Kind == cluster.KindAlias {
			select {
			case wake <- struct{}{}:
			default:
			}
			return
		}
	}
}

func newAliasSync(node *cluster.Node, svc *mlops.Service, db *sql.DB, wake <-chan struct{}, log *slog.Logger) *aliasSync {
	return &aliasSync{node: node, svc: svc, db: db, wake: wake, log: log, ch: make(chan struct{})}
}

var _ mlops.Replicator = (*aliasSync)(nil)

// run applies committed moves whenever one is applied to the replicated
// state (and every few seconds, to retry one that failed), until ctx ends.
func (s *aliasSync) run(ctx context.Context) error {
	var at sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT raft_index FROM cluster_mlops_applied WHERE id = 1`).Scan(&at); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("cluster: read the registry's applied index: %w", err)
	}
	s.advance(uint64(at.Int64))
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		s.sync(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-tick.C:
		}
	}
}

// sync applies every committed move after the last one applied here.
func (s *aliasSync) sync(ctx context.Context) {
	s.mu.Lock()
	at := s.at
	s.mu.Unlock()
	var moves []cluster.AliasRecord
	s.node.View(func(st *cluster.State) {
		i := sort.Search(len(st.Moves), func(i int) bool { return st.Moves[i].Index > at })
		moves = slices.Clone(st.Moves[i:])
	})
	for _, m := range moves {
		save := func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO cluster_mlops_applied (id, raft_index) VALUES (1, ?)
				ON CONFLICT (id) DO UPDATE SET raft_index = excluded.raft_index`, m.Index)
			return err
		}
		_, err := s.svc.ApplyReplicated(ctx, mlops.AliasMove{Model: m.Model, Alias: m.Alias, Version: m.To, Previous: m.From,
			At: m.At, Actor: m.Actor, Reason: m.Why, Rollback: m.Rollback}, save)
		if errs.Is(err, errs.NotFound) {
			// This node lacks the version (artifacts are per node): the
			// alias stays where it was here; the move is passed over.
			s.log.Warn("cluster: a replicated alias move names a version this node does not have", "model", m.Model, "alias", m.Alias, "version", m.To, "err", err)
			err = s.saveOnly(ctx, save)
		}
		if err != nil {
			s.log.Error("cluster: alias move not applied to this node's registry; retrying", "model", m.Model, "alias", m.Alias, "index", m.Index, "err", err)
			return
		}
		s.advance(m.Index)
	}
}

func (s *aliasSync) saveOnly(ctx context.Context, save func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := save(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *aliasSync) advance(at uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at > s.at {
		s.at = at
		close(s.ch)
		s.ch = make(chan struct{})
	}
}

// waitApplied blocks until this node's registry holds the move at index.
func (s *aliasSync) waitApplied(ctx context.Context, index uint64) error {
	for {
		s.mu.Lock()
		at, ch := s.at, s.ch
		s.mu.Unlock()
		if at >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// MoveAlias commits a move through the cluster (forwarded to the leader
// from a follower) and returns it once this node's registry has applied it.
func (s *aliasSync) MoveAlias(ctx context.Context, m mlops.AliasMove, want *int) (mlops.AliasMove, error) {
	cm := cluster.AliasMove{Model: m.Model, Alias: m.Alias, Version: m.Version, Remove: m.Version == 0,
		Actor: m.Actor, Reason: m.Reason, Rollback: m.Rollback}
	if want != nil {
		cm.HasIf, cm.IfVersion = true, *want
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cluster.DefaultApplyTimeout)
		defer cancel()
	}
	res, err := s.node.MoveAlias(ctx, "", cm)
	if err != nil {
		return mlops.AliasMove{}, err
	}
	if err := s.waitApplied(ctx, res.Index); err != nil {
		return mlops.AliasMove{}, errs.Wrap(errs.Unavailable, err, "The alias move was committed but this node's registry has not applied it yet; reload in a moment.")
	}
	out := mlops.AliasMove{Model: m.Model, Alias: m.Alias, Version: res.Version, Previous: res.Previous,
		Actor: m.Actor, Reason: m.Reason, Rollback: m.Rollback}
	s.node.View(func(st *cluster.State) {
		for i := len(st.Moves) - 1; i >= 0; i-- {
			if st.Moves[i].Index == res.Index {
				out.At = st.Moves[i].At
				break
			}
		}
	})
	return out, nil
}
