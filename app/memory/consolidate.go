package memory

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/metastation/metastation/app/memory/wordvec"
)

// ConsolidationConfig tunes Consolidate. Zero fields take the defaults.
type ConsolidationConfig struct {
	DuplicateCosine float64       // near-duplicates at or above it merge; default 0.9
	Bucket          time.Duration // duplicates share a bucket of simulated time; default 1h
	ReflectMin      int           // new memories on one topic that earn a reflection; default 5
	ReflectLinks    int           // most recent members a reflection links; default 200
	// ForgetBelow forgets an unpinned memory once importance ×
	// 0.995^(simulated hours since) falls under it; default 0.02 (a memory
	// of importance 0.05 is forgotten after about a week of simulated time).
	ForgetBelow float64
	// Rewrite, when set, rewords a reflection's template text (a local
	// LLM, the --llm-url setting). The template stays when it fails, is
	// empty, or brings a number the template does not have: every number
	// of a reflection comes from its memories.
	Rewrite Rewriter
	// RewriteMax is how many reflections of one pass are reworded, so a
	// slow model never holds a pass up for long; default 8.
	RewriteMax int
}

// Rewriter rewords a reflection about agent's topic; text is the template's.
type Rewriter func(ctx context.Context, agent, topic, text string) (string, error)

func (c ConsolidationConfig) withDefaults() ConsolidationConfig {
	if c.DuplicateCosine <= 0 {
		c.DuplicateCosine = 0.9
	}
	if c.Bucket <= 0 {
		c.Bucket = time.Hour
	}
	if c.ReflectMin <= 0 {
		c.ReflectMin = 5
	}
	if c.ReflectLinks <= 0 {
		c.ReflectLinks = 200
	}
	if c.ForgetBelow <= 0 {
		c.ForgetBelow = 0.02
	}
	if c.RewriteMax <= 0 {
		c.RewriteMax = 8
	}
	return c
}

// Report is what one consolidation pass did.
type Report struct {
	At          time.Time     `json:"at"`
	Examined    int           `json:"examined"` // active memories looked at
	Merged      int           `json:"merged"`
	Superseded  int           `json:"superseded"`
	Reflections int           `json:"reflections"`
	Reworded    int           `json:"reworded,omitempty"` // reflections a local model reworded
	Forgotten   int           `json:"forgotten"`
	Took        time.Duration `json:"took_ns"`
}

// plan is one pass's changes, computed under the read lock and written in
// one transaction.
type plan struct {
	reflections []reflectionRow
	survivors   []survivorUpdate
	merges      []mergeRow
	supersedes  []supersedeRow
	forget      []int64
}

type reflectionRow struct {
	m   Memory
	vec []float32
}

type survivorUpdate struct {
	id         int64
	links      []Link
	tags       []string
	count      int
	importance float64
}

type mergeRow struct{ id, into int64 }

type supersedeRow struct{ id, by int64 }

