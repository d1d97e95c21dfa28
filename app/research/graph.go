package research

import (
	"cmp"
	"math"
	"slices"

	"github.com/metastation/metastation/app/memory/wordvec"
)

// Graph is the concept co-occurrence graph of a corpus up to a year: two
// concepts are linked by the papers that use both.
type Graph struct {
	N      int              `json:"n"`
	Upto   int              `json:"upto"` // last year counted (inclusive)
	W      map[[2]int]int   `json:"-"`    // papers per pair (i < j)
	First  map[[2]int]int   `json:"-"`    // year each pair was first linked
	Adj    [][]int          `json:"-"`    // neighbours, ascending
	Deg    []int            `json:"-"`    // weighted degree
	papers map[[2]int][]int // paper indices per pair
}

// BuildGraph counts co-occurrences in papers published up to year upto.
func BuildGraph(papers []Paper, n, upto int) *Graph {
	g := &Graph{N: n, Upto: upto, W: map[[2]int]int{}, First: map[[2]int]int{}, Adj: make([][]int, n), Deg: make([]int, n), papers: map[[2]int][]int{}}
	for d, p := range papers {
		y := p.Date.Year()
		if y > upto {
			continue
		}
		for a := 0; a < len(p.Concepts); a++ {
			for b := a + 1; b < len(p.Concepts); b++ {
				k := pairKey(p.Concepts[a], p.Concepts[b])
				if g.W[k] == 0 || y < g.First[k] {
					g.First[k] = y
				}
				g.W[k]++
				g.papers[k] = append(g.papers[k], d)
			}
		}
	}
	for k, w := range g.W {
		g.Adj[k[0]] = append(g.Adj[k[0]], k[1])
		g.Adj[k[1]] = append(g.Adj[k[1]], k[0])
		g.Deg[k[0]] += w
		g.Deg[k[1]] += w
	}
	for i := range g.Adj {
		slices.Sort(g.Adj[i])
	}
	return g
}

func pairKey(a, b int) [2]int {
	if a > b {
		a, b = b, a
	}
	return [2]int{a, b}
}

// Weight is the papers linking a and b.
func (g *Graph) Weight(a, b int) int { return g.W[pairKey(a, b)] }

// PapersOf are the papers linking a and b.
func (g *Graph) PapersOf(a, b int) []int { return g.papers[pairKey(a, b)] }

// Scores are the link-prediction views of one unlinked pair.
type Scores struct {
	Common   int     `json:"common"`   // common neighbours
	Adamic   float64 `json:"adamic"`   // Adamic–Adar: Σ 1/log(degree) over common neighbours
	Embed    float64 `json:"embed"`    // cosine of the concepts' name vectors
	ABC      float64 `json:"abc"`      // Swanson: Σ over bridges B of min(w(A,B), w(B,C)), specificity-weighted
	Combined float64 `json:"combined"` // the gap score the page ranks by
}

// score rates the pair (a, c), whose vectors are va and vc.
func (g *Graph) score(a, c int, va, vc []float32) Scores {
	var s Scores
	na, nc := g.Adj[a], g.Adj[c]
	i, j := 0, 0
	for i < len(na) && j < len(nc) {
		switch {
		case na[i] < nc[j]:
			i++
		case na[i] > nc[j]:
			j++
		default:
			b := na[i]
			s.Common++
			if len(g.Adj[b]) > 1 {
				s.Adamic += 1 / math.Log(float64(len(g.Adj[b])))
			}
			// A bridge counts by its weaker side, discounted when it
			// links to everything (a bridge to all is no bridge).
			wab, wbc := g.Weight(a, b), g.Weight(b, c)
			s.ABC += float64(min(wab, wbc)) / math.Log(math.E+float64(len(g.Adj[b])))
			i++
			j++
		}
	}
	if va != nil && vc != nil {
		s.Embed = float64(wordvec.Dot(va, vc))
	}
	s.Combined = s.ABC
	return s
}

// Gap is an unlinked pair of concepts and why it might be a link nobody
// has made yet.
type Gap struct {
	A       int      `json:"a"`
	C       int      `json:"c"`
	AName   string   `json:"a_name"`
	CName   string   `json:"c_name"`
	Bridges []Bridge `json:"bridges"` // strongest first
	Scores  Scores   `json:"scores"`
	Rank    int      `json:"rank"`
}

// Bridge is a concept B linking A and C, with the papers on each side.
type Bridge struct {
	B      int    `json:"b"`
	Name   string `json:"name"`
	AB     int    `json:"ab"`
	BC     int    `json:"bc"`
	Papers []int  `json:"-"` // A–B and B–C papers
}

