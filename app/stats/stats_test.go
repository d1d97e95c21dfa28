package stats

import (
	"math"
	"testing"
)

func TestMeanCI95(t *testing.T) {
	tests := []struct {
		name       string
		xs         []float64
		mean, half float64
	}{
		{"none", nil, 0, 0},
		{"one", []float64{4}, 4, 0},
		// t(0.975, 2) = 4.3027; sd 1; n 3: 4.3027/sqrt(3) = 2.4841.
		{"three", []float64{1, 2, 3}, 2, 2.4841},
		// t(0.975, 1) = 12.706; sd sqrt(2); n 2: 12.706.
		{"two", []float64{0, 2}, 1, 12.7062},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, h := MeanCI95(tt.xs)
			if math.Abs(m-tt.mean) > 1e-9 || math.Abs(h-tt.half) > 1e-3 {
				t.Errorf("MeanCI95(%v) = %g ± %g, want %g ± %g", tt.xs, m, h, tt.mean, tt.half)
			}
		})
	}
}
