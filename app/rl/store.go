package rl

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/metastation/metastation/app/store"
)

// The trainer's tables: rl_runs (one row a run, which its registry writes
// with the statements of Insert and Update) and rl_metrics (one row a
// learning-curve point), written through the batching writer.

// Insert is the statement that records a new run.
func (trainer) Insert(info *RunInfo) (string, []any) {
	js, _ := json.Marshal(info.Spec) // plain fields: it cannot fail
	now := info.Started.Format(time.RFC3339Nano)
	return `INSERT INTO rl_runs (algo, env, seed, total_steps, status, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		[]any{info.Spec.Algo, info.Spec.Env, int64(info.Spec.Seed), info.Total, info.Status, string(js), now, now}
}

// Update is the statement that records a run's state.
func (trainer) Update(info *RunInfo) (string, []any) {
	var eval any
	if info.EvalReturn != nil {
		eval = *info.EvalReturn
	}
	return `UPDATE rl_runs SET status = ?, steps = ?, mean_return = ?, eval_return = ?, checkpoint = ?, error = ?, updated_at = ? WHERE id = ?`,
		[]any{info.Status, info.Steps, info.Return, eval, info.Checkpoint, info.Error, time.Now().UTC().Format(time.RFC3339Nano), info.ID}
}

func (s *Service) persistMetric(id int64, m Metric) {
	s.reg.Enqueue(`INSERT OR REPLACE INTO rl_metrics (run_id, steps, mean_return, episodes, approx_kl, clip_frac, entropy, explained_variance, policy_loss, value_loss, q_loss, alpha, episode_returns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, m.Steps, m.Return, len(m.Episodes), m.ApproxKL, m.ClipFrac, m.Entropy, m.ExplainedVariance, m.PolicyLoss, m.ValueLoss, m.QLoss, m.Alpha, encodeReturns(m.Episodes))
}

// forgetMetrics deletes the points of run id's curve past steps: the run
// resumes from its checkpoint there and trains them again (a server that
// died after them, before its next checkpoint, left them behind).
func (s *Service) forgetMetrics(id int64, steps int) {
	s.curves.truncate(id, steps)
	s.reg.Enqueue(`DELETE FROM rl_metrics WHERE run_id = ? AND steps > ?`, id, steps)
}

// forgetReturns clears the stored episode returns of run id's points at
// steps, which its curve let go: the database keeps what the curve holds.
func (s *Service) forgetReturns(id int64, steps []int) {
	if len(steps) == 0 {
		return
	}
	list, _ := json.Marshal(steps) // a []int: it cannot fail
	s.reg.Enqueue(`UPDATE rl_metrics SET episode_returns = NULL WHERE run_id = ? AND steps IN (SELECT value FROM json_each(?))`, id, string(list))
}

// readRuns reads the runs the registry does not know yet and their
// learning curves (see Load).
func (s *Service) readRuns(ctx context.Context, db *store.DB, point func(RunMetric)) ([]RunInfo, error) {
	loaded, err := s.loadRuns(ctx, db)
	if err != nil {
		return nil, err
	}
	last, err := s.loadMetrics(ctx, db, loaded, point)
	if err != nil {
		return nil, err
	}
	list := make([]RunInfo, 0, len(loaded))
	for id, info := range loaded {
		// A run left running trained past the steps its record holds
		// (they are written when the status changes); its curve went on.
		if m, ok := last[id]; ok && info.Status.Active() && m.Steps > info.Steps {
			info.Steps, info.Return = m.Steps, m.Return
		}
		list = append(list, *info)
	}
	return list, nil
}

