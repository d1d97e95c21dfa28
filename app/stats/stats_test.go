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

func TestTTest(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		p    float64
	}{
		{"none", nil, 1},
		{"one", []float64{3}, 1},
		{"all zero", []float64{0, 0, 0}, 1},
		{"constant non-zero", []float64{2, 2}, 0},
		// df 2 has a closed form: P(T > t) = (1 − t/√(t²+2))/2; t = 2√3.
		{"three", []float64{1, 2, 3}, 1 - 2*math.Sqrt(3)/math.Sqrt(14)},
		{"symmetric", []float64{-1, 1, -2, 2}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p := TTest(tt.xs); math.Abs(p-tt.p) > 1e-9 {
				t.Errorf("TTest(%v) = %g, want %g", tt.xs, p, tt.p)
			}
		})
	}
}

func TestHolm(t *testing.T) {
	tests := []struct {
		name string
		p    []float64
		want []float64
	}{
		{"none", nil, []float64{}},
		{"one", []float64{0.03}, []float64{0.03}},
		// Sorted 0.01, 0.03, 0.04 → 3·0.01, 2·0.03, max(0.06, 1·0.04).
		{"step-down keeps order", []float64{0.01, 0.04, 0.03}, []float64{0.03, 0.06, 0.06}},
		{"capped at one", []float64{0.6, 0.7}, []float64{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Holm(tt.p)
			if len(got) != len(tt.want) {
				t.Fatalf("Holm(%v) = %v, want %v", tt.p, got, tt.want)
			}
			for i := range got {
				if math.Abs(got[i]-tt.want[i]) > 1e-12 {
					t.Errorf("Holm(%v) = %v, want %v", tt.p, got, tt.want)
				}
			}
		})
	}
}
