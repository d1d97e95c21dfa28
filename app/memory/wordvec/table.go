// Package wordvec holds pre-trained word vectors in a compact int8 form and
// turns sentences into vectors with SIF (Arora, Liang and Ma, "A Simple but
// Tough-to-Beat Baseline for Sentence Embeddings", 2017): a weighted average
// of word vectors, weights a/(a+p(w)), with the first principal component of
// a reference corpus removed. Words outside the table fall back to hashed
// character n-grams, so tickers and names still match themselves.
package wordvec

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"

	"gonum.org/v1/gonum/mat"
)

// magic opens every word-vector file; formatVersion is its layout.
const (
	magic         = "MSWV"
	formatVersion = 1
)

// Table is a vocabulary of words, most frequent first, each with an int8
// vector and its scale (value = scale * int8).
type Table struct {
	Dims   int
	Words  []string
	Scales []float32
	Data   []int8    // len(Words)*Dims, row-major
	Common []float32 // SIF's common component, unit length; all zero until fitted

	index   map[string]int32
	version string
}

// Quantise builds a table from float vectors, one per word, in frequency
// order. Each vector keeps its own scale, max|v|/127, so a rare word with
// small components loses no more precision than a frequent one.
func Quantise(words []string, vecs [][]float32) *Table {
	dims := 0
	if len(vecs) > 0 {
		dims = len(vecs[0])
	}
	t := &Table{Dims: dims, Words: words, Scales: make([]float32, len(words)),
		Data: make([]int8, len(words)*dims), Common: make([]float32, dims)}
	for i, v := range vecs {
		var m float32
		for _, x := range v {
			m = max(m, float32(math.Abs(float64(x))))
		}
		if m == 0 {
			continue
		}
		s := m / 127
		t.Scales[i] = s
		row := t.Data[i*dims : (i+1)*dims]
		for d, x := range v {
			row[d] = int8(math.Round(float64(x / s)))
		}
	}
	t.buildIndex()
	return t
}

func (t *Table) buildIndex() {
	t.index = make(map[string]int32, len(t.Words))
	for i, w := range t.Words {
		if _, dup := t.index[w]; !dup {
			t.index[w] = int32(i)
		}
	}
}

// Rank returns a word's frequency rank (0 is the most frequent).
func (t *Table) Rank(word string) (int, bool) {
	i, ok := t.index[word]
	return int(i), ok
}

// Version names the exact vectors: stored sentence vectors are comparable
// only with query vectors of the same version.
func (t *Table) Version() string { return t.version }

// FitCommonComponent sets Common to the first right singular vector of the
// matrix of SIF sentence vectors of corpus (uncentred, as in the paper).
func (t *Table) FitCommonComponent(corpus []string) {
	clear(t.Common)
	e := NewEmbedder(t)
	gram := mat.NewSymDense(t.Dims, nil)
	v := make([]float64, t.Dims)
	raw := make([]float32, t.Dims)
	for _, s := range corpus {
		if !e.weightedSum(Tokens(s), raw) {
			continue
		}
		for d := range v {
			v[d] = float64(raw[d])
		}
		gram.SymRankOne(gram, 1, mat.NewVecDense(t.Dims, v))
	}
	var eig mat.EigenSym
	if !eig.Factorize(gram, true) {
		return
	}
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	top := t.Dims - 1 // eigenvalues ascend
	// A fixed sign keeps the file byte-identical across runs and machines.
	sign := 1.0
	if vecs.At(0, top) < 0 {
		sign = -1
	}
	for d := range t.Dims {
		t.Common[d] = float32(sign * vecs.At(d, top))
	}
}

// Write encodes the table: magic, format, dims, count, the words
// (length-prefixed), the scales, the int8 data and the common component,
// all little-endian.
func (t *Table) Write(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString(magic)
	le := binary.LittleEndian
	b.Write(le.AppendUint16(nil, formatVersion))
	b.Write(le.AppendUint16(nil, uint16(t.Dims)))
	b.Write(le.AppendUint32(nil, uint32(len(t.Words))))
	for _, word := range t.Words {
		if len(word) > 255 {
			return fmt.Errorf("word %.20q... is longer than 255 bytes", word)
		}
		b.WriteByte(byte(len(word)))
		b.WriteString(word)
	}
	for _, s := range t.Scales {
		b.Write(le.AppendUint32(nil, math.Float32bits(s)))
	}
	for _, x := range t.Data {
		b.WriteByte(byte(x))
	}
	for _, c := range t.Common {
		b.Write(le.AppendUint32(nil, math.Float32bits(c)))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Read decodes a table written by Write.
func Read(data []byte) (*Table, error) {
	r := reader{b: data}
	if string(r.next(4)) != magic {
		return nil, errors.New("word vectors: not a word-vector file")
	}
	if v := r.u16(); v != formatVersion {
		return nil, fmt.Errorf("word vectors: format %d, this build reads %d", v, formatVersion)
	}
	t := &Table{Dims: int(r.u16())}
	n := int(r.u32())
	if r.err != nil || t.Dims == 0 || n > len(data) {
		return nil, errors.New("word vectors: truncated header")
	}
	t.Words = make([]string, n)
	for i := range n {
		l := int(r.u8())
		t.Words[i] = string(r.next(l))
	}
	t.Scales = make([]float32, n)
	for i := range n {
		t.Scales[i] = math.Float32frombits(r.u32())
	}
	raw := r.next(n * t.Dims)
	t.Data = make([]int8, len(raw))
	for i, x := range raw {
		t.Data[i] = int8(x)
	}
	t.Common = make([]float32, t.Dims)
	for d := range t.Dims {
		t.Common[d] = math.Float32frombits(r.u32())
	}
	if r.err != nil {
		return nil, fmt.Errorf("word vectors: %w", r.err)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("word vectors: %d bytes after the end", len(r.b))
	}
	t.buildIndex()
	sum := sha256.Sum256(data)
	t.version = fmt.Sprintf("glove%dd-int8-sif-%s", t.Dims, hex.EncodeToString(sum[:6]))
	return t, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) next(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = io.ErrUnexpectedEOF
		return make([]byte, min(n, 8)) // enough for the fixed-size reads; callers check r.err
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() uint8   { return r.next(1)[0] }
func (r *reader) u16() uint16 { return binary.LittleEndian.Uint16(r.next(2)) }
func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.next(4)) }
