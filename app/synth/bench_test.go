package synth

import (
	"context"
	"io"
	"testing"
)

func BenchmarkTransactionChunk(b *testing.B) {
	cfg := Config{Seed: 1, Rows: 100 * ChunkRows}.Normalize()
	w := NewWorld(cfg, TransactionCustomers(cfg.Rows, cfg.Days))
	b.ReportAllocs()
	i := 0
	var rows []Transaction // reused, as the streaming and file writers reuse theirs
	for b.Loop() {
		rows = appendTransactionChunk(rows[:0], w, cfg, i%100)
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

func BenchmarkStreamOneWorker(b *testing.B) {
	for b.Loop() {
		StreamTransactions(context.Background(), Config{Seed: 1, Rows: 50 * ChunkRows, Workers: 1},
			func([]Transaction) error { return nil })
	}
	b.ReportMetric(50*ChunkRows*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCSVTwoWorkers(b *testing.B) {
	for b.Loop() {
		Generate(context.Background(), Config{Seed: 1, Rows: 100 * ChunkRows, Workers: 2}, "transactions", CSV, io.Discard, nil)
	}
	b.ReportMetric(100*ChunkRows*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCSVOneWorker(b *testing.B) {
	for b.Loop() {
		Generate(context.Background(), Config{Seed: 1, Rows: 100 * ChunkRows, Workers: 1}, "transactions", CSV, io.Discard, nil)
	}
	b.ReportMetric(100*ChunkRows*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
