package memory

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// The SQL of the memories table (migrations/0060_memory.sql) lives here.

const insertMemoryHead = `INSERT INTO memories (id, agent, kind, text, topic, stance, source, tags, links,
	sim_ms, wall_ms, value, expected, importance, pinned, status, merged_into, superseded_by, count, vec, vec_version)
	VALUES `

// insertColumns is the number of values of one memory row.
const insertColumns = 21

// insertMemoriesSQL is an INSERT of n memory rows.
func insertMemoriesSQL(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", insertColumns), ", ") + ")"
	return insertMemoryHead + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

const selectMemorySQL = `SELECT id, agent, kind, text, topic, stance, source, tags, links, sim_ms, wall_ms,
	value, expected, importance, pinned, status, coalesce(merged_into, 0), coalesce(superseded_by, 0), count, vec, vec_version
	FROM memories`

// insertArgs are the arguments of one row of insertMemoriesSQL for m and its vector.
func insertArgs(m *Memory, vec []float32) []any {
	return []any{m.ID, m.Agent, string(m.Kind), m.Text, m.Topic, m.Stance, m.Source,
		jsonText(m.Tags), jsonText(m.Links), m.SimTime.UnixMilli(), m.Wall.UnixMilli(), m.Value,
		m.Expected, m.Importance, boolInt(m.Pinned), string(m.Status), nullID(m.MergedInto), nullID(m.SupersededBy),
		m.Count, vecBlob(vec), m.VecVersion}
}

// loadMemories reads every memory, oldest id first, with its stored vector.
func loadMemories(ctx context.Context, db *sql.DB, each func(m Memory, vec []float32) error) error {
	rows, err := db.QueryContext(ctx, selectMemorySQL+` ORDER BY id`)
	if err != nil {
		return fmt.Errorf("load memories: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m, vec, err := scanMemory(rows)
		if err != nil {
			return err
		}
		if err := each(m, vec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load memories: %w", err)
	}
	return nil
}

func scanMemory(rows *sql.Rows) (Memory, []float32, error) {
	var m Memory
	var kind, tags, links, status string
	var simMS, wallMS int64
	var pinned int
	var blob []byte
	if err := rows.Scan(&m.ID, &m.Agent, &kind, &m.Text, &m.Topic, &m.Stance, &m.Source, &tags, &links,
		&simMS, &wallMS, &m.Value, &m.Expected, &m.Importance, &pinned, &status, &m.MergedInto, &m.SupersededBy,
		&m.Count, &blob, &m.VecVersion); err != nil {
		return Memory{}, nil, fmt.Errorf("scan memory: %w", err)
	}
	m.Kind, m.Status, m.Pinned = Kind(kind), Status(status), pinned != 0
	m.SimTime, m.Wall = time.UnixMilli(simMS).UTC(), time.UnixMilli(wallMS).UTC()
	if err := json.Unmarshal([]byte(tags), &m.Tags); err != nil {
		return Memory{}, nil, fmt.Errorf("memory %d: tags: %w", m.ID, err)
	}
	if err := json.Unmarshal([]byte(links), &m.Links); err != nil {
		return Memory{}, nil, fmt.Errorf("memory %d: links: %w", m.ID, err)
	}
	return m, blobVec(blob), nil
}

// applyPlan writes one consolidation pass in a single transaction, so a
// kill leaves either all of it or none: a merged memory's evidence is never
// on neither row.
func applyPlan(ctx context.Context, db *sql.DB, p *plan) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("consolidate: begin: %w", err)
	}
	defer tx.Rollback()
	for _, r := range p.reflections {
		if _, err := tx.ExecContext(ctx, insertMemoriesSQL(1), insertArgs(&r.m, r.vec)...); err != nil {
			return fmt.Errorf("consolidate: insert reflection: %w", err)
		}
	}
	for _, s := range p.survivors {
		if _, err := tx.ExecContext(ctx, `UPDATE memories SET links = ?, tags = ?, count = ?, importance = ? WHERE id = ?`,
			jsonText(s.links), jsonText(s.tags), s.count, s.importance, s.id); err != nil {
			return fmt.Errorf("consolidate: update memory %d: %w", s.id, err)
		}
	}
	for _, mg := range p.merges {
		if _, err := tx.ExecContext(ctx, `UPDATE memories SET status = 'merged', merged_into = ? WHERE id = ?`, mg.into, mg.id); err != nil {
			return fmt.Errorf("consolidate: merge memory %d: %w", mg.id, err)
		}
	}
	for _, sp := range p.supersedes {
		if _, err := tx.ExecContext(ctx, `UPDATE memories SET superseded_by = ? WHERE id = ?`, sp.by, sp.id); err != nil {
			return fmt.Errorf("consolidate: supersede memory %d: %w", sp.id, err)
		}
	}
	for _, id := range p.forget {
		if _, err := tx.ExecContext(ctx, `UPDATE memories SET status = 'forgotten' WHERE id = ? AND pinned = 0`, id); err != nil {
			return fmt.Errorf("consolidate: forget memory %d: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("consolidate: commit: %w", err)
	}
	return nil
}

const pinSQL = `UPDATE memories SET pinned = ? WHERE id = ?`

const reembedSQL = `UPDATE memories SET vec = ?, vec_version = ? WHERE id = ?`

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return "[]"
	}
	return string(b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func vecBlob(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func blobVec(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
