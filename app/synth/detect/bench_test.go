package detect

import (
	"testing"

	"github.com/metastation/metastation/app/synth"
)

// BenchmarkTrainGBT fits the GBT to the bench's training rows (seed 1,
// 200,000 transactions, the first 70% of the days) with the defaults.
func BenchmarkTrainGBT(b *testing.B) {
	txs, err := synth.Transactions(synth.Config{Seed: 1, Rows: 200_000})
	if err != nil {
		b.Fatal(err)
	}
	sp := NewSplit(txs, 0.7)
	x, y := sp.TrainMatrix()
	b.ResetTimer()
	for b.Loop() {
		m := TrainGBT(x, len(sp.Names), y, GBTOptions{})
		b.ReportMetric(float64(len(m.Trees)), "trees")
	}
}
