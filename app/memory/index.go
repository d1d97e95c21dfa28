package memory

import (
	"container/heap"

	"github.com/metastation/metastation/app/memory/wordvec"
)

// index is the working set: every memory with its unit vector, in id order,
// and the agents' streams. Exact cosine over it is the vector search; at
// 100k memories of 100 dimensions a scan takes a few milliseconds, so no
// approximate index is needed (NOTES: coder/hnsw measured recall@10 of 0.01
// to 0.19 here).
type index struct {
	dims    int
	mems    memChunks
	vecs    [][]float32 // unit vectors in chunks of vecChunk rows: appending never copies the ones before
	agentOf []int32     // interned agent of each memory
	byID    map[int64]int
	agents  map[string]int32
	names   []string
	streams [][]int // positions of each agent's memories, in write order
	newest  int64   // the newest simulated time, Unix ms
	lex     *lexicon
}

func newIndex(dims int) *index {
	return &index{dims: dims, byID: map[int64]int{}, agents: map[string]int32{}, lex: newLexicon()}
}

// add appends a memory with its unit vector and its lexicon terms.
func (x *index) add(m Memory, vec []float32, terms []string) int {
	a, ok := x.agents[m.Agent]
	if !ok {
		a = int32(len(x.names))
		x.agents[m.Agent] = a
		x.names = append(x.names, m.Agent)
		x.streams = append(x.streams, nil)
	}
	pos := x.mems.push(m)
	if n := len(x.vecs); n == 0 || len(x.vecs[n-1]) == vecChunk*x.dims {
		x.vecs = append(x.vecs, make([]float32, 0, vecChunk*x.dims))
	}
	last := len(x.vecs) - 1
	x.vecs[last] = append(x.vecs[last], vec...)
	x.agentOf = append(x.agentOf, a)
	x.byID[m.ID] = pos
	x.streams[a] = append(x.streams[a], pos)
	x.newest = max(x.newest, m.SimTime.UnixMilli())
	x.lex.add(pos, terms)
	return pos
}

// vecChunk is how many vectors one chunk holds (a power of two, so a
// position splits with a shift and a mask). One flat slice regrown by
// append copied and zeroed every vector on each growth: at 100k memories a
// visible share of an insert's CPU.
const (
	vecChunkBits = 10
	vecChunk     = 1 << vecChunkBits
)

// memChunks holds the memories in chunks of vecChunk, for the reason the
// vectors are chunked: regrowing one flat []Memory copied every memory and
// handed the GC ever larger pointerful arrays (a tenth of an insert's CPU).
type memChunks struct {
	chunks [][]Memory
	n      int
}

func (c *memChunks) len() int { return c.n }

// at returns the memory at pos, which stays put while others are added.
func (c *memChunks) at(pos int) *Memory {
	return &c.chunks[pos>>vecChunkBits][pos&(vecChunk-1)]
}

// push appends m and returns its position.
func (c *memChunks) push(m Memory) int {
	if c.n&(vecChunk-1) == 0 {
		c.chunks = append(c.chunks, make([]Memory, 0, vecChunk))
	}
	last := len(c.chunks) - 1
	c.chunks[last] = append(c.chunks[last], m)
	c.n++
	return c.n - 1
}

func (x *index) vec(pos int) []float32 {
	off := (pos & (vecChunk - 1)) * x.dims
	return x.vecs[pos>>vecChunkBits][off : off+x.dims]
}

// filter is what a search keeps.
type filter struct {
	agent        string
	kinds        []Kind
	fromMS, toMS int64 // 0: open
	tags         []string
}

// compiled is a filter resolved against the index.
type compiled struct {
	f      filter
	agent  int32 // -1: any
	kinds  uint8 // bit per Kinds entry; 0: any
	noneOK bool  // the agent is unknown: nothing matches
}

func (x *index) compile(f filter) compiled {
	c := compiled{f: f, agent: -1}
	if f.agent != "" {
		a, ok := x.agents[f.agent]
		c.agent, c.noneOK = a, !ok
	}
	for _, k := range f.kinds {
		c.kinds |= kindBit(k)
	}
	return c
}

func kindBit(k Kind) uint8 {
	for i, x := range Kinds {
		if k == x {
			return 1 << i
		}
	}
	return 0
}

func (x *index) keep(c *compiled, pos int) bool {
	if c.agent >= 0 && x.agentOf[pos] != c.agent {
		return false
	}
	m := x.mems.at(pos)
	if m.Status != Active {
		return false
	}
	if c.kinds != 0 && c.kinds&kindBit(m.Kind) == 0 {
		return false
	}
	ms := m.SimTime.UnixMilli()
	if (c.f.fromMS != 0 && ms < c.f.fromMS) || (c.f.toMS != 0 && ms > c.f.toMS) {
		return false
	}
	for _, t := range c.f.tags {
		if !hasTag(m.Tags, t) {
			return false
		}
	}
	return true
}

func hasTag(tags []string, t string) bool {
	for _, x := range tags {
		if x == t {
			return true
		}
	}
	return false
}

// vectorHit is one memory and its cosine to the query.
type vectorHit struct {
	pos    int
	cosine float32
}

// nearest returns the k memories kept by c with the highest cosine to q,
// best first (ties by lower position), by an exact scan.
func (x *index) nearest(q []float32, c compiled, k int) []vectorHit {
	if c.noneOK || k <= 0 {
		return nil
	}
	h := make(hitHeap, 0, k+1)
	scan := func(pos int) {
		if !x.keep(&c, pos) {
			return
		}
		cos := wordvec.Dot(q, x.vec(pos))
		if len(h) < k {
			heap.Push(&h, vectorHit{pos, cos})
		} else if better(vectorHit{pos, cos}, h[0]) {
			h[0] = vectorHit{pos, cos}
			heap.Fix(&h, 0)
		}
	}
	if c.agent >= 0 {
		for _, pos := range x.streams[c.agent] {
			scan(pos)
		}
	} else {
		for pos := range x.mems.len() {
			scan(pos)
		}
	}
	out := make([]vectorHit, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&h).(vectorHit)
	}
	return out
}

func better(a, b vectorHit) bool {
	if a.cosine != b.cosine {
		return a.cosine > b.cosine
	}
	return a.pos < b.pos
}

// hitHeap is a min-heap: its root is the worst of the best k.
type hitHeap []vectorHit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(v any)        { *h = append(*h, v.(vectorHit)) }
func (h *hitHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}
