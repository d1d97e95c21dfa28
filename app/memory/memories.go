package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/memory/wordvec"
	"github.com/metastation/metastation/app/store"
)

// Config tunes a Store. Zero fields take the defaults.
type Config struct {
	Now func() time.Time // wall clock; default time.Now (tests inject one for byte-identical stores)
	// PnLScale is the money a Value must reach to count as full P&L
	// impact in importance; default 1000.
	PnLScale float64
	// NoveltyWindow is how many of the agent's latest memories novelty is
	// measured against; default 64.
	NoveltyWindow int
	Consolidation ConsolidationConfig
	Weights       Weights // default search weights
}

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.PnLScale <= 0 {
		c.PnLScale = 1000
	}
	if c.NoveltyWindow <= 0 {
		c.NoveltyWindow = 64
	}
	if c.Weights == (Weights{}) {
		c.Weights = DefaultWeights
	}
	c.Consolidation = c.Consolidation.withDefaults()
	return c
}

// Store is the memory of every agent: SQLite for durability, an in-memory
// working set for search. Its methods are safe for concurrent use.
type Store struct {
	cfg Config
	db  *store.DB
	w   *store.Writer
	emb *wordvec.Embedder
	log *slog.Logger

	consolidating sync.Mutex // one consolidation pass at a time

	mu     sync.RWMutex
	x      *index
	nextID int64
	stats  Stats
}

// Stats count what the store has done since it opened.
type Stats struct {
	Memories      int            `json:"memories"` // in the working set, any status
	Active        int            `json:"active"`
	Agents        int            `json:"agents"`
	Written       uint64         `json:"written"`
	Searches      uint64         `json:"searches"`
	Consolidation Report         `json:"last_consolidation"`
	ByKind        map[Kind]int   `json:"by_kind"`
	ByStatus      map[Status]int `json:"by_status"`
	VecVersion    string         `json:"vec_version"`
}

