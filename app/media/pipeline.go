package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/store"
)

// Pipeline ingests files: spool, sniff, extract, store. Its methods are
// safe for concurrent use; the store step of one item runs at a time.
type Pipeline struct {
	cfg   Config
	db    *store.DB
	mem   *memory.Store
	log   *slog.Logger
	files files

	mu     sync.Mutex       // one item's store step at a time: dedup is check-then-insert
	phashM sync.RWMutex     // guards phash
	phash  map[int64]uint64 // perceptual hash of every image item, for near-duplicates
}

// NewPipeline builds the pipeline. It loads the images' perceptual hashes;
// call Recover to complete items a crash left half-written.
func NewPipeline(ctx context.Context, cfg Config, db *store.DB, mem *memory.Store, log *slog.Logger) (*Pipeline, error) {
	if db == nil || mem == nil {
		return nil, errors.New("media: a database and a memory store are required")
	}
	if cfg.Dir == "" {
		return nil, errors.New("media: a directory for the originals is required")
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Pipeline{cfg: cfg.withDefaults(), db: db, mem: mem, log: log, files: files{dir: cfg.Dir}, phash: map[int64]uint64{}}
	if err := os.MkdirAll(p.files.tmpDir(), 0o755); err != nil {
		return nil, fmt.Errorf("media: directory: %w", err)
	}
	p.files.sweep()
	hashes, err := loadPHashes(ctx, db.R)
	if err != nil {
		return nil, err
	}
	p.phash = hashes
	return p, nil
}

// SetFreeBytes replaces Config.FreeBytes; call it before the pipeline is
// used (a test gives the server a small disk with it).
func (p *Pipeline) SetFreeBytes(f func(dir string) (uint64, bool)) { p.cfg.FreeBytes = f }

// CheckSpace refuses an upload of n bytes (errs.NoSpace) when the disk
// holding the originals has less free than n plus SpaceReserve. Uploads
// already queued are spooled on that disk, so the free space has counted
// them; each is moved into place, not copied.
func (p *Pipeline) CheckSpace(n int64) error {
	if p.cfg.FreeBytes == nil || n <= 0 {
		return nil
	}
	free, ok := p.cfg.FreeBytes(p.cfg.Dir)
	if !ok || uint64(n)+SpaceReserve <= free {
		return nil
	}
	return errs.Errorf(errs.NoSpace, "the disk holding %s has %d MB free, and this upload of %d MB needs that much and %d MB more for its pictures, text and memories; free some space, or upload fewer files at a time",
		p.cfg.Dir, free>>20, max(1, n>>20), SpaceReserve>>20)
}

// Tools are the external programs the pipeline found.
func (p *Pipeline) Tools() Tools { return p.cfg.Tools }

// Limits are the pipeline's limits, defaults filled in.
func (p *Pipeline) Limits() Limits { return p.cfg.Limits }

// Progress reports one item's stage ("receiving", "reading", "storing")
// and the fraction of the item done, 0..1.
type Progress func(stage string, fraction float64)

// Result is what one ingestion made.
type Result struct {
	Item      Item `json:"item"`
	Duplicate bool `json:"duplicate"` // the same bytes were already stored; nothing new was written
}

// Ingest reads one file from r and stores it. Any failure leaves nothing
// stored and returns a sentence saying why.
func (p *Pipeline) Ingest(ctx context.Context, name string, r io.Reader, progress Progress) (Result, error) {
	if progress == nil {
		progress = func(string, float64) {}
	}
	progress("receiving", 0)
	sp, err := p.Spool(ctx, r)
	if err != nil {
		return Result{}, err
	}
	return p.IngestSpooled(ctx, name, sp, progress)
}

// Spooled is an upload written to a temporary file under the pipeline's
// directory, hashed, waiting for IngestSpooled (or Discard).
type Spooled struct{ sp *spooled }

// Size is the upload's size in bytes.
func (s *Spooled) Size() int64 { return s.sp.size }

// Discard removes the temporary file.
func (s *Spooled) Discard() { s.sp.discard() }

// Spool copies r to a temporary file (one copy buffer of memory whatever
// its size), refusing it past Limits.MaxUpload. An upload handler spools
// each file as it streams in and hands them to a job afterwards.
func (p *Pipeline) Spool(ctx context.Context, r io.Reader) (*Spooled, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ItemTimeout)
	defer cancel()
	sp, err := p.files.spool(ctxReader{ctx, r}, p.cfg.Limits.MaxUpload, nil)
	if err != nil {
		return nil, p.timeoutErr(ctx, err)
	}
	return &Spooled{sp}, nil
}

