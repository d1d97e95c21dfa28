package nn

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestAdamMatchesTextbook(t *testing.T) {
	// Adam as in Kingma & Ba with PyTorch's ε placement:
	// θ −= lr·m̂/(sqrt(v̂)+ε), m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ).
	p := NewParam("p", 1, 3)
	copy(p.Data, []float64{0.5, -1, 2})
	opt := NewAdam([]*Param{p}, 1e-3)
	opt.Eps = 1e-5
	ref := append([]float64(nil), p.Data...)
	m, v := make([]float64, 3), make([]float64, 3)
	for step := 1; step <= 50; step++ {
		for i := range p.Grad {
			p.Grad[i] = math.Sin(float64(step*(i+1))) * float64(i+1)
			g := p.Grad[i]
			m[i] = 0.9*m[i] + 0.1*g
			v[i] = 0.999*v[i] + 0.001*g*g
			mh := m[i] / (1 - math.Pow(0.9, float64(step)))
			vh := v[i] / (1 - math.Pow(0.999, float64(step)))
			ref[i] -= 1e-3 * mh / (math.Sqrt(vh) + 1e-5)
		}
		opt.Step()
		for i := range ref {
			if math.Abs(ref[i]-p.Data[i]) > 1e-14 {
				t.Fatalf("step %d: param %d = %.17g, textbook %.17g", step, i, p.Data[i], ref[i])
			}
		}
	}
	// The first step of Adam moves each weight by lr·g/(|g|+ε).
	q := NewParam("q", 1, 1)
	q.Grad[0] = 0.25
	a := NewAdam([]*Param{q}, 0.1)
	a.Step()
	if want := -0.1 * 0.25 / (0.25 + 1e-8); math.Abs(q.Data[0]-want) > 1e-16 {
		t.Fatalf("first step %.17g, want %.17g", q.Data[0], want)
	}
}

func TestClipGradNorm(t *testing.T) {
	a, b := NewParam("a", 1, 2), NewParam("b", 1, 1)
	copy(a.Grad, []float64{3, 0})
	b.Grad[0] = 4
	ps := []*Param{a, b}
	if n := ClipGradNorm(ps, 1); n != 5 {
		t.Fatalf("norm before clipping %v, want 5", n)
	}
	if n := GradNorm(ps); math.Abs(n-1) > 1e-6 {
		t.Fatalf("norm after clipping %v, want 1", n)
	}
	copy(a.Grad, []float64{0.3, 0})
	b.Grad[0] = 0.4
	ClipGradNorm(ps, 1)
	if a.Grad[0] != 0.3 || b.Grad[0] != 0.4 {
		t.Fatalf("gradients under the limit changed: %v %v", a.Grad, b.Grad)
	}
}

func TestOrthogonal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, shape := range [][2]int{{8, 3}, {3, 8}, {5, 5}} {
		r, c := shape[0], shape[1]
		data := make([]float64, r*c)
		gain := math.Sqrt2
		Orthogonal(rng, r, c, gain, data)
		w := mat.NewDense(r, c, data)
		var g mat.Dense
		if r >= c {
			g.Mul(w.T(), w) // columns orthonormal
		} else {
			g.Mul(w, w.T()) // rows orthonormal
		}
		n, _ := g.Dims()
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				want := 0.0
				if i == j {
					want = gain * gain
				}
				if math.Abs(g.At(i, j)-want) > 1e-12 {
					t.Fatalf("%dx%d: gram[%d,%d] = %v, want %v", r, c, i, j, g.At(i, j), want)
				}
			}
		}
	}
}

func TestPolyak(t *testing.T) {
	src, dst := NewParam("s", 1, 2), NewParam("d", 1, 2)
	copy(src.Data, []float64{1, 2})
	copy(dst.Data, []float64{3, 4})
	Polyak([]*Param{dst}, []*Param{src}, 0.25)
	if dst.Data[0] != 2.5 || dst.Data[1] != 3.5 {
		t.Fatalf("polyak gave %v, want [2.5 3.5]", dst.Data)
	}
}

func TestModelRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m := NewMLP(rng, []int{3, 4, 2}, ActTanh, 1, 1)
	opt := NewAdam(m.Params(), 1e-3)
	for _, p := range m.Params() {
		for i := range p.Grad {
			p.Grad[i] = rng.NormFloat64()
		}
	}
	opt.Step()
	var buf bytes.Buffer
	if err := SaveModel(&buf, m.Params(), opt); err != nil {
		t.Fatal(err)
	}
	saved := buf.Bytes()

	m2 := NewMLP(rand.New(rand.NewPCG(7, 8)), []int{3, 4, 2}, ActTanh, 1, 1)
	opt2 := NewAdam(m2.Params(), 1e-3)
	if err := LoadModel(bytes.NewReader(saved), m2.Params(), opt2); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params() {
		for j, v := range p.Data {
			if math.Float64bits(v) != math.Float64bits(m2.Params()[i].Data[j]) {
				t.Fatalf("tensor %d[%d]: %v != %v", i, j, v, m2.Params()[i].Data[j])
			}
		}
	}
	if s1, s2 := opt.State(), opt2.State(); s1.Step != s2.Step || s1.V[0][0] != s2.V[0][0] {
		t.Fatalf("optimiser state differs: step %d vs %d", s1.Step, s2.Step)
	}

	// A file of another version fails with ErrVersion and a clear message.
	var old bytes.Buffer
	if err := Encode(&old, "model", FormatVersion+1, Model{}); err != nil {
		t.Fatal(err)
	}
	err := LoadModel(&old, m2.Params(), opt2)
	if !errors.Is(err, ErrVersion) {
		t.Fatalf("loading another version: %v, want ErrVersion", err)
	}
	t.Log(err)

	// A network of another shape is refused.
	m3 := NewMLP(rng, []int{3, 5, 2}, ActTanh, 1, 1)
	if err := LoadModel(bytes.NewReader(saved), m3.Params(), nil); err == nil {
		t.Fatal("loading into another shape succeeded")
	}
}

func TestCategoricalSampleAndMode(t *testing.T) {
	logits := mat.NewDense(1, 3, []float64{0, math.Log(3), 0})
	c := NewCategorical(logits)
	if m := c.Mode(); m[0] != 1 {
		t.Fatalf("mode %d, want 1", m[0])
	}
	rng := rand.New(rand.NewPCG(1, 1))
	counts := make([]int, 3)
	for i := 0; i < 20000; i++ {
		counts[c.Sample(rng)[0]]++
	}
	if f := float64(counts[1]) / 20000; math.Abs(f-0.6) > 0.02 {
		t.Fatalf("sampled action 1 with frequency %v, want 0.6", f)
	}
}
