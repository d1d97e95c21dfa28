package media

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/heapwatch"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/memory/wordvec"
	"github.com/metastation/metastation/app/store"
)

// BenchConfig sizes `metastation bench media`.
type BenchConfig struct {
	Dir        string // a scratch directory (a database and originals go there)
	Migrations fs.FS
	TextMB     int // megabytes of text files; default 8
	Images     int // 1024×768 PNG charts; default 20
	AudioMB    int // megabytes of 44.1 kHz stereo WAV; default 40
	CSVMB      int // the large CSV's megabytes; default 100
	OCRImages  int // charts read with tesseract when installed; default 3, negative for none
	Seed       uint64
}

// BenchResult is what `metastation bench media --json` prints last. Every
// figure is measured in the run, through the whole pipeline (spool, sniff,
// extract, store the original, write the memories).
type BenchResult struct {
	TextMBPerS      float64 `json:"text_mb_per_s"`
	TextMB          float64 `json:"text_mb"`
	TextChunks      int     `json:"text_chunks"`
	ImagePerS       float64 `json:"image_per_s"` // without OCR
	Images          int     `json:"images"`
	OCRPerS         float64 `json:"ocr_image_per_s,omitempty"` // with tesseract, when installed
	AudioMBPerS     float64 `json:"audio_mb_per_s"`
	AudioMB         float64 `json:"audio_mb"`
	AudioSecondsPer float64 `json:"audio_s_per_wall_s"` // seconds of sound analysed per second
	CSVMBPerS       float64 `json:"csv_mb_per_s"`
	CSVMB           float64 `json:"csv_mb"`
	CSVRows         int64   `json:"csv_rows"`
	PeakHeap100MB   float64 `json:"peak_heap_mb_100mb_csv"` // peak heap while the large CSV was ingested
	BaseHeapMB      float64 `json:"base_heap_mb"`           // heap before it (word vectors, memory store)
	BombRefused     bool    `json:"bomb_refused"`           // a PNG declaring 50 megapixels, refused from its header
	BombHeapMB      float64 `json:"bomb_heap_mb"`           // heap growth while it was refused
	BombMessage     string  `json:"bomb_message"`
	// The same rates per CPU-second of the process (user + system; 0 where
	// unknown): steadier than wall time on a machine shared with others.
	TextMBPerCPUS  float64 `json:"text_mb_per_cpu_s"`
	ImagePerCPUS   float64 `json:"image_per_cpu_s"`
	AudioMBPerCPUS float64 `json:"audio_mb_per_cpu_s"`
	CSVMBPerCPUS   float64 `json:"csv_mb_per_cpu_s"`
	Tesseract      bool    `json:"tesseract"`
	FFmpeg         bool    `json:"ffmpeg"`
	Cores          int     `json:"cores"`
}

