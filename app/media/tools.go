package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// maxToolOutput bounds what an external tool may print to us.
const maxToolOutput = 16 << 20

// runTool runs an external program with a time limit, stdin from in (nil
// for none), and returns its standard output (at most maxToolOutput bytes).
// The program gets no shell: its arguments are passed as they are.
func runTool(ctx context.Context, timeout time.Duration, path string, in io.Reader, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = in
	var out limitedBuffer
	out.max = maxToolOutput
	var stderr limitedBuffer
	stderr.max = 4 << 10
	cmd.Stdout, cmd.Stderr = &out, &stderr
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("%s took longer than %s", baseName(path), timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", baseName(path), err, strings.TrimSpace(stderr.String()))
	}
	if out.over {
		return nil, fmt.Errorf("%s printed more than %s", baseName(path), humanBytes(maxToolOutput))
	}
	return out.Bytes(), nil
}

func baseName(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room < len(p) {
		b.over = true
		b.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
