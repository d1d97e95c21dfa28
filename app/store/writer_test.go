package store

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const insertItem = `INSERT INTO items (name, qty) VALUES (?, ?)`

func TestWriterFlushesOnSize(t *testing.T) {
	db := openTest(t, testMigrations)
	var mu sync.Mutex
	var commits []int
	w := NewWriter(db, WriterOptions{BatchSize: 10, Interval: time.Hour, OnCommit: func(n int) {
		mu.Lock()
		commits = append(commits, n)
		mu.Unlock()
	}}, quiet())
	defer w.Close()
	for i := 0; i < 25; i++ {
		if err := w.Enqueue(context.Background(), insertItem, fmt.Sprint("item", i), i); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for count(t, db, `SELECT count(*) FROM items`) != 20 {
		if time.Now().After(deadline) {
			t.Fatalf("two full batches not committed; have %d rows", count(t, db, `SELECT count(*) FROM items`))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM items`); n != 25 {
		t.Fatalf("after Flush: %d rows, want 25", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(commits) != "[10 10 5]" {
		t.Fatalf("batches %v, want [10 10 5]", commits)
	}
}

func TestWriterFlushesOnInterval(t *testing.T) {
	db := openTest(t, testMigrations)
	w := NewWriter(db, WriterOptions{BatchSize: 1000, Interval: 20 * time.Millisecond}, quiet())
	defer w.Close()
	if !w.TryEnqueue(insertItem, "one", 1) {
		t.Fatal("TryEnqueue refused on an empty queue")
	}
	deadline := time.Now().Add(5 * time.Second)
	for count(t, db, `SELECT count(*) FROM items`) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("a lone row was not committed by the interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWriterCloseCommitsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db := openAt(t, path, testMigrations)
	w := NewWriter(db, WriterOptions{BatchSize: 500, Interval: time.Hour}, quiet())
	for i := 0; i < 1234; i++ {
		if err := w.Enqueue(context.Background(), insertItem, fmt.Sprint("item", i), i); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if err := w.Enqueue(context.Background(), insertItem, "late", 0); err != ErrWriterClosed {
		t.Fatalf("Enqueue after Close: %v, want ErrWriterClosed", err)
	}
	if w.TryEnqueue(insertItem, "late", 0) {
		t.Fatal("TryEnqueue after Close succeeded")
	}
	db.Close()
	db2 := openAt(t, path, testMigrations)
	if n := count(t, db2, `SELECT count(*) FROM items`); n != 1234 {
		t.Fatalf("after Close and reopen: %d rows, want 1234", n)
	}
}

func TestWriterBadRowDoesNotCostTheBatch(t *testing.T) {
	db := openTest(t, testMigrations)
	w := NewWriter(db, WriterOptions{BatchSize: 100, Interval: time.Hour}, quiet())
	defer w.Close()
	ctx := context.Background()
	w.Enqueue(ctx, insertItem, "a", 1)
	w.Enqueue(ctx, insertItem, "a", 2) // violates UNIQUE
	w.Enqueue(ctx, `INSERT INTO nowhere VALUES (1)`)
	w.Enqueue(ctx, insertItem, "b", 3)
	if err := w.Flush(ctx); err == nil {
		t.Fatal("Flush hid the failed rows")
	}
	if n := count(t, db, `SELECT count(*) FROM items`); n != 2 {
		t.Fatalf("%d rows committed, want the 2 good ones", n)
	}
	if s := w.Stats(); s.Failed != 2 || s.Committed != 2 {
		t.Fatalf("stats %+v, want 2 failed and 2 committed", s)
	}
}

func TestWriterTryEnqueueNeverBlocks(t *testing.T) {
	db := openTest(t, testMigrations)
	// Hold the single writer connection so the writer cannot drain its queue.
	tx, err := db.W.Begin()
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(db, WriterOptions{BatchSize: 1, Queue: 4, Interval: time.Hour}, quiet())
	defer func() {
		tx.Rollback() // first, also on a failed check, or Close would wait forever
		w.Close()
	}()
	// The first row takes the writer into a commit that waits for the
	// connection; after that the queue fills and nothing drains it.
	w.TryEnqueue(insertItem, "first", 0)
	for deadline := time.Now().Add(5 * time.Second); w.Stats().Queued != 0; {
		if time.Now().After(deadline) {
			t.Fatal("the writer never picked up the first row")
		}
		time.Sleep(time.Millisecond)
	}
	accepted := 0
	for i := 0; i < 100; i++ {
		if w.TryEnqueue(insertItem, fmt.Sprint("x", i), i) {
			accepted++
		}
	}
	if accepted != 4 || w.Stats().Rejected != 96 {
		t.Fatalf("accepted %d of 100 with a queue of 4 and a stuck writer (stats %+v)", accepted, w.Stats())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Enqueue(ctx, insertItem, "blocked", 0); err == nil {
		t.Fatal("Enqueue on a full queue did not honour its context")
	}
}

// TestKillMidBatchLosesNoCommittedRow runs a writer in a child process,
// kills it with SIGKILL while it is writing, and checks that every row the
// child saw committed is in the database, which is intact.
func TestKillMidBatchLosesNoCommittedRow(t *testing.T) {
	if os.Getenv("STORE_KILL_CHILD") != "" {
		killChild(os.Getenv("STORE_KILL_CHILD"))
		return
	}
	path := filepath.Join(t.TempDir(), FileName)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillMidBatchLosesNoCommittedRow$")
	cmd.Env = append(os.Environ(), "STORE_KILL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "committed "))
		if err != nil {
			continue
		}
		committed = n
		if committed >= 20_000 {
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if committed < 20_000 {
		t.Fatalf("child reported only %d committed rows before ending", committed)
	}

	db := openAt(t, path, testMigrations)
	var check string
	if err := db.R.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	got := count(t, db, `SELECT count(*) FROM items`)
	if got < committed {
		t.Fatalf("the database holds %d rows, but %d were reported committed", got, committed)
	}
	// Rows are committed whole batches in order: ids are 1..got with no gap.
	if max := count(t, db, `SELECT coalesce(max(id), 0) FROM items`); max != got {
		t.Fatalf("max id %d with %d rows: a batch was torn", max, got)
	}
	t.Logf("killed after %d reported commits; %d rows on disk", committed, got)
}

func killChild(path string) {
	db, err := Open(context.Background(), path, testMigrations)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	total := 0
	w := NewWriter(db, WriterOptions{BatchSize: 250, Interval: time.Millisecond, OnCommit: func(n int) {
		total += n // called only from the writer goroutine
		fmt.Printf("committed %d\n", total)
	}}, quiet())
	for i := 0; ; i++ {
		if err := w.Enqueue(context.Background(), insertItem, fmt.Sprint("row", i), i); err != nil {
			fmt.Println("enqueue:", err)
			os.Exit(1)
		}
	}
}

// TestWriterWaitsOutAnotherWriter: while another process (the CLI) held the
// write lock past the 5 s busy timeout, the batch was dropped ("database is
// locked", writer_rows_failed_total 1). Now it is retried and committed
// once the lock is released.
func TestWriterWaitsOutAnotherWriter(t *testing.T) {
	db := openTest(t, testMigrations)
	w := NewWriter(db, WriterOptions{Interval: 10 * time.Millisecond}, quiet())
	defer w.Close()
	other, err := sql.Open("sqlite", dsn(db.Path, false)) // another process's connection
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)
	tx, err := other.Begin() // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(insertItem, "other", 1); err != nil {
		t.Fatal(err)
	}
	if err := w.Enqueue(context.Background(), insertItem, "mine", 2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(6500 * time.Millisecond) // past the busy timeout of 5 s
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatalf("flush after the lock was released: %v", err)
	}
	st := w.Stats()
	if n := count(t, db, `SELECT count(*) FROM items WHERE name = 'mine'`); n != 1 || st.Failed != 0 {
		t.Fatalf("the row is there %d times, %d rows failed; want 1 and 0", n, st.Failed)
	}
	if st.Retries == 0 {
		t.Fatalf("stats %+v: no retry counted though the lock was held 6.5 s", st)
	}
}
