package media

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// These tests run the paths that use Debian's tools; CI installs
// tesseract-ocr and ffmpeg, so there they run. Where a tool is absent the
// test says so and skips.

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install %s)", name, map[string]string{"tesseract": "tesseract-ocr"}[name]+map[string]string{"ffmpeg": "ffmpeg"}[name])
	}
	return p
}

func TestOCRWithTesseract(t *testing.T) {
	needTool(t, "tesseract")
	e := open(t, t.TempDir(), Config{})
	img := chartImage(900, 300, "COPPER SHORTAGE", 4)
	res, err := e.ingest(t, "screenshot.png", pngBytes(img))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToUpper(res.Item.Excerpt), "COPPER") {
		t.Fatalf("OCR read %q; notes %q", res.Item.Excerpt, res.Item.Info.Notes)
	}
	if !e.found(t, "copper shortage", res.Item.ID, 3) {
		t.Fatal("the OCR text is not searchable")
	}
}

func TestOCRAbsentSaidPlainly(t *testing.T) {
	e := open(t, t.TempDir(), Config{NoTools: true})
	res, err := e.ingest(t, "screenshot.png", pngBytes(chartImage(200, 100, "HELLO", 5)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(res.Item.Info.Notes, " "), "Tesseract is not installed") {
		t.Fatalf("notes %q", res.Item.Info.Notes)
	}
}

// ffmpegFile makes a file with ffmpeg's lavfi sources.
func ffmpegFile(t *testing.T, ffmpeg, name string, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command(ffmpeg, append(append([]string{"-nostdin", "-v", "error"}, args...), "-y", out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("ffmpeg cannot write %s here: %v %s", name, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVideoWithFFmpeg(t *testing.T) {
	ff := needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	// Two scenes: a test pattern, then a red screen.
	clip := ffmpegFile(t, ff, "clip.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2",
		"-f", "lavfi", "-i", "color=c=red:size=320x240:rate=25:duration=2", "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
		"-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest")
	e := open(t, t.TempDir(), Config{})
	res, err := e.ingest(t, "clip.mp4", clip)
	if err != nil {
		t.Fatal(err)
	}
	v := res.Item.Info.Video
	if v == nil || v.Width != 320 || v.Height != 240 || v.VideoCodec != "avc1" || v.AudioCodec != "mp4a" {
		t.Fatalf("video %+v", v)
	}
	if v.Seconds < 3.5 || v.Seconds > 4.5 || v.FPS < 24 || v.FPS > 26 || v.Keyframes < 4 || v.Keyframes > v.Frames {
		t.Fatalf("timing %+v", v)
	}
	hasThumb, scenes := false, 0
	for _, a := range res.Item.Assets {
		hasThumb = hasThumb || a == "thumb"
		if strings.HasPrefix(a, "scene-") {
			scenes++
		}
	}
	if !hasThumb || scenes < 1 {
		t.Fatalf("assets %q, notes %q", res.Item.Assets, res.Item.Info.Notes)
	}
}

func TestVideoWithoutFFmpegIsMetadataOnly(t *testing.T) {
	e := open(t, t.TempDir(), Config{NoTools: true})
	res, err := e.ingest(t, "clip.mp4", tinyMP4(640, 360, 100, 25, 25))
	if err != nil {
		t.Fatal(err)
	}
	v := res.Item.Info.Video
	if v.Width != 640 || v.Height != 360 || v.Frames != 100 || v.Keyframes != 4 || v.FPS != 25 || v.Seconds != 4 || v.AudioCodec != "mp4a" {
		t.Fatalf("video %+v", v)
	}
	if !strings.Contains(strings.Join(res.Item.Info.Notes, " "), "ffmpeg is not installed") {
		t.Fatalf("notes %q", res.Item.Info.Notes)
	}
}

func TestMP3AndWebPFromFFmpeg(t *testing.T) {
	ff := needTool(t, "ffmpeg")
	e := open(t, t.TempDir(), Config{NoTools: true})
	t.Run("mp3", func(t *testing.T) {
		b := ffmpegFile(t, ff, "tone.mp3", "-f", "lavfi", "-i", "sine=frequency=300:duration=3", "-ar", "22050", "-c:a", "libmp3lame", "-b:a", "64k")
		res, err := e.ingest(t, "tone.mp3", b)
		if err != nil {
			t.Fatal(err)
		}
		a := res.Item.Info.Audio
		if res.Item.Format != MP3 || a.SampleRate != 22050 || a.Seconds < 2.9 || a.Seconds > 3.2 || a.CentroidHz < 200 || a.CentroidHz > 600 {
			t.Fatalf("audio %+v", a)
		}
		_, err = e.ingest(t, "cut.mp3", b[:len(b)-97])
		if err == nil {
			t.Log("a cut MP3 reads as a shorter one (its frames are independent)")
		}
	})
	t.Run("webp", func(t *testing.T) {
		b := ffmpegFile(t, ff, "pic.webp", "-f", "lavfi", "-i", "testsrc=size=200x120:duration=1", "-frames:v", "1", "-c:v", "libwebp")
		res, err := e.ingest(t, "pic.webp", b)
		if err != nil {
			t.Fatal(err)
		}
		if res.Item.Format != WEBP || res.Item.Info.Image.Width != 200 || res.Item.Info.Image.Height != 120 {
			t.Fatalf("image %+v", res.Item.Info.Image)
		}
	})
}

func TestParquetTable(t *testing.T) {
	type row struct {
		Symbol string  `parquet:"symbol"`
		Price  float64 `parquet:"price"`
		Qty    int64   `parquet:"qty"`
	}
	path := filepath.Join(t.TempDir(), "fills.parquet")
	var rows []row
	for i := 0; i < 1000; i++ {
		rows = append(rows, row{Symbol: []string{"SPY", "KO", "JPM"}[i%3], Price: 100 + float64(i)/10, Qty: int64(i % 7)})
	}
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	e := open(t, t.TempDir(), Config{NoTools: true})
	res, err := e.ingest(t, "fills.parquet", b)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Item.Info.Data
	if d.Rows != 1000 || len(d.Columns) != 3 || d.Columns[0].Type != "text" || d.Columns[1].Type != "number" || d.Columns[2].Type != "integer" {
		t.Fatalf("table %+v", d)
	}
	if d.Columns[0].Distinct != 3 || !d.Columns[0].Exact || d.Columns[2].Min != "0" || d.Columns[2].Max != "6" {
		t.Fatalf("columns %+v", d.Columns)
	}
	if _, err := e.ingest(t, "cut.parquet", b[:len(b)-20]); err == nil {
		t.Fatal("a truncated Parquet file was accepted")
	}
	_ = context.Background()
}

func TestNearDuplicateImages(t *testing.T) {
	e := open(t, t.TempDir(), Config{NoTools: true})
	base := chartImage(400, 300, "", 9)
	a, err := e.ingest(t, "a.png", pngBytes(base))
	if err != nil {
		t.Fatal(err)
	}
	// The same chart, smaller and as a JPEG: a near-duplicate.
	b, err := e.ingest(t, "b.jpg", jpegBytes(scaled(base, 250), 70))
	if err != nil {
		t.Fatal(err)
	}
	// Another picture.
	c, err := e.ingest(t, "c.png", pngBytes(animatedFrame()))
	if err != nil {
		t.Fatal(err)
	}
	near, err := e.p.NearDuplicates(context.Background(), a.Item.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(near) != 1 || near[0].Item.ID != b.Item.ID {
		t.Fatalf("near-duplicates of a: %+v (c is %d)", near, c.Item.ID)
	}
}

func TestScannedPDFReadByOCR(t *testing.T) {
	needTool(t, "tesseract")
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Skip("pdftoppm is not installed (apt-get install poppler-utils)")
	}
	img := chartImage(1200, 600, "NICKEL MINES FLOODED", 3)
	e := open(t, t.TempDir(), Config{})
	res, err := e.ingest(t, "scan.pdf", scannedPDF(jpegBytes(img, 90), 1200, 600))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToUpper(res.Item.Excerpt), "NICKEL") || !strings.Contains(strings.Join(res.Item.Info.Notes, " "), "read by OCR") {
		t.Fatalf("excerpt %q, notes %q", res.Item.Excerpt, res.Item.Info.Notes)
	}
	if !e.found(t, "nickel mines flooded", res.Item.ID, 3) {
		t.Fatal("the scanned text is not searchable")
	}
}
