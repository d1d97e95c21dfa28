package synth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes a job's output to path atomically: the rows go to a
// temporary file in the same directory, which is synced and renamed to path
// only when write returns nil. An interrupted or failed job leaves no file
// at path (and no temporary file behind).
func WriteFile(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot write to %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename to %s: %w", path, err)
	}
	return nil
}

// GenerateFile generates a job into path atomically; see Generate and WriteFile.
func GenerateFile(ctx context.Context, cfg Config, kind string, format Format, path string, progress Progress) error {
	if path == "" {
		return errors.New("no output path")
	}
	return WriteFile(path, func(w io.Writer) error {
		return Generate(ctx, cfg, kind, format, w, progress)
	})
}

// EstimateBytes estimates the size of a job's file from one chunk of it.
func EstimateBytes(cfg Config, kind string, format Format) (int64, error) {
	cfg = cfg.Normalize()
	if cfg.Rows == 0 {
		return 0, nil
	}
	sample := cfg
	sample.Rows = min(cfg.Rows, ChunkRows)
	sample.Workers = 1
	cw := &countingWriter{w: io.Discard}
	if err := Generate(context.Background(), sample, kind, format, cw, nil); err != nil {
		return 0, err
	}
	return cw.n * int64(cfg.Rows) / int64(sample.Rows), nil
}
