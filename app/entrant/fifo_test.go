//go:build unix

package entrant

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// TestFIFOCheckpointDoesNotHang: a FIFO in runs/ named as a checkpoint
// blocked open() forever while the entrant lock was held, and every later
// entrant request hung. Now it is refused at once and the next request is
// answered.
func TestFIFOCheckpointDoesNotHang(t *testing.T) {
	s, _, dir := testEntrants(t)
	fifo := filepath.Join(dir, "runs", "trap", "checkpoint.ckpt")
	writeFile(t, filepath.Join(dir, "runs", "trap", "placeholder"), nil)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for i, want := range []errs.Code{errs.Invalid, errs.NotFound} {
		name := []string{"trap/checkpoint.ckpt", "nothing/here.ckpt"}[i]
		done := make(chan error, 1)
		go func() {
			_, err := s.Enter(context.Background(), Request{Checkpoint: name})
			done <- err
		}()
		select {
		case err := <-done:
			if !errs.Is(err, want) {
				t.Fatalf("enter %s: %v, want %s", name, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("enter %s hung", name)
		}
	}
}
