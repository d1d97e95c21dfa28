package media

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// The SQL of media_items, media_assets and media_chunks
// (migrations/0090_media.sql) lives here.

const itemColumns = `id, sha256, name, format, kind, mime, size, state, created_ms, summary, excerpt, info, chunks`

func scanItem(sc interface{ Scan(...any) error }) (Item, error) {
	var it Item
	var format, kind, state, info string
	var created int64
	if err := sc.Scan(&it.ID, &it.SHA256, &it.Name, &format, &kind, &it.MIME, &it.Size, &state, &created,
		&it.Summary, &it.Excerpt, &info, &it.Chunks); err != nil {
		return Item{}, err
	}
	it.Format, it.Kind, it.State = Format(format), Kind(kind), State(state)
	it.Created = time.UnixMilli(created).UTC()
	if err := json.Unmarshal([]byte(info), &it.Info); err != nil {
		return Item{}, fmt.Errorf("media item %d: info: %w", it.ID, err)
	}
	return it, nil
}

// bySHA finds the item with digest sum.
func (p *Pipeline) bySHA(ctx context.Context, sum string) (Item, bool, error) {
	it, err := scanItem(p.db.R.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM media_items WHERE sha256 = ?`, sum))
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, false, nil
	}
	if err != nil {
		return Item{}, false, fmt.Errorf("media: find %s: %w", sum[:12], err)
	}
	it.Assets, err = p.assetNames(ctx, it.ID)
	return it, err == nil, err
}

// Get returns one item.
func (p *Pipeline) Get(ctx context.Context, id int64) (Item, error) {
	it, err := scanItem(p.db.R.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM media_items WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, errs.Errorf(errs.NotFound, "there is no media item %d", id)
	}
	if err != nil {
		return Item{}, fmt.Errorf("media: get %d: %w", id, err)
	}
	it.Assets, err = p.assetNames(ctx, id)
	return it, err
}

// ListQuery selects items, newest first.
type ListQuery struct {
	Kind   Kind  // "" for every kind
	Before int64 // an item id: the page starts after it
	Limit  int   // default 50, at most 200
}

// List returns items, newest first.
func (p *Pipeline) List(ctx context.Context, q ListQuery) ([]Item, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 200)
	if q.Kind != "" && !slices.Contains(Kinds, q.Kind) {
		return nil, errs.Errorf(errs.Invalid, "kind %q is not one of text, image, audio, video, data", q.Kind)
	}
	where, args := []string{"1 = 1"}, []any{}
	if q.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, string(q.Kind))
	}
	if q.Before > 0 {
		where, args = append(where, "id < ?"), append(args, q.Before)
	}
	rows, err := p.db.R.QueryContext(ctx, `SELECT `+itemColumns+` FROM media_items WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT ?`, append(args, q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("media: list: %w", err)
	}
	defer rows.Close()
	out := []Item{}
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("media: list: %w", err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("media: list: %w", err)
	}
	for i := range out {
		if out[i].Assets, err = p.assetNames(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (p *Pipeline) assetNames(ctx context.Context, id int64) ([]string, error) {
	rows, err := p.db.R.QueryContext(ctx, `SELECT name FROM media_assets WHERE item = ? ORDER BY name`, id)
	if err != nil {
		return nil, fmt.Errorf("media: assets of %d: %w", id, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("media: assets of %d: %w", id, err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Asset returns one picture of an item.
func (p *Pipeline) Asset(ctx context.Context, id int64, name string) (Asset, error) {
	a := Asset{Name: name}
	err := p.db.R.QueryRowContext(ctx, `SELECT mime, data FROM media_assets WHERE item = ? AND name = ?`, id, name).Scan(&a.MIME, &a.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return Asset{}, errs.Errorf(errs.NotFound, "media item %d has no picture %q", id, name)
	}
	if err != nil {
		return Asset{}, fmt.Errorf("media: asset %d/%s: %w", id, name, err)
	}
	return a, nil
}

// Chunks returns where each memory of an item came from (its text is in
// the memories).
func (p *Pipeline) Chunks(ctx context.Context, id int64) ([]Chunk, error) {
	rows, err := p.db.R.QueryContext(ctx, `SELECT idx, page, start_off, end_off FROM media_chunks WHERE item = ? ORDER BY idx`, id)
	if err != nil {
		return nil, fmt.Errorf("media: chunks of %d: %w", id, err)
	}
	defer rows.Close()
	out := []Chunk{}
	for rows.Next() {
		var c Chunk
		if err := rows.Scan(&c.Index, &c.Page, &c.Start, &c.End); err != nil {
			return nil, fmt.Errorf("media: chunks of %d: %w", id, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Original opens an item's stored original (the caller closes it).
func (p *Pipeline) Original(ctx context.Context, id int64) (Item, interface {
	Read([]byte) (int, error)
	Close() error
}, error) {
	it, err := p.Get(ctx, id)
	if err != nil {
		return Item{}, nil, err
	}
	f, err := p.files.open(it.SHA256)
	if err != nil {
		return Item{}, nil, err
	}
	return it, f, nil
}

// Near is an image close to another by perceptual hash.
type Near struct {
	Item     Item `json:"item"`
	Distance int  `json:"distance"` // Hamming distance of the 64-bit hashes
}

// NearDuplicateDistance is the largest Hamming distance between two
// perceptual hashes that counts as the same picture (resized, recompressed,
// lightly edited): about 10 of 64 bits, as pHash's authors suggest.
const NearDuplicateDistance = 10

// NearDuplicates lists the images within maxDist of item id's hash, nearest
// first (maxDist 0 takes NearDuplicateDistance).
func (p *Pipeline) NearDuplicates(ctx context.Context, id int64, maxDist int) ([]Near, error) {
	if maxDist <= 0 {
		maxDist = NearDuplicateDistance
	}
	p.phashM.RLock()
	h, ok := p.phash[id]
	type hit struct {
		id   int64
		dist int
	}
	var hits []hit
	if ok {
		for other, oh := range p.phash {
			if other == id {
				continue
			}
			if d := bits.OnesCount64(h ^ oh); d <= maxDist {
				hits = append(hits, hit{other, d})
			}
		}
	}
	p.phashM.RUnlock()
	if !ok {
		if _, err := p.Get(ctx, id); err != nil {
			return nil, err
		}
		return []Near{}, nil
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		return int(a.id - b.id)
	})
	out := []Near{}
	for _, x := range hits {
		it, err := p.Get(ctx, x.id)
		if err != nil {
			continue
		}
		out = append(out, Near{Item: it, Distance: x.dist})
	}
	return out, nil
}

func loadPHashes(ctx context.Context, db *sql.DB) (map[int64]uint64, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, phash FROM media_items WHERE phash IS NOT NULL AND state = 'ready'`)
	if err != nil {
		return nil, fmt.Errorf("media: load hashes: %w", err)
	}
	defer rows.Close()
	out := map[int64]uint64{}
	for rows.Next() {
		var id, h int64
		if err := rows.Scan(&id, &h); err != nil {
			return nil, fmt.Errorf("media: load hashes: %w", err)
		}
		out[id] = uint64(h)
	}
	return out, rows.Err()
}