// RunBench measures ingestion per kind on generated files.
func RunBench(ctx context.Context, cfg BenchConfig, emb *wordvec.Embedder, log *slog.Logger) (BenchResult, error) {
	if cfg.TextMB <= 0 {
		cfg.TextMB = 8
	}
	if cfg.Images <= 0 {
		cfg.Images = 20
	}
	if cfg.AudioMB <= 0 {
		cfg.AudioMB = 40
	}
	if cfg.CSVMB <= 0 {
		cfg.CSVMB = 100
	}
	if cfg.OCRImages == 0 {
		cfg.OCRImages = 3
	}
	tools := FindTools()
	res := BenchResult{Tesseract: tools.Tesseract != "", FFmpeg: tools.FFmpeg != "", Cores: runtime.GOMAXPROCS(0)}
	db, err := store.Open(ctx, filepath.Join(cfg.Dir, "bench.db"), cfg.Migrations)
	if err != nil {
		return res, err
	}
	defer db.Close()
	w := store.NewWriter(db, store.WriterOptions{}, log)
	defer w.Close()
	mem, err := memory.Open(ctx, memory.Config{}, db, w, emb, log)
	if err != nil {
		return res, err
	}
	p, err := NewPipeline(ctx, Config{Dir: filepath.Join(cfg.Dir, "media"), NoTools: true, ItemTimeout: 10 * time.Minute}, db, mem, log)
	if err != nil {
		return res, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 14))

	// Text: 1 MB documents of sentences from a small vocabulary.
	var texts [][]byte
	for i := 0; i < cfg.TextMB; i++ {
		texts = append(texts, benchText(rng, 1<<20))
	}
	el, cpu, chunks, err := ingestAllCPU(ctx, p, "doc", ".txt", texts)
	if err != nil {
		return res, fmt.Errorf("bench text: %w", err)
	}
	res.TextMB, res.TextChunks = float64(cfg.TextMB), chunks
	res.TextMBPerS, res.TextMBPerCPUS = round3(res.TextMB/el), perCPU(res.TextMB, cpu)

	// Images: distinct charts.
	var imgs [][]byte
	for i := 0; i < cfg.Images; i++ {
		imgs = append(imgs, benchChart(rng, 1024, 768))
	}
	el, cpu, _, err = ingestAllCPU(ctx, p, "chart", ".png", imgs)
	if err != nil {
		return res, fmt.Errorf("bench images: %w", err)
	}
	res.Images = cfg.Images
	res.ImagePerS, res.ImagePerCPUS = round3(float64(cfg.Images)/el), perCPU(float64(cfg.Images), cpu)
	if tools.Tesseract != "" && cfg.OCRImages > 0 {
		po, err := NewPipeline(ctx, Config{Dir: filepath.Join(cfg.Dir, "media-ocr"), Tools: tools, ItemTimeout: 10 * time.Minute}, db, mem, log)
		if err != nil {
			return res, err
		}
		n := cfg.OCRImages
		var fresh [][]byte
		for i := 0; i < n; i++ {
			fresh = append(fresh, benchChart(rng, 1024, 768))
		}
		el, _, err := ingestAll(ctx, po, "ocr", ".png", fresh)
		if err != nil {
			return res, fmt.Errorf("bench OCR: %w", err)
		}
		res.OCRPerS = round3(float64(n) / el)
	}

	// Audio: one-minute stereo WAVs of tones and pauses.
	var wavs [][]byte
	perFile := 44100 * 2 * 2 * 60
	for left := cfg.AudioMB << 20; left > 0; left -= perFile {
		wavs = append(wavs, benchWAV(rng, 60))
	}
	el, cpu, _, err = ingestAllCPU(ctx, p, "call", ".wav", wavs)
	if err != nil {
		return res, fmt.Errorf("bench audio: %w", err)
	}
	total := 0
	for _, b := range wavs {
		total += len(b)
	}
	res.AudioMB = round3(float64(total) / (1 << 20))
	res.AudioMBPerS, res.AudioMBPerCPUS = round3(res.AudioMB/el), perCPU(res.AudioMB, cpu)
	res.AudioSecondsPer = round3(float64(60*len(wavs)) / el)

	// The large CSV, written to disk and streamed in from there.
	csvPath := filepath.Join(cfg.Dir, "big.csv")
	rows, size, err := writeBenchCSV(csvPath, int64(cfg.CSVMB)<<20, rng)
	if err != nil {
		return res, err
	}
	runtime.GC()
	res.BaseHeapMB = round3(heapMB())
	peak := watchHeap()
	f, err := os.Open(csvPath)
	if err != nil {
		return res, err
	}
	start, cpu0 := time.Now(), cpuSeconds()
	r, err := p.Ingest(ctx, "big.csv", f, nil)
	el, cpu = time.Since(start).Seconds(), cpuSeconds()-cpu0
	f.Close()
	res.PeakHeap100MB = round3(peak())
	if err != nil {
		return res, fmt.Errorf("bench csv: %w", err)
	}
	res.CSVMB, res.CSVRows = round3(float64(size)/(1<<20)), r.Item.Info.Data.Rows
	res.CSVMBPerS, res.CSVMBPerCPUS = round3(res.CSVMB/el), perCPU(res.CSVMB, cpu)
	if res.CSVRows != rows {
		return res, fmt.Errorf("bench csv: %d rows read of %d written", res.CSVRows, rows)
	}

	// The bomb: 10,000 × 5,000 pixels declared in a 1 KB file.
	runtime.GC()
	before := heapMB()
	bombPeak := watchHeap()
	_, err = p.Ingest(ctx, "bomb.png", bytes.NewReader(DeclaredPNG(10000, 5000)), nil)
	res.BombHeapMB = round3(math.Max(0, bombPeak()-before))
	res.BombRefused = errs.Is(err, errs.Invalid) && strings.Contains(errs.MessageOf(err), "megapixels")
	if err != nil {
		res.BombMessage = errs.MessageOf(err)
	}
	return res, w.Flush(ctx)
}

func ingestAll(ctx context.Context, p *Pipeline, stem, ext string, files [][]byte) (float64, int, error) {
	el, _, chunks, err := ingestAllCPU(ctx, p, stem, ext, files)
	return el, chunks, err
}

// ingestAllCPU ingests files one by one and returns the wall and CPU
// seconds it took.
func ingestAllCPU(ctx context.Context, p *Pipeline, stem, ext string, files [][]byte) (float64, float64, int, error) {
	cpu0 := cpuSeconds()
	start := time.Now()
	chunks := 0
	for i, b := range files {
		r, err := p.Ingest(ctx, fmt.Sprintf("%s-%d%s", stem, i, ext), bytes.NewReader(b), nil)
		if err != nil {
			return 0, 0, 0, err
		}
		if r.Duplicate {
			return 0, 0, 0, fmt.Errorf("%s-%d%s: generated twice", stem, i, ext)
		}
		chunks += r.Item.Chunks
	}
	if err := p.mem.Flush(ctx); err != nil {
		return 0, 0, 0, err
	}
	return time.Since(start).Seconds(), cpuSeconds() - cpu0, chunks, nil
}