// conceptVectors embeds every concept's name.
func conceptVectors(cs []Concept, emb *wordvec.Embedder) [][]float32 {
	out := make([][]float32, len(cs))
	for i, c := range cs {
		out[i] = make([]float32, emb.Dims())
		emb.Embed(c.Name, out[i])
	}
	return out
}

// Gaps ranks every unlinked pair with at least one bridge by its gap score,
// best first.
func Gaps(g *Graph, cs []Concept, vecs [][]float32) []Gap {
	var out []Gap
	for a := 0; a < g.N; a++ {
		for c := a + 1; c < g.N; c++ {
			if g.Weight(a, c) > 0 {
				continue
			}
			s := g.score(a, c, vecs[a], vecs[c])
			if s.Common == 0 {
				continue
			}
			gp := Gap{A: a, C: c, AName: cs[a].Name, CName: cs[c].Name, Scores: s}
			for _, b := range g.Adj[a] {
				if g.Weight(b, c) == 0 {
					continue
				}
				br := Bridge{B: b, Name: cs[b].Name, AB: g.Weight(a, b), BC: g.Weight(b, c)}
				br.Papers = append(append([]int{}, g.PapersOf(a, b)...), g.PapersOf(b, c)...)
				gp.Bridges = append(gp.Bridges, br)
			}
			slices.SortFunc(gp.Bridges, func(x, y Bridge) int {
				return cmp.Or(cmp.Compare(min(y.AB, y.BC), min(x.AB, x.BC)), cmp.Compare(x.B, y.B))
			})
			out = append(out, gp)
		}
	}
	slices.SortFunc(out, func(x, y Gap) int {
		return cmp.Or(cmp.Compare(y.Scores.Combined, x.Scores.Combined), cmp.Compare(x.A, y.A), cmp.Compare(x.C, y.C))
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	return out
}

// Validation is the time-split check of the link predictors, in the manner
// of Science4Cast: fit on papers up to year T, score every pair unlinked
// by then, and ask how well each score separates the pairs first linked
// after T from those still unlinked at the end.
type Validation struct {
	SplitYear int     `json:"split_year"`
	Positives int     `json:"positives"` // pairs first linked after T
	Negatives int     `json:"negatives"` // pairs never linked
	AUCCommon float64 `json:"auc_common"`
	AUCAdamic float64 `json:"auc_adamic"`
	AUCEmbed  float64 `json:"auc_embed"`
	AUCABC    float64 `json:"auc_abc"`
	AUC       float64 `json:"auc"` // of the gap score
	// Valid is false when the split leaves no pairs on one side (a corpus
	// of a year or two): the AUCs are then 0, not measured.
	Valid bool `json:"valid"`
}

// SplitYear is the year by which 70 % of papers were published: the
// time split's default (2017 for the built-in corpus of 2000–2024).
func SplitYear(papers []Paper) int {
	if len(papers) == 0 {
		return 0
	}
	years := make([]int, len(papers))
	for i, p := range papers {
		years[i] = p.Date.Year()
	}
	slices.Sort(years)
	return years[int(0.7*float64(len(years)-1))]
}

// Validate runs the time split at year t.
func Validate(papers []Paper, cs []Concept, vecs [][]float32, t int) Validation {
	before := BuildGraph(papers, len(cs), t)
	all := BuildGraph(papers, len(cs), math.MaxInt)
	v := Validation{SplitYear: t}
	var pos, neg [5][]float64
	for a := 0; a < len(cs); a++ {
		for c := a + 1; c < len(cs); c++ {
			if before.Weight(a, c) > 0 {
				continue
			}
			s := before.score(a, c, vecs[a], vecs[c])
			x := [5]float64{float64(s.Common), s.Adamic, s.Embed, s.ABC, s.Combined}
			dst := &neg
			if all.Weight(a, c) > 0 {
				dst = &pos
			}
			for k := range x {
				dst[k] = append(dst[k], x[k])
			}
		}
	}
	v.Positives, v.Negatives = len(pos[0]), len(neg[0])
	v.AUCCommon, v.AUCAdamic, v.AUCEmbed = AUC(pos[0], neg[0]), AUC(pos[1], neg[1]), AUC(pos[2], neg[2])
	v.AUCABC, v.AUC = AUC(pos[3], neg[3]), AUC(pos[4], neg[4])
	v.Valid = !math.IsNaN(v.AUC)
	for _, x := range []*float64{&v.AUCCommon, &v.AUCAdamic, &v.AUCEmbed, &v.AUCABC, &v.AUC} {
		if math.IsNaN(*x) {
			*x = 0 // JSON has no NaN; Valid says it was not measured
		}
	}
	return v
}
