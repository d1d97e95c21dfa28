package command

import (
	"bytes"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// NewProgress returns the progress bar of a long command: counting total
// units (rows, steps, episodes) on w. On a terminal it redraws in place;
// on anything else (a log file, a pipe, CI) it writes one plain line every
// few seconds instead of thousands of carriage returns.
func NewProgress(w io.Writer, total int64, desc, unit string) *progressbar.ProgressBar {
	opts := []progressbar.Option{
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetPredictTime(true),
		// Drawn at once, the bar's clock starts now: drawn first at the
		// first Set, it divided those rows by microseconds (1.3 billion
		// rows/s on its first line).
		progressbar.OptionSetRenderBlankState(true),
	}
	if isTerminal(w) {
		opts = append(opts, progressbar.OptionSetWriter(w), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionFullWidth())
	} else {
		opts = append(opts, progressbar.OptionSetWriter(&lineWriter{w: w}), progressbar.OptionThrottle(PlainEvery),
			progressbar.OptionSetWidth(30), progressbar.OptionUseANSICodes(false))
	}
	return progressbar.NewOptions64(total, opts...)
}

// PlainEvery is how often a progress bar writes a line when its output is
// not a terminal.
const PlainEvery = 5 * time.Second

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// lineWriter turns a bar's redraws into lines: each redraw ("\r" and the
// bar) is written as one line at once, and blank ones (the bar clearing
// itself) are dropped.
type lineWriter struct {
	w io.Writer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	for _, part := range bytes.FieldsFunc(p, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if line := bytes.TrimSpace(part); len(line) > 0 {
			if _, err := l.w.Write(append(line, '\n')); err != nil {
				return 0, err
			}
		}
	}
	return len(p), nil
}
