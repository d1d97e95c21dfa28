package mlops

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/synth/detect"
)

// rlArtifact is an untrained PPO (cartpole) or SAC (pendulum) checkpoint,
// as `metastation train` writes it, with small networks and replay so the
// fuzzer mutates a few kilobytes, not half a megabyte.
func rlArtifact(t testing.TB, algo string) []byte {
	t.Helper()
	var c rl.Checkpoint
	var err error
	switch algo {
	case "ppo":
		var p *rl.PPO
		cfg := rl.DefaultPPOConfig("cartpole")
		cfg.Hidden, cfg.NumEnvs = []int{4}, 1
		if p, err = rl.NewPPO(cfg); err == nil {
			c, err = p.Checkpoint()
		}
	case "sac":
		var s *rl.SAC
		cfg := rl.DefaultSACConfig("pendulum")
		cfg.Hidden, cfg.BufferSize, cfg.BatchSize = []int{4}, 8, 4
		if s, err = rl.NewSAC(cfg); err == nil {
			c, err = s.Checkpoint()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), algo+".ckpt")
	if err := rl.SaveCheckpoint(path, c); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// gbtArtifact is a small GBT fraud detector fitted on random rows.
func gbtArtifact(t testing.TB) []byte {
	t.Helper()
	names := detect.FeatureNames()
	d, n := len(names), 400
	rng := rand.New(rand.NewPCG(3, 1))
	x, y := make([]float64, n*d), make([]float64, n)
	for i := range n {
		for j := range d {
			x[i*d+j] = rng.NormFloat64()
		}
		if x[i*d] > 1 {
			y[i] = 1
		}
	}
	gbt := detect.TrainGBT(x, d, y, detect.GBTOptions{Trees: 5})
	data, err := EncodeDetector(&detect.Detector{Model: "gbt", Features: names, GBT: gbt})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// FuzzLoaders: whatever bytes arrive as an artifact, every kind's loader
// either refuses them with an error or returns a predictor that answers a
// batch of its input size without panicking (the registry verifies a hash,
// not the contents, so a crafted upload reaches the loaders).
func FuzzLoaders(f *testing.F) {
	seeds := [][]byte{
		logisticArtifact(f, 1), gbtArtifact(f), tradingArtifact(f, 1, 2),
		rlArtifact(f, "ppo"), rlArtifact(f, "sac"),
		nil, []byte("{}"), []byte("metastation"),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	loaders := Loaders()
	f.Fuzz(func(t *testing.T, data []byte) {
		for kind, load := range loaders {
			p, err := load(data)
			if err != nil {
				if err.Error() == "" {
					t.Fatalf("%s: refused with an empty error", kind)
				}
				continue
			}
			dim := p.InputDim()
			if dim <= 0 || dim > 1<<12 {
				t.Fatalf("%s: accepted an artifact with input size %d", kind, dim)
			}
			rows := [][]float64{make([]float64, dim), make([]float64, dim)}
			rows[1][0] = 1e308
			if got := p.Predict(rows); len(got) != len(rows) {
				t.Fatalf("%s: %d predictions for %d rows", kind, len(got), len(rows))
			}
		}
	})
}
