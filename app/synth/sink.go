package synth

import (
	"context"
	"errors"
	"io"

	"github.com/metastation/metastation/app/atomicfile"
)

// WriteFile writes a job's output to path atomically: the rows go to a
// temporary file in the same directory, which is synced and renamed to path
// only when write returns nil. An interrupted or failed job leaves no file
// at path (and no temporary file behind).
func WriteFile(path string, write func(w io.Writer) error) error {
	return atomicfile.Write(path, 0o644, write)
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
