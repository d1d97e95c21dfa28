package media

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/metastation/metastation/app/errs"
)

// files keeps originals under dir by their sha256: dir/originals/ab/<sha>.
// Uploads are spooled to dir/tmp first and renamed into place, so an
// original is either whole or absent.
type files struct{ dir string }

var shaPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (fs files) tmpDir() string { return filepath.Join(fs.dir, "tmp") }

// path is where the original with digest sum lives. sum is checked to be a
// hex digest, so no name from outside ever becomes part of a path.
func (fs files) path(sum string) (string, error) {
	if !shaPattern.MatchString(sum) {
		return "", fmt.Errorf("media: %q is not a sha256 digest", sum)
	}
	return filepath.Join(fs.dir, "originals", sum[:2], sum), nil
}

// spooled is an upload written to a temporary file.
type spooled struct {
	f    *os.File
	size int64
	sum  string
	head []byte // its first SniffBytes
}

func (s *spooled) discard() {
	if s == nil || s.f == nil {
		return
	}
	name := s.f.Name()
	s.f.Close()
	os.Remove(name)
	s.f = nil
}

// spool copies r to a temporary file, hashing it, and refuses it past max
// bytes. Memory use is one copy buffer, whatever the size.
func (fs files) spool(r io.Reader, max int64, progress func(n int64)) (*spooled, error) {
	if err := os.MkdirAll(fs.tmpDir(), 0o755); err != nil {
		return nil, fmt.Errorf("media: spool directory: %w", err)
	}
	f, err := os.CreateTemp(fs.tmpDir(), "upload-*.part")
	if err != nil {
		return nil, fmt.Errorf("media: spool file: %w", err)
	}
	s := &spooled{f: f}
	h := sha256.New()
	buf := make([]byte, 256<<10)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if len(s.head) < SniffBytes {
				s.head = append(s.head, buf[:min(n, SniffBytes-len(s.head))]...)
			}
			s.size += int64(n)
			if s.size > max {
				s.discard()
				return nil, errs.Errorf(errs.TooLarge, "the file is larger than the %s an upload may be", humanBytes(max))
			}
			h.Write(buf[:n])
			if _, err := f.Write(buf[:n]); err != nil {
				s.discard()
				return nil, fmt.Errorf("media: spool: %w", err)
			}
			if progress != nil {
				progress(s.size)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			s.discard()
			return nil, errs.Wrap(errs.Invalid, rerr, "the upload broke off before the end of the file")
		}
	}
	if err := f.Sync(); err != nil {
		s.discard()
		return nil, fmt.Errorf("media: spool sync: %w", err)
	}
	s.sum = hex.EncodeToString(h.Sum(nil))
	return s, nil
}

// keep moves a spooled upload into place as the original of its digest. An
// original already there (the same bytes) is kept and the spool removed.
func (fs files) keep(s *spooled) (string, error) {
	dst, err := fs.path(s.sum)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("media: originals directory: %w", err)
	}
	name := s.f.Name()
	if err := s.f.Close(); err != nil {
		return "", fmt.Errorf("media: close spool: %w", err)
	}
	s.f = nil
	if _, err := os.Stat(dst); err == nil {
		os.Remove(name)
		return dst, nil
	}
	if err := os.Rename(name, dst); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("media: keep original: %w", err)
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		d.Sync() // the rename survives a power cut
		d.Close()
	}
	return dst, nil
}

// open opens the original of digest sum.
func (fs files) open(sum string) (*os.File, error) {
	p, err := fs.path(sum)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errs.Errorf(errs.NotFound, "the original of %s is not stored", sum[:12])
	}
	if err != nil {
		return nil, fmt.Errorf("media: open original: %w", err)
	}
	return f, nil
}

// sweep removes spool files a crash left behind.
func (fs files) sweep() {
	ms, _ := filepath.Glob(filepath.Join(fs.tmpDir(), "upload-*.part"))
	for _, m := range ms {
		os.Remove(m)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
