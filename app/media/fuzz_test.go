package media

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Fuzz targets for every decoder entry point. Seeds come from the
// generated fixtures; inputs that fail are kept by go test under
// testdata/fuzz. CI runs each for a few seconds:
//
//	go test -run '^$' -fuzz '^FuzzSniff$' -fuzztime 5s ./app/media

func fuzzPipeline(t testing.TB) *Pipeline {
	cfg := Config{Dir: t.TempDir(), NoTools: true, ItemTimeout: 5 * time.Second,
		Limits: Limits{MaxPixels: 4_000_000, MaxInflate: 8 << 20, MaxAudioSeconds: 600, MaxGIFPixelsAll: 20_000_000}}
	return &Pipeline{cfg: cfg.withDefaults(), log: quiet(), files: files{dir: cfg.Dir}}
}

func seeds(f *testing.F) {
	tone := speechLike(8000, [][2]float64{{0.1, 0.4}}, 0.5, 1)
	fl, _ := flacBytes(8000, tone)
	for _, b := range [][]byte{
		[]byte("plain words\nand lines"), []byte("# Title\n\n- item **bold** [link](x)"),
		[]byte("<html><title>t</title><script>x</script><p>hello</p></html>"),
		pdfFile([][]string{{"hello pdf"}}, true), pngBytes(chartImage(40, 30, "", 1)),
		withEXIF(jpegBytes(chartImage(40, 30, "", 1), 60), 3, "2020:01:02 03:04:05"), animatedGIF(2),
		wavBytes(8000, 1, tone), fl, tinyMP4(64, 48, 10, 10, 5), marketCSV(5),
		[]byte(`[{"a":1,"b":{"c":"x"}},{"a":2}]`), []byte("{\"a\":1}\n{\"a\":2}\n"),
	} {
		f.Add(b)
	}
}

func FuzzSniff(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		format, err := Sniff(b)
		if err == nil && format.Kind() == "" {
			t.Fatalf("format %q has no kind", format)
		}
	})
}

func FuzzEXIF(f *testing.F) {
	j := withEXIF(jpegBytes(chartImage(20, 20, "", 1), 50), 6, "2021:05:06 07:08:09")
	f.Add(jpegEXIF(bytes.NewReader(j), int64(len(j))))
	f.Add([]byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, _ := parseEXIF(b)
		if x.Orientation < 0 || x.Orientation > 8 {
			t.Fatalf("orientation %d", x.Orientation)
		}
		jpegEXIF(bytes.NewReader(b), int64(len(b)))
		pngEXIF(bytes.NewReader(b), int64(len(b)))
		riffChunk(bytes.NewReader(b), int64(len(b)), "EXIF", 1<<20)
	})
}

func FuzzGIFScan(f *testing.F) {
	f.Add(animatedGIF(3))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := scanGIF(bytes.NewReader(b), 100)
		if err == nil && g.Frames > 101 {
			t.Fatalf("%d frames past the cap", g.Frames)
		}
	})
}

func FuzzMP4(f *testing.F) {
	f.Add(tinyMP4(64, 48, 10, 10, 5))
	f.Add(mp4Box("ftyp", []byte("qt  ")))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, moov, _, err := mp4Top(bytes.NewReader(b), int64(len(b)), 1<<20)
		if err == nil && moov != nil {
			parseMoov(moov, 12)
		}
		parseMoov(b, 12)
	})
}

func FuzzWAV(f *testing.F) {
	f.Add(wavBytes(8000, 2, speechLike(8000, [][2]float64{{0.1, 0.3}}, 0.4, 2)))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := openWAV(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		a := newAudioAnalyser(w.Rate(), w.Channels())
		buf := make([]float64, 4096*w.Channels())
		for {
			n, err := w.Read(buf)
			a.add(buf[:n])
			if err != nil {
				break
			}
		}
		a.finish(w.Bits())
	})
}

// FuzzExtract runs the whole extraction of whatever the sniffer says a
// file is, libraries included (their panics become refusals), within the
// item's time limit.
func FuzzExtract(f *testing.F) {
	seeds(f)
	p := fuzzPipeline(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		format, err := Sniff(b)
		if err != nil {
			return
		}
		path := filepath.Join(dir, "in")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ex, err := p.extractSafely(ctx, format, fh, int64(len(b)), "fuzz", func(float64) {})
		if err == nil && ex.desc == "" {
			t.Fatalf("%s extracted with no description", format)
		}
	})
}

func FuzzTable(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n"), uint8(0))
	f.Add([]byte(`[{"a":1},{"a":[1,2]}]`), uint8(1))
	f.Add([]byte("{\"a\":1}\n{\"b\":2}\n"), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		tb := newTable(50)
		r := &countingReader{r: io.NewSectionReader(bytes.NewReader(b), 0, int64(len(b)))}
		tick := func(int64) error { return nil }
		switch which % 3 {
		case 0:
			readCSV(r, tb, tick)
		case 1:
			readJSON(r, tb, 64, tick)
		case 2:
			readJSONLines(r, tb, 64, tick)
		}
		tb.info()
	})
}

func FuzzText(f *testing.F) {
	f.Add([]byte("<p>a<script>b</script>c</p>"), true)
	f.Add([]byte("# t\n```\ncode\n```\n[x](y)"), false)
	f.Fuzz(func(t *testing.T, b []byte, html bool) {
		format := MD
		if html {
			format = HTML
		}
		s, _, err := extractPlain(format, b, 1<<20)
		if err != nil {
			return
		}
		chunks, _ := chunkText([]page{{text: s}}, 200, 1000)
		for _, c := range chunks {
			if c.Start > c.End || c.End > len(s) || len(c.Text) > chunkMax {
				t.Fatalf("chunk %+v of %d bytes", c, len(s))
			}
		}
	})
}
