//go:build unix

package cli

import (
	"context"
	"database/sql"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/metastation/metastation/app/store"
)

// lockedBuffer is a strings.Builder safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSIGINTShutsDownGracefully runs `metastation` as a user would, sends it
// SIGINT, and checks the shutdown order's promises: web sockets are told
// "going away", the command returns cleanly, and what was written is on disk.
func TestSIGINTShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	var stdout lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- Main(context.Background(), []string{"--addr", "127.0.0.1:0", "--data", dir, "--no-browser", "--log-level", "error"},
			func(string) string { return "" }, &stdout, io.Discard, testAssets())
	}()
	urlRe := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`)
	deadline := time.Now().Add(10 * time.Second)
	for !urlRe.MatchString(stdout.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed; stdout %q", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	url := urlRe.FindString(stdout.String())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","topics":["system.state"]}`))
	// Wait for a system.state frame: a sample has been taken and enqueued.
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), `"topic":"system.state"`) {
			break
		}
	}

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Fatalf("socket closed with %v, want going away", err)
			}
			break
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-ctx.Done():
		t.Fatal("serve did not return after SIGINT")
	}

	// The writer was flushed and the database closed cleanly: the sample is
	// there and the WAL was checkpointed into the main file.
	db, err := sql.Open("sqlite", filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var samples int
	if err := db.QueryRow(`SELECT count(*) FROM system_samples`).Scan(&samples); err != nil || samples == 0 {
		t.Fatalf("system_samples after shutdown: %d rows, %v", samples, err)
	}
}
