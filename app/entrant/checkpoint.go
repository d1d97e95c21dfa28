package entrant

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
)

// MaxBytes caps the checkpoint file an entrant is loaded from (a
// trading-world checkpoint with its replay is about 25 MB).
const MaxBytes = 256 << 20

// ErrTooLarge is the cause of the error for a checkpoint over MaxBytes (the
// web layer answers it with 413).
var ErrTooLarge = errors.New("the file is too large")

// An entrant's checkpoint is named by its path inside the data directory:
// runs/… for metastation train's checkpoints, marl/run-N/… for the Training
// page's multi-agent runs. These are the two folders it may come from.
const (
	folderRuns = "runs"
	folderMARL = "marl"
)

// load reads a trading-world checkpoint (metastation train --env
// trading-ma --algo vdn|qmix) from f.
func load(f *os.File) (*TradingAgent, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if fi.Size() > MaxBytes {
		return nil, fmt.Errorf("%w: %d MB, more than the %d MB a checkpoint may have", ErrTooLarge, fi.Size()>>20, MaxBytes>>20)
	}
	return LoadTradingAgent(io.LimitReader(f, MaxBytes), TradingAgentConfig{})
}

// LoadFile reads the trading-world checkpoint at path, anywhere (the
// --tournament-agent flag names it; a person at the machine chose it).
func LoadFile(path string) (*TradingAgent, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return load(f)
}

// checkpointPath turns the checkpoint a user names (a path inside the data
// directory's runs/ folder) into an entrant path, or explains why not.
func checkpointPath(user string) (string, error) {
	const where = "the checkpoint must be a path inside the data directory's runs/ folder, such as vdn-trading-ma-curriculum-seed1/checkpoint.ckpt"
	if user == "" || len(user) > 512 || strings.ContainsRune(user, 0) {
		return "", errs.Errorf(errs.Invalid, where)
	}
	clean := filepath.Clean(filepath.FromSlash(user))
	if !filepath.IsLocal(clean) {
		return "", errs.Errorf(errs.Invalid, where+" (no absolute paths, no ..)")
	}
	return folderRuns + "/" + filepath.ToSlash(clean), nil
}

// Runs finds the Training page's multi-agent runs (app/marl's service).
type Runs interface {
	Get(id int64) (marl.RunInfo, error)
}

// runPath turns a multi-agent run of the Training page into an entrant
// path: a finished trading-world QMIX or VDN run, whose checkpoint is kept.
func runPath(runs Runs, dataDir string, id int64) (string, error) {
	if runs == nil {
		return "", errs.Errorf(errs.Unavailable, "this server trains no multi-agent runs, so run %d cannot enter", id)
	}
	info, err := runs.Get(id)
	switch {
	case errs.Is(err, errs.NotFound):
		return "", errs.Errorf(errs.NotFound, "there is no multi-agent run %d", id)
	case err != nil:
		return "", errs.Wrap(errs.Invalid, err, "run %d cannot enter the tournament", id)
	case info.Spec.Env != "trading-ma" || info.Spec.Algo == "maddpg":
		return "", errs.Errorf(errs.Invalid, "run %d is %s on %s; only trading-world QMIX or VDN learners can trade in the tournament", id, info.Spec.Algo, info.Spec.Env)
	case info.Status != "done":
		return "", errs.Errorf(errs.Conflict, "run %d is %s; a learner enters the tournament once its run is done", id, info.Status)
	}
	rel, err := filepath.Rel(filepath.Join(dataDir, folderMARL), info.Checkpoint)
	if err != nil || !filepath.IsLocal(rel) {
		return "", errs.Errorf(errs.Conflict, "run %d keeps its checkpoint outside the data directory", id)
	}
	return folderMARL + "/" + filepath.ToSlash(rel), nil
}

// open loads the checkpoint at rel, an entrant path (runs/… or marl/…)
// inside dataDir, refusing anything that leaves its folder (symbolic links
// out of it included).
func open(dataDir, rel string) (*TradingAgent, error) {
	folder, inside, _ := strings.Cut(rel, "/")
	if folder != folderRuns && folder != folderMARL || inside == "" {
		return nil, errs.Errorf(errs.Invalid, "%s is not a checkpoint an entrant can come from", rel)
	}
	root, err := os.OpenRoot(filepath.Join(dataDir, folder))
	if err != nil {
		return nil, errs.Errorf(errs.NotFound, "the data directory has no %s/ folder; train an agent with metastation train --env trading-ma --algo vdn, which writes to runs/", folder)
	}
	defer root.Close()
	// Only a regular file, looked at before it is opened and opened without
	// blocking: open() of a FIFO waits for a writer, forever.
	if fi, err := root.Stat(filepath.FromSlash(inside)); err == nil && !fi.Mode().IsRegular() {
		return nil, errs.Errorf(errs.Invalid, "the checkpoint %s is not a regular file", rel)
	}
	f, err := root.OpenFile(filepath.FromSlash(inside), os.O_RDONLY|openNonblock, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, errs.Errorf(errs.NotFound, "there is no checkpoint %s in the data directory", rel)
	case err != nil:
		return nil, errs.Errorf(errs.Invalid, "the checkpoint %s must be a file inside the data directory's %s/ folder", rel, folder)
	}
	defer f.Close()
	a, err := load(f)
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, errs.Errorf(errs.TooLarge, "the file %s: %w", rel, err)
	case err != nil:
		return nil, errs.Errorf(errs.Invalid, "the file %s is not a trading-world checkpoint this build can enter: %w", rel, err)
	}
	return a, nil
}
