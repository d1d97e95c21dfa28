package mlops

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/metastation/metastation/app/atomicfile"
	"github.com/metastation/metastation/app/errs"
)

// MaxArtifactBytes caps an artifact. The largest models here are QMIX
// checkpoints with their replay buffers (tens of MB).
const MaxArtifactBytes = 256 << 20

// Artifacts is a content-addressed store of model files: each is kept once,
// under its sha256, and checked against it whenever it is read.
type Artifacts struct {
	dir string
}

// NewArtifacts returns the store rooted at dir (created if needed).
func NewArtifacts(dir string) (*Artifacts, error) {
	if err := os.MkdirAll(filepath.Join(dir, "sha256"), 0o755); err != nil {
		return nil, fmt.Errorf("create artifact store: %w", err)
	}
	return &Artifacts{dir: dir}, nil
}

// Sum returns the hex sha256 of data.
func Sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

func (a *Artifacts) path(sum string) string {
	return filepath.Join(a.dir, "sha256", sum[:2], sum)
}

// Put stores data and returns its sha256. Storing what is already there is
// a no-op; a damaged copy already there is replaced.
func (a *Artifacts) Put(data []byte) (string, error) {
	if len(data) == 0 {
		return "", errs.Errorf(errs.Invalid, "the artifact is empty")
	}
	if len(data) > MaxArtifactBytes {
		return "", errs.Errorf(errs.Invalid, "the artifact is %d MB, more than the %d MB allowed", len(data)>>20, MaxArtifactBytes>>20)
	}
	sum := Sum(data)
	if _, err := a.Get(sum); err == nil {
		return sum, nil
	}
	p := a.path(sum)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("store artifact: %w", err)
	}
	if err := atomicfile.WriteFile(p, data, 0o444); err != nil {
		return "", fmt.Errorf("store artifact: %w", err)
	}
	return sum, nil
}

// Get reads the artifact sum and checks its sha256: a file changed on disk
// is refused with an Unavailable error, never returned.
func (a *Artifacts) Get(sum string) ([]byte, error) {
	if !validSum(sum) {
		return nil, errs.Errorf(errs.Invalid, "%q is not a sha256 in hex", sum)
	}
	f, err := os.Open(a.path(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.Errorf(errs.Unavailable, "the artifact %s… is missing from the store", sum[:12])
	}
	if err != nil {
		return nil, fmt.Errorf("read artifact: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxArtifactBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read artifact: %w", err)
	}
	if got := Sum(data); got != sum {
		return nil, &ChecksumError{Want: sum, Got: got}
	}
	return data, nil
}

// ChecksumError is an artifact whose bytes no longer hash to its name: it
// was changed on disk.
type ChecksumError struct{ Want, Got string }

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("artifact %s… hashes to %s…", e.Want[:12], e.Got[:12])
}

func validSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
