package entrant

import (
	"context"
	"fmt"
	"time"

	"github.com/metastation/metastation/app/store"
)

// tables is the SQL of the remembered entrants (tournament_entrants): the
// learners entered through the API, so the next start enters them again.
type tables struct{ db *store.DB }

// remember records the learner at checkpoint (an entrant path) playing as
// strategy.
func (t tables) remember(ctx context.Context, checkpoint, strategy string, at time.Time) error {
	if _, err := t.db.W.ExecContext(ctx, `INSERT OR REPLACE INTO tournament_entrants (checkpoint, strategy, added_ms) VALUES (?, ?, ?)`,
		checkpoint, strategy, at.UnixMilli()); err != nil {
		return fmt.Errorf("entrant: remember %s: %w", checkpoint, err)
	}
	return nil
}

// forget deletes the remembered learners that play as strategy.
func (t tables) forget(ctx context.Context, strategy string) error {
	if _, err := t.db.W.ExecContext(ctx, `DELETE FROM tournament_entrants WHERE strategy = ?`, strategy); err != nil {
		return fmt.Errorf("entrant: forget %s: %w", strategy, err)
	}
	return nil
}

// forgetCheckpoint deletes the remembered learner at checkpoint.
func (t tables) forgetCheckpoint(ctx context.Context, checkpoint string) error {
	if _, err := t.db.W.ExecContext(ctx, `DELETE FROM tournament_entrants WHERE checkpoint = ?`, checkpoint); err != nil {
		return fmt.Errorf("entrant: forget %s: %w", checkpoint, err)
	}
	return nil
}

// remembered lists the checkpoints of the remembered learners, in the order
// they were entered.
func (t tables) remembered(ctx context.Context) ([]string, error) {
	rows, err := t.db.R.QueryContext(ctx, `SELECT checkpoint FROM tournament_entrants ORDER BY added_ms, checkpoint`)
	if err != nil {
		return nil, fmt.Errorf("entrant: remembered entrants: %w", err)
	}
	defer rows.Close()
	var paths []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return paths, fmt.Errorf("entrant: remembered entrants: %w", err)
		}
		paths = append(paths, p)
	}
	if err := rows.Err(); err != nil {
		return paths, fmt.Errorf("entrant: remembered entrants: %w", err)
	}
	return paths, nil
}
