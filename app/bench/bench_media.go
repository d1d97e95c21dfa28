package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/media"
	"github.com/metastation/metastation/app/memory"
)

// runBenchMedia is `metastation bench media`: text, images, audio and a
// large CSV through the whole ingestion pipeline, the CSV's peak heap, and
// a 50-megapixel PNG bomb refused from its header.
func runBenchMedia(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench media", env.Stderr)
	textMB := fs.Int("text-mb", 8, "megabytes of text documents")
	images := fs.Int("images", 20, "1024×768 PNG charts")
	audioMB := fs.Int("audio-mb", 40, "megabytes of 44.1 kHz stereo WAV")
	csvMB := fs.Int("csv-mb", 100, "megabytes of the large CSV")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *textMB < 1 || *textMB > 1024 || *images < 1 || *images > 10000 || *audioMB < 1 || *audioMB > 4096 || *csvMB < 1 || *csvMB > 500 {
		return command.Usagef("bench media: --text-mb in [1, 1024], --images in [1, 10000], --audio-mb in [1, 4096], --csv-mb in [1, 500]")
	}
	dir, err := os.MkdirTemp("", "metastation-bench-media-")
	if err != nil {
		return fmt.Errorf("bench media: %w", err)
	}
	defer os.RemoveAll(dir)
	emb, err := memory.NewEmbedder()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fmt.Fprintf(env.Stdout, "media: %d MB of text, %d images, %d MB of audio, a %d MB CSV, a 50-megapixel PNG bomb\n", *textMB, *images, *audioMB, *csvMB)
	res, err := media.RunBench(ctx, media.BenchConfig{Dir: dir, Migrations: env.Assets.Migrations, TextMB: *textMB, Images: *images, AudioMB: *audioMB, CSVMB: *csvMB}, emb, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "text   %8.2f MB/s  %.2f MB per CPU-second (%d chunks as memories)\n", res.TextMBPerS, res.TextMBPerCPUS, res.TextChunks)
	fmt.Fprintf(env.Stdout, "images %8.2f /s    %.2f per CPU-second (no OCR)", res.ImagePerS, res.ImagePerCPUS)
	if res.Tesseract {
		fmt.Fprintf(env.Stdout, ", %.2f /s with tesseract", res.OCRPerS)
	}
	fmt.Fprintln(env.Stdout)
	fmt.Fprintf(env.Stdout, "audio  %8.2f MB/s  %.2f MB per CPU-second (%.0f s of sound per second)\n", res.AudioMBPerS, res.AudioMBPerCPUS, res.AudioSecondsPer)
	fmt.Fprintf(env.Stdout, "csv    %8.2f MB/s  %.2f MB per CPU-second (%d rows), peak heap %.1f MB (%.1f MB before)\n", res.CSVMBPerS, res.CSVMBPerCPUS, res.CSVRows, res.PeakHeap100MB, res.BaseHeapMB)
	fmt.Fprintf(env.Stdout, "bomb   refused %v, heap growth %.2f MB: %s\n", res.BombRefused, res.BombHeapMB, res.BombMessage)
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}
