package memory

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/metastation/metastation/app/memory/wordvec"
)

// lexicon is the full-text side of the working set: an inverted index of
// every memory's content words (stemmed), ranked by Okapi BM25.
//
// It replaced SQLite FTS5 (migration 0061 drops the FTS5 table): measured
// here through modernc.org/sqlite, FTS5's insert trigger cost about 80 µs of
// CPU per memory (7,800 inserts per CPU-second against 18,700 without it) and
// an OR query's bm25 ranking over 100k memories took 190 ms at the median
// on the loaded 2-core machine, against targets of 50,000 inserts/s and a
// 20 ms p99. The index is rebuilt from the memories table at Open.
type lexicon struct {
	postings map[string][]posting
	docLen   []uint16 // content words per memory, by position
	totalLen int64
}

type posting struct {
	pos int32
	tf  uint16
}

// BM25 parameters, the usual defaults (Robertson and Zaragoza 2009).
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

func newLexicon() *lexicon { return &lexicon{postings: map[string][]posting{}} }

// add indexes the memory at pos (positions only grow).
func (l *lexicon) add(pos int, terms []string) {
	tf := map[string]uint16{}
	for _, t := range terms {
		tf[t]++
	}
	for t, n := range tf {
		l.postings[t] = append(l.postings[t], posting{pos: int32(pos), tf: n})
	}
	l.docLen = append(l.docLen, uint16(min(len(terms), math.MaxUint16)))
	l.totalLen += int64(len(terms))
}

// lexicalHit is one BM25 match.
type lexicalHit struct {
	pos   int
	bm25  float64
	coord float64 // share of the query's terms the memory holds
}

// search ranks the memories holding any of terms (an OR query) by BM25 and
// returns the k best that keep accepts, best first (ties by position).
func (l *lexicon) search(terms []string, keep func(pos int) bool, k int) []lexicalHit {
	n := len(l.docLen)
	if n == 0 || len(terms) == 0 {
		return nil
	}
	avg := float64(l.totalLen) / float64(n)
	// Dense accumulators: a common word has tens of thousands of postings,
	// and a slice indexed by position beats a map by several times.
	score := make([]float64, n)
	matched := make([]uint8, n)
	var touched []int32
	for _, t := range terms {
		ps := l.postings[t]
		if len(ps) == 0 {
			continue
		}
		df := float64(len(ps))
		idf := math.Log(1 + (float64(n)-df+0.5)/(df+0.5))
		for _, p := range ps {
			tf := float64(p.tf)
			if matched[p.pos] == 0 {
				touched = append(touched, p.pos)
			}
			score[p.pos] += idf * tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*float64(l.docLen[p.pos])/avg))
			matched[p.pos]++
		}
	}
	out := make([]lexicalHit, 0, min(len(touched), 4*k))
	for _, pos := range touched {
		if keep(int(pos)) {
			out = append(out, lexicalHit{pos: int(pos), bm25: score[pos], coord: float64(matched[pos]) / float64(len(terms))})
		}
	}
	slices.SortFunc(out, func(a, b lexicalHit) int { return cmp.Or(cmp.Compare(b.bm25, a.bm25), cmp.Compare(a.pos, b.pos)) })
	return out[:min(k, len(out))]
}

// terms are text's content words, stemmed: what the lexicon indexes and a
// query looks up. Function words (the stopRank most frequent words) are
// left out; they match nearly everything and say nothing.
func (s *Store) terms(text string) []string { return s.termsOf(wordvec.Tokens(text)) }

// termsOf is terms of text already split by wordvec.Tokens.
func (s *Store) termsOf(toks []string) []string {
	var out []string
	for _, tok := range toks {
		if r, ok := s.emb.Rank(tok); ok && r < stopRank {
			continue
		}
		if st := stem(tok); st != "" {
			out = append(out, st)
		}
	}
	return out
}

// maxQueryTerms caps the distinct words a query looks up.
const maxQueryTerms = 64

// queryTerms are the distinct terms of a query, at most maxQueryTerms.
func (s *Store) queryTerms(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range s.terms(text) {
		if len(out) == maxQueryTerms {
			break
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// stem strips the commonest English inflections ("shipments" → "shipment",
// "delayed" → "delay", "trading" → "trad", "rallies" → "rally"), in the
// spirit of Harman's S-stemmer with -ed and -ing: light, so "contract" and
// "contrarian" stay apart, which a prefix would not.
func stem(w string) string {
	if len(w) <= 3 {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "ing") && len(w) > 5:
		return w[:len(w)-3]
	case strings.HasSuffix(w, "ied") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "ed") && len(w) > 4:
		return w[:len(w)-2]
	case strings.HasSuffix(w, "es") && len(w) > 4 && strings.ContainsAny(w[len(w)-3:len(w)-2], "sxz"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "'s"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		return w[:len(w)-1]
	}
	return w
}
