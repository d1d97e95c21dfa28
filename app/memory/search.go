package memory

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/memory/wordvec"
)

// Mode picks the rankers a search fuses.
type Mode string

// The modes. Hybrid is the served one; the others are the baselines the
// evaluation reports beside it.
const (
	Hybrid  Mode = "hybrid"
	Lexical Mode = "lexical" // BM25 only
	Vector  Mode = "vector"  // cosine only
)

// Weights weigh the three normalised parts of the retrieval score.
type Weights struct {
	Relevance  float64 `json:"relevance"`
	Recency    float64 `json:"recency"`
	Importance float64 `json:"importance"`
}

// DefaultWeights rank mostly by relevance: a search box is a question about
// meaning, and recency and importance break near-ties, as in Generative
// Agents' retrieval (which weighs all three equally for an agent's own
// recall; pass Weights{1, 1, 1} for that).
var DefaultWeights = Weights{Relevance: 1, Recency: 0.25, Importance: 0.25}

// RecencyDecay is the recency factor per simulated hour (Generative Agents:
// 0.995), newest highest.
const RecencyDecay = 0.995

// rrfK is reciprocal rank fusion's constant (Cormack et al. 2009).
const rrfK = 60

// Query is one search.
type Query struct {
	Text     string
	Agent    string    // "" for every agent
	Kinds    []Kind    // none for every kind
	From, To time.Time // simulated time range, either open when zero
	Tags     []string  // every one must be on the memory
	Limit    int       // default 10, at most MaxLimit
	Mode     Mode      // default Hybrid
	Weights  Weights   // zero: the store's default
	At       time.Time // "now" for recency; zero: the newest memory's simulated time
}

// Result is one ranked memory and why it ranked there.
type Result struct {
	Memory Memory  `json:"memory"`
	Score  float64 `json:"score"`
	Why    Why     `json:"why"`
}

// Why explains a result: each ranker's view and the three normalised parts.
type Why struct {
	LexicalRank int     `json:"lexical_rank,omitempty"` // 1 = best BM25; 0 = no word matched
	BM25        float64 `json:"bm25,omitempty"`         // Okapi BM25 of the OR query (higher is better)
	Coord       float64 `json:"coord,omitempty"`        // share of the query's content words the memory has
	VectorRank  int     `json:"vector_rank,omitempty"`
	Cosine      float64 `json:"cosine"`
	RRF         float64 `json:"rrf"`
	Relevance   float64 `json:"relevance"`  // RRF, min-max normalised over the candidates
	Recency     float64 `json:"recency"`    // 0.995^hours, normalised
	Importance  float64 `json:"importance"` // normalised
}

