package synth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/metastation/metastation/app/store"
)

// sqliteRowsPerInsert is how many rows one INSERT statement carries; the
// batching writer then commits sqliteInsertsPerTx statements per transaction.
const (
	sqliteRowsPerInsert = 128
	sqliteInsertsPerTx  = ChunkRows / sqliteRowsPerInsert
)

// LoadSQLite generates a transactions job into the database through the
// batching writer, with bulk-load pragmas while it runs. A job is known by
// its definition (kind, seed, rows, fraud rate, days): loading it again
// resumes after the last chunk known to be committed, first removing any
// rows of a chunk that was cut short, so a killed load leaves the database
// consistent and finishes with exactly the rows of an uninterrupted one.
// It returns the job's id.
func LoadSQLite(ctx context.Context, db *store.DB, cfg Config, progress Progress, log *slog.Logger) (int64, error) {
	cfg = cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	id, done, complete, err := openJob(ctx, db.W, cfg)
	if err != nil {
		return 0, err
	}
	total := chunks(cfg.Rows)
	if complete {
		if progress != nil {
			progress(cfg.Rows)
		}
		return id, nil
	}
	if _, err := db.W.ExecContext(ctx, `DELETE FROM synth_transactions WHERE job_id = ? AND id > ?`,
		id, int64(done)*ChunkRows); err != nil {
		return 0, fmt.Errorf("remove a partial chunk: %w", err)
	}
	// The writer has one connection, so these pragmas reach it. A crash
	// while they hold can lose the last commits, never corrupt the file
	// (journal_mode stays WAL); the resume logic covers lost commits.
	// A 64 MB page cache and rarer checkpoints keep the B-tree's pages in
	// memory between commits.
	for _, p := range []string{`PRAGMA synchronous = OFF`, `PRAGMA cache_size = -65536`, `PRAGMA wal_autocheckpoint = 20000`} {
		if _, err := db.W.ExecContext(ctx, p); err != nil {
			return 0, fmt.Errorf("bulk pragmas: %w", err)
		}
	}
	defer func() {
		for _, p := range []string{`PRAGMA synchronous = NORMAL`, `PRAGMA cache_size = -2000`, `PRAGMA wal_autocheckpoint = 1000`} {
			db.W.Exec(p)
		}
	}()

	w := store.NewWriter(db, store.WriterOptions{BatchSize: sqliteInsertsPerTx + 1, Interval: time.Second, Queue: 4 * sqliteInsertsPerTx}, log)
	world := NewWorld(cfg, TransactionCustomers(cfg.Rows, cfg.Days))
	insertFull := insertSQL(sqliteRowsPerInsert)
	rows := done * ChunkRows
	err = ordered(ctx, cfg.Workers, total-done,
		func(i int) []Transaction { return TransactionChunk(world, cfg, done+i) },
		func(i int, txs []Transaction) error {
			for lo := 0; lo < len(txs); lo += sqliteRowsPerInsert {
				part := txs[lo:min(lo+sqliteRowsPerInsert, len(txs))]
				q := insertFull
				if len(part) < sqliteRowsPerInsert {
					q = insertSQL(len(part))
				}
				if err := w.Enqueue(ctx, q, insertArgs(id, part)...); err != nil {
					return err
				}
			}
			// FIFO: this marker commits with or after the chunk's rows.
			if err := w.Enqueue(ctx, `UPDATE synth_jobs SET chunks_done = ? WHERE id = ?`, done+i+1, id); err != nil {
				return err
			}
			rows += len(txs)
			if progress != nil {
				progress(rows)
			}
			return nil
		})
	ferr := w.Flush(context.Background())
	w.Close()
	if err != nil {
		return id, fmt.Errorf("load transactions: %w", err)
	}
	if ferr != nil {
		return id, fmt.Errorf("load transactions: %w", ferr)
	}
	if st := w.Stats(); st.Failed > 0 {
		return id, fmt.Errorf("load transactions: %d statements failed; run the job again to resume", st.Failed)
	}
	if _, err := db.W.ExecContext(ctx, `UPDATE synth_jobs SET complete = 1 WHERE id = ?`, id); err != nil {
		return id, fmt.Errorf("mark job complete: %w", err)
	}
	return id, nil
}

// openJob finds or creates the job of cfg and returns its id, the chunks
// already committed and whether it is complete.
func openJob(ctx context.Context, db *sql.DB, cfg Config) (id int64, done int, complete bool, err error) {
	_, err = db.ExecContext(ctx, `INSERT INTO synth_jobs (kind, seed, rows, fraud_rate, days, created_at)
		VALUES ('transactions', ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		int64(cfg.Seed), cfg.Rows, cfg.FraudRate, cfg.Days, time.Now().UTC().Format(time.RFC3339))
	if err != nil {
		return 0, 0, false, fmt.Errorf("create job: %w", err)
	}
	err = db.QueryRowContext(ctx, `SELECT id, chunks_done, complete FROM synth_jobs
		WHERE kind = 'transactions' AND seed = ? AND rows = ? AND fraud_rate = ? AND days = ?`,
		int64(cfg.Seed), cfg.Rows, cfg.FraudRate, cfg.Days).Scan(&id, &done, &complete)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, errors.New("job vanished after it was created")
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("find job: %w", err)
	}
	return id, done, complete, nil
}

const transactionColumns = `job_id, id, time, customer_id, account_id, card_id, merchant_id, device_id,
	category, channel, amount, city, lat, lon, is_fraud, fraud_type`

// insertSQL is a multi-row INSERT of n transactions.
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO synth_transactions (" + transactionColumns + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

func insertArgs(job int64, txs []Transaction) []any {
	args := make([]any, 0, 16*len(txs))
	for i := range txs {
		t := &txs[i]
		var dev any
		if t.DeviceID != 0 {
			dev = t.DeviceID
		}
		args = append(args, job, t.ID, t.Unix, t.CustomerID, t.AccountID, t.CardID, int64(t.MerchantID), dev,
			categories[t.Category].Name, t.Channel.String(), t.Amount, regions[t.Region].Name,
			float64(t.Lat), float64(t.Lon), b2i(t.IsFraud()), t.Fraud.String())
	}
	return args
}
