package bench

import (
	"fmt"
	"testing"
)

func TestLatencyHistQuantiles(t *testing.T) {
	var h latencyHist
	for us := uint64(1); us <= 100_000; us++ {
		h.Record(us)
	}
	tests := []struct {
		q    float64
		want uint64
	}{{0.5, 50_000}, {0.99, 99_000}, {0.001, 100}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("q%g", tt.q), func(t *testing.T) {
			got := h.Quantile(tt.q)
			if diff := float64(got) - float64(tt.want); diff > 0.02*float64(tt.want) || diff < -0.02*float64(tt.want) {
				t.Errorf("q%.3f = %d, want %d within 2%%", tt.q, got, tt.want)
			}
		})
	}
	if h.MaxUS.Load() != 100_000 || h.Total() != 100_000 {
		t.Fatalf("max %d total %d", h.MaxUS.Load(), h.Total())
	}
	var m latencyHist
	m.AddSparse(h.Sparse(), h.MaxUS.Load())
	if m.Quantile(0.5) != h.Quantile(0.5) || m.Total() != h.Total() {
		t.Fatal("a histogram sent through Sparse differs")
	}
	for _, v := range []uint64{0, 1023, 1024, 1 << 20, 1<<40 + 12345} {
		if lo := histValue(histIndex(v)); lo > v || float64(v-lo) > 0.016*float64(v)+1 {
			t.Errorf("value %d falls in a bucket starting at %d", v, lo)
		}
	}
}
