package marl

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/metastation/metastation/app/store"
)

// The multi-agent trainer's tables: marl_runs (one row a run, which its
// registry writes with the statements of Insert and Update), marl_points
// (its learning curve) and marl_events (its curriculum promotions), written
// through the batching writer.

// Insert is the statement that records a new run.
func (trainer) Insert(info *RunInfo) (string, []any) {
	now := info.Started.Format(time.RFC3339Nano)
	spec := info.Spec
	return `INSERT INTO marl_runs (env, algo, seed, curriculum, total_episodes, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		[]any{spec.Env, spec.Algo, int64(spec.Seed), spec.Curriculum, spec.Episodes, info.Status, now, now}
}

// Update is the statement that records a run's state.
func (trainer) Update(info *RunInfo) (string, []any) {
	var team, eval, ci, rnd, stage, smoothed, evalN any
	if info.Team != nil {
		team = *info.Team
	}
	if info.Eval != nil {
		eval, ci, rnd, evalN = info.Eval.Team, info.Eval.CI, info.Eval.Random, info.Eval.Episodes
	}
	if info.Stage != nil {
		stage, smoothed = info.Stage.Index, info.Stage.Smoothed
	}
	agents, _ := json.Marshal(info.AgentReturns)
	return `UPDATE marl_runs SET status = ?, episodes = ?, team_return = ?, agent_returns = ?, stage = ?, smoothed = ?, eval_return = ?, eval_ci = ?, eval_episodes = ?, random_return = ?, checkpoint = ?, error = ?, updated_at = ? WHERE id = ?`,
		[]any{info.Status, info.Episodes, team, string(agents), stage, smoothed, eval, ci, evalN, rnd, info.Checkpoint, info.Error, time.Now().UTC().Format(time.RFC3339Nano), info.ID}
}

func (s *Service) persistPoint(p Point) {
	agents, _ := json.Marshal(p.Agents)
	s.reg.Enqueue(`INSERT OR REPLACE INTO marl_points (run_id, episode, team, agents) VALUES (?, ?, ?, ?)`, p.Run, p.Episode, p.Team, string(agents))
}

func (s *Service) persistEvent(ev Event) {
	forgot, _ := json.Marshal(ev.Forgot)
	if ev.Forgot == nil {
		forgot = []byte("[]")
	}
	s.reg.Enqueue(`INSERT OR REPLACE INTO marl_events (run_id, episode, stage, next, score, smoothed, drawdown, forgot, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.Run, ev.Episode, ev.Stage, ev.Next, ev.Score, ev.Smoothed, ev.Drawdown, string(forgot), ev.Text)
}

// forgetPast deletes the points and events of run id past episode: it
// resumes from its checkpoint there and plays them again.
func (s *Service) forgetPast(id int64, episode int) {
	s.reg.Enqueue(`DELETE FROM marl_points WHERE run_id = ? AND episode > ?`, id, episode)
	s.reg.Enqueue(`DELETE FROM marl_events WHERE run_id = ? AND episode > ?`, id, episode)
}

// readRuns reads the runs the registry does not know yet, and keeps their
// learning curves and events.
func (s *Service) readRuns(ctx context.Context, db *store.DB) ([]RunInfo, error) {
	loaded, err := s.loadRuns(ctx, db)
	if err != nil {
		return nil, err
	}
	hist, err := loadHistory(ctx, db, loaded)
	if err != nil {
		return nil, err
	}
	s.hist.set(hist)
	list := make([]RunInfo, 0, len(loaded))
	for _, info := range loaded {
		list = append(list, *info)
	}
	return list, nil
}

// loadRuns reads the records of the runs the registry does not know yet,
// by id.
func (s *Service) loadRuns(ctx context.Context, db *store.DB) (map[int64]*RunInfo, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT id, env, algo, seed, curriculum, total_episodes, status, episodes, team_return, agent_returns, stage,
		smoothed, eval_return, eval_ci, eval_episodes, random_return, error, created_at FROM marl_runs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("load marl runs: %w", err)
	}
	defer rows.Close()
	loaded := map[int64]*RunInfo{}
	for rows.Next() {
		var (
			i                          RunInfo
			seed                       int64
			team, evalRet, evalCI, rnd sql.NullFloat64
			smoothed                   sql.NullFloat64
			agents, msg                sql.NullString
			stage, evalN               sql.NullInt64
			created                    string
		)
		if err := rows.Scan(&i.ID, &i.Spec.Env, &i.Spec.Algo, &seed, &i.Spec.Curriculum, &i.Total, &i.Status, &i.Episodes, &team, &agents, &stage,
			&smoothed, &evalRet, &evalCI, &evalN, &rnd, &msg, &created); err != nil {
			return nil, fmt.Errorf("load marl runs: %w", err)
		}
		if s.reg.Has(i.ID) {
			continue
		}
		i.Spec.Seed, i.Spec.Episodes, i.Error = uint64(seed), i.Total, msg.String
		i.Started, _ = time.Parse(time.RFC3339Nano, created)
		if env, err := NewEnv(i.Spec.Env); err == nil {
			i.Agents = env.NumAgents()
		}
		if team.Valid {
			v := team.Float64
			i.Team = &v
		}
		if agents.Valid {
			_ = json.Unmarshal([]byte(agents.String), &i.AgentReturns)
		}
		if i.Spec.Curriculum {
			cur := NewCurriculum(DefaultCurriculumConfig())
			if stage.Valid {
				cur.Stage = int(stage.Int64)
			}
			i.Stage = stageInfo(cur)
			i.Stage.Smoothed = smoothed.Float64
		}
		if evalRet.Valid {
			i.Eval = &EvalInfo{Episodes: int(evalN.Int64), Team: evalRet.Float64, CI: evalCI.Float64, Random: rnd.Float64}
		}
		loaded[i.ID] = &i
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load marl runs: %w", err)
	}
	return loaded, nil
}

// loadHistory reads the learning curves and events of the loaded runs.
func loadHistory(ctx context.Context, db *store.DB, loaded map[int64]*RunInfo) (map[int64]*history, error) {
	hist := map[int64]*history{}
	of := func(id int64) *history {
		if loaded[id] == nil {
			return nil
		}
		if hist[id] == nil {
			hist[id] = &history{}
		}
		return hist[id]
	}
	prow, err := db.R.QueryContext(ctx, `SELECT run_id, episode, team, agents FROM marl_points ORDER BY run_id, episode`)
	if err != nil {
		return nil, fmt.Errorf("load marl points: %w", err)
	}
	defer prow.Close()
	for prow.Next() {
		var p Point
		var agents string
		if err := prow.Scan(&p.Run, &p.Episode, &p.Team, &agents); err != nil {
			return nil, fmt.Errorf("load marl points: %w", err)
		}
		_ = json.Unmarshal([]byte(agents), &p.Agents)
		if h := of(p.Run); h != nil {
			h.points = append(h.points, p)
		}
	}
	if err := prow.Err(); err != nil {
		return nil, fmt.Errorf("load marl points: %w", err)
	}
	erow, err := db.R.QueryContext(ctx, `SELECT run_id, episode, stage, next, score, smoothed, drawdown, forgot, text FROM marl_events ORDER BY run_id, episode`)
	if err != nil {
		return nil, fmt.Errorf("load marl events: %w", err)
	}
	defer erow.Close()
	for erow.Next() {
		var ev Event
		var forgot string
		if err := erow.Scan(&ev.Run, &ev.Episode, &ev.Stage, &ev.Next, &ev.Score, &ev.Smoothed, &ev.Drawdown, &forgot, &ev.Text); err != nil {
			return nil, fmt.Errorf("load marl events: %w", err)
		}
		_ = json.Unmarshal([]byte(forgot), &ev.Forgot)
		if h := of(ev.Run); h != nil {
			h.events = append(h.events, ev)
		}
	}
	if err := erow.Err(); err != nil {
		return nil, fmt.Errorf("load marl events: %w", err)
	}
	return hist, nil
}
