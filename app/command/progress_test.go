package command

import (
	"bytes"
	"strings"
	"testing"
)

// TestProgressOffATerminal: to a file or pipe the bar writes whole lines, a
// few of them, with no carriage return, and its first line shows no
// absurd rate (it used to divide the first rows by microseconds).
func TestProgressOffATerminal(t *testing.T) {
	var buf bytes.Buffer
	bar := NewProgress(&buf, 1_000_000, "rows test", "rows")
	for n := 1000; n <= 1_000_000; n += 1000 {
		bar.Set(n)
	}
	bar.Finish()
	out := buf.String()
	if strings.Contains(out, "\r") {
		t.Errorf("carriage returns in %q", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) > 4 {
		t.Errorf("%d lines for a second's work (one every %v is the rule):\n%s", len(lines), PlainEvery, out)
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "100%") || !strings.Contains(last, "1000000/1000000") {
		t.Errorf("the last line is %q, want the finished bar", last)
	}
	for _, l := range lines {
		if strings.Contains(l, "000000000 rows/s") {
			t.Errorf("an absurd rate: %q", l)
		}
	}
}
