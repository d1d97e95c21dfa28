package synth

import (
	"math"
	"testing"
)

func TestFastExp(t *testing.T) {
	worst, at := 0.0, 0.0
	for x := -30.0; x <= 30; x += 0.000731 {
		want := math.Exp(x)
		if e := math.Abs(fastExp(x)-want) / want; e > worst {
			worst, at = e, x
		}
	}
	if worst > 2e-15 {
		t.Errorf("relative error %.3g at x = %v", worst, at)
	}
	for _, x := range []float64{0, -700, 700, 709, -745, math.Inf(1), math.Inf(-1)} {
		if got, want := fastExp(x), math.Exp(x); got != want && math.Abs(got-want)/want > 2e-15 {
			t.Errorf("fastExp(%v) = %v, want %v", x, got, want)
		}
	}
	if !math.IsNaN(fastExp(math.NaN())) {
		t.Error("fastExp(NaN) is not NaN")
	}
}

func BenchmarkExp(b *testing.B) {
	x, s := 0.1, 0.0
	b.Run("math", func(b *testing.B) {
		for b.Loop() {
			s += math.Exp(x)
			x += 1e-9
		}
	})
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			s += fastExp(x)
			x += 1e-9
		}
	})
	_ = s
}
