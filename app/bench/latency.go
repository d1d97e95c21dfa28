package bench

import (
	"math/bits"
	"sync/atomic"
)

// latencyHist is a log-linear histogram of durations in microseconds: exact
// below 1,024 µs, then 64 buckets per power of two (under 1.6 % error). It is
// safe for concurrent Record calls and small enough to send between processes.
type latencyHist struct {
	Counts [histBuckets]atomic.Uint64
	MaxUS  atomic.Uint64
}

const (
	histLinear  = 1024
	histSub     = 64
	histBuckets = histLinear + (64-10)*histSub
)

func histIndex(us uint64) int {
	if us < histLinear {
		return int(us)
	}
	exp := bits.Len64(us) - 1 // >= 10
	mant := (us >> (exp - 6)) & (histSub - 1)
	return histLinear + (exp-10)*histSub + int(mant)
}

// histValue is the lower edge of bucket i in microseconds.
func histValue(i int) uint64 {
	if i < histLinear {
		return uint64(i)
	}
	i -= histLinear
	exp := i/histSub + 10
	mant := uint64(i % histSub)
	return (1 << exp) | mant<<(exp-6)
}

func (h *latencyHist) Record(us uint64) {
	h.Counts[histIndex(us)].Add(1)
	for {
		m := h.MaxUS.Load()
		if us <= m || h.MaxUS.CompareAndSwap(m, us) {
			return
		}
	}
}

// Sparse returns the non-empty buckets as index -> count.
func (h *latencyHist) Sparse() map[int]uint64 {
	out := map[int]uint64{}
	for i := range h.Counts {
		if c := h.Counts[i].Load(); c > 0 {
			out[i] = c
		}
	}
	return out
}

// AddSparse merges buckets from Sparse (another process's histogram).
func (h *latencyHist) AddSparse(s map[int]uint64, maxUS uint64) {
	for i, c := range s {
		if i >= 0 && i < histBuckets {
			h.Counts[i].Add(c)
		}
	}
	if maxUS > h.MaxUS.Load() {
		h.MaxUS.Store(maxUS)
	}
}

// Take returns the non-empty buckets and the maximum, as Sparse does, and
// empties the histogram (records racing with it land in one side or the other).
func (h *latencyHist) Take() (map[int]uint64, uint64) {
	out := map[int]uint64{}
	for i := range h.Counts {
		if c := h.Counts[i].Swap(0); c > 0 {
			out[i] = c
		}
	}
	return out, h.MaxUS.Swap(0)
}

func (h *latencyHist) Total() uint64 {
	var n uint64
	for i := range h.Counts {
		n += h.Counts[i].Load()
	}
	return n
}

// Quantile returns the q-quantile (0..1) in microseconds.
func (h *latencyHist) Quantile(q float64) uint64 {
	total := h.Total()
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total-1)) + 1
	var seen uint64
	for i := range h.Counts {
		seen += h.Counts[i].Load()
		if seen >= rank {
			return histValue(i)
		}
	}
	return h.MaxUS.Load()
}
