package research

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/metastation/metastation/app/memory/wordvec"
)

// Concept is a phrase many papers use, with its variants merged.
type Concept struct {
	ID     int      `json:"id"`
	Name   string   `json:"name"`  // the most frequent surface form
	Forms  []string `json:"forms"` // every form merged into it
	Papers []int    `json:"-"`     // indices of the papers using it, ascending
	DF     int      `json:"df"`
	TFIDF  float64  `json:"tfidf"`          // summed over the corpus
	Kind   string   `json:"kind,omitempty"` // signal, regime, set, horizon, or "" (a mechanism)
}

// ExtractConfig tunes concept extraction.
type ExtractConfig struct {
	MaxN     int     // longest n-gram; default 3
	MinDF    int     // papers a concept must appear in; default 3
	MaxShare float64 // of papers a phrase may appear in before it is boilerplate; default 0.2
	Merge    float32 // cosine of phrase vectors at which two phrases are one concept; default 0.93
	Subsumed float64 // a phrase that appears inside longer kept phrases this share of the time is dropped; default 0.7
	Max      int     // concepts kept, by summed TF-IDF; default 200
}

func (c ExtractConfig) withDefaults() ExtractConfig {
	if c.MaxN <= 0 {
		c.MaxN = 3
	}
	if c.MinDF <= 0 {
		c.MinDF = 3
	}
	if c.MaxShare <= 0 {
		c.MaxShare = 0.2
	}
	if c.Merge <= 0 {
		c.Merge = 0.93
	}
	if c.Subsumed <= 0 {
		c.Subsumed = 0.7
	}
	if c.Max <= 0 {
		c.Max = 200
	}
	return c
}

// stopWords end candidate phrases: a concept never starts, ends or runs
// across one.
var stopWords = toSet(`a about above across after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing down during each either few for from further
had has have having he her here hers him his how i if in into is it its itself just less many may me might more
most much must my new no nor not now of off on once one only or other our out over own per same she should so
some such than that the their them then there these they this those through to too under until up upon us very
via was we were what when where whether which while who whom why will with within without would you your
show shows shown find finds found study studies paper evidence result results robust strongly closely strong
broad sample period relation related linked connects shapes well known several`)

func toSet(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.Fields(s) {
		out[w] = true
	}
	return out
}

// phrases cuts text into runs of content words: at punctuation and at stop
// words. Hyphens split words ("bid-ask" is "bid ask").
func phrases(text string) [][]string {
	text = strings.ReplaceAll(text, "-", " ")
	var out [][]string
	for _, part := range strings.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune(".,;:!?()[]{}\"'\n", r) }) {
		var run []string
		for _, w := range wordvec.Tokens(part) {
			if stopWords[w] || len(w) < 2 || isDigits(w) {
				if len(run) > 0 {
					out = append(out, run)
				}
				run = nil
				continue
			}
			run = append(run, w)
		}
		if len(run) > 0 {
			out = append(out, run)
		}
	}
	return out
}

func isDigits(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}

// stem is a light English stemmer for matching variants: plurals, -ing,
// -ed, British -our.
func stem(w string) string {
	switch {
	case strings.HasSuffix(w, "ices") && len(w) > 5:
		return w[:len(w)-4] + "ex"
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "ing") && len(w) > 5:
		return strings.TrimSuffix(w[:len(w)-3], "e")
	case strings.HasSuffix(w, "ed") && len(w) > 4:
		return w[:len(w)-2]
	case strings.HasSuffix(w, "our") && len(w) > 5:
		return w[:len(w)-3] + "or"
	case strings.HasSuffix(w, "ss"):
		return w
	case strings.HasSuffix(w, "es") && len(w) > 4 && strings.ContainsAny(w[len(w)-3:len(w)-2], "sxz"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "s") && len(w) > 3:
		return w[:len(w)-1]
	}
	return w
}

