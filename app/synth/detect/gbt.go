package detect

import (
	"math"
	"math/rand/v2"
	"slices"
)

// GBT is a gradient-boosted ensemble of regression trees on binned
// features, fitted to the logistic loss: each tree fits the loss's gradient
// and Hessian and its leaves take a Newton step. Training follows
// scikit-learn's HistGradientBoostingClassifier (itself after LightGBM):
// up to 255 quantile bins per feature, trees grown best-first to a number
// of leaves, a least number of rows per leaf, histogram subtraction, and
// early stopping on a held-out slice of the training rows.
type GBT struct {
	Edges [][]float64 // per feature, the upper edges of its bins
	Trees []tree
	Base  float64 // starting log-odds
	Rate  float64 // learning rate
}

// GBTOptions tune TrainGBT. Zero values take the defaults.
type GBTOptions struct {
	Trees     int     // most boosting iterations; default 300
	Rate      float64 // learning rate; default 0.05
	MaxLeaves int     // leaves per tree, grown best gain first; default 31
	Depth     int     // deepest leaf; default 0, no limit but MaxLeaves
	MinLeaf   int     // least training rows in a leaf; default 20
	MinHess   float64 // least Hessian in a leaf; default 1e-3
	Lambda    float64 // L2 penalty on leaf values; default 0
	Bins      int     // bins per feature, at most 255; default 255
	// Validation is the share of the rows held out (stratified, drawn by
	// Seed) to stop when their loss no longer falls; by default 0.1 when
	// there are more than 10,000 rows, else none; negative: none.
	Validation float64
	Patience   int     // iterations without a better validation loss before stopping; default 10
	Tol        float64 // least improvement of the validation loss that counts; default 1e-7
	Seed       uint64  // draws the validation rows
}

func (o GBTOptions) withDefaults(n int) GBTOptions {
	if o.Trees == 0 {
		o.Trees = 300
	}
	if o.Rate == 0 {
		o.Rate = 0.05
	}
	if o.MaxLeaves == 0 {
		o.MaxLeaves = 31
	}
	if o.MinLeaf == 0 {
		o.MinLeaf = 20
	}
	if o.MinHess == 0 {
		o.MinHess = 1e-3
	}
	if o.Bins == 0 || o.Bins > 255 {
		o.Bins = 255
	}
	if o.Validation == 0 && n > 10_000 {
		o.Validation = 0.1
	}
	if o.Patience == 0 {
		o.Patience = 10
	}
	if o.Tol == 0 {
		o.Tol = 1e-7
	}
	return o
}

type node struct {
	Feature     int     // -1 for a leaf
	Bin         uint8   // rows with bin <= Bin go left
	Left, Right int     // child indexes
	Value       float64 // leaf value (before the learning rate)
}

type tree []node

