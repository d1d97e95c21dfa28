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

const insertMemorySQL = `INSERT INTO memories (id, agent, kind, text, topic, stance, source, tags, links,
	sim_ms, wall_ms, value, expected, importance, pinned, status, merged_into, superseded_by, count, vec, vec_version)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const selectMemorySQL = `SELECT id, agent, kind, text, topic, stance, source, tags, links, sim_ms, wall_ms,
	value, expected, importance, pinned, status, coalesce(merged_into, 0), coalesce(superseded_by, 0), count, vec, vec_version
	FROM memories`

// insertArgs are the arguments of insertMemorySQL for m and its vector.
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

// lexicalHit is one FTS5 match.
type lexicalHit struct {
	id   int64
	bm25 float64 // SQLite's bm25(): lower is better
}

// lexical runs an FTS5 query (already an FTS5 expression) with the filters
// that SQL can apply, best bm25 first.
func lexical(ctx context.Context, db *sql.DB, match string, f filter, k int) ([]lexicalHit, error) {
	var where strings.Builder
	args := []any{match}
	where.WriteString(`memories_fts MATCH ? AND m.status = 'active'`)
	if f.agent != "" {
		where.WriteString(` AND m.agent = ?`)
		args = append(args, f.agent)
	}
	if len(f.kinds) > 0 {
		where.WriteString(` AND m.kind IN (` + strings.TrimSuffix(strings.Repeat("?,", len(f.kinds)), ",") + `)`)
		for _, k := range f.kinds {
			args = append(args, string(k))
		}
	}
	if f.fromMS != 0 {
		where.WriteString(` AND m.sim_ms >= ?`)
		args = append(args, f.fromMS)
	}
	if f.toMS != 0 {
		where.WriteString(` AND m.sim_ms <= ?`)
		args = append(args, f.toMS)
	}
	for _, tag := range f.tags {
		where.WriteString(` AND EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = ?)`)
		args = append(args, tag)
	}
	args = append(args, k)
	rows, err := db.QueryContext(ctx, `SELECT m.id, bm25(memories_fts) AS score
		FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid
		WHERE `+where.String()+` ORDER BY score, m.id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("full-text search: %w", err)
	}
	defer rows.Close()
	var out []lexicalHit
	for rows.Next() {
		var h lexicalHit
		if err := rows.Scan(&h.id, &h.bm25); err != nil {
			return nil, fmt.Errorf("full-text search: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("full-text search: %w", err)
	}
	return out, nil
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
		if _, err := tx.ExecContext(ctx, insertMemorySQL, insertArgs(&r.m, r.vec)...); err != nil {
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
