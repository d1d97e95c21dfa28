package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrWriterClosed is returned by Enqueue after Close.
var ErrWriterClosed = errors.New("store: batching writer is closed")

// WriterOptions tune the batching writer. Zero values take the defaults.
type WriterOptions struct {
	BatchSize int           // rows per transaction at most; default 1000
	Interval  time.Duration // longest a row waits before its commit; default 100ms
	Queue     int           // rows waiting at most; default 65536
	// OnCommit, when set, is called by the writer goroutine after each
	// successful commit with the number of rows it held.
	OnCommit func(rows int)
	// RetryFor is how long a batch is retried while another process holds
	// the database's write lock (SQLITE_BUSY: the CLI importing into a
	// served data directory, say); default 10 minutes. Meanwhile rows queue
	// and Enqueue blocks when the queue is full, so nothing is dropped
	// unless the lock is held longer than this.
	RetryFor time.Duration
}

func (o *WriterOptions) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Interval <= 0 {
		o.Interval = 100 * time.Millisecond
	}
	if o.Queue <= 0 {
		o.Queue = 65536
	}
	if o.RetryFor <= 0 {
		o.RetryFor = 10 * time.Minute
	}
}

// Writer batches high-rate inserts (ticks, events, metrics): callers enqueue
// rows, and one goroutine commits them in transactions through prepared
// statements, when a batch is full, when the interval passes, on Flush and on
// Close.
type Writer struct {
	db   *sql.DB
	opts WriterOptions
	log  *slog.Logger

	ch   chan item
	done chan struct{}

	mu     sync.RWMutex // guards closed against sends on a closed channel
	closed bool

	enqueued  atomic.Uint64
	committed atomic.Uint64
	failed    atomic.Uint64
	rejected  atomic.Uint64
	batches   atomic.Uint64
	retries   atomic.Uint64
}

type item struct {
	query string
	args  []any
	flush chan error // set on a flush request instead of a row
	// durable: the batch holding this row commits with synchronous=FULL
	// (its WAL frames fsynced before the commit returns), so a state
	// change that was acknowledged survives a power cut.
	durable bool
}

// NewWriter starts a batching writer on db's writer connection.
func NewWriter(db *DB, opts WriterOptions, log *slog.Logger) *Writer {
	opts.defaults()
	w := &Writer{
		db:   db.W,
		opts: opts,
		log:  log,
		ch:   make(chan item, opts.Queue),
		done: make(chan struct{}),
	}
	go w.loop()
	return w
}

// Enqueue adds one row (an INSERT or UPDATE statement and its arguments). It
// waits only when the queue is full, until ctx ends.
func (w *Writer) Enqueue(ctx context.Context, query string, args ...any) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrWriterClosed
	}
	select {
	case w.ch <- item{query: query, args: args}:
		w.enqueued.Add(1)
		return nil
	case <-ctx.Done():
		w.rejected.Add(1)
		return fmt.Errorf("enqueue row: %w", ctx.Err())
	}
}

// TryEnqueue adds one row if the queue has room and reports whether it did.
// Producers that must never wait (the simulation) use it and count the loss.
func (w *Writer) TryEnqueue(query string, args ...any) bool {
	return w.tryEnqueue(item{query: query, args: args})
}

// TryEnqueueDurable is TryEnqueue for a row whose batch must commit with
// synchronous=FULL: a job's or a run's state change. The other rows keep
// NORMAL, which survives a crash of the process but may lose the last
// transactions on power loss. Flush after it waits until it is on disk.
func (w *Writer) TryEnqueueDurable(query string, args ...any) bool {
	return w.tryEnqueue(item{query: query, args: args, durable: true})
}

// tryEnqueue queues it if the queue has room.
func (w *Writer) tryEnqueue(it item) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.rejected.Add(1)
		return false
	}
	select {
	case w.ch <- it:
		w.enqueued.Add(1)
		return true
	default:
		w.rejected.Add(1)
		return false
	}
}

// Flush commits every row enqueued before it and returns the commit's error.
func (w *Writer) Flush(ctx context.Context) error {
	done := make(chan error, 1)
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrWriterClosed
	}
	select {
	case w.ch <- item{flush: done}:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting rows, commits everything queued, and returns once the
// writer goroutine has finished. It is safe to call twice.
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	w.mu.Unlock()
	<-w.done
	return nil
}

// WriterStats are the writer's counters.
type WriterStats struct {
	Enqueued  uint64 `json:"enqueued"`
	Committed uint64 `json:"committed"`
	Failed    uint64 `json:"failed"`
	Rejected  uint64 `json:"rejected"`
	Batches   uint64 `json:"batches"`
	Retries   uint64 `json:"retries"` // batches tried again because the database was busy
	Queued    int    `json:"queued"`
}

// Stats returns the writer's counters.
func (w *Writer) Stats() WriterStats {
	return WriterStats{
		Enqueued:  w.enqueued.Load(),
		Committed: w.committed.Load(),
		Failed:    w.failed.Load(),
		Rejected:  w.rejected.Load(),
		Batches:   w.batches.Load(),
		Retries:   w.retries.Load(),
		Queued:    len(w.ch),
	}
}

