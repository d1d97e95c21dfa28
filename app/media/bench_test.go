package media

import (
	"context"
	"os"
	"testing"
)

// TestRunBenchSmall runs the benchmark small: every figure is measured and
// the bomb is refused.
func TestRunBenchSmall(t *testing.T) {
	res, err := RunBench(context.Background(), BenchConfig{Dir: t.TempDir(), Migrations: os.DirFS("../../migrations"),
		TextMB: 1, Images: 2, AudioMB: 1, CSVMB: 2, OCRImages: -1}, embedder(t), quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.TextMBPerS <= 0 || res.ImagePerS <= 0 || res.AudioMBPerS <= 0 || res.CSVMBPerS <= 0 || res.PeakHeap100MB <= 0 || res.CSVRows == 0 {
		t.Fatalf("a figure was not measured: %+v", res)
	}
	if !res.BombRefused {
		t.Fatalf("the bomb was not refused: %q", res.BombMessage)
	}
}