// stemBag is a phrase's stems, sorted: word order and inflection aside,
// "clustered volatility" is "volatility clustering".
func stemBag(words []string) string {
	s := make([]string, len(words))
	for i, w := range words {
		s[i] = stem(w)
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}

type gram struct {
	key   string // stemmed words in order
	bag   string
	forms map[string]int // surface form -> count
	docs  []int
	tf    map[int]int
	n     int
}

// Extract finds the corpus's concepts: n-grams of content words, weighed
// by TF-IDF, boilerplate and rare phrases dropped, phrases mostly seen
// inside longer ones dropped, and variants merged when their stems match
// or their phrase vectors are nearly the same. It sets each paper's
// Concepts and returns the concepts, by ID.
func Extract(papers []Paper, emb *wordvec.Embedder, cfg ExtractConfig) []Concept {
	cfg = cfg.withDefaults()
	grams := map[string]*gram{}
	for d, p := range papers {
		for _, run := range phrases(p.Title + ". " + p.Text) {
			for n := 1; n <= cfg.MaxN; n++ {
				for i := 0; i+n <= len(run); i++ {
					words := run[i : i+n]
					st := make([]string, n)
					for k, w := range words {
						st[k] = stem(w)
					}
					key := strings.Join(st, " ")
					g := grams[key]
					if g == nil {
						g = &gram{key: key, bag: stemBag(words), forms: map[string]int{}, tf: map[int]int{}, n: n}
						grams[key] = g
					}
					g.forms[strings.Join(words, " ")]++
					if g.tf[d] == 0 {
						g.docs = append(g.docs, d)
					}
					g.tf[d]++
				}
			}
		}
	}
	maxDF := int(cfg.MaxShare * float64(len(papers)))
	var kept []*gram
	for _, g := range grams {
		if len(g.docs) >= cfg.MinDF && len(g.docs) <= max(maxDF, cfg.MinDF) {
			kept = append(kept, g)
		}
	}
	// Longest first, so a phrase's longer containers are decided before it.
	slices.SortFunc(kept, func(a, b *gram) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.key, b.key)) })
	var survivors []*gram
	for _, g := range kept {
		inside := 0
		for _, s := range survivors {
			if s.n > g.n && strings.Contains(" "+s.key+" ", " "+g.key+" ") {
				inside += len(s.docs)
			}
		}
		if float64(inside) < cfg.Subsumed*float64(len(g.docs)) {
			survivors = append(survivors, g)
		}
	}
	n := float64(len(papers))
	tfidf := func(g *gram) float64 {
		idf := math.Log(n / float64(len(g.docs)))
		var s float64
		for _, c := range g.tf {
			s += (1 + math.Log(float64(c))) * idf
		}
		return s
	}
	slices.SortFunc(survivors, func(a, b *gram) int {
		return cmp.Or(cmp.Compare(len(b.docs), len(a.docs)), strings.Compare(a.key, b.key))
	})
	// Merge: a phrase joins the first (most used) concept whose stems it
	// shares or whose vector it nearly equals.
	type cluster struct {
		head  *gram
		vec   []float32
		parts []*gram
	}
	var clusters []*cluster
	for _, g := range survivors {
		vec := make([]float32, emb.Dims())
		emb.Embed(topForm(g.forms), vec)
		var into *cluster
		for _, c := range clusters {
			if c.head.bag == g.bag || (c.head.n > 1 && g.n > 1 && wordvec.Dot(c.vec, vec) >= cfg.Merge) {
				into = c
				break
			}
		}
		if into == nil {
			clusters = append(clusters, &cluster{head: g, vec: vec, parts: []*gram{g}})
			continue
		}
		into.parts = append(into.parts, g)
	}
	var out []Concept
	for _, c := range clusters {
		forms := map[string]int{}
		docs := map[int]bool{}
		var score float64
		for _, g := range c.parts {
			for f, k := range g.forms {
				forms[f] += k
			}
			for _, d := range g.docs {
				docs[d] = true
			}
			score += tfidf(g)
		}
		cn := Concept{Name: topForm(forms), TFIDF: score, DF: len(docs)}
		for f := range forms {
			cn.Forms = append(cn.Forms, f)
		}
		slices.Sort(cn.Forms)
		for d := range docs {
			cn.Papers = append(cn.Papers, d)
		}
		slices.Sort(cn.Papers)
		cn.Kind = kindOf(cn.Name)
		out = append(out, cn)
	}
	slices.SortFunc(out, func(a, b Concept) int {
		return cmp.Or(cmp.Compare(b.TFIDF, a.TFIDF), strings.Compare(a.Name, b.Name))
	})
	if len(out) > cfg.Max {
		out = out[:cfg.Max]
	}
	for i := range papers {
		papers[i].Concepts = nil
	}
	for i := range out {
		out[i].ID = i
		for _, d := range out[i].Papers {
			papers[d].Concepts = append(papers[d].Concepts, i)
		}
	}
	return out
}

// topForm is the most frequent form (ties: the shortest, then the first in
// order).
func topForm(forms map[string]int) string {
	best, bestN := "", -1
	for f, n := range forms {
		if n > bestN || (n == bestN && (len(f) < len(best) || (len(f) == len(best) && f < best))) {
			best, bestN = f, n
		}
	}
	return best
}

// kindOf types a concept for the hypothesis writer by the words it holds:
// a signal the experimenter can test, a regime, an instrument set, or a
// horizon. Anything else is a mechanism: a bridge, not a trade.
func kindOf(name string) string {
	has := func(ws ...string) bool {
		for _, w := range ws {
			if strings.Contains(name, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("momentum", "reversal", "moving average", "trend following", "volatility timing", "volatility managed"):
		return "signal"
	case has("stress", "crisis", "crash", "turmoil", "bear market", "calm", "tranquil"):
		return "regime"
	case has("equit", "stock", "index", "indices", "crypto", "bitcoin", "currenc", "exchange rate", "forex", "fx "):
		return "set"
	case has("weekly", "monthly", "quarterly", "daily horizon", "horizon"):
		return "horizon"
	}
	return ""
}

// signalOf, regimeOf, setOf and horizonOf read a typed concept.
func signalOf(name string) Signal {
	switch {
	case strings.Contains(name, "reversal"):
		return Reversal
	case strings.Contains(name, "momentum"):
		return Momentum
	case strings.Contains(name, "moving average"), strings.Contains(name, "trend"):
		return Trend
	case strings.Contains(name, "volatility"):
		return VolTiming
	}
	return noSignal
}

func regimeOf(name string) Regime {
	if strings.Contains(name, "calm") || strings.Contains(name, "tranquil") {
		return Calm
	}
	return Stressed
}

func setOf(name string) Set {
	switch {
	case strings.Contains(name, "crypto"), strings.Contains(name, "bitcoin"):
		return Crypto
	case strings.Contains(name, "currenc"), strings.Contains(name, "exchange rate"), strings.Contains(name, "forex"), strings.Contains(name, "fx "):
		return FX
	}
	return Equity
}

func horizonOf(name string) int {
	switch {
	case strings.Contains(name, "week"), strings.Contains(name, "short"):
		return 5
	case strings.Contains(name, "quarter"), strings.Contains(name, "long"):
		return 63
	}
	return 21
}

// normForm is how a surface form reads after phrase cutting.
func normForm(f string) string {
	return strings.Join(wordvec.Tokens(strings.ReplaceAll(f, "-", " ")), " ")
}