func (w *Writer) loop() {
	defer close(w.done)
	batch := make([]item, 0, w.opts.BatchSize)
	tick := time.NewTicker(w.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case it, ok := <-w.ch:
			if !ok {
				w.commit(batch)
				return
			}
			if it.flush != nil {
				it.flush <- w.commit(batch)
				batch = batch[:0]
				continue
			}
			batch = append(batch, it)
			if len(batch) >= w.opts.BatchSize {
				w.commit(batch)
				batch = batch[:0]
			}
		case <-tick.C:
			if len(batch) > 0 {
				w.commit(batch)
				batch = batch[:0]
			}
		}
	}
}

// commit writes batch in one transaction. A row that fails (a constraint, a
// bad statement) is logged and counted; it does not cost the other rows.
// While the database is busy (another process holds the write lock past
// the busy timeout) the whole batch is tried again with backoff, for up to
// RetryFor: a batch was once dropped after 5 s of a CLI import.
func (w *Writer) commit(batch []item) error {
	if len(batch) == 0 {
		return nil
	}
	delay := 50 * time.Millisecond
	give := time.Now().Add(w.opts.RetryFor)
	for attempt := 1; ; attempt++ {
		err := w.commitOnce(batch)
		if !isBusy(err) {
			return err
		}
		if time.Now().After(give) {
			w.failed.Add(uint64(len(batch)))
			w.log.Error("batching writer: database busy too long, rows lost", "rows", len(batch), "tried_for", w.opts.RetryFor, "err", err)
			return err
		}
		w.retries.Add(1)
		w.log.Warn("batching writer: database busy, retrying", "rows", len(batch), "attempt", attempt, "in", delay, "err", err)
		time.Sleep(delay)
		delay = min(2*delay, 2*time.Second)
	}
}

// commitOnce is one attempt of commit. A busy database aborts the attempt
// and returns the busy error with nothing counted.
func (w *Writer) commitOnce(batch []item) error {
	ctx := context.Background()
	durable := slices.ContainsFunc(batch, func(it item) bool { return it.durable })
	if durable {
		// One connection for the pragma and the transaction, so FULL
		// applies to this batch only; NORMAL again whatever happens.
		conn, err := w.db.Conn(ctx)
		if err != nil {
			w.failed.Add(uint64(len(batch)))
			return fmt.Errorf("durable batch: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=FULL"); err != nil {
			w.failed.Add(uint64(len(batch)))
			return fmt.Errorf("durable batch: %w", err)
		}
		defer conn.ExecContext(ctx, "PRAGMA synchronous=NORMAL")
		return w.commitTx(ctx, batch, func() (*sql.Tx, error) { return conn.BeginTx(ctx, nil) })
	}
	return w.commitTx(ctx, batch, func() (*sql.Tx, error) { return w.db.BeginTx(ctx, nil) })
}

// commitTx writes batch in the transaction begin opens.
func (w *Writer) commitTx(ctx context.Context, batch []item, begin func() (*sql.Tx, error)) error {
	tx, err := begin()
	if err != nil {
		if isBusy(err) {
			return err
		}
		w.failed.Add(uint64(len(batch)))
		w.log.Error("batching writer: begin", "rows", len(batch), "err", err)
		return fmt.Errorf("begin batch: %w", err)
	}
	// Each distinct statement is prepared once per batch, on the transaction:
	// the writer has a single connection, which the transaction holds.
	stmts := map[string]*sql.Stmt{}
	ok, bad := 0, 0
	var firstErr error
	for _, it := range batch {
		stmt, err := prepared(ctx, tx, stmts, it.query)
		if err == nil {
			_, err = stmt.ExecContext(ctx, it.args...)
		}
		if isBusy(err) {
			tx.Rollback()
			return err
		}
		if err != nil {
			bad++
			if firstErr == nil {
				firstErr = fmt.Errorf("batch row %q: %w", it.query, err)
				w.log.Error("batching writer: row failed", "query", it.query, "err", err)
			}
			continue
		}
		ok++
	}
	if err := tx.Commit(); err != nil {
		w.failed.Add(uint64(ok + bad))
		w.log.Error("batching writer: commit", "rows", ok, "err", err)
		return fmt.Errorf("commit batch: %w", err)
	}
	w.failed.Add(uint64(bad))
	w.committed.Add(uint64(ok))
	w.batches.Add(1)
	if w.opts.OnCommit != nil {
		w.opts.OnCommit(ok)
	}
	return firstErr
}

// isBusy reports whether err is SQLite's "database is locked" (SQLITE_BUSY,
// or SQLITE_LOCKED), which passes when the other writer finishes.
func isBusy(err error) bool {
	if err == nil {
		return false
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		c := coded.Code() & 0xff // the primary code of an extended one
		return c == 5 || c == 6  // SQLITE_BUSY, SQLITE_LOCKED
	}
	return strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")
}

func prepared(ctx context.Context, tx *sql.Tx, cache map[string]*sql.Stmt, query string) (*sql.Stmt, error) {
	if s, ok := cache[query]; ok {
		return s, nil
	}
	s, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cache[query] = s
	return s, nil
}