// Consolidate runs one pass over every agent's stream: near-duplicates
// (cosine ≥ DuplicateCosine, same agent, kind and topic, same time bucket)
// merge into the oldest, which gathers all their evidence links; a newer
// memory whose stance on a topic differs supersedes the older ones (they are
// kept, marked); topics with ReflectMin new memories get a reflection that
// summarises them with their numbers; and faded, unpinned memories are
// forgotten (kept, out of searches). Nothing is deleted and no link is lost.
func (s *Store) Consolidate(ctx context.Context) (Report, error) {
	s.consolidating.Lock()
	defer s.consolidating.Unlock()
	start := time.Now()

	s.mu.RLock()
	p, examined := s.planLocked()
	s.mu.RUnlock()
	reworded := s.rewordReflections(ctx, p)

	// Rows still queued in the batching writer must be in the database
	// before the pass updates them.
	if err := s.w.Flush(ctx); err != nil {
		return Report{}, fmt.Errorf("consolidate: flush: %w", err)
	}
	s.mu.Lock()
	for i := range p.reflections {
		p.reflections[i].m.ID = s.nextID
		s.nextID++
	}
	s.mu.Unlock()
	if err := applyPlan(ctx, s.db.W, p); err != nil {
		return Report{}, err
	}

	s.mu.Lock()
	for _, u := range p.survivors {
		if pos, ok := s.x.byID[u.id]; ok {
			m := s.x.mems.at(pos)
			m.Links, m.Tags, m.Count, m.Importance = u.links, u.tags, u.count, u.importance
		}
	}
	for _, mg := range p.merges {
		if pos, ok := s.x.byID[mg.id]; ok {
			s.x.mems.at(pos).Status, s.x.mems.at(pos).MergedInto = Merged, mg.into
		}
	}
	for _, sp := range p.supersedes {
		if pos, ok := s.x.byID[sp.id]; ok {
			s.x.mems.at(pos).SupersededBy = sp.by
		}
	}
	forgotten := 0
	for _, id := range p.forget {
		if pos, ok := s.x.byID[id]; ok && !s.x.mems.at(pos).Pinned {
			s.x.mems.at(pos).Status = Forgotten
			forgotten++
		}
	}
	for _, r := range p.reflections {
		s.x.add(r.m, r.vec, s.terms(r.m.Text+" "+strings.Join(r.m.Tags, " ")))
	}
	rep := Report{At: s.cfg.Now().UTC(), Examined: examined, Merged: len(p.merges), Superseded: len(p.supersedes),
		Reflections: len(p.reflections), Reworded: reworded, Forgotten: forgotten, Took: time.Since(start)}
	s.stats.Consolidation = rep
	s.mu.Unlock()
	return rep, nil
}

// planLocked computes a pass; s.mu is held for reading.
func (s *Store) planLocked() (*plan, int) {
	cfg := s.cfg.Consolidation
	p := &plan{}
	examined := 0
	nowMS := s.newestLocked()
	agents := slices.Clone(s.x.names)
	slices.Sort(agents)
	for _, agent := range agents {
		var active []int
		for _, pos := range s.x.streams[s.x.agents[agent]] {
			if _, ok := s.x.byID[s.x.mems.at(pos).ID]; ok && s.x.mems.at(pos).Status == Active {
				active = append(active, pos)
			}
		}
		examined += len(active)
		merged := s.planMerges(p, active, cfg)
		var kept []int
		for _, pos := range active {
			if !merged[pos] {
				kept = append(kept, pos)
			}
		}
		s.planSupersedes(p, kept)
		s.planReflections(p, agent, kept, cfg)
		s.planForgetting(p, kept, nowMS, cfg)
	}
	return p, examined
}

// planMerges folds near-duplicates into the oldest of their group and
// returns the positions merged away.
func (s *Store) planMerges(p *plan, active []int, cfg ConsolidationConfig) map[int]bool {
	type key struct {
		kind   Kind
		topic  string
		bucket int64
	}
	bucketMS := cfg.Bucket.Milliseconds()
	groups := map[key][]int{}
	var order []key
	for _, pos := range active {
		m := s.x.mems.at(pos)
		k := key{m.Kind, m.Topic, m.SimTime.UnixMilli() / bucketMS}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], pos)
	}
	merged := map[int]bool{}
	for _, k := range order {
		var heads []int
		acc := map[int]*survivorUpdate{}
		for _, pos := range groups[k] {
			m := s.x.mems.at(pos)
			if m.Kind == Reflection {
				continue // a reflection summarises; it is never a duplicate
			}
			into := -1
			for _, h := range heads[max(0, len(heads)-64):] {
				if float64(wordvec.Dot(s.x.vec(pos), s.x.vec(h))) >= cfg.DuplicateCosine {
					into = h
					break
				}
			}
			if into < 0 {
				heads = append(heads, pos)
				continue
			}
			u, ok := acc[into]
			if !ok {
				h := s.x.mems.at(into)
				u = &survivorUpdate{id: h.ID, links: slices.Clone(h.Links), tags: slices.Clone(h.Tags), count: h.Count, importance: h.Importance}
				acc[into] = u
			}
			u.links = unionLinks(u.links, m.Links)
			u.links = unionLinks(u.links, []Link{{Kind: "memory", Ref: strconv.FormatInt(m.ID, 10)}})
			u.tags = unionTags(u.tags, m.Tags)
			u.count += m.Count
			u.importance = math.Max(u.importance, m.Importance)
			p.merges = append(p.merges, mergeRow{id: m.ID, into: u.id})
			merged[pos] = true
		}
		for _, h := range heads {
			if u, ok := acc[h]; ok {
				p.survivors = append(p.survivors, *u)
			}
		}
	}
	return merged
}

