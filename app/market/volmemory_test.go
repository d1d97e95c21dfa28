package market

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestMemoryKeepsTheMeanVariance drives memory components with independent
// unit-variance t innovations and checks that the factor's mean square is
// one, so the long-run volatility is the instrument's. With components the
// cap never reaches, the quadrature is exact and the tolerance ±0.02 (the
// sampling error of 400,000 persistent days); for the index's components,
// whose sum the cap trims on its largest days, the trim is in the normal
// approximation and the tolerance ±0.05.
func TestMemoryKeepsTheMeanVariance(t *testing.T) {
	in := presetInstruments["SPX"]
	cases := []struct {
		name string
		cs   []VolComponent
		nu   float64
		tol  float64
	}{
		{"uncapped", []VolComponent{{HalfLife: 3, React: 0.02, Leverage: 0.03}, {HalfLife: 30, React: 0.01, Leverage: 0.01}}, 6, 0.02},
		{"index", in.Memory, in.GARCH.Nu, 0.05},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemory(tc.cs, tc.nu)
			rng := rand.New(rand.NewPCG(1, 2))
			tt := distuv.StudentsT{Mu: 0, Sigma: math.Sqrt((tc.nu - 2) / tc.nu), Nu: tc.nu, Src: rng}
			const days = 400_000
			var sum2 float64
			for range days {
				m.update(tt.Rand())
				sum2 += m.mult * m.mult
			}
			ms := sum2 / days
			t.Logf("mean square %.4f over %d days", ms, days)
			if math.Abs(ms-1) > tc.tol {
				t.Errorf("mean square of the memory factor = %.3f, want 1 ± %g", ms, tc.tol)
			}
		})
	}
}

// TestMemoryLeverage: with leverage, a fall raises the volatility factor
// and a rise of the same size lowers it; without, both raise it alike.
func TestMemoryLeverage(t *testing.T) {
	lev := []VolComponent{{HalfLife: 5, React: 0.05, Leverage: 0.08}}
	sym := []VolComponent{{HalfLife: 5, React: 0.05}}
	after := func(cs []VolComponent, z float64) float64 {
		m := newMemory(cs, 8)
		m.update(z)
		return m.mult
	}
	if down, up := after(lev, -2), after(lev, 2); !(down > 1 && up < down && up < after(lev, 0)*1.2) {
		t.Errorf("with leverage: factor %.3f after a -2 day, %.3f after a +2 day", down, up)
	}
	if down, up := after(sym, -2), after(sym, 2); math.Abs(down-up) > 1e-12 || down <= after(sym, 0) {
		t.Errorf("without leverage: factor %.3f after -2, %.3f after +2, %.3f after 0", down, up, after(sym, 0))
	}
	m := newMemory(lev, 8)
	for range 1000 {
		m.update(-10)
	}
	if m.mult > math.Exp(maxMemoryLog-m.offset)+1e-12 {
		t.Errorf("after 1000 days of -10 sigma the factor is %.2f, above its cap", m.mult)
	}
	none := newMemory(nil, 8)
	none.update(-3)
	if none.mult != 1 {
		t.Errorf("no components: factor %g, want 1", none.mult)
	}
}

func TestMemoryValidation(t *testing.T) {
	base := presetInstruments["SPX"]
	cases := []struct {
		name string
		mem  []VolComponent
		want string
	}{
		{"half-life", []VolComponent{{HalfLife: 0.5}}, "half_life"},
		{"react", []VolComponent{{HalfLife: 5, React: -0.1}}, "react"},
		{"leverage", []VolComponent{{HalfLife: 5, Leverage: 0.9}}, "leverage"},
		{"too many", make([]VolComponent, maxVolComponents+1), "at most"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := base
			in.Memory = tc.mem
			err := in.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
	if err := base.Validate(); err != nil {
		t.Errorf("the preset index: %v", err)
	}
}
