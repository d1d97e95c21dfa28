package mlops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/metastation/metastation/app/errs"
)

// Replicator commits alias moves through a cluster (cluster mode: app's
// wiring over app/cluster). The cluster decides each move, and its
// compare-and-set, in log order, the same on every node; every node's
// registry then applies the committed move with ApplyMove, so every node
// shows the same aliases and the same history.
type Replicator interface {
	// MoveAlias commits m (Version 0 removes the alias; want, when not
	// nil, is the version the alias must point at now, 0 for unset) and
	// returns the move as committed once this node's registry holds it.
	MoveAlias(ctx context.Context, m AliasMove, want *int) (AliasMove, error)
}

// SetReplicator routes every alias move (SetAlias, SetAliasIf,
// DeleteAlias, Rollback, promotions) through rep. Call it before the
// registry is used.
func (r *Registry) SetReplicator(rep Replicator) { r.rep = rep }

// ApplyMove writes a move the cluster committed: the alias pointer and a
// history row (at the move's replicated time, never before the alias's
// last), in one transaction with also, the caller's record of how far it
// has applied. There is no compare-and-set here: the cluster decided. A
// version this node does not hold (its artifacts are its own) is NotFound
// and nothing is written: the alias stays where it was on this node.
func (r *Registry) ApplyMove(ctx context.Context, m AliasMove, also func(*sql.Tx) error) (AliasMove, error) {
	tx, err := r.db.W.BeginTx(ctx, nil)
	if err != nil {
		return AliasMove{}, fmt.Errorf("apply alias move %s of %s: %w", m.Alias, m.Model, err)
	}
	defer tx.Rollback()
	if m.Version != 0 {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM mlops_versions WHERE model = ? AND version = ?`, m.Model, m.Version).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return AliasMove{}, errs.Errorf(errs.NotFound, "version %d of model %s is not on this node; alias %s stays where it was here", m.Version, m.Model, m.Alias)
		}
		if err != nil {
			return AliasMove{}, fmt.Errorf("apply alias move %s of %s: %w", m.Alias, m.Model, err)
		}
	}
	at := ms(m.At)
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(at_ms) FROM mlops_alias_history WHERE model = ? AND alias = ?`, m.Model, m.Alias).Scan(&last); err != nil {
		return AliasMove{}, fmt.Errorf("apply alias move %s of %s: %w", m.Alias, m.Model, err)
	}
	if last.Valid && last.Int64 > at {
		at = last.Int64
	}
	if m.Version == 0 {
		_, err = tx.ExecContext(ctx, `DELETE FROM mlops_aliases WHERE model = ? AND alias = ?`, m.Model, m.Alias)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO mlops_aliases (model, alias, version, moved_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, moved_ms = excluded.moved_ms`, m.Model, m.Alias, m.Version, at)
	}
	if err != nil {
		return AliasMove{}, fmt.Errorf("apply alias move %s of %s: %w", m.Alias, m.Model, err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO mlops_alias_history (model, alias, version, previous, at_ms, actor, reason, rollback) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		m.Model, m.Alias, nullInt(m.Version), nullInt(m.Previous), at, m.Actor, m.Reason, m.Rollback)
	if err != nil {
		return AliasMove{}, fmt.Errorf("apply alias move %s of %s: %w", m.Alias, m.Model, err)
	}
	m.ID, _ = res.LastInsertId()
	m.At = fromMS(at)
	if also != nil {
		if err := also(tx); err != nil {
			return AliasMove{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return AliasMove{}, fmt.Errorf("apply alias move %s of %s: %w", m.Alias, m.Model, err)
	}
	return m, nil
}
