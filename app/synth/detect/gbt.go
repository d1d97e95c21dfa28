package detect

import (
	"math"
	"slices"
)

// GBT is a gradient-boosted ensemble of shallow regression trees on
// binned features, fitted to the logistic loss (the XGBoost/LightGBM recipe
// reduced to its core): each tree fits the loss's gradient and Hessian, its
// leaves take a Newton step.
type GBT struct {
	Edges [][]float64 // per feature, the upper edges of its bins
	Trees []tree
	Base  float64 // starting log-odds
	Rate  float64 // learning rate
}

// GBTOptions tune TrainGBT. Zero values take the defaults.
type GBTOptions struct {
	Trees   int     // default 150
	Depth   int     // default 4
	Rate    float64 // default 0.1
	Bins    int     // default 32
	Lambda  float64 // L2 penalty on leaf values; default 1
	MinHess float64 // least Hessian in a leaf; default 5
}

type node struct {
	Feature     int     // -1 for a leaf
	Bin         uint8   // rows with bin <= Bin go left
	Left, Right int     // child indexes
	Value       float64 // leaf value
}

type tree []node

// TrainGBT fits a GBT to the row-major features x (d columns) and labels y.
func TrainGBT(x []float64, d int, y []float64, opt GBTOptions) *GBT {
	if opt.Trees == 0 {
		opt.Trees = 150
	}
	if opt.Depth == 0 {
		opt.Depth = 4
	}
	if opt.Rate == 0 {
		opt.Rate = 0.1
	}
	if opt.Bins == 0 {
		opt.Bins = 32
	}
	if opt.Lambda == 0 {
		opt.Lambda = 1
	}
	if opt.MinHess == 0 {
		opt.MinHess = 5
	}
	n := len(y)
	m := &GBT{Rate: opt.Rate, Edges: make([][]float64, d)}
	b := &builder{n: n, d: d, opt: opt, binned: make([]uint8, n*d), g: make([]float64, n), h: make([]float64, n)}
	// Quantile bins per feature, stored column by column.
	col := make([]float64, n)
	for j := range d {
		for i := range n {
			col[i] = x[i*d+j]
		}
		sorted := slices.Clone(col)
		slices.Sort(sorted)
		var edges []float64
		for k := 1; k < opt.Bins; k++ {
			e := sorted[k*n/opt.Bins]
			if len(edges) == 0 || e > edges[len(edges)-1] {
				edges = append(edges, e)
			}
		}
		m.Edges[j] = edges
		for i := range n {
			b.binned[j*n+i] = binOf(edges, col[i])
		}
	}
	pos := 0.0
	for _, v := range y {
		pos += v
	}
	p0 := math.Min(math.Max(pos/float64(n), 1e-6), 1-1e-6)
	m.Base = math.Log(p0 / (1 - p0))
	f := make([]float64, n)
	for i := range f {
		f[i] = m.Base
	}
	rows := make([]int32, n)
	for range opt.Trees {
		for i := range n {
			p := sigmoid(f[i])
			b.g[i], b.h[i] = p-y[i], math.Max(p*(1-p), 1e-12)
			rows[i] = int32(i)
		}
		b.t = nil
		b.grow(rows, 0)
		t := b.t
		for i := range n {
			k := 0
			for t[k].Feature >= 0 {
				if b.binned[t[k].Feature*n+i] <= t[k].Bin {
					k = t[k].Left
				} else {
					k = t[k].Right
				}
			}
			f[i] += opt.Rate * t[k].Value
		}
		m.Trees = append(m.Trees, t)
	}
	return m
}

// builder grows one tree over binned training rows.
type builder struct {
	n, d   int
	opt    GBTOptions
	binned []uint8 // column-major bins
	g, h   []float64
	t      tree
}

// grow adds the subtree over rows and returns the index of its root.
func (b *builder) grow(rows []int32, depth int) int {
	var G, H float64
	for _, r := range rows {
		G += b.g[r]
		H += b.h[r]
	}
	lambda := b.opt.Lambda
	me := len(b.t)
	b.t = append(b.t, node{Feature: -1, Value: -G / (H + lambda)})
	if depth >= b.opt.Depth || H < 2*b.opt.MinHess {
		return me
	}
	best, bestF, bestB := 0.0, -1, 0
	var gh, hh [256]float64
	for j := range b.d {
		clear(gh[:])
		clear(hh[:])
		bins := b.binned[j*b.n : (j+1)*b.n]
		for _, r := range rows {
			gh[bins[r]] += b.g[r]
			hh[bins[r]] += b.h[r]
		}
		var gl, hl float64
		for k := range 255 {
			gl += gh[k]
			hl += hh[k]
			gr, hr := G-gl, H-hl
			if hl < b.opt.MinHess || hr < b.opt.MinHess {
				continue
			}
			gain := gl*gl/(hl+lambda) + gr*gr/(hr+lambda) - G*G/(H+lambda)
			if gain > best {
				best, bestF, bestB = gain, j, k
			}
		}
	}
	if bestF < 0 {
		return me
	}
	bins := b.binned[bestF*b.n : (bestF+1)*b.n]
	var left, right []int32
	for _, r := range rows {
		if int(bins[r]) <= bestB {
			left = append(left, r)
		} else {
			right = append(right, r)
		}
	}
	l := b.grow(left, depth+1)
	r := b.grow(right, depth+1)
	b.t[me] = node{Feature: bestF, Bin: uint8(bestB), Left: l, Right: r}
	return me
}

// binOf returns the bin of v: the number of edges below it.
func binOf(edges []float64, v float64) uint8 {
	k, _ := slices.BinarySearch(edges, v)
	if k < len(edges) && edges[k] == v {
		k++ // v equal to an edge falls in the bin above, as at training
	}
	return uint8(k)
}

// Score returns the fraud probability of one feature row.
func (m *GBT) Score(row []float64) float64 {
	f := m.Base
	var bins [256]uint8
	for j, v := range row {
		bins[j] = binOf(m.Edges[j], v)
	}
	for _, t := range m.Trees {
		k := 0
		for t[k].Feature >= 0 {
			if bins[t[k].Feature] <= t[k].Bin {
				k = t[k].Left
			} else {
				k = t[k].Right
			}
		}
		f += m.Rate * t[k].Value
	}
	return sigmoid(f)
}
