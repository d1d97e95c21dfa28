package synth

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/metastation/metastation/app/atomicfile"
)

// partialState describes the partial file of a resumable job: which job it
// holds and how much of it is written.
type partialState struct {
	Kind      string  `json:"kind"`
	Format    string  `json:"format"`
	Seed      uint64  `json:"seed"`
	Rows      int     `json:"rows"`
	FraudRate float64 `json:"fraud_rate"`
	Days      int     `json:"days"`
	Start     int64   `json:"start"`
	Chunks    int     `json:"chunks"` // chunks written
	Bytes     int64   `json:"bytes"`  // the bytes they take, header included
}

// saveEvery is how many chunks pass between two saves of a partial state.
const saveEvery = 16

// GenerateFileResumable is GenerateFile for long jobs: the rows go to a
// hidden partial file beside path (".NAME.partial"), with a state file
// saying which job it holds and how many chunks and bytes are written. If
// the job is killed or cancelled, running it again with the same definition
// continues after the last recorded chunk, and the finished file has the
// same bytes as an uninterrupted run. The file appears at path, by rename,
// only when complete. Parquet cannot be appended to; it runs as GenerateFile.
// It returns the number of rows found already written.
func GenerateFileResumable(ctx context.Context, cfg Config, kind string, format Format, path string, progress Progress) (int, error) {
	cfg = cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	if format == Parquet {
		return 0, GenerateFile(ctx, cfg, kind, format, path, progress)
	}
	partial := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".partial")
	statePath := partial + ".json"
	want := partialState{Kind: kind, Format: format.String(), Seed: cfg.Seed, Rows: cfg.Rows,
		FraudRate: cfg.FraudRate, Days: cfg.Days, Start: cfg.Start.Unix()}

	from := want
	if b, err := os.ReadFile(statePath); err == nil && json.Unmarshal(b, &from) == nil {
		from.Chunks, from.Bytes = max(0, from.Chunks), max(0, from.Bytes)
		st := from
		st.Chunks, st.Bytes = 0, 0
		fi, err := os.Stat(partial)
		if st != want || err != nil || fi.Size() < from.Bytes || from.Chunks > chunks(cfg.Rows) {
			from = want // another job's, or damaged: start over
		}
	}
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, fmt.Errorf("cannot write to %s: %w", filepath.Dir(path), err)
	}
	defer f.Close()
	if err := f.Truncate(from.Bytes); err != nil {
		return 0, fmt.Errorf("truncate %s: %w", partial, err)
	}
	if _, err := f.Seek(from.Bytes, io.SeekStart); err != nil {
		return 0, fmt.Errorf("seek %s: %w", partial, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := &countingWriter{w: bw, n: from.Bytes}
	save := func(st partialState) error {
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write %s: %w", partial, err)
		}
		b, _ := json.Marshal(st)
		if err := atomicfile.WriteFile(statePath, b, 0o644); err != nil {
			return fmt.Errorf("save job state: %w", err)
		}
		return nil
	}
	if err := save(from); err != nil { // the job is now known to be this one
		return 0, err
	}
	total := chunks(cfg.Rows)
	err = generate(ctx, cfg, kind, format, cw, progress, resume{
		from: from.Chunks,
		written: func(next int) error {
			if next%saveEvery != 0 && next != total {
				return nil
			}
			st := want
			st.Chunks, st.Bytes = next, cw.n
			return save(st)
		},
	})
	if err != nil {
		bw.Flush() // what is written past the last save is cut off on resume
		return from.Chunks * ChunkRows, err
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("sync %s: %w", path, err)
	}
	if err := atomicfile.Rename(partial, path); err != nil {
		return 0, err
	}
	os.Remove(statePath)
	return from.Chunks * ChunkRows, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
