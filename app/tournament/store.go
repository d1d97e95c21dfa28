package tournament

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
)

// tables is the tournament's SQL: rounds and their results, the votes and
// their audit log, and the commentary. Nothing else in the package writes a
// query.
type tables struct {
	db *store.DB
	w  *store.Writer // for commentary lines; may be nil
}

// markInterrupted marks rounds a stop interrupted as abandoned.
func (t *tables) markInterrupted(ctx context.Context) error {
	if _, err := t.db.W.ExecContext(ctx, `UPDATE tournament_rounds SET state = 'abandoned' WHERE state = 'running'`); err != nil {
		return fmt.Errorf("tournament: mark interrupted rounds: %w", err)
	}
	return nil
}

// lastRound is the id of the last round started, 0 before the first.
func (t *tables) lastRound(ctx context.Context) (int64, error) {
	var last sql.NullInt64
	if err := t.db.W.QueryRowContext(ctx, `SELECT max(id) FROM tournament_rounds`).Scan(&last); err != nil {
		return 0, fmt.Errorf("tournament: last round: %w", err)
	}
	return last.Int64, nil
}

// finished reports whether round id has finished on this node.
func (t *tables) finished(ctx context.Context, id int64) (bool, error) {
	var n int
	if err := t.db.W.QueryRowContext(ctx, `SELECT count(*) FROM tournament_rounds WHERE id = ? AND state = 'finished'`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("tournament: round %d: %w", id, err)
	}
	return n > 0, nil
}

// soloRounds are the rounds this node played alone (not as a cluster
// node): their count and their lowest and highest ids.
func (t *tables) soloRounds(ctx context.Context) (n int, first, last int64, err error) {
	var lo, hi sql.NullInt64
	if err := t.db.W.QueryRowContext(ctx, `SELECT count(*), min(id), max(id) FROM tournament_rounds WHERE cluster = 0`).Scan(&n, &lo, &hi); err != nil {
		return 0, 0, 0, fmt.Errorf("tournament: rounds played alone: %w", err)
	}
	return n, lo.Int64, hi.Int64, nil
}

// roundRow is what the database keeps of a round when it starts.
type roundRow struct {
	ID       int64
	Season   int64
	Seed     uint64
	Scenario Scenario
	FeeBps   float64
	ScoreBy  ScoreBy
	Started  time.Time
	Cluster  bool // played as a cluster node (the cluster's round), not alone
}

func (t *tables) startRound(ctx context.Context, r roundRow) error {
	// A round this node started before a restart (abandoned since) runs
	// again under the same id in cluster mode; a finished one never does.
	if _, err := t.db.W.ExecContext(ctx, `INSERT INTO tournament_rounds (id, season, seed, scenario, script, fee_bps, score_by, state, started_ms, cluster)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)
		ON CONFLICT (id) DO UPDATE SET state = 'running', seed = excluded.seed, started_ms = excluded.started_ms
		WHERE tournament_rounds.state = 'abandoned'`, r.ID, r.Season, int64(r.Seed), r.Scenario.Name, r.Scenario.Script, r.FeeBps,
		string(r.ScoreBy), r.Started.UnixMilli(), r.Cluster); err != nil {
		return fmt.Errorf("tournament: start round %d: %w", r.ID, err)
	}
	return nil
}

// finishRound saves a round's results (each with its equity once a
// simulated minute) and marks it finished, in one transaction. crowd is the
// crowd's pick, "" when nobody voted.
func (t *tables) finishRound(ctx context.Context, id int64, results []Result, equity map[string][]float64, winner, crowd string, at time.Time) error {
	tx, err := t.db.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("tournament: save round %d: %w", id, err)
	}
	defer tx.Rollback()
	for _, res := range results {
		eq, err := json.Marshal(equity[res.Strategy])
		if err != nil {
			return fmt.Errorf("tournament: save results of round %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tournament_results (round, strategy, name, rank, pnl, ret, sharpe, sortino,
			max_drawdown, calmar, turnover, hit_rate, fees, score, stopped, equity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, res.Strategy, res.Name, res.Rank, res.PnL, res.Return, res.Sharpe, res.Sortino, res.MaxDrawdown, res.Calmar,
			res.Turnover, res.HitRate, res.Fees, res.Score, res.Stopped, string(eq)); err != nil {
			return fmt.Errorf("tournament: save results of round %d: %w", id, err)
		}
	}
	var pick any
	if crowd != "" {
		pick = crowd
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tournament_rounds SET state = 'finished', finished_ms = ?, winner = ?, crowd_pick = ? WHERE id = ?`,
		at.UnixMilli(), winner, pick, id); err != nil {
		return fmt.Errorf("tournament: finish round %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("tournament: save round %d: %w", id, err)
	}
	return nil
}

// season reads the finished rounds of season: each strategy's scores, P&L,
// wins and one-minute returns, in the order they first played, and the
// crowd's record.
func (t *tables) season(ctx context.Context, season int64) ([]SeasonInput, CrowdAccuracy, error) {
	var crowd CrowdAccuracy
	rows, err := t.db.W.QueryContext(ctx, `SELECT r.strategy, r.name, r.score, r.pnl, r.rank, r.equity FROM tournament_results r
		JOIN tournament_rounds t ON t.id = r.round WHERE t.season = ? AND t.state = 'finished' ORDER BY r.round`, season)
	if err != nil {
		return nil, crowd, fmt.Errorf("tournament: read season: %w", err)
	}
	defer rows.Close()
	byID := map[string]*SeasonInput{}
	var order []string
	for rows.Next() {
		var id, name, eqText string
		var score, pnl float64
		var rank int
		if err := rows.Scan(&id, &name, &score, &pnl, &rank, &eqText); err != nil {
			return nil, crowd, fmt.Errorf("tournament: read season: %w", err)
		}
		in := byID[id]
		if in == nil {
			in = &SeasonInput{Strategy: id, Name: name}
			byID[id] = in
			order = append(order, id)
		}
		in.Scores = append(in.Scores, score)
		in.PnLs = append(in.PnLs, pnl)
		if rank == 1 {
			in.Wins++
		}
		var eq []float64
		if err := json.Unmarshal([]byte(eqText), &eq); err == nil {
			in.Returns = append(in.Returns, Returns(eq)...)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, crowd, fmt.Errorf("tournament: read season: %w", err)
	}
	in := make([]SeasonInput, 0, len(order))
	for _, id := range order {
		in = append(in, *byID[id])
	}
	if err := t.db.W.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(crowd_pick = winner), 0) FROM tournament_rounds
		WHERE season = ? AND state = 'finished' AND crowd_pick IS NOT NULL`, season).Scan(&crowd.Rounds, &crowd.Correct); err != nil {
		return nil, crowd, fmt.Errorf("tournament: read crowd record: %w", err)
	}
	return in, crowd, nil
}

