package synth

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// Stream names keep the random streams of different generators apart, so
// that adding draws to one never shifts another.
const (
	streamWorld uint64 = iota + 1
	streamCustomer
	streamTransactions
	streamFraud
	streamShipments
	streamEmployees
	streamMerchant
)

// splitmix64 is the finaliser of SplitMix64: a fast, well-mixed hash of x.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// mix hashes a seed, a stream and an index into one value.
func mix(seed, stream, index uint64) uint64 {
	return splitmix64(splitmix64(seed^splitmix64(stream)) + index)
}

// newRand returns the random stream for (seed, stream, index). The same
// arguments always give the same sequence, whichever goroutine draws it.
func newRand(seed, stream, index uint64) *rand.Rand {
	return rand.New(rand.NewPCG(mix(seed, stream, index), mix(seed, stream+0x51ed, index)))
}

// pick returns an index drawn from the cumulative weights cdf, whose last
// element is the total.
func pick(r *rand.Rand, cdf []float64) int { return searchCDF(cdf, r.Float64()) }

// searchCDF returns the index of cdf that the uniform draw u in [0, 1)
// falls on: the first whose cumulative weight exceeds u times the total.
func searchCDF(cdf []float64, u float64) int {
	u *= cdf[len(cdf)-1]
	lo, hi := 0, len(cdf)-1
	for lo < hi {
		m := (lo + hi) / 2
		if cdf[m] > u {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// cumulative returns the running sums of w.
func cumulative(w []float64) []float64 {
	c := make([]float64, len(w))
	s := 0.0
	for i, x := range w {
		s += x
		c[i] = s
	}
	return c
}

// rng is the random source of the transaction generators: wyrand (Wang
// Yi's generator, a 64-bit Weyl sequence mixed by a 128-bit multiply, which
// passes BigCrush and PractRand). Its draws inline, where each draw of a
// *rand.Rand is an interface call into PCG: with ~20 draws a row that was a
// fifth of the generator's time. Normal draws use math/rand/v2's ziggurat,
// copied; exponential ones (rare) go through the library (norm, fed by the
// same state).
type rng struct {
	s    uint64
	norm *rand.Rand // reads s through r, for ExpFloat64
}

// newRng returns the generator stream for (seed, stream, index).
func newRng(seed, stream, index uint64) *rng {
	r := &rng{}
	r.norm = rand.New(r)
	r.seed(seed, stream, index)
	return r
}

// seed restarts r on the stream for (seed, stream, index).
func (r *rng) seed(seed, stream, index uint64) { r.s = mix(seed, stream, index) }

// Uint64 returns 64 uniform random bits.
func (r *rng) Uint64() uint64 {
	r.s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.s, r.s^0xe7037ed1a0b428db)
	return hi ^ lo
}

// Float64 returns a uniform number in [0, 1).
func (r *rng) Float64() float64 { return float64(r.Uint64()>>11) * 0x1p-53 }

// IntN returns a uniform integer in [0, n), unbiased (Lemire's method).
func (r *rng) IntN(n int) int { return int(r.uint64n(uint64(n))) }

// Int64N is IntN for int64.
func (r *rng) Int64N(n int64) int64 { return int64(r.uint64n(uint64(n))) }

func (r *rng) uint64n(n uint64) uint64 {
	hi, lo := bits.Mul64(r.Uint64(), n)
	if lo < n {
		for thresh := -n % n; lo < thresh; {
			hi, lo = bits.Mul64(r.Uint64(), n)
		}
	}
	return hi
}

// NormFloat64 returns a standard normal number: math/rand/v2's ziggurat
// (Marsaglia and Tsang's, 128 strips), here so that its draws inline.
func (r *rng) NormFloat64() float64 {
	for {
		u := r.Uint64()
		j := int32(u)
		i := u >> 32 & 0x7f
		x := float64(j) * float64(zig.w[i])
		if absInt32(j) < zig.k[i] {
			return x // 99 % of draws
		}
		if i == 0 { // the base strip's tail
			for {
				x = -math.Log(r.Float64()) * (1 / zigR)
				y := -math.Log(r.Float64())
				if y+y >= x*x {
					break
				}
			}
			if j > 0 {
				return zigR + x
			}
			return -zigR - x
		}
		if zig.f[i]+float32(r.Float64())*(zig.f[i-1]-zig.f[i]) < float32(math.Exp(-.5*x*x)) {
			return x
		}
	}
}

func absInt32(i int32) uint32 {
	if i < 0 {
		return uint32(-i)
	}
	return uint32(i)
}

// zigR is where the normal ziggurat's tail starts.
const zigR = 3.442619855899

// zig holds the normal ziggurat's tables, built as Marsaglia and Tsang's
// zigset (math/rand/v2 ships the same tables as literals).
var zig = func() (z struct {
	k    [128]uint32
	w, f [128]float32
}) {
	const m1 = 1 << 31
	const vn = 9.91256303526217e-3 // the area of each strip
	dn, tn := zigR, zigR
	q := vn / math.Exp(-.5*dn*dn)
	z.k[0] = uint32(dn / q * m1)
	z.k[1] = 0
	z.w[0] = float32(q / m1)
	z.w[127] = float32(dn / m1)
	z.f[0] = 1
	z.f[127] = float32(math.Exp(-.5 * dn * dn))
	for i := 126; i >= 1; i-- {
		dn = math.Sqrt(-2 * math.Log(vn/dn+math.Exp(-.5*dn*dn)))
		z.k[i+1] = uint32(dn / tn * m1)
		tn = dn
		z.f[i] = float32(math.Exp(-.5 * dn * dn))
		z.w[i] = float32(dn / m1)
	}
	return z
}()

// ExpFloat64 returns an exponential number of rate 1.
func (r *rng) ExpFloat64() float64 { return r.norm.ExpFloat64() }

// pickR is pick for an rng.
func pickR(r *rng, cdf []float64) int { return searchCDF(cdf, r.Float64()) }

// alias draws indexes with given weights in constant time (Vose's alias
// method), for the tables drawn from on every row: one draw of 64 bits
// gives the column (high 32 bits) and the coin (low 32 bits).
type alias struct {
	n     uint64
	thr   []uint32 // keep column i when the coin is below thr[i]
	alias []int32
	cols  []aliasCol
}

// aliasCol is column i of the table: thr[i] and alias[i] side by side, so
// that a draw reads one place.
type aliasCol struct {
	thr   uint32
	other int32
}

func newAlias(w []float64) alias {
	n := len(w)
	total := 0.0
	for _, x := range w {
		total += x
	}
	prob := make([]float64, n)
	a := alias{n: uint64(n), thr: make([]uint32, n), alias: make([]int32, n)}
	scaled := make([]float64, n)
	var small, large []int
	for i, x := range w {
		scaled[i] = x * float64(n) / total
		if scaled[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		prob[s], a.alias[s] = scaled[s], int32(l)
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range append(small, large...) {
		prob[i], a.alias[i] = 1, int32(i)
	}
	a.cols = make([]aliasCol, n)
	for i, p := range prob {
		a.thr[i] = uint32(min(p*(1<<32), 1<<32-1))
		a.cols[i] = aliasCol{a.thr[i], a.alias[i]}
	}
	return a
}

// pick draws an index. The column's law is uniform to within 2^-32 of
// each column's share; the coin's resolution is 2^-32.
func (a *alias) pick(r *rng) int {
	u := r.Uint64()
	i := (u >> 32) * a.n >> 32
	c := &a.cols[i]
	if uint32(u) < c.thr {
		return int(i)
	}
	return int(c.other)
}