// loadRuns reads the records of the runs the registry does not know yet,
// by id.
func (s *Service) loadRuns(ctx context.Context, db *store.DB) (map[int64]*RunInfo, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT id, algo, env, seed, total_steps, status, steps, mean_return, eval_return, error, spec, created_at
		FROM rl_runs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("load rl runs: %w", err)
	}
	defer rows.Close()
	loaded := map[int64]*RunInfo{}
	for rows.Next() {
		var (
			info      RunInfo
			seed      int64
			ret, eval sql.NullFloat64
			reason    sql.NullString
			spec      sql.NullString
			created   string
		)
		if err := rows.Scan(&info.ID, &info.Spec.Algo, &info.Spec.Env, &seed, &info.Total, &info.Status, &info.Steps, &ret, &eval, &reason, &spec, &created); err != nil {
			return nil, fmt.Errorf("load rl runs: %w", err)
		}
		if s.reg.Has(info.ID) {
			continue
		}
		if spec.Valid { // hidden sizes and workers; the columns stay the truth for the rest
			var full RunSpec
			if err := json.Unmarshal([]byte(spec.String), &full); err == nil {
				info.Spec.Hidden, info.Spec.Workers = full.Hidden, full.Workers
			}
		}
		info.Spec.Seed, info.Spec.Steps = uint64(seed), info.Total
		info.Return, info.Error = ret.Float64, reason.String
		if eval.Valid {
			v := eval.Float64
			info.EvalReturn = &v
		}
		info.Started, _ = time.Parse(time.RFC3339Nano, created)
		loaded[info.ID] = &info
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load rl runs: %w", err)
	}
	return loaded, nil
}

// loadMetrics rebuilds the learning curves of the loaded runs, hands each
// point to point (which may be nil) and returns each run's last point.
func (s *Service) loadMetrics(ctx context.Context, db *store.DB, loaded map[int64]*RunInfo, point func(RunMetric)) (map[int64]Metric, error) {
	last := map[int64]Metric{}
	rows, err := db.R.QueryContext(ctx, `SELECT run_id, steps, mean_return, episodes, approx_kl, clip_frac, entropy, explained_variance, policy_loss, value_loss, q_loss, alpha, episode_returns
		FROM rl_metrics ORDER BY run_id, steps`)
	if err != nil {
		return nil, fmt.Errorf("load rl metrics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			m        RunMetric
			episodes int
			diag     [8]sql.NullFloat64
			returns  []byte
		)
		if err := rows.Scan(&m.Run, &m.Steps, &m.Return, &episodes, &diag[0], &diag[1], &diag[2], &diag[3], &diag[4], &diag[5], &diag[6], &diag[7], &returns); err != nil {
			return nil, fmt.Errorf("load rl metrics: %w", err)
		}
		if loaded[m.Run] == nil {
			continue
		}
		m.ApproxKL, m.ClipFrac, m.Entropy, m.ExplainedVariance = diag[0].Float64, diag[1].Float64, diag[2].Float64, diag[3].Float64
		m.PolicyLoss, m.ValueLoss, m.QLoss, m.Alpha = diag[4].Float64, diag[5].Float64, diag[6].Float64, diag[7].Float64
		m.Episodes = decodeReturns(returns)
		last[m.Run] = m.Metric
		// The database holds what the curve held, so this lets nothing go
		// unless a clearing was lost (the writer's queue was full).
		s.forgetReturns(m.Run, s.curves.add(m))
		if point != nil {
			point(m)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load rl metrics: %w", err)
	}
	return last, nil
}

// encodeReturns packs episode returns as little-endian float64s (exact,
// 8 bytes each); nil when there are none.
func encodeReturns(rs []float64) []byte {
	if len(rs) == 0 {
		return nil
	}
	b := make([]byte, 0, 8*len(rs))
	for _, r := range rs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r))
	}
	return b
}

// decodeReturns unpacks encodeReturns; nil for NULL (points stored before
// migration 0032, or whose returns were let go).
func decodeReturns(b []byte) []float64 {
	if len(b) < 8 {
		return nil
	}
	rs := make([]float64, len(b)/8)
	for i := range rs {
		rs[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return rs
}