// insertItem writes an item, its pictures and its chunk positions in one
// transaction, state ingesting, and returns its id.
func (p *Pipeline) insertItem(ctx context.Context, it Item, ex *extracted, chunks []Chunk) (int64, error) {
	info, err := json.Marshal(it.Info)
	if err != nil {
		return 0, fmt.Errorf("media: info: %w", err)
	}
	var ph any
	if ex.phash != nil {
		ph = int64(*ex.phash)
	}
	tx, err := p.db.W.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("media: begin: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO media_items (sha256, name, format, kind, mime, size, state, created_ms, summary, excerpt, info, chunks, phash)
		VALUES (?, ?, ?, ?, ?, ?, 'ingesting', ?, ?, ?, ?, ?, ?)`,
		it.SHA256, it.Name, string(it.Format), string(it.Kind), it.MIME, it.Size, it.Created.UnixMilli(), it.Summary, it.Excerpt, string(info), it.Chunks, ph)
	if err != nil {
		return 0, fmt.Errorf("media: insert item: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("media: item id: %w", err)
	}
	for _, a := range ex.assets {
		if _, err := tx.ExecContext(ctx, `INSERT INTO media_assets (item, name, mime, data) VALUES (?, ?, ?, ?)`, id, a.Name, a.MIME, a.Data); err != nil {
			return 0, fmt.Errorf("media: insert picture %s: %w", a.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO media_chunks (item, idx, part, page, start_off, end_off) VALUES (?, 0, 'description', 0, 0, 0)`, id); err != nil {
		return 0, fmt.Errorf("media: insert chunk: %w", err)
	}
	for _, c := range chunks {
		if _, err := tx.ExecContext(ctx, `INSERT INTO media_chunks (item, idx, part, page, start_off, end_off) VALUES (?, ?, ?, ?, ?, ?)`,
			id, c.Index+1, ex.part, c.Page, c.Start, c.End); err != nil {
			return 0, fmt.Errorf("media: insert chunk: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("media: commit item: %w", err)
	}
	return id, nil
}

// deleteItem removes an item none of whose memories was written.
func (p *Pipeline) deleteItem(ctx context.Context, id int64) error {
	tx, err := p.db.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("media: begin: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM media_assets WHERE item = ?`, `DELETE FROM media_chunks WHERE item = ?`, `DELETE FROM media_items WHERE id = ?`} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("media: delete item %d: %w", id, err)
		}
	}
	return tx.Commit()
}

func (p *Pipeline) markReady(ctx context.Context, id int64) error {
	if _, err := p.db.W.ExecContext(ctx, `UPDATE media_items SET state = 'ready' WHERE id = ?`, id); err != nil {
		return fmt.Errorf("media: mark item %d ready: %w", id, err)
	}
	return nil
}

func (p *Pipeline) ingestingItems(ctx context.Context) ([]Item, error) {
	rows, err := p.db.R.QueryContext(ctx, `SELECT `+itemColumns+` FROM media_items WHERE state = 'ingesting' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("media: items to complete: %w", err)
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Counts are how many ready items there are of each kind.
func (p *Pipeline) Counts(ctx context.Context) (map[Kind]int, error) {
	rows, err := p.db.R.QueryContext(ctx, `SELECT kind, count(*) FROM media_items WHERE state = 'ready' GROUP BY kind`)
	if err != nil {
		return nil, fmt.Errorf("media: counts: %w", err)
	}
	defer rows.Close()
	out := map[Kind]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("media: counts: %w", err)
		}
		out[Kind(k)] = n
	}
	return out, rows.Err()
}

func sourceOf(id int64) string { return "media/" + strconv.FormatInt(id, 10) }
