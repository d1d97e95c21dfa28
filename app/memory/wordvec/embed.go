package wordvec

import (
	"hash/fnv"
	"math"
	"strings"
	"unicode"
)

// sifA is SIF's smoothing constant a in a/(a+p(w)); the paper finds 1e-3 to
// 1e-4 work best.
const sifA = 1e-3

// Embedder turns text into unit sentence vectors. It is safe for concurrent
// use: it holds only read-only tables.
type Embedder struct {
	t      *Table
	weight []float32 // SIF weight per rank
	oovW   float32   // weight of a word outside the table: as rare as the rarest kept
	oovLen float32   // norm given to an n-gram vector, the mean norm of the table's words
}

// NewEmbedder prepares the SIF weights. The package ships words by rank, not
// by count, so p(w) follows the Zipf-Mandelbrot law p(r) ∝ 1/(r+2.7), the
// fit of English word frequencies by rank.
func NewEmbedder(t *Table) *Embedder {
	n := len(t.Words)
	var h float64
	for r := range n {
		h += 1 / (float64(r) + 2.7)
	}
	e := &Embedder{t: t, weight: make([]float32, n)}
	for r := range n {
		p := 1 / (float64(r) + 2.7) / h
		e.weight[r] = float32(sifA / (sifA + p))
	}
	pLast := 1 / (float64(n) + 2.7) / h
	e.oovW = float32(sifA / (sifA + pLast))
	var norms float64
	for r := range n {
		norms += float64(t.Scales[r]) * l2int8(t.Data[r*t.Dims:(r+1)*t.Dims])
	}
	e.oovLen = 1
	if n > 0 {
		e.oovLen = float32(norms / float64(n))
	}
	return e
}

// Rank returns a word's frequency rank in the table (0 is the most frequent).
func (e *Embedder) Rank(word string) (int, bool) { return e.t.Rank(word) }

// Dims is the length of the vectors Embed returns.
func (e *Embedder) Dims() int { return e.t.Dims }

// Version names the vectors Embed returns (the table's version).
func (e *Embedder) Version() string { return e.t.Version() }

// Embed writes text's unit SIF vector into dst (len Dims) and reports
// whether text had any word; an empty text leaves dst all zero.
func (e *Embedder) Embed(text string, dst []float32) bool {
	return e.EmbedTokens(Tokens(text), dst)
}

// EmbedTokens is Embed of text already split by Tokens (callers that also
// index the words split once).
func (e *Embedder) EmbedTokens(toks []string, dst []float32) bool {
	if !e.weightedSum(toks, dst) {
		return false
	}
	c := e.t.Common
	var dot float32
	for d := range dst {
		dot += dst[d] * c[d]
	}
	for d := range dst {
		dst[d] -= dot * c[d]
	}
	return Normalise(dst)
}

// weightedSum sets dst to Σ a/(a+p(w))·v(w) over text's words (the
// average's 1/n is dropped: the vector is normalised or only its direction
// matters).
func (e *Embedder) weightedSum(toks []string, dst []float32) bool {
	clear(dst)
	any := false
	for _, tok := range toks {
		if e.addWord(tok, dst) {
			any = true
			continue
		}
		// "cross-border" when only "cross" and "border" are known.
		if strings.ContainsRune(tok, '-') {
			for part := range strings.SplitSeq(tok, "-") {
				if part != "" && e.addWord(part, dst) {
					any = true
				}
			}
			continue
		}
		if isNumber(tok) {
			continue // a price or a count: its digits say nothing about meaning
		}
		e.addNgrams(tok, dst)
		any = true
	}
	return any
}

func (e *Embedder) addWord(word string, dst []float32) bool {
	r, ok := e.t.index[word]
	if !ok {
		return false
	}
	dims := e.t.Dims
	s := e.weight[r] * e.t.Scales[r]
	row := e.t.Data[int(r)*dims : int(r+1)*dims]
	for d, x := range row {
		dst[d] += s * float32(x)
	}
	return true
}

// addNgrams adds a vector for a word outside the table: the sum of
// pseudo-random vectors of its character 3- to 5-grams (of "<word>"), so the
// same ticker or name always gets the same vector and similar spellings
// similar ones.
func (e *Embedder) addNgrams(word string, dst []float32) {
	w := []rune("<" + word + ">")
	tmp := make([]float32, len(dst))
	count := 0
	for n := 3; n <= 5; n++ {
		for i := 0; i+n <= len(w); i++ {
			h := fnv.New64a()
			h.Write([]byte(string(w[i : i+n])))
			x := h.Sum64()
			for d := range tmp {
				x = splitmix(x)
				// Uniform on [-1, 1): the sum over grams is then roughly Gaussian.
				tmp[d] += float32(int64(x>>11))/float32(1<<52) - 1
			}
			count++
		}
	}
	if count == 0 || !Normalise(tmp) {
		return
	}
	s := e.oovW * e.oovLen
	for d := range dst {
		dst[d] += s * tmp[d]
	}
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Tokens splits text into lower-case words the way GloVe's vocabulary is
// cut: letters and digits, with inner hyphens, apostrophes and dots kept
// ("cross-border", "o'neill", "3.5").
func Tokens(text string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		s := strings.Trim(b.String(), "-'.")
		if s != "" {
			out = append(out, s)
		}
		b.Reset()
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		case (r == '-' || r == '\'' || r == '.') && b.Len() > 0:
			b.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	return out
}

// Normalise scales v to unit length and reports whether it was non-zero.
func Normalise(v []float32) bool {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return false
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
	return true
}

// Dot is the inner product of two vectors of the same length (the cosine of
// two unit vectors).
func Dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a)
	b = b[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

func l2int8(v []int8) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func isNumber(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) && r != '.' && r != '-' && r != '\'' {
			return false
		}
	}
	return true
}
