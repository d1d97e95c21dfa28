package synth

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/parquet-go/parquet-go"
)

// ParquetTransaction is the Parquet row of a transaction; its columns match
// the CSV ones.
type ParquetTransaction struct {
	ID         int64   `parquet:"id,delta"`
	Time       int64   `parquet:"time,timestamp(microsecond)"`
	CustomerID int64   `parquet:"customer_id"`
	AccountID  int64   `parquet:"account_id"`
	CardID     int64   `parquet:"card_id"`
	MerchantID int32   `parquet:"merchant_id"`
	DeviceID   *int64  `parquet:"device_id,optional"`
	Category   string  `parquet:"category,dict"`
	Channel    string  `parquet:"channel,dict"`
	Amount     float64 `parquet:"amount"`
	City       string  `parquet:"city,dict"`
	Lat        float32 `parquet:"lat"`
	Lon        float32 `parquet:"lon"`
	IsFraud    bool    `parquet:"is_fraud"`
	FraudType  string  `parquet:"fraud_type,dict"`
}

func (t *Transaction) parquet(devices *int64) ParquetTransaction {
	p := ParquetTransaction{
		ID: t.ID, Time: t.Unix * 1_000_000, CustomerID: t.CustomerID, AccountID: t.AccountID,
		CardID: t.CardID, MerchantID: t.MerchantID, Category: categories[t.Category].Name,
		Channel: t.Channel.String(), Amount: float64(t.Amount) / 100, City: regions[t.Region].Name,
		Lat: t.Lat, Lon: t.Lon, IsFraud: t.IsFraud(), FraudType: t.Fraud.String(),
	}
	if t.DeviceID != 0 {
		*devices = t.DeviceID
		p.DeviceID = devices
	}
	return p
}

// writeParquet streams a transactions job into w as Parquet, zstd
// compressed, one row group per 32 chunks. The rows are converted on the
// workers; the Parquet writer itself runs on the caller's goroutine.
func writeParquet(ctx context.Context, cfg Config, w io.Writer, progress Progress) error {
	world := NewWorld(cfg, TransactionCustomers(cfg.Rows, cfg.Days))
	pw := parquet.NewGenericWriter[ParquetTransaction](w,
		parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(32*ChunkRows),
		parquet.CreatedBy("metastation", "", ""),
	)
	var txBufs sync.Pool // rows, reused once converted
	done := 0
	err := ordered(ctx, cfg.Workers, chunks(cfg.Rows),
		func(i int) []ParquetTransaction {
			tb, _ := txBufs.Get().(*[]Transaction)
			if tb == nil {
				tb = new([]Transaction)
			}
			txs := appendTransactionChunk((*tb)[:0], world, cfg, i)
			defer func() { *tb = txs; txBufs.Put(tb) }()
			devices := make([]int64, len(txs))
			out := make([]ParquetTransaction, len(txs))
			for j := range txs {
				out[j] = txs[j].parquet(&devices[j])
			}
			return out
		},
		func(_ int, rows []ParquetTransaction) error {
			if _, err := pw.Write(rows); err != nil {
				return fmt.Errorf("write parquet rows: %w", err)
			}
			done += len(rows)
			if progress != nil {
				progress(done)
			}
			return nil
		})
	if err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("close parquet writer: %w", err)
	}
	return nil
}
