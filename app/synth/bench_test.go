package synth

import (
	"io"
	"testing"
)

func BenchmarkTransactionChunk(b *testing.B) {
	cfg := Config{Seed: 1, Rows: 100 * ChunkRows}.Normalize()
	w := NewWorld(cfg, TransactionCustomers(cfg.Rows, cfg.Days))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		TransactionChunk(w, cfg, i%100)
		i++
	}
	b.ReportMetric(float64(ChunkRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkEncodeCSV(b *testing.B) {
	cfg := Config{Seed: 1, Rows: ChunkRows}.Normalize()
	w := NewWorld(cfg, TransactionCustomers(cfg.Rows, cfg.Days))
	rows := TransactionChunk(w, cfg, 0)
	e := &encoder{format: CSV}
	for b.Loop() {
		e.b = e.b[:0]
		for j := range rows {
			rows[j].encode(e)
		}
		io.Discard.Write(e.b)
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