// TrainGBT fits a GBT to the row-major features x (d columns, at most 255)
// and labels y (0 or 1). It is deterministic: the same data and options
// give the same model.
func TrainGBT(x []float64, d int, y []float64, opt GBTOptions) *GBT {
	n := len(y)
	opt = opt.withDefaults(n)
	train, valid := validationSplit(y, opt.Validation, opt.Seed)
	m := &GBT{Rate: opt.Rate, Edges: make([][]float64, d)}
	b := newBuilder(n, d, len(train), opt)
	col := make([]float64, 0, len(train))
	for j := range d {
		col = col[:0]
		for _, i := range train {
			col = append(col, x[int(i)*d+j])
		}
		m.Edges[j] = binEdges(col, opt.Bins)
		b.offset[j+1] = b.offset[j] + len(m.Edges[j]) + 1
		dst := b.binned[j*n : (j+1)*n]
		for i := range n {
			dst[i] = binOf(m.Edges[j], x[i*d+j])
			b.rowBins[i*d+j] = dst[i]
		}
	}
	b.hists = make([]hist, 0, opt.MaxLeaves)

	pos := 0.0
	for _, i := range train {
		pos += y[i]
	}
	p0 := math.Min(math.Max(pos/float64(len(train)), 1e-6), 1-1e-6)
	m.Base = math.Log(p0 / (1 - p0))
	f := make([]float64, n) // raw scores of the training and validation rows
	for i := range f {
		f[i] = m.Base
	}
	bestLoss, bestTrees := validLoss(f, y, valid), 0
	for range opt.Trees {
		for _, i := range train {
			p := sigmoid(f[i])
			b.g[i], b.h[i] = p-y[i], math.Max(p*(1-p), 1e-16)
		}
		t := b.grow(train)
		// The leaves hold their rows: update the training scores from them,
		// walk the tree for the validation rows.
		for _, l := range b.leaves {
			v := opt.Rate * t[l.id].Value
			for _, i := range b.rows[l.start:l.end] {
				f[i] += v
			}
		}
		for _, i := range valid {
			f[i] += opt.Rate * t[b.leafOf(t, int(i))].Value
		}
		m.Trees = append(m.Trees, t)
		if len(valid) == 0 {
			continue
		}
		if loss := validLoss(f, y, valid); loss < bestLoss-opt.Tol {
			bestLoss, bestTrees = loss, len(m.Trees)
		} else if len(m.Trees)-bestTrees >= opt.Patience {
			break
		}
	}
	if len(valid) > 0 {
		m.Trees = m.Trees[:bestTrees] // the trees after the best validation loss only overfit
	}
	return m
}

// validationSplit returns the training and validation row indexes: a
// share of the positives and of the negatives drawn by seed, so both parts
// keep the fraud rate. Both lists are in increasing order.
func validationSplit(y []float64, share float64, seed uint64) (train, valid []int32) {
	if share <= 0 {
		train = make([]int32, len(y))
		for i := range train {
			train[i] = int32(i)
		}
		return train, nil
	}
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	held := make([]bool, len(y))
	for _, label := range []float64{0, 1} {
		var idx []int32
		for i, v := range y {
			if v == label {
				idx = append(idx, int32(i))
			}
		}
		r.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for _, i := range idx[:int(math.Round(share*float64(len(idx))))] {
			held[i] = true
		}
	}
	for i, h := range held {
		if h {
			valid = append(valid, int32(i))
		} else {
			train = append(train, int32(i))
		}
	}
	return train, valid
}

// validLoss is the mean logistic loss of the raw scores f on rows.
func validLoss(f, y []float64, rows []int32) float64 {
	if len(rows) == 0 {
		return 0
	}
	s := 0.0
	for _, i := range rows {
		s += softplus(f[i]) - y[i]*f[i]
	}
	return s / float64(len(rows))
}

