package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// logFileName is the log in the data directory of a binary started without
// a console (a double-click on Windows, the macOS .app) or with --log-file auto.
const logFileName = "metastation.log"

// maxLogBytes is the size past which the log is moved to metastation.log.1
// at start, so a server left running for months does not fill the disk.
const maxLogBytes = 10 << 20

// openLog returns where serve logs: stderr when it can be written and no
// file is asked for, else the file (appended to). The second result, when
// not "", is the file's path, to be told to the person.
func openLog(logFile, dataDir string, stderr io.Writer) (io.WriteCloser, string, error) {
	if logFile == "" && usableWriter(stderr) {
		return nopCloser{stderr}, "", nil
	}
	path := logFile
	if path == "" || path == "auto" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, "", fmt.Errorf("create data directory for the log: %w", err)
		}
		path = filepath.Join(dataDir, logFileName)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxLogBytes {
		if err := os.Rename(path, path+".1"); err != nil {
			return nil, "", fmt.Errorf("rotate log: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, "", fmt.Errorf("open log file: %w", err)
	}
	return f, path, nil
}

// usableWriter reports whether w can be written: any writer but an
// *os.File without a valid handle (a GUI process's standard error).
func usableWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return w != nil
	}
	return usable(f)
}

func usable(f *os.File) bool {
	if f == nil {
		return false
	}
	_, err := f.Stat()
	return err == nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