// planSupersedes marks, per topic, the memories whose stance a newer one
// contradicts.
func (s *Store) planSupersedes(p *plan, kept []int) {
	byTopic := map[string][]int{}
	var topics []string
	for _, pos := range kept {
		m := s.x.mems.at(pos)
		if m.Stance == "" || m.Topic == "" {
			continue
		}
		if _, ok := byTopic[m.Topic]; !ok {
			topics = append(topics, m.Topic)
		}
		byTopic[m.Topic] = append(byTopic[m.Topic], pos)
	}
	for _, t := range topics {
		list := byTopic[t]
		slices.SortStableFunc(list, func(a, b int) int {
			ma, mb := s.x.mems.at(a), s.x.mems.at(b)
			return cmp.Or(ma.SimTime.Compare(mb.SimTime), cmp.Compare(ma.ID, mb.ID))
		})
		var open []int // not superseded yet, oldest first
		for _, pos := range list {
			m := s.x.mems.at(pos)
			next := open[:0:0]
			for _, o := range open {
				if s.x.mems.at(o).Stance != m.Stance {
					p.supersedes = append(p.supersedes, supersedeRow{id: s.x.mems.at(o).ID, by: m.ID})
				} else {
					next = append(next, o)
				}
			}
			if m.SupersededBy == 0 {
				next = append(next, pos)
			}
			open = next
		}
	}
}

// planReflections summarises, per topic, the memories newer than the
// topic's latest reflection, once there are ReflectMin of them.
func (s *Store) planReflections(p *plan, agent string, kept []int, cfg ConsolidationConfig) {
	upto := map[string]int64{} // topic -> newest memory id a reflection covers
	for _, pos := range kept {
		m := s.x.mems.at(pos)
		if m.Kind != Reflection {
			continue
		}
		for _, l := range m.Links {
			if id, err := strconv.ParseInt(l.Ref, 10, 64); err == nil && l.Kind == "memory" {
				upto[m.Topic] = max(upto[m.Topic], id)
			}
		}
	}
	groups := map[string][]int{}
	var topics []string
	for _, pos := range kept {
		m := s.x.mems.at(pos)
		if m.Kind == Reflection || m.Topic == "" || m.ID <= upto[m.Topic] {
			continue
		}
		if _, ok := groups[m.Topic]; !ok {
			topics = append(topics, m.Topic)
		}
		groups[m.Topic] = append(groups[m.Topic], pos)
	}
	for _, t := range topics {
		members := groups[t]
		if len(members) < cfg.ReflectMin {
			continue
		}
		r := s.reflect(agent, t, members, cfg.ReflectLinks)
		p.reflections = append(p.reflections, r)
	}
}

