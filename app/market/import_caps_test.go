package market

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// zeros is /dev/zero: endless bytes, no line end.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestImportCaps: `market import /dev/zero` ran out of memory (no line
// cap), and a 10 MB file of bad rows gave a 92 MB error body (every
// problem listed). A line past MaxLineBytes now stops the import at once,
// and an ImportError lists at most MaxProblems, saying how many more.
func TestImportCaps(t *testing.T) {
	t.Run("endless line", func(t *testing.T) {
		_, _, err := ParseYahoo(io.MultiReader(strings.NewReader("Date,Open,High,Low,Close\n"), zeros{}))
		var ie *ImportError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "longer than 64 KB") {
			t.Fatalf("endless line: %v", err)
		}
	})
	t.Run("endless header", func(t *testing.T) {
		if _, _, err := ParseYahoo(zeros{}); err == nil || !strings.Contains(err.Error(), "longer than 64 KB") {
			t.Fatalf("endless header: %v", err)
		}
	})
	// Found by FuzzParseYahoo: a bare quote made csv.Reader.FieldPos panic
	// (a 500 from the server, a crash of market import).
	t.Run("bare quote", func(t *testing.T) {
		_, _, err := ParseYahoo(strings.NewReader("Date,Open,High,Low,Close\n2020-01-01,1,1,1,1\n0000\"0000\n"))
		var ie *ImportError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "line 3") {
			t.Fatalf("bare quote: %v", err)
		}
	})
	t.Run("10 MB of bad rows", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("Date,Open,High,Low,Close\n")
		for b.Len() < 10<<20 {
			b.WriteString("2020-01-01,x,1,1,1\n")
		}
		_, _, err := ParseYahoo(strings.NewReader(b.String()))
		var ie *ImportError
		if !errors.As(err, &ie) {
			t.Fatalf("bad rows: %v", err)
		}
		if len(ie.Problems) != MaxProblems || ie.More < 500_000 {
			t.Fatalf("%d problems listed and %d more; want %d listed and the rest counted", len(ie.Problems), ie.More, MaxProblems)
		}
		if msg := err.Error(); len(msg) > 2000 || !strings.Contains(msg, "more") {
			t.Fatalf("the message is %d bytes: %.200s", len(msg), msg)
		}
	})
}