func perCPU(x, cpu float64) float64 {
	if cpu <= 0 {
		return 0
	}
	return round3(x / cpu)
}

var benchWords = strings.Fields(`market price rose fell shares bank rates inflation growth oil copper wheat
harvest storm port ship cargo demand supply factory orders earnings quarter profit loss risk hedge option
bond yield curve dollar euro yen gold silver trade tariff strike drought flood rain power grid energy
stocks index fund manager buyer seller volume spread liquidity crisis recovery forecast model signal`)

func benchText(rng *rand.Rand, n int) []byte {
	var b strings.Builder
	for b.Len() < n {
		words := 8 + rng.IntN(12)
		for i := 0; i < words; i++ {
			w := benchWords[rng.IntN(len(benchWords))]
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteString(w)
			if i < words-1 {
				b.WriteByte(' ')
			}
		}
		b.WriteString(". ")
		if rng.IntN(6) == 0 {
			b.WriteString("\n\n")
		}
	}
	return []byte(b.String()[:n])
}

func benchChart(rng *rand.Rand, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bg := color.RGBA{uint8(200 + rng.IntN(56)), uint8(200 + rng.IntN(56)), uint8(200 + rng.IntN(56)), 255}
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = bg.R, bg.G, bg.B, 255
	}
	ink := color.RGBA{uint8(rng.IntN(120)), uint8(rng.IntN(120)), uint8(100 + rng.IntN(155)), 255}
	y := float64(h) / 2
	for x := 0; x < w; x++ {
		y = math.Max(2, math.Min(float64(h-3), y+rng.NormFloat64()*3))
		for d := -2; d <= 2; d++ {
			img.SetRGBA(x, int(y)+d, ink)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func benchWAV(rng *rand.Rand, seconds int) []byte {
	const rate = 44100
	n := rate * seconds
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+n*4))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(2), uint32(rate), uint32(rate * 4), uint16(4), uint16(16)} {
		binary.Write(&b, le, v)
	}
	b.WriteString("data")
	binary.Write(&b, le, uint32(n*4))
	hz := 100 + rng.Float64()*400
	buf := make([]byte, 4)
	for i := 0; i < n; i++ {
		t := float64(i) / rate
		v := 0.0
		if int(t)%3 != 2 { // two seconds of tone, one of silence
			v = 0.4 * math.Sin(2*math.Pi*hz*t)
		}
		v += rng.NormFloat64() * 0.001
		s := int16(math.Max(-1, math.Min(1, v)) * 32767)
		le.PutUint16(buf, uint16(s))
		le.PutUint16(buf[2:], uint16(s))
		b.Write(buf)
	}
	return b.Bytes()
}

// writeBenchCSV writes about size bytes of trades to path.
func writeBenchCSV(path string, size int64, rng *rand.Rand) (rows, written int64, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, fmt.Errorf("bench csv: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	cw := &countWriter{w: w}
	fmt.Fprintln(cw, "time,symbol,side,price,qty,trader,venue")
	syms := []string{"SPY", "KO", "JPM", "AAPL", "BTC", "EURUSD", "GLD", "TLT"}
	t0 := time.Date(2026, 1, 2, 9, 30, 0, 0, time.UTC)
	for cw.n < size {
		rows++
		fmt.Fprintf(cw, "%s,%s,%s,%.2f,%d,trader-%d,%s\n", t0.Add(time.Duration(rows)*time.Millisecond*37).Format(time.RFC3339),
			syms[rng.IntN(len(syms))], [2]string{"buy", "sell"}[rng.IntN(2)], 50+rng.Float64()*400, 1+rng.IntN(1000), rng.IntN(5000), [3]string{"XNYS", "XNAS", "ARCX"}[rng.IntN(3)])
	}
	if err := w.Flush(); err != nil {
		return 0, 0, fmt.Errorf("bench csv: %w", err)
	}
	return rows, cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// heapMB is the live heap now, in MB.
func heapMB() float64 { return heapwatch.Bytes() / (1 << 20) }

// watchHeap samples the live heap every 5 ms until the returned function
// is called, which returns the peak in MB.
func watchHeap() func() float64 {
	stop := heapwatch.Start(5 * time.Millisecond)
	return func() float64 { return stop() / (1 << 20) }
}

// DeclaredPNG is a valid PNG whose header declares w × h pixels but whose
// one IDAT holds a kilobyte of zeros: a decompression bomb's shape, for the
// bench and the tests that must see it refused before anything is
// allocated.
func DeclaredPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1024))
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}
