package synth

import "math/rand/v2"

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

// reseed sets src to the state newRand(seed, stream, index) starts from.
func reseed(src *rand.PCG, seed, stream, index uint64) {
	src.Seed(mix(seed, stream, index), mix(seed, stream+0x51ed, index))
}

// pick returns an index drawn from the cumulative weights cdf, whose last
// element is the total.
func pick(r *rand.Rand, cdf []float64) int {
	u := r.Float64() * cdf[len(cdf)-1]
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

// alias draws indexes with given weights in constant time (Vose's alias
// method), for the tables drawn from on every row.
type alias struct {
	prob  []float64
	alias []int32
}

func newAlias(w []float64) alias {
	n := len(w)
	total := 0.0
	for _, x := range w {
		total += x
	}
	a := alias{prob: make([]float64, n), alias: make([]int32, n)}
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
		a.prob[s], a.alias[s] = scaled[s], int32(l)
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range append(small, large...) {
		a.prob[i], a.alias[i] = 1, int32(i)
	}
	return a
}

func (a *alias) pick(r *rand.Rand) int {
	u := r.Float64() * float64(len(a.prob))
	i := int(u)
	if u-float64(i) < a.prob[i] {
		return i
	}
	return int(a.alias[i])
}