// Search ranks memories for q. Each ranker proposes its best candidates; RRF
// fuses their ranks into relevance, and relevance, recency and importance,
// each min-max normalised over the candidates, are weighted into the score.
func (s *Store) Search(ctx context.Context, q Query) ([]Result, error) {
	if err := s.validateQuery(&q); err != nil {
		return nil, err
	}
	f := filter{agent: q.Agent, kinds: q.Kinds, tags: q.Tags}
	if !q.From.IsZero() {
		f.fromMS = q.From.UnixMilli()
	}
	if !q.To.IsZero() {
		f.toMS = q.To.UnixMilli()
	}
	k := max(50, 5*q.Limit)

	qv := make([]float32, s.emb.Dims())
	hasVec := s.emb.Embed(q.Text, qv)

	s.mu.Lock()
	s.stats.Searches++
	s.mu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.x.compile(f)
	type cand struct {
		pos       int
		why       Why
		recency   float64
		important float64
	}
	cands := map[int]*cand{}
	get := func(pos int) *cand {
		if cd, ok := cands[pos]; ok {
			return cd
		}
		cd := &cand{pos: pos}
		cands[pos] = cd
		return cd
	}
	if q.Mode != Vector {
		keep := func(pos int) bool { return !c.noneOK && s.x.keep(&c, pos) }
		for i, h := range s.x.lex.search(s.queryTerms(q.Text), keep, k) {
			cd := get(h.pos)
			cd.why.LexicalRank, cd.why.BM25, cd.why.Coord = i+1, round4(h.bm25), round4(h.coord)
			// An OR query ranks a memory sharing one word of five as a
			// match; Lucene's coordination factor scales its vote by how
			// much of the query it holds.
			cd.why.RRF += h.coord / float64(rrfK+i+1)
		}
	}
	if q.Mode != Lexical && hasVec {
		for i, h := range s.x.nearest(qv, c, k) {
			cd := get(h.pos)
			cd.why.VectorRank = i + 1
			cd.why.RRF += 1.0 / float64(rrfK+i+1)
		}
	}
	if len(cands) == 0 {
		return []Result{}, nil
	}
	atMS := q.At.UnixMilli()
	if q.At.IsZero() {
		atMS = s.newestLocked()
	}
	list := make([]*cand, 0, len(cands))
	for _, cd := range cands {
		m := s.x.mems.at(cd.pos)
		if hasVec {
			cd.why.Cosine = round4(float64(wordvec.Dot(qv, s.x.vec(cd.pos))))
		}
		hours := float64(atMS-m.SimTime.UnixMilli()) / float64(time.Hour/time.Millisecond)
		cd.recency = math.Pow(RecencyDecay, math.Max(0, hours))
		cd.important = m.Importance
		list = append(list, cd)
	}
	norm := func(get func(*cand) float64, set func(*cand, float64)) {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, cd := range list {
			lo, hi = math.Min(lo, get(cd)), math.Max(hi, get(cd))
		}
		for _, cd := range list {
			// Candidates that all score alike are all as good as the
			// best: 1, not 0 (a lone result is fully relevant).
			v := 0.0
			switch {
			case hi > lo:
				v = (get(cd) - lo) / (hi - lo)
			case hi > 0:
				v = 1
			}
			set(cd, round4(v))
		}
	}
	norm(func(cd *cand) float64 { return cd.why.RRF }, func(cd *cand, v float64) { cd.why.Relevance = v })
	norm(func(cd *cand) float64 { return cd.recency }, func(cd *cand, v float64) { cd.why.Recency = v })
	norm(func(cd *cand) float64 { return cd.important }, func(cd *cand, v float64) { cd.why.Importance = v })
	w := q.Weights
	out := make([]Result, 0, len(list))
	for _, cd := range list {
		cd.why.RRF = round6(cd.why.RRF)
		score := w.Relevance*cd.why.Relevance + w.Recency*cd.why.Recency + w.Importance*cd.why.Importance
		out = append(out, Result{Memory: *s.x.mems.at(cd.pos), Score: round4(score), Why: cd.why})
	}
	slices.SortFunc(out, func(a, b Result) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(b.Why.RRF, a.Why.RRF), cmp.Compare(a.Memory.ID, b.Memory.ID))
	})
	out = out[:min(len(out), q.Limit)]
	for i := range out {
		out[i].Memory = clone(out[i].Memory)
	}
	return out, nil
}

func (s *Store) validateQuery(q *Query) error {
	q.Text = strings.TrimSpace(q.Text)
	switch {
	case q.Text == "":
		return errs.Errorf(errs.Invalid, "a search needs some words")
	case len(q.Text) > MaxQuery:
		return errs.Errorf(errs.Invalid, "a search is at most %d bytes", MaxQuery)
	case q.Limit < 0 || q.Limit > MaxLimit:
		return errs.Errorf(errs.Invalid, "limit is between 1 and %d", MaxLimit)
	case !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From):
		return errs.Errorf(errs.Invalid, "the time range ends before it starts")
	case q.Agent != "" && !s.KnownAgent(q.Agent):
		return errs.Errorf(errs.Invalid, "no agent %q has memories", q.Agent)
	case len(q.Tags) > MaxTags:
		return errs.Errorf(errs.Invalid, "a search filters by at most %d tags", MaxTags)
	}
	for _, k := range q.Kinds {
		if !k.Valid() {
			return errs.Errorf(errs.Invalid, "kind %q is not one of observation, action, outcome, reflection, document", k)
		}
	}
	switch q.Mode {
	case "":
		q.Mode = Hybrid
	case Hybrid, Lexical, Vector:
	default:
		return errs.Errorf(errs.Invalid, "mode %q is not one of hybrid, lexical, vector", q.Mode)
	}
	if q.Limit == 0 {
		q.Limit = 10
	}
	if q.Weights == (Weights{}) {
		q.Weights = s.cfg.Weights
	}
	if q.Weights.Relevance < 0 || q.Weights.Recency < 0 || q.Weights.Importance < 0 {
		return errs.Errorf(errs.Invalid, "weights are not negative")
	}
	return nil
}

// stopRank is the frequency rank under which a word is a function word
// ("the", "of", "was"): the lexicon leaves them out. SIF down-weights them
// in the vector.
const stopRank = 150

// newestLocked is the newest simulated time in the working set.
func (s *Store) newestLocked() int64 { return s.x.newest }

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }
func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }
