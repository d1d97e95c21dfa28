package supply

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// The service's SQL. Writes go through the batching writer; reads through
// the reader pool.

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

func (s *Service) persistRoom(r *room) {
	strat, _ := json.Marshal(r.strat)
	s.enqueue(`INSERT INTO supply_rooms (id, preset, seed, strategy, periods, started_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.id, r.net.Name, int64(r.seed), string(strat), r.net.Periods, now())
}

func (s *Service) persistRoomEnd(r *room, k, twin KPIs) {
	kj, _ := json.Marshal(k)
	tj, _ := json.Marshal(twin)
	s.enqueue(`UPDATE supply_rooms SET finished_at = ?, kpis = ?, twin_kpis = ? WHERE id = ?`, now(), string(kj), string(tj), r.id)
	for _, d := range k.Disruptions {
		s.enqueue(`UPDATE supply_disruptions SET time_to_survive = ?, time_to_recover = ?, recovered = ?, extra_cost = ? WHERE id = ?`,
			d.TimeToSurvive, d.TimeToRecover, d.Recovered, d.ExtraCost, d.Crisis.ID)
	}
}

func (s *Service) persistCrisis(roomID int64, c Crisis) {
	cj, _ := json.Marshal(c)
	s.enqueue(`INSERT INTO supply_disruptions (id, room_id, kind, scope, start_period, end_period, crisis, origin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, roomID, c.Kind, c.Scope(), c.Start, c.End, string(cj), c.Origin, now())
}

func (s *Service) persistComparison(id int64, c Comparison) {
	cj, _ := json.Marshal(c)
	s.enqueue(`INSERT INTO supply_comparisons (id, scenario, seeds, result, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, c.Scenario.Name, c.Seeds, string(cj), now())
}

// load reads the next ids and the latest comparison of each scenario.
func (s *Service) load(ctx context.Context) error {
	if s.db == nil {
		return nil
	}
	for _, q := range []struct {
		table string
		dst   *int64
	}{{"supply_rooms", &s.nextRoom}, {"supply_disruptions", &s.nextCrisis}, {"supply_comparisons", &s.nextCmp}} {
		var max sql.NullInt64
		if err := s.db.R.QueryRowContext(ctx, "SELECT MAX(id) FROM "+q.table).Scan(&max); err != nil {
			return fmt.Errorf("supply: read %s: %w", q.table, err)
		}
		*q.dst = max.Int64
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT result FROM supply_comparisons WHERE id IN (SELECT MAX(id) FROM supply_comparisons GROUP BY scenario) ORDER BY id`)
	if err != nil {
		return fmt.Errorf("supply: read comparisons: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return fmt.Errorf("supply: read comparisons: %w", err)
		}
		var c Comparison
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			s.log.Warn("supply: a stored comparison does not decode; skipped", "err", err)
			continue
		}
		s.comparisons[c.Scenario.Name] = c
	}
	return rows.Err()
}

// Disruptions returns the stored disruptions of room id (newest first).
func (s *Service) Disruptions(ctx context.Context, roomID int64) ([]Crisis, error) {
	if s.db == nil {
		return nil, nil
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT crisis FROM supply_disruptions WHERE room_id = ? ORDER BY id DESC`, roomID)
	if err != nil {
		return nil, fmt.Errorf("supply: read disruptions: %w", err)
	}
	defer rows.Close()
	var out []Crisis
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("supply: read disruptions: %w", err)
		}
		var c Crisis
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			return nil, fmt.Errorf("supply: decode disruption: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
