package synth

import (
	"context"
	"path/filepath"
	"testing"
)

func TestCheckTransactionsFile(t *testing.T) {
	cfg := Config{Seed: 21, Rows: 2*ChunkRows + 7}
	txs, err := Transactions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fraud := 0
	for _, tx := range txs {
		fraud += b2i(tx.IsFraud())
	}
	dir := t.TempDir()
	for _, name := range []string{"tx.csv", "tx.jsonl", "tx.parquet"} {
		path := filepath.Join(dir, name)
		format, _ := ParseFormat(filepath.Ext(name)[1:])
		if err := GenerateFile(context.Background(), cfg, "transactions", format, path, nil); err != nil {
			t.Fatal(err)
		}
		s, err := CheckTransactionsFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if s.Rows != cfg.Rows || s.Fraud != fraud || s.FirstID != 1 || s.LastID != int64(cfg.Rows) {
			t.Fatalf("%s: %+v, want %d rows and %d frauds", name, s, cfg.Rows, fraud)
		}
	}
}