// Open loads every memory of db into the working set. Memories whose vector
// is of another version than emb's are embedded again (and rewritten), so
// stored and query vectors always compare like with like. w is the batching
// writer new memories go through.
func Open(ctx context.Context, cfg Config, db *store.DB, w *store.Writer, emb *wordvec.Embedder, log *slog.Logger) (*Store, error) {
	if db == nil || w == nil || emb == nil {
		return nil, errors.New("memory: a database, a writer and an embedder are required")
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Store{cfg: cfg.withDefaults(), db: db, w: w, emb: emb, log: log, x: newIndex(emb.Dims()), nextID: 1}
	reembedded := 0
	err := loadMemories(ctx, db.R, func(m Memory, vec []float32) error {
		if m.VecVersion != emb.Version() || len(vec) != emb.Dims() {
			vec = make([]float32, emb.Dims())
			emb.Embed(m.Text, vec)
			m.VecVersion = emb.Version()
			if err := w.Enqueue(ctx, reembedSQL, vecBlob(vec), m.VecVersion, m.ID); err != nil {
				return fmt.Errorf("re-embed memory %d: %w", m.ID, err)
			}
			reembedded++
		}
		s.x.add(m, vec, s.terms(m.Text+" "+strings.Join(m.Tags, " ")))
		s.nextID = max(s.nextID, m.ID+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if reembedded > 0 {
		log.Info("memory: embedded memories again for new word vectors", "memories", reembedded, "version", emb.Version())
	}
	return s, nil
}

// Embedder returns the store's embedder.
func (s *Store) Embedder() *wordvec.Embedder { return s.emb }

// Write validates m, embeds its text, rates its importance when m.Importance
// is 0, and queues it for the database (committed within the writer's
// interval; Flush waits for it). The memory is searchable at once. It
// returns the memory as stored.
func (s *Store) Write(ctx context.Context, m Memory) (Memory, error) {
	out, err := s.WriteBatch(ctx, []Memory{m})
	if err != nil {
		return Memory{}, err
	}
	return out[0], nil
}

// batchRows is how many memories one INSERT statement carries: through
// database/sql each statement costs more than its rows, and 32 rows × 21
// columns stays far under SQLite's 32,766 parameters.
const batchRows = 32

// WriteBatch writes several memories, validated all before any is written:
// one bad memory rejects the batch and writes nothing. Ingestion (files,
// documents) should use it; it queues one statement per 32 memories.
func (s *Store) WriteBatch(ctx context.Context, ms []Memory) ([]Memory, error) {
	for i := range ms {
		if err := validate(&ms[i]); err != nil {
			if len(ms) == 1 {
				return nil, err
			}
			return nil, errs.Wrap(errs.Invalid, err, "memory %d of the batch: %s", i+1, errs.MessageOf(err))
		}
	}
	vecs := make([][]float32, len(ms))
	terms := make([][]string, len(ms))
	for i := range ms {
		m := &ms[i]
		vecs[i] = make([]float32, s.emb.Dims())
		toks := wordvec.Tokens(m.Text + " " + strings.Join(m.Tags, " "))
		s.emb.EmbedTokens(toks, vecs[i])
		terms[i] = s.termsOf(toks)
		m.Status, m.Count, m.VecVersion = Active, 1, s.emb.Version()
		m.MergedInto, m.SupersededBy = 0, 0
		if m.Wall.IsZero() {
			m.Wall = s.cfg.Now()
		}
		m.SimTime, m.Wall = m.SimTime.UTC().Truncate(time.Millisecond), m.Wall.UTC().Truncate(time.Millisecond)
	}

	s.mu.Lock()
	pos := make([]int, len(ms))
	for i := range ms {
		m := &ms[i]
		if m.Importance == 0 {
			m.Importance = s.importanceLocked(m, vecs[i])
		}
		m.ID = s.nextID
		s.nextID++
		pos[i] = s.x.add(*m, vecs[i], terms[i])
	}
	s.stats.Written += uint64(len(ms))
	s.mu.Unlock()

	for start := 0; start < len(ms); start += batchRows {
		end := min(start+batchRows, len(ms))
		args := make([]any, 0, (end-start)*insertColumns)
		for i := start; i < end; i++ {
			args = append(args, insertArgs(&ms[i], vecs[i])...)
		}
		if err := s.w.Enqueue(ctx, insertMemoriesSQL(end-start), args...); err != nil {
			s.mu.Lock()
			for _, p := range pos[start:] {
				s.x.mems.at(p).Status = Forgotten // never reached the database: out of every search
				delete(s.x.byID, s.x.mems.at(p).ID)
			}
			s.mu.Unlock()
			return nil, errs.Wrap(errs.Unavailable, err, "the memory store is busy; try again")
		}
	}
	out := make([]Memory, len(ms))
	for i := range ms {
		out[i] = clone(ms[i])
	}
	return out, nil
}

func validate(m *Memory) error {
	m.Agent = strings.TrimSpace(m.Agent)
	m.Text = strings.TrimSpace(m.Text)
	switch {
	case m.Agent == "":
		return errs.Errorf(errs.Invalid, "a memory needs an agent")
	case len(m.Agent) > MaxAgentID || !utf8.ValidString(m.Agent):
		return errs.Errorf(errs.Invalid, "an agent id is at most %d bytes of UTF-8", MaxAgentID)
	case !m.Kind.Valid():
		return errs.Errorf(errs.Invalid, "kind %q is not one of observation, action, outcome, reflection, document", m.Kind)
	case m.Text == "":
		return errs.Errorf(errs.Invalid, "a memory needs some text")
	case len(m.Text) > MaxText || !utf8.ValidString(m.Text):
		return errs.Errorf(errs.Invalid, "a memory's text is at most %d bytes of UTF-8", MaxText)
	case len(m.Tags) > MaxTags:
		return errs.Errorf(errs.Invalid, "a memory has at most %d tags", MaxTags)
	case len(m.Links) > MaxLinks:
		return errs.Errorf(errs.Invalid, "a memory brings at most %d links", MaxLinks)
	case m.SimTime.IsZero():
		return errs.Errorf(errs.Invalid, "a memory needs its simulated time")
	case m.Importance < 0 || m.Importance > 1:
		return errs.Errorf(errs.Invalid, "importance is between 0 and 1")
	}
	for _, t := range m.Tags {
		if t == "" || len(t) > 64 {
			return errs.Errorf(errs.Invalid, "a tag is 1 to 64 bytes")
		}
	}
	for _, l := range m.Links {
		if l.Kind == "" || l.Ref == "" || len(l.Kind) > 32 || len(l.Ref) > 256 {
			return errs.Errorf(errs.Invalid, "a link needs a kind (up to 32 bytes) and a ref (up to 256)")
		}
	}
	return nil
}

// Get returns one memory.
func (s *Store) Get(id int64) (Memory, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	pos, ok := s.x.byID[id]
	if !ok {
		return Memory{}, errs.Errorf(errs.NotFound, "there is no memory %d", id)
	}
	return clone(*s.x.mems.at(pos)), nil
}

// Page selects part of a timeline: the Limit memories just before Before
// (by simulated time, newest first); a zero Before starts at the newest.
type Page struct {
	Before int64 // a memory id: the page starts after it
	Limit  int   // default 50, at most MaxLimit
	All    bool  // include merged and forgotten memories
}

// Timeline returns an agent's memories, newest first by simulated time.
func (s *Store) Timeline(agent string, p Page) ([]Memory, error) {
	if p.Limit <= 0 {
		p.Limit = 50
	}
	p.Limit = min(p.Limit, MaxLimit)
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.x.agents[agent]
	if !ok {
		return nil, errs.Errorf(errs.NotFound, "no agent %q has memories", agent)
	}
	stream := slices.Clone(s.x.streams[a])
	slices.SortFunc(stream, func(i, j int) int {
		mi, mj := s.x.mems.at(i), s.x.mems.at(j)
		return cmp.Or(mj.SimTime.Compare(mi.SimTime), cmp.Compare(mj.ID, mi.ID))
	})
	start := 0
	if p.Before != 0 {
		start = slices.IndexFunc(stream, func(pos int) bool { return s.x.mems.at(pos).ID == p.Before }) + 1
		if start == 0 {
			return nil, errs.Errorf(errs.NotFound, "agent %q has no memory %d", agent, p.Before)
		}
	}
	var out []Memory
	for _, pos := range stream[start:] {
		m := s.x.mems.at(pos)
		if !p.All && m.Status != Active {
			continue
		}
		if _, ok := s.x.byID[m.ID]; !ok {
			continue
		}
		out = append(out, clone(*m))
		if len(out) == p.Limit {
			break
		}
	}
	return out, nil
}

// AgentSummary is one agent's line in the list of agents.
type AgentSummary struct {
	Agent    string    `json:"agent"`
	Memories int       `json:"memories"` // active
	Latest   time.Time `json:"latest"`   // simulated time of its newest memory
}

// Agents lists every agent with memories, by id.
func (s *Store) Agents() []AgentSummary {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]AgentSummary, 0, len(s.x.names))
	for a, name := range s.x.names {
		sum := AgentSummary{Agent: name}
		for _, pos := range s.x.streams[a] {
			m := s.x.mems.at(pos)
			if m.Status == Active {
				sum.Memories++
			}
			if m.SimTime.After(sum.Latest) {
				sum.Latest = m.SimTime
			}
		}
		out = append(out, sum)
	}
	slices.SortFunc(out, func(a, b AgentSummary) int { return strings.Compare(a.Agent, b.Agent) })
	return out
}

// Newest is the simulated time of the newest memory, or the wall clock's
// now when there is none: where a note from outside the simulation goes.
func (s *Store) Newest() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.x.newest == 0 {
		return s.cfg.Now().UTC()
	}
	return time.UnixMilli(s.x.newest).UTC()
}

// KnownAgent reports whether agent has any memory.
func (s *Store) KnownAgent(agent string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.x.agents[agent]
	return ok
}

// Pin keeps a memory from being forgotten (or lets it be, with false).
func (s *Store) Pin(ctx context.Context, id int64, pinned bool) (Memory, error) {
	s.mu.Lock()
	pos, ok := s.x.byID[id]
	if !ok {
		s.mu.Unlock()
		return Memory{}, errs.Errorf(errs.NotFound, "there is no memory %d", id)
	}
	s.x.mems.at(pos).Pinned = pinned
	m := clone(*s.x.mems.at(pos))
	s.mu.Unlock()
	if err := s.w.Enqueue(ctx, pinSQL, boolInt(pinned), id); err != nil {
		return Memory{}, errs.Wrap(errs.Unavailable, err, "the memory store is busy; try again")
	}
	return m, nil
}

// Flush waits until every memory written so far is committed.
func (s *Store) Flush(ctx context.Context) error { return s.w.Flush(ctx) }

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.stats
	st.Memories, st.Agents, st.VecVersion = s.x.mems.len(), len(s.x.names), s.emb.Version()
	st.ByKind, st.ByStatus = map[Kind]int{}, map[Status]int{}
	for i := range s.x.mems.len() {
		m := s.x.mems.at(i)
		if _, ok := s.x.byID[m.ID]; !ok {
			continue
		}
		st.ByStatus[m.Status]++
		if m.Status == Active {
			st.Active++
			st.ByKind[m.Kind]++
		}
	}
	return st
}

func clone(m Memory) Memory {
	m.Tags = slices.Clone(m.Tags)
	m.Links = slices.Clone(m.Links)
	return m
}
