package web

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/metastation/metastation/app/media"
)

// TestBrowserMedia drops a file of every kind (and a decompression bomb) on
// the Media page through its file input, follows the job's progress live,
// sees each card (thumbnail, waveform, table schema, text), sees the bomb
// refused with its reason, and finds each item by a search of its meaning.
func TestBrowserMedia(t *testing.T) {
	ctx := newBrowser(t)
	srv, url := startServer(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	files := []string{
		write("harvest.txt", []byte("The harvest failed in the north.\n\nWheat prices doubled within a month as farmers held back their grain.")),
		write("chart.png", testChartPNG()),
		write("call.wav", testWAV()),
		write("spy.csv", testMarketCSV()),
		write("anim.gif", testGIF()),
		write("bomb.png", media.DeclaredPNG(20000, 20000)),
	}
	want := map[string]string{ // a name's kind, and words of its meaning to find it by
		"harvest.txt": "crop shortage made cereal costlier",
		"chart.png":   "blue and white landscape picture",
		"call.wav":    "sound recording with speech and pauses",
		"spy.csv":     "daily stock price history",
		"anim.gif":    "animated picture frames",
	}
	if ff, err := exec.LookPath("ffmpeg"); err == nil {
		out := filepath.Join(dir, "clip.mp4")
		cmd := exec.Command(ff, "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2",
			"-c:v", "libx264", "-pix_fmt", "yuv420p", "-y", out)
		if b, err := cmd.CombinedOutput(); err == nil {
			files = append(files, out)
			want["clip.mp4"] = "video clip frames per second"
		} else {
			t.Logf("ffmpeg cannot write an MP4 here (%v %s): no MP4 in this run", err, b)
		}
	} else {
		t.Log("ffmpeg is not installed: the video kind is covered by the animated GIF only")
	}

	navigate(t, ctx, url+"media")
	waitJS(t, ctx, "the socket to be live", `document.getElementById("conn-state").dataset.state === "live"`, 15*time.Second)
	if got := eval[string](t, ctx, `document.querySelector('nav a[href="/media"]')?.textContent ?? ""`); got != "Media" {
		t.Errorf("the nav's Media entry reads %q", got)
	}
	waitJS(t, ctx, "the tools line", `document.getElementById("md-tools").textContent.includes("tesseract")`, 10*time.Second)
	if _, err := chromedp.Run(ctx, chromedp.SetUploadFiles(chromedp.CSS("#md-files"), files)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "every file read or refused",
		fmt.Sprintf(`document.querySelectorAll('#md-jobs .md-job-item[data-state=done], #md-jobs .md-job-item[data-state=failed]').length === %d`, len(files)), 60*time.Second)
	bomb := eval[string](t, ctx, `document.querySelector('#md-jobs .md-job-item[data-name="bomb.png"][data-state=failed] .md-why')?.textContent ?? ""`)
	if !strings.Contains(bomb, "megapixels") {
		t.Fatalf("the bomb's row says %q", bomb)
	}
	if failed := eval[float64](t, ctx, `document.querySelectorAll('#md-jobs .md-job-item[data-state=failed]').length`); failed != 1 {
		t.Fatalf("%v files failed: %s", failed, eval[string](t, ctx, `document.getElementById("md-jobs").textContent`))
	}
	waitJS(t, ctx, "a card per stored file", fmt.Sprintf(`document.querySelectorAll('#md-items .md-card').length === %d`, len(want)), 10*time.Second)
	waitJS(t, ctx, "the thumbnail and the waveform drawn", `(() => {
		const imgs = [...document.querySelectorAll('#md-items .md-card img')];
		const ok = (alt) => imgs.some((i) => i.alt.startsWith(alt) && i.complete && i.naturalWidth > 0);
		return ok("thumb of chart.png") && ok("waveform of call.wav"); })()`, 10*time.Second)
	if n := eval[float64](t, ctx, `document.querySelectorAll('#md-items .md-card[data-format=csv] .md-schema tr').length`); n != 8 {
		t.Errorf("the CSV's schema has %v rows, want a header and 7 columns", n)
	}
	items := eval[map[string]float64](t, ctx, `Object.fromEntries([...document.querySelectorAll('#md-items .md-card')].map((c) => [c.querySelector('h3').textContent, Number(c.id.slice(5))]))`)
	for name, q := range want {
		id, ok := items[name]
		if !ok {
			t.Fatalf("no card for %s: %v", name, items)
		}
		memSetValue(t, ctx, "#md-q", q)
		memClick(t, ctx, "#md-search button[type=submit]")
		waitJS(t, ctx, "a search for "+name+" by its meaning", fmt.Sprintf(`!!document.querySelector('#md-results .md-result[data-item="%v"]')`, id), 10*time.Second)
	}
	// The daily prices go on to the market importer from their card.
	memClick(t, ctx, `#md-items .md-card[data-format=csv] .md-import`)
	waitJS(t, ctx, "the prices imported into the market", `document.querySelector("#md-items .md-card[data-format=csv] .md-import-status").textContent === "Imported 120 days of SPY into the market."`, 15*time.Second)
	if n := len(srv.Media.Jobs()); n != 1 {
		t.Fatalf("%d upload jobs, want 1", n)
	}
	eval[bool](t, ctx, `(window.scrollTo(0, document.getElementById("md-items").offsetTop - 90), true)`)
	time.Sleep(300 * time.Millisecond)
	screenshot(t, ctx, "media")
}

func testChartPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 400, 240))
	draw.Draw(img, img.Bounds(), &image.Uniform{C: color.White}, image.Point{}, draw.Src)
	y := 170.0
	for x := 20; x < 380; x++ {
		y -= 0.25 + 1.5*math.Sin(float64(x)/9)
		for d := -2; d <= 2; d++ {
			img.Set(x, int(y)+d, color.RGBA{30, 60, 220, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func testWAV() []byte {
	const rate = 16000
	n := rate * 4
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		binary.Write(&b, le, v)
	}
	b.WriteString("data")
	binary.Write(&b, le, uint32(2*n))
	for i := 0; i < n; i++ {
		t := float64(i) / rate
		v := 0.0
		if (t > 0.5 && t < 1.5) || (t > 2 && t < 3.2) {
			for h := 1; h <= 6; h++ {
				v += 0.3 * math.Sin(2*math.Pi*150*float64(h)*t) / float64(h)
			}
		}
		binary.Write(&b, le, int16(v*32767))
	}
	return b.Bytes()
}

func testMarketCSV() []byte {
	var b strings.Builder
	b.WriteString("Date,Open,High,Low,Close,Adj Close,Volume\n")
	p := 100.0
	day := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 120; i++ {
		o := p
		p *= 1 + 0.01*math.Sin(float64(i))
		fmt.Fprintf(&b, "%s,%.2f,%.2f,%.2f,%.2f,%.2f,%d\n", day.AddDate(0, 0, i).Format("2006-01-02"), o, math.Max(o, p)+1, math.Min(o, p)-1, p, p, 1000000+i)
	}
	return []byte(b.String())
}

func testGIF() []byte {
	g := &gif.GIF{}
	for i := 0; i < 4; i++ {
		f := image.NewPaletted(image.Rect(0, 0, 64, 48), palette.Plan9)
		draw.Draw(f, f.Bounds(), &image.Uniform{C: color.White}, image.Point{}, draw.Src)
		draw.Draw(f, image.Rect(8*i, 10, 8*i+16, 26), &image.Uniform{C: color.RGBA{200, 0, 0, 255}}, image.Point{}, draw.Src)
		g.Image, g.Delay = append(g.Image, f), append(g.Delay, 10)
	}
	var b bytes.Buffer
	gif.EncodeAll(&b, g)
	return b.Bytes()
}
