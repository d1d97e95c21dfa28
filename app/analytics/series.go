// Package analytics keeps Metastation's metric series and forecasts them.
//
// A series is a name ("system.heap_bytes", "market.price") and dimensions
// (subsystem, strategy, instrument, regime, run). The Registry keeps each
// series' recent points in a ring buffer for live views, and a coarser ring
// of one-minute means for longer ranges; with a batching writer it persists
// the one-minute means to SQLite (a minute when it ends; 60 series make
// 86,400 rows a day, not 5 million) and deletes those older than the
// retention. The
// Service samples what the system publishes on the bus into the registry;
// Select forecasts a series with the model that validates best.
package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
)

// Dimensions a series may carry.
var Dimensions = []string{"subsystem", "strategy", "instrument", "regime", "run", "agent"}

// Labels are a series' dimensions, dimension name to value.
type Labels map[string]string

// Key is the canonical identity of a series: its name followed by its labels
// sorted by dimension, "market.price{instrument=SPY}".
func Key(name string, labels Labels) string {
	if len(labels) == 0 {
		return name
	}
	ks := make([]string, 0, len(labels))
	for k := range labels {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range ks {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(labels[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Point is one sample: milliseconds since the Unix epoch and a value.
type Point struct {
	T int64   `json:"t"`
	V float64 `json:"v"`
}

// Info describes a series.
type Info struct {
	Key    string  `json:"key"`
	Name   string  `json:"name"`
	Labels Labels  `json:"labels"`
	Unit   string  `json:"unit,omitempty"`
	Points int     `json:"points"` // in the live ring
	First  int64   `json:"first_ms,omitempty"`
	Last   int64   `json:"last_ms,omitempty"`
	Value  float64 `json:"value"` // the latest value
}

// ring is a fixed-capacity circular buffer of points in time order.
type ring struct {
	pts   []Point
	start int // index of the oldest point
	n     int
}

func newRing(capacity int) *ring { return &ring{pts: make([]Point, capacity)} }

func (r *ring) add(p Point) {
	c := len(r.pts)
	if r.n < c {
		r.pts[(r.start+r.n)%c] = p
		r.n++
		return
	}
	r.pts[r.start] = p
	r.start = (r.start + 1) % c
}

func (r *ring) at(i int) Point { return r.pts[(r.start+i)%len(r.pts)] }

// between appends the points with from <= T <= to to dst.
func (r *ring) between(dst []Point, from, to int64) []Point {
	// Binary search the first point at or after from.
	lo := sort.Search(r.n, func(i int) bool { return r.at(i).T >= from })
	for i := lo; i < r.n; i++ {
		p := r.at(i)
		if p.T > to {
			break
		}
		dst = append(dst, p)
	}
	return dst
}

type series struct {
	info   Info
	raw    *ring
	coarse *ring // one-minute means
	minute int64 // the minute being accumulated, in ms
	sum    float64
	count  int
}

// Options configure a Registry. Zero values take the defaults.
type Options struct {
	RawPoints    int           // points kept per series at full resolution; default 3600
	CoarsePoints int           // one-minute means kept per series; default 1440 (a day)
	Retention    time.Duration // persisted points older than this are deleted; default 7 days
	Writer       *store.Writer // persists points when set
	DB           *store.DB     // reads persisted history when set
}

// Registry holds every series. It is safe for concurrent use.
type Registry struct {
	opts Options

	mu     sync.RWMutex
	series map[string]*series
}

// NewRegistry returns an empty registry.
func NewRegistry(opts Options) *Registry {
	if opts.RawPoints <= 0 {
		opts.RawPoints = 3600
	}
	if opts.CoarsePoints <= 0 {
		opts.CoarsePoints = 1440
	}
	if opts.Retention <= 0 {
		opts.Retention = 7 * 24 * time.Hour
	}
	return &Registry{opts: opts, series: map[string]*series{}}
}

// Record adds a point to the series name with labels, creating it on first
// use. When a minute ends, its mean goes to the one-minute ring and, with a
// writer, to SQLite. Points must arrive in time order per series; an older point is
// dropped. NaN and infinite values are dropped.
func (r *Registry) Record(name string, labels Labels, unit string, t time.Time, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	key := Key(name, labels)
	ms := t.UnixMilli()
	r.mu.Lock()
	s := r.series[key]
	created := false
	if s == nil {
		ls := make(Labels, len(labels))
		for k, v := range labels {
			ls[k] = v
		}
		s = &series{info: Info{Key: key, Name: name, Labels: ls, Unit: unit, First: ms},
			raw: newRing(r.opts.RawPoints), coarse: newRing(r.opts.CoarsePoints)}
		r.series[key] = s
		created = true
	} else if ms < s.info.Last {
		r.mu.Unlock()
		return
	}
	s.raw.add(Point{ms, v})
	s.info.Last, s.info.Value = ms, v
	minute := ms - ms%60000
	var closed *Point // a minute that ended, to persist
	if s.count > 0 && minute != s.minute {
		p := Point{s.minute, s.sum / float64(s.count)}
		s.coarse.add(p)
		s.sum, s.count = 0, 0
		closed = &p
	}
	s.minute = minute
	s.sum += v
	s.count++
	r.mu.Unlock()

	if w := r.opts.Writer; w != nil {
		if created {
			w.TryEnqueue(`INSERT OR IGNORE INTO metric_series (key, name, labels, unit) VALUES (?, ?, ?, ?)`,
				key, name, labelsText(labels), unit)
		}
		if closed != nil {
			w.TryEnqueue(`INSERT INTO metric_points (key, ts_ms, value) VALUES (?, ?, ?)`, key, closed.T, closed.V)
		}
	}
}

func labelsText(l Labels) string {
	k := Key("", l)
	return strings.TrimSuffix(strings.TrimPrefix(k, "{"), "}")
}

// List returns the series whose labels include every label of filter (and
// whose name starts with prefix), sorted by key.
func (r *Registry) List(prefix string, filter Labels) []Info {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := []Info{}
	for _, s := range r.series {
		if !strings.HasPrefix(s.info.Name, prefix) || !matchLabels(s.info.Labels, filter) {
			continue
		}
		in := s.info
		in.Points = s.raw.n
		if s.raw.n > 0 {
			in.First = s.raw.at(0).T
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func matchLabels(have, want Labels) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// Query returns the points of the series name with exactly labels between
// from and to, at most maxPoints of them (bucket means when there are more;
// 0 means no limit). Recent points come from the live ring; older ones from
// the one-minute ring or, when the registry has a database, from SQLite.
func (r *Registry) Query(ctx context.Context, name string, labels Labels, from, to time.Time, maxPoints int) ([]Point, error) {
	if to.Before(from) {
		return nil, errs.Errorf(errs.Invalid, "the range ends (%s) before it starts (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	key := Key(name, labels)
	f, t := from.UnixMilli(), to.UnixMilli()
	r.mu.RLock()
	s := r.series[key]
	var pts []Point
	rawFirst := int64(math.MaxInt64)
	if s != nil {
		if s.raw.n > 0 {
			rawFirst = s.raw.at(0).T
		}
		if f < rawFirst {
			// Older than the live ring: one-minute means.
			pts = s.coarse.between(pts, f, min(t, rawFirst-1))
		}
		pts = s.raw.between(pts, f, t)
	}
	r.mu.RUnlock()
	if s == nil && r.opts.DB == nil {
		return nil, errs.Errorf(errs.NotFound, "there is no series %s", key)
	}
	if r.opts.DB != nil && (len(pts) == 0 || pts[0].T > f+60000) {
		end := t
		if len(pts) > 0 {
			end = pts[0].T - 1
		}
		old, err := r.queryDB(ctx, key, f, end, maxPoints)
		if err != nil {
			return nil, err
		}
		if s == nil && len(old) == 0 && !r.known(ctx, key) {
			return nil, errs.Errorf(errs.NotFound, "there is no series %s", key)
		}
		pts = append(old, pts...)
	}
	return Downsample(pts, maxPoints), nil
}

func (r *Registry) known(ctx context.Context, key string) bool {
	var n int
	err := r.opts.DB.R.QueryRowContext(ctx, `SELECT count(*) FROM metric_series WHERE key = ?`, key).Scan(&n)
	return err == nil && n > 0
}

// queryDB reads persisted points, averaged in SQL into at most about
// maxPoints buckets.
func (r *Registry) queryDB(ctx context.Context, key string, from, to int64, maxPoints int) ([]Point, error) {
	if to < from {
		return nil, nil
	}
	bucket := int64(1)
	if maxPoints > 0 {
		bucket = max(1, (to-from+1)/int64(maxPoints)+1)
	}
	rows, err := r.opts.DB.R.QueryContext(ctx, `SELECT min(ts_ms), avg(value) FROM metric_points
		WHERE key = ? AND ts_ms BETWEEN ? AND ? GROUP BY (ts_ms - ?) / ? ORDER BY 1`, key, from, to, from, bucket)
	if err != nil {
		return nil, fmt.Errorf("read series %s: %w", key, err)
	}
	defer rows.Close()
	var out []Point
	for rows.Next() {
		var p Point
		var v sql.NullFloat64
		if err := rows.Scan(&p.T, &v); err != nil {
			return nil, fmt.Errorf("read series %s: %w", key, err)
		}
		p.V = v.Float64
		out = append(out, p)
	}
	return out, rows.Err()
}

// Downsample reduces pts to at most n points by averaging equal-count
// buckets (each bucket keeps its first time). n <= 0 keeps every point.
func Downsample(pts []Point, n int) []Point {
	if n <= 0 || len(pts) <= n {
		return pts
	}
	out := make([]Point, 0, n)
	for b := 0; b < n; b++ {
		lo, hi := b*len(pts)/n, (b+1)*len(pts)/n
		var sum float64
		for _, p := range pts[lo:hi] {
			sum += p.V
		}
		out = append(out, Point{pts[lo].T, sum / float64(hi-lo)})
	}
	return out
}

// FlushMinutes persists the mean of every series' minute in progress, so
// that a shutdown loses no history. Call it once, at the end.
func (r *Registry) FlushMinutes() {
	w := r.opts.Writer
	if w == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for key, s := range r.series {
		if s.count > 0 {
			w.TryEnqueue(`INSERT INTO metric_points (key, ts_ms, value) VALUES (?, ?, ?)`, key, s.minute, s.sum/float64(s.count))
			s.sum, s.count = 0, 0
		}
	}
}

// Prune deletes persisted points older than the retention, counted from now.
// It goes through the batching writer, so it never competes with it.
func (r *Registry) Prune(ctx context.Context, now time.Time) error {
	if r.opts.Writer == nil {
		return nil
	}
	return r.opts.Writer.Enqueue(ctx, `DELETE FROM metric_points WHERE ts_ms < ?`, now.Add(-r.opts.Retention).UnixMilli())
}