// votes reads the current vote of every voter of round: voter -> strategy.
func (t *tables) votes(ctx context.Context, round int64) (map[string]string, error) {
	return t.picks(ctx, `SELECT client, strategy FROM tournament_votes WHERE round = ?`, round)
}

// voteLog replays round's audit log: the last ballot of each voter.
func (t *tables) voteLog(ctx context.Context, round int64) (map[string]string, error) {
	return t.picks(ctx, `SELECT client, strategy FROM tournament_vote_log WHERE round = ? ORDER BY id`, round)
}

func (t *tables) picks(ctx context.Context, query string, round int64) (map[string]string, error) {
	rows, err := t.db.W.QueryContext(ctx, query, round)
	if err != nil {
		return nil, fmt.Errorf("tournament: read votes: %w", err)
	}
	defer rows.Close()
	picks := map[string]string{}
	for rows.Next() {
		var c, st string
		if err := rows.Scan(&c, &st); err != nil {
			return nil, fmt.Errorf("tournament: read votes: %w", err)
		}
		picks[c] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tournament: read votes: %w", err)
	}
	return picks, nil
}

// saveVote records voter's ballot for strategy in round: it becomes the
// voter's current vote, and the audit log gets it. A voter who has cast
// maxBallots ballots in round already is refused (errs.Conflict) and the
// current vote stands: every ballot is a row of the audit log, which would
// otherwise grow with every change of mind.
func (t *tables) saveVote(ctx context.Context, round int64, voter, strategy string, at time.Time, maxBallots int) error {
	// An acknowledged vote must survive a power cut: synchronous=FULL for
	// this transaction (store.DurableTx).
	ms := at.UnixMilli()
	var refused error
	err := store.DurableTx(ctx, t.db, func(tx *sql.Tx) error {
		var cast int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tournament_vote_log WHERE round = ? AND client = ?`, round, voter).Scan(&cast); err != nil {
			return err
		}
		if cast >= maxBallots {
			refused = errs.Errorf(errs.Conflict, "you have cast %d ballots in round %d, the most one voter may (a change of mind is a ballot); your current vote stands, and the next round takes new ones", cast, round)
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tournament_votes (round, client, strategy, at_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (round, client) DO UPDATE SET strategy = excluded.strategy, at_ms = excluded.at_ms`, round, voter, strategy, ms); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO tournament_vote_log (round, client, strategy, at_ms) VALUES (?, ?, ?, ?)`,
			round, voter, strategy, ms)
		return err
	})
	if err != nil {
		return fmt.Errorf("tournament: record vote: %w", err)
	}
	return refused
}

// dropVotes deletes the current votes for strategy in rounds from on (the
// audit log keeps them).
func (t *tables) dropVotes(ctx context.Context, from int64, strategy string) error {
	if _, err := t.db.W.ExecContext(ctx, `DELETE FROM tournament_votes WHERE round >= ? AND strategy = ?`, from, strategy); err != nil {
		return fmt.Errorf("tournament: drop the votes for %q: %w", strategy, err)
	}
	return nil
}

// saveLine queues a commentary line for the batching writer; false when the
// writer is full (the line is then only live, not kept).
func (t *tables) saveLine(l Line) bool {
	if t.w == nil {
		return true
	}
	return t.w.TryEnqueue(`INSERT INTO tournament_commentary (round, step, clock, kind, strategy, text) VALUES (?, ?, ?, ?, ?, ?)`,
		l.Round, l.Step, l.Clock, l.Kind, l.Strategy, l.Text)
}

// lines reads the latest limit lines of round, oldest first.
func (t *tables) lines(ctx context.Context, round int64, limit int) ([]Line, error) {
	rows, err := t.db.R.QueryContext(ctx, `SELECT round, step, clock, kind, strategy, text FROM (
		SELECT * FROM tournament_commentary WHERE round = ? ORDER BY id DESC LIMIT ?) ORDER BY id`, round, limit)
	if err != nil {
		return nil, fmt.Errorf("tournament: read commentary: %w", err)
	}
	defer rows.Close()
	out := []Line{}
	for rows.Next() {
		var l Line
		if err := rows.Scan(&l.Round, &l.Step, &l.Clock, &l.Kind, &l.Strategy, &l.Text); err != nil {
			return nil, fmt.Errorf("tournament: read commentary: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tournament: read commentary: %w", err)
	}
	return out, nil
}
