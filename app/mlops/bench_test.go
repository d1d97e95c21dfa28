package mlops

import (
	"context"
	"testing"
)

// Go benchmarks of the serving path; `metastation bench mlops` measures
// the percentiles, over HTTP too.
func BenchmarkPredict(b *testing.B) {
	cases := []struct {
		name, kind string
		art        func(testing.TB) []byte
		dim        int
	}{
		{"fraud", KindFraud, func(tb testing.TB) []byte { return logisticArtifact(tb, 1) }, 0},
		{"trading", KindTrading, func(tb testing.TB) []byte { return tradingArtifact(tb, 1, 8) }, 14},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			reg, _ := openRegistry(b, nil)
			s := NewService(reg, Config{}, nil, quiet())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go s.Run(ctx)
			v, err := reg.Register(ctx, RegisterRequest{Model: "m", Kind: tc.kind, Artifact: tc.art(b)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := reg.SetAlias(ctx, "m", Champion, v.Version, "bench", ""); err != nil {
				b.Fatal(err)
			}
			dim := tc.dim
			if dim == 0 {
				dim = len(featureRows(1, 1)[0])
			}
			req := PredictRequest{Inputs: [][]float64{make([]float64, dim)}}
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Predict(ctx, "m", req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