// reflect writes the template summary of members (in id order).
func (s *Store) reflect(agent, topic string, members []int, maxLinks int) reflectionRow {
	kinds := map[Kind]int{}
	var sum, best, worst float64
	valued, stance := 0, ""
	first, last := s.x.mems.at(members[0]).SimTime, s.x.mems.at(members[0]).SimTime
	imp := 0.0
	for _, pos := range members {
		m := s.x.mems.at(pos)
		kinds[m.Kind] += m.Count
		if m.SimTime.Before(first) {
			first = m.SimTime
		}
		if m.SimTime.After(last) {
			last = m.SimTime
		}
		if m.Value != 0 {
			if valued == 0 || m.Value > best {
				best = m.Value
			}
			if valued == 0 || m.Value < worst {
				worst = m.Value
			}
			sum += m.Value
			valued++
		}
		if m.Stance != "" {
			stance = m.Stance
		}
		imp = math.Max(imp, m.Importance)
	}
	var parts []string
	total := 0
	for _, k := range Kinds {
		if n := kinds[k]; n > 0 {
			total += n
			parts = append(parts, plural(n, string(k)))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s: %s between %s and %s (%s)", agent, topic, plural(total, "event"),
		first.Format("Jan 2 15:04"), last.Format("Jan 2 15:04"), strings.Join(parts, ", "))
	if valued > 0 {
		fmt.Fprintf(&b, "; values sum to %+.2f, best %+.2f, worst %+.2f", sum, best, worst)
	}
	if stance != "" {
		fmt.Fprintf(&b, "; latest stance %s", stance)
	}
	b.WriteString(".")
	links := make([]Link, 0, min(len(members), maxLinks))
	for _, pos := range members[max(0, len(members)-maxLinks):] {
		links = append(links, Link{Kind: "memory", Ref: strconv.FormatInt(s.x.mems.at(pos).ID, 10)})
	}
	m := Memory{Agent: agent, Kind: Reflection, Text: b.String(), Topic: topic, Source: "memory.consolidation",
		Tags: []string{"reflection"}, Links: links, SimTime: last, Wall: s.cfg.Now().UTC().Truncate(time.Millisecond),
		Value: round4(sum), Importance: math.Min(1, round4(imp+0.1)), Status: Active, Count: 1, VecVersion: s.emb.Version()}
	vec := make([]float32, s.emb.Dims())
	s.emb.Embed(m.Text+" reflection", vec)
	return reflectionRow{m: m, vec: vec}
}

// rewordReflections asks the Rewriter to reword up to RewriteMax of the
// pass's reflections, outside every lock, and keeps a rewording only when
// each of its numbers is one of the template's. It returns how many it
// kept.
func (s *Store) rewordReflections(ctx context.Context, p *plan) int {
	cfg := s.cfg.Consolidation
	if cfg.Rewrite == nil {
		return 0
	}
	kept := 0
	for i := range p.reflections[:min(len(p.reflections), cfg.RewriteMax)] {
		r := &p.reflections[i]
		text, err := cfg.Rewrite(ctx, r.m.Agent, r.m.Topic, r.m.Text)
		text = strings.TrimSpace(text)
		if err != nil || text == "" || len(text) > MaxText || !numbersFrom(text, r.m.Text) {
			if err != nil && ctx.Err() == nil {
				s.log.Debug("memory: reflection kept as its template", "agent", r.m.Agent, "topic", r.m.Topic, "err", err)
			}
			continue
		}
		r.m.Text = text
		r.m.Tags = append(r.m.Tags, "reworded")
		s.emb.Embed(text+" reflection", r.vec)
		kept++
	}
	return kept
}

// numbersFrom reports whether every number of text is one of src's.
func numbersFrom(text, src string) bool {
	have := map[string]bool{}
	for _, n := range numbersIn(src) {
		have[n] = true
	}
	for _, n := range numbersIn(text) {
		if !have[n] {
			return false
		}
	}
	return true
}

// numbersIn lists the numbers of s as it writes them: 12, 1,200, 3.5 (a
// separator counts only between digits).
func numbersIn(s string) []string {
	isDigit := func(i int) bool { return i < len(s) && s[i] >= '0' && s[i] <= '9' }
	var out []string
	for i := 0; i < len(s); {
		if !isDigit(i) {
			i++
			continue
		}
		j := i
		for isDigit(j) || (j+1 < len(s) && (s[j] == '.' || s[j] == ',') && j > i && isDigit(j+1)) {
			j++
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

// planForgetting forgets what has faded: importance decayed by recency.
func (s *Store) planForgetting(p *plan, kept []int, nowMS int64, cfg ConsolidationConfig) {
	for _, pos := range kept {
		m := s.x.mems.at(pos)
		if m.Pinned || m.Kind == Reflection {
			continue
		}
		hours := float64(nowMS-m.SimTime.UnixMilli()) / float64(time.Hour/time.Millisecond)
		if m.Importance*math.Pow(RecencyDecay, math.Max(0, hours)) < cfg.ForgetBelow {
			p.forget = append(p.forget, m.ID)
		}
	}
}

func unionLinks(a, b []Link) []Link {
	for _, l := range b {
		if !slices.Contains(a, l) {
			a = append(a, l)
		}
	}
	return a
}

func unionTags(a, b []string) []string {
	for _, t := range b {
		if !slices.Contains(a, t) {
			a = append(a, t)
		}
	}
	return a
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