// IngestSpooled reads and stores a spooled upload; the spool is consumed
// (moved into place or removed) whatever happens.
func (p *Pipeline) IngestSpooled(ctx context.Context, name string, s *Spooled, progress Progress) (Result, error) {
	if progress == nil {
		progress = func(string, float64) {}
	}
	sp := s.sp
	defer sp.discard()
	name = cleanName(name)
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ItemTimeout)
	defer cancel()
	progress("reading", 0.1)
	format, err := Sniff(sp.head)
	if err != nil {
		return Result{}, err
	}
	if max := p.cfg.Limits.MaxBytes[format.Kind()]; sp.size > max {
		return Result{}, errs.Errorf(errs.TooLarge, "the %s file is %s; %s files may be at most %s",
			strings.ToUpper(string(format)), humanBytes(sp.size), format.Kind(), humanBytes(max))
	}
	if it, ok, err := p.bySHA(ctx, sp.sum); err != nil {
		return Result{}, err
	} else if ok {
		return Result{Item: it, Duplicate: true}, nil
	}
	ex, err := p.extractSafely(ctx, format, sp.f, sp.size, name, func(f float64) { progress("reading", 0.1+0.7*f) })
	if err != nil {
		return Result{}, p.timeoutErr(ctx, err)
	}
	progress("storing", 0.85)
	it, dup, err := p.store(ctx, sp, name, format, ex)
	if err != nil {
		return Result{}, err
	}
	progress("done", 1)
	return Result{Item: it, Duplicate: dup}, nil
}

// timeoutErr turns an error caused by the item's time limit into a sentence.
func (p *Pipeline) timeoutErr(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return errs.Wrap(errs.Invalid, err, "reading the file took longer than the %s one item may take", p.cfg.ItemTimeout)
	}
	return err
}

// extractSafely runs the extractor of format, turning a panic inside a
// decoder (a hostile file found a bug) into a refusal, and stops waiting at
// the item's deadline.
func (p *Pipeline) extractSafely(ctx context.Context, format Format, f *os.File, size int64, name string, frac func(float64)) (*extracted, error) {
	type out struct {
		ex  *extracted
		err error
	}
	ch := make(chan out, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				p.log.Warn("media: decoder panicked", "format", format, "name", name, "panic", r, "stack", string(debug.Stack()))
				ch <- out{err: errs.Errorf(errs.Invalid, "the %s file is malformed and could not be read", strings.ToUpper(string(format)))}
			}
		}()
		ex, err := p.extract(ctx, format, f, size, name, frac)
		ch <- out{ex, err}
	}()
	select {
	case o := <-ch:
		if o.err == nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return o.ex, o.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// extracted is what reading a file found.
type extracted struct {
	kind    Kind   // the item's kind: an animated GIF is video
	summary string // one sentence for the card
	desc    string // a memory describing the file in words, for search by meaning
	pages   []page // text to chunk into memories
	part    string // what the pages are: "text", "ocr", "table"
	info    Info
	assets  []Asset
	phash   *uint64
}

func (p *Pipeline) extract(ctx context.Context, format Format, f *os.File, size int64, name string, frac func(float64)) (*extracted, error) {
	switch format {
	case TXT, MD, HTML:
		return p.extractText(f, size, format)
	case PDF:
		return p.extractPDF(ctx, f, size, frac)
	case PNG, JPEG, GIF, WEBP:
		return p.extractImage(ctx, f, size, format)
	case WAV, MP3, FLAC:
		return p.extractAudio(ctx, f, size, format, frac)
	case MP4, MOV:
		return p.extractVideo(ctx, f, size, format)
	case CSV, JSON, JSONL, Parquet:
		return p.extractData(ctx, f, size, format, frac)
	}
	return nil, errs.Errorf(errs.Invalid, "files of type %s are not read", format)
}

// memories are the item's memories: its description, then its chunks.
func (p *Pipeline) memories(it Item, ex *extracted, chunks []Chunk) []memory.Memory {
	at := p.mem.Newest()
	src := sourceOf(it.ID)
	base := func(ref int, text string) memory.Memory {
		return memory.Memory{
			Agent: p.cfg.Agent, Kind: memory.Document, Text: text, Topic: src, Source: src,
			Tags:    []string{"media", string(it.Kind), string(it.Format)},
			Links:   []memory.Link{{Kind: "file", Ref: it.SHA256}, {Kind: "media", Ref: strconv.FormatInt(it.ID, 10)}, {Kind: "chunk", Ref: strconv.Itoa(ref)}},
			SimTime: at,
		}
	}
	ms := []memory.Memory{base(1, cutUTF8(ex.desc, memory.MaxText))}
	for _, c := range chunks {
		where := it.Name
		if c.Page > 0 {
			where += ", page " + strconv.Itoa(c.Page)
		}
		if ex.part == "ocr" {
			where += " (text read from the picture)"
		}
		ms = append(ms, base(c.Index+2, cutUTF8(where+": "+c.Text, memory.MaxText)))
	}
	return ms
}

// cleanName keeps a file's base name, printable, at most 200 bytes: it is
// shown and searched, never used as a path.
func cleanName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = filepath.Base(name)
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(cutUTF8(name, 200))
	if name == "" || name == "." || name == "/" || name == ".." {
		return "upload"
	}
	return name
}

// ctxReader stops a copy when ctx ends (an upload that stalls past the
// item's time limit).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