// binEdges returns the upper edges of at most bins bins of v (v is
// reordered): midpoints between the distinct values when there are few,
// else midpoints at evenly spaced quantiles, as scikit-learn bins.
func binEdges(v []float64, bins int) []float64 {
	var distinct []float64 // sorted, until there are more than bins
	for _, x := range v {
		k, found := slices.BinarySearch(distinct, x)
		if !found {
			if distinct = slices.Insert(distinct, k, x); len(distinct) > bins {
				distinct = nil
				break
			}
		}
	}
	var edges []float64
	if distinct != nil {
		for k := 1; k < len(distinct); k++ {
			edges = append(edges, (distinct[k-1]+distinct[k])/2)
		}
		return edges
	}
	slices.Sort(v)
	last := float64(len(v) - 1)
	for k := 1; k < bins; k++ {
		p := float64(k) / float64(bins) * last
		e := (v[int(math.Floor(p))] + v[int(math.Ceil(p))]) / 2
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}

// binOf returns the bin of v: the number of edges at or below it.
func binOf(edges []float64, v float64) uint8 {
	k, _ := slices.BinarySearch(edges, v)
	if k < len(edges) && edges[k] == v {
		k++ // v equal to an edge falls in the bin above, as models trained before midpoint edges expect
	}
	return uint8(k)
}

// bucket is one bin of a histogram: the sums of the gradients and Hessians
// of its rows and their count.
type bucket struct {
	G, H float64
	N    int
}

// hist holds the buckets of every feature, feature j at offset[j].
type hist []bucket

// split is the best split found for a node.
type split struct {
	gain    float64
	feature int
	bin     int
	gl, hl  float64 // sums of the left child
	nl      int
}

// growing is a node of the tree being grown: its rows are
// rows[start:end] of the builder.
type growing struct {
	id, start, end, depth int
	g, h                  float64
	hist                  hist
	best                  split
}

// builder grows trees over the binned rows, reusing its buffers.
type builder struct {
	n, d    int
	opt     GBTOptions
	binned  []uint8 // column-major bins of every row (partitions, validation rows)
	rowBins []uint8 // the same, row-major (histograms)
	offset  []int   // feature j's buckets are hist[offset[j]:offset[j+1]]
	g, h    []float64
	rows    []int32 // the rows of the tree, each node's rows contiguous
	tmp     []int32
	hists   []hist    // free histograms
	leaves  []growing // the finished leaves of the last tree
}

func newBuilder(n, d, trainRows int, opt GBTOptions) *builder {
	return &builder{
		n: n, d: d, opt: opt,
		binned: make([]uint8, n*d), rowBins: make([]uint8, n*d), offset: make([]int, d+1),
		g: make([]float64, n), h: make([]float64, n),
		rows: make([]int32, trainRows), tmp: make([]int32, trainRows),
	}
}

// grow fits one tree to the gradients of the train rows, best split
// first, until it has MaxLeaves leaves or no split gains.
func (b *builder) grow(train []int32) tree {
	copy(b.rows, train)
	root := growing{start: 0, end: len(train), hist: b.newHist()}
	b.fill(root.hist, b.rows)
	for _, k := range root.hist[b.offset[0]:b.offset[1]] {
		root.g += k.G
		root.h += k.H
	}
	t := tree{{Feature: -1}}
	b.findSplit(&root)
	open := []growing{root} // leaves that may still split
	b.leaves = b.leaves[:0]
	for len(open) > 0 && len(open)+len(b.leaves) < b.opt.MaxLeaves {
		k := 0
		for i := range open {
			if open[i].best.gain > open[k].best.gain {
				k = i
			}
		}
		p := open[k]
		open = slices.Delete(open, k, k+1)
		if p.best.gain <= 0 {
			b.leaves = append(b.leaves, p)
			continue
		}
		l, r := b.split(&p, &t)
		for _, c := range []growing{l, r} {
			b.findSplit(&c)
			open = append(open, c)
		}
	}
	b.leaves = append(b.leaves, open...)
	for _, l := range b.leaves {
		t[l.id].Value = -l.g / (l.h + b.opt.Lambda)
		if l.hist != nil {
			b.hists = append(b.hists, l.hist)
		}
	}
	return t
}

// split divides node p's rows by its best split, adds the two children to
// t, and gives them their histograms: the smaller child's built from its
// rows, the larger's as the parent's minus the smaller's.
func (b *builder) split(p *growing, t *tree) (l, r growing) {
	s := p.best
	bins := b.binned[s.feature*b.n : (s.feature+1)*b.n]
	rows := b.rows[p.start:p.end]
	nl := 0
	tmp := b.tmp[:0]
	for _, i := range rows { // stable, so each node's rows stay in increasing order
		if int(bins[i]) <= s.bin {
			rows[nl] = i
			nl++
		} else {
			tmp = append(tmp, i)
		}
	}
	copy(rows[nl:], tmp)
	l = growing{id: len(*t), start: p.start, end: p.start + nl, depth: p.depth + 1, g: s.gl, h: s.hl}
	r = growing{id: len(*t) + 1, start: p.start + nl, end: p.end, depth: p.depth + 1, g: p.g - s.gl, h: p.h - s.hl}
	(*t)[p.id] = node{Feature: s.feature, Bin: uint8(s.bin), Left: l.id, Right: r.id}
	*t = append(*t, node{Feature: -1}, node{Feature: -1})
	small, large := &l, &r
	if r.end-r.start < l.end-l.start {
		small, large = &r, &l
	}
	small.hist = b.newHist()
	b.fill(small.hist, b.rows[small.start:small.end])
	large.hist = p.hist
	for k := range large.hist {
		large.hist[k].G -= small.hist[k].G
		large.hist[k].H -= small.hist[k].H
		large.hist[k].N -= small.hist[k].N
	}
	return l, r
}

// findSplit sets c.best to the split of c with the largest gain in loss
// that leaves both children MinLeaf rows and MinHess Hessian; a node that
// cannot split gets gain 0 and gives its histogram back.
func (b *builder) findSplit(c *growing) {
	c.best = split{}
	n := c.end - c.start
	if (b.opt.Depth > 0 && c.depth >= b.opt.Depth) || n < 2*b.opt.MinLeaf || c.h < 2*b.opt.MinHess {
		b.hists = append(b.hists, c.hist)
		c.hist = nil
		return
	}
	lambda := b.opt.Lambda
	parent := c.g * c.g / (c.h + lambda)
	for j := range b.d {
		var gl, hl float64
		nl := 0
		buckets := c.hist[b.offset[j]:b.offset[j+1]]
		for k := range len(buckets) - 1 {
			gl += buckets[k].G
			hl += buckets[k].H
			nl += buckets[k].N
			if nl < b.opt.MinLeaf || hl < b.opt.MinHess {
				continue
			}
			if n-nl < b.opt.MinLeaf {
				break
			}
			gr, hr := c.g-gl, c.h-hl
			if hr < b.opt.MinHess {
				continue
			}
			gain := gl*gl/(hl+lambda) + gr*gr/(hr+lambda) - parent
			if gain > c.best.gain {
				c.best = split{gain: gain, feature: j, bin: k, gl: gl, hl: hl, nl: nl}
			}
		}
	}
	if c.best.gain <= 0 {
		b.hists = append(b.hists, c.hist)
		c.hist = nil
	}
}

// fill sets h to the histogram of rows. It reads the bins row by row
// (LightGBM's row-wise histograms): a row's bins share a cache line, and
// the updates of one row go to different features, so they do not wait on
// each other as a column's runs of equal bins (one-hot columns) would.
func (b *builder) fill(h hist, rows []int32) {
	clear(h)
	d, off := b.d, b.offset[:b.d]
	for _, i := range rows {
		g, hs := b.g[i], b.h[i]
		bins := b.rowBins[int(i)*d : int(i)*d+d]
		for j, o := range off {
			c := &h[o+int(bins[j])]
			c.G += g
			c.H += hs
			c.N++
		}
	}
}

func (b *builder) newHist() hist {
	if k := len(b.hists); k > 0 {
		h := b.hists[k-1]
		b.hists = b.hists[:k-1]
		return h
	}
	return make(hist, b.offset[b.d])
}

// leafOf returns the index of the leaf of t that row i of the binned data
// falls in.
func (b *builder) leafOf(t tree, i int) int {
	k := 0
	for t[k].Feature >= 0 {
		if b.binned[t[k].Feature*b.n+i] <= t[k].Bin {
			k = t[k].Left
		} else {
			k = t[k].Right
		}
	}
	return k
}

// Score returns the fraud probability of one feature row.
func (m *GBT) Score(row []float64) float64 {
	f := m.Base
	var bins [256]uint8
	for j, v := range row {
		bins[j] = binOf(m.Edges[j], v)
	}
	for _, t := range m.Trees {
		f += m.Rate * t[t.leaf(bins[:])].Value
	}
	return sigmoid(f)
}

// leaf returns the index of the leaf of t that a row with these bins falls in.
func (t tree) leaf(bins []uint8) int {
	k := 0
	for t[k].Feature >= 0 {
		if bins[t[k].Feature] <= t[k].Bin {
			k = t[k].Left
		} else {
			k = t[k].Right
		}
	}
	return k
}
