package media

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/memory/wordvec"
	"github.com/metastation/metastation/app/store"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var sharedEmbedder = sync.OnceValues(memory.NewEmbedder)

func embedder(t testing.TB) *wordvec.Embedder {
	t.Helper()
	e, err := sharedEmbedder()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type env struct {
	dir string
	db  *store.DB
	w   *store.Writer
	mem *memory.Store
	p   *Pipeline
}

// open opens (or reopens) the database and pipeline in dir.
func open(t testing.TB, dir string, cfg Config) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, "metastation.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(db, store.WriterOptions{Interval: 5 * time.Millisecond}, quiet())
	mem, err := memory.Open(ctx, memory.Config{}, db, w, embedder(t), quiet())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = filepath.Join(dir, "media")
	p, err := NewPipeline(ctx, cfg, db, mem, quiet())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, db: db, w: w, mem: mem, p: p}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	if e.db == nil {
		return
	}
	e.w.Close()
	e.db.Close()
	e.db = nil
}

func (e *env) ingest(t testing.TB, name string, b []byte) (Result, error) {
	t.Helper()
	return e.p.Ingest(context.Background(), name, bytes.NewReader(b), nil)
}

// found reports whether a search for q ranks a memory of item id in its
// first n results.
func (e *env) found(t testing.TB, q string, id int64, n int) bool {
	t.Helper()
	res, err := e.mem.Search(context.Background(), memory.Query{Text: q, Kinds: []memory.Kind{memory.Document}, Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Memory.Source == sourceOf(id) {
			return true
		}
	}
	return false
}

func countFiles(t testing.TB, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestIngestEveryKindIsFoundByMeaning(t *testing.T) {
	e := open(t, t.TempDir(), Config{NoTools: true})
	tone := speechLike(16000, [][2]float64{{0.5, 1.5}, {2.0, 3.2}}, 4, 1)
	fl, err := flacBytes(16000, tone)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, file string
		data       []byte
		kind       Kind
		format     Format
		query      string // words of the content's meaning, not its name
	}{
		{"text", "notes.txt", []byte("The harvest failed in the north.\n\nWheat prices doubled within a month as farmers held back their grain."), Text, TXT, "crop shortage made cereal costlier"},
		{"markdown", "plan.md", []byte("# Hedging plan\n\n- Buy **put options** on the index\n- Reduce exposure to [airlines](http://x)\n"), Text, MD, "protect portfolio with derivatives"},
		{"html", "page.html", []byte("<html><head><title>Weather</title><script>var hidden='pineapple';</script></head><body><p>Storms closed the harbour for a week.</p></body></html>"), Text, HTML, "hurricane shut the port"},
		{"pdf", "memo.pdf", pdfFile([][]string{{"Quarterly memo"}, {"The central bank raised interest rates by half a point."}}, true), Text, PDF, "monetary tightening borrowing costs"},
		{"png", "chart.png", pngBytes(chartImage(400, 240, "", 1)), Image, PNG, "blue and white picture landscape"},
		{"jpeg", "photo.jpg", withEXIF(jpegBytes(chartImage(300, 200, "", 2), 90), 6, "2024:03:05 10:20:30"), Image, JPEG, "portrait picture taken March 2024"},
		{"gif", "anim.gif", animatedGIF(5), Video, GIF, "animated picture frames"},
		{"wav", "call.wav", wavBytes(16000, 1, tone), Audio, WAV, "sound recording speech pauses"},
		{"flac", "call.flac", fl, Audio, FLAC, "sound recording speech pauses"},
		{"mp4", "clip.mp4", tinyMP4(320, 240, 50, 25, 10), Video, MP4, "video clip frames per second"},
		{"csv", "prices.csv", marketCSV(300), Data, CSV, "daily stock price history"},
		{"json", "orders.json", []byte(`[{"customer":"acme","amount":12.5},{"customer":"globex","amount":7}]`), Data, JSON, "customer amount table"},
		{"jsonl", "events.jsonl", []byte("{\"event\":\"login\",\"user\":1}\n{\"event\":\"logout\",\"user\":1}\n"), Data, JSONL, "event user table"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := e.ingest(t, c.file, c.data)
			if err != nil {
				t.Fatalf("ingest: %v", err)
			}
			it := res.Item
			if it.Kind != c.kind || it.Format != c.format || it.State != Ready || it.Chunks < 1 {
				t.Fatalf("item %+v", it)
			}
			if !e.found(t, c.query, it.ID, 5) {
				t.Fatalf("a search for %q does not find %s (summary %q)", c.query, c.file, it.Summary)
			}
			got, err := e.p.Get(context.Background(), it.ID)
			if err != nil || got.SHA256 != it.SHA256 {
				t.Fatalf("get: %v %+v", err, got)
			}
		})
	}
}

func TestIngestTextFeatures(t *testing.T) {
	e := open(t, t.TempDir(), Config{NoTools: true, ChunkBytes: 300})
	t.Run("html visible text only", func(t *testing.T) {
		res, err := e.ingest(t, "x.html", []byte(`<!doctype html><title>Report</title><style>.a{}</style><body><h1>Gold</h1><script>alert("pineapple")</script><p>Gold rose.</p></body>`))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(res.Item.Excerpt, "pineapple") || strings.Contains(res.Item.Excerpt, ".a{}") || !strings.Contains(res.Item.Excerpt, "Gold rose.") {
			t.Fatalf("excerpt %q", res.Item.Excerpt)
		}
		if res.Item.Info.Text.Title != "Report" {
			t.Fatalf("title %q", res.Item.Info.Text.Title)
		}
	})
	t.Run("chunks keep their position", func(t *testing.T) {
		var paras []string
		for i := 0; i < 20; i++ {
			paras = append(paras, strings.Repeat("Copper demand from electric vehicles keeps rising. ", 3))
		}
		doc := strings.Join(paras, "\n\n")
		res, err := e.ingest(t, "long.txt", []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		chunks, err := e.p.Chunks(context.Background(), res.Item.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(chunks) < 5 || len(chunks) != res.Item.Chunks {
			t.Fatalf("%d chunks, item says %d", len(chunks), res.Item.Chunks)
		}
		prev := 0
		for _, c := range chunks[1:] {
			if c.Start < prev || c.End <= c.Start || c.End > len(doc) {
				t.Fatalf("chunk %+v after %d", c, prev)
			}
			prev = c.End
		}
	})
	t.Run("pdf pages", func(t *testing.T) {
		res, err := e.ingest(t, "two.pdf", pdfFile([][]string{{"Page one speaks of tea."}, {"Page two speaks of coffee."}}, false))
		if err != nil {
			t.Fatal(err)
		}
		chunks, _ := e.p.Chunks(context.Background(), res.Item.ID)
		pages := map[int]bool{}
		for _, c := range chunks {
			pages[c.Page] = true
		}
		if res.Item.Info.Text.Pages != 2 || !pages[1] || !pages[2] {
			t.Fatalf("pages %+v chunks %+v", res.Item.Info.Text, chunks)
		}
	})
	t.Run("scanned pdf said plainly", func(t *testing.T) {
		res, err := e.ingest(t, "scan.pdf", pdfFile([][]string{{}}, false))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(res.Item.Info.Notes, " "), "no text layer") {
			t.Fatalf("notes %q", res.Item.Info.Notes)
		}
	})
}

func TestDedupAndStorage(t *testing.T) {
	dir := t.TempDir()
	e := open(t, dir, Config{NoTools: true})
	data := []byte("Shipping rates through the canal tripled after the drought lowered the water level.")
	a, err := e.ingest(t, "a.txt", data)
	if err != nil {
		t.Fatal(err)
	}
	before := e.mem.Stats().Written
	b, err := e.ingest(t, "b.txt", data)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Duplicate || b.Item.ID != a.Item.ID || e.mem.Stats().Written != before {
		t.Fatalf("second upload: %+v, memories %d -> %d", b, before, e.mem.Stats().Written)
	}
	path, _ := e.p.files.path(a.Item.SHA256)
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("original at %s: %v", path, err)
	}
	if n := countFiles(t, filepath.Join(dir, "media", "tmp")); n != 0 {
		t.Fatalf("%d spool files left", n)
	}
}

// TestHostileFilesStoreNothing: each bad file is refused with a sentence,
// and leaves no original, no item and no memory behind.
func TestHostileFilesStoreNothing(t *testing.T) {
	dir := t.TempDir()
	e := open(t, dir, Config{NoTools: true, Limits: Limits{MaxInflate: 4 << 20, MaxBytes: map[Kind]int64{Text: 1 << 20}}})
	wav := wavBytes(8000, 1, speechLike(8000, [][2]float64{{0.2, 0.8}}, 1, 3))
	fl, _ := flacBytes(8000, speechLike(8000, [][2]float64{{0.2, 0.8}}, 1, 3))
	mp4 := tinyMP4(160, 120, 20, 10, 5)
	csv := marketCSV(50)
	cases := []struct {
		name string
		data []byte
		want string // words of the refusal
	}{
		{"empty", nil, "empty"},
		{"zip", append([]byte("PK\x03\x04"), make([]byte, 100)...), "archive"},
		{"gzip", []byte("\x1f\x8b\x08\x00rest"), "gzip"},
		{"binary", append([]byte{0x7f, 'E', 'L', 'F', 0, 0, 1}, make([]byte, 64)...), "binary data"},
		{"png bomb", DeclaredPNG(10000, 10000), "megapixels"},
		{"png truncated", pngBytes(chartImage(100, 80, "", 1))[:200], "truncated"},
		{"jpeg truncated", jpegBytes(chartImage(100, 80, "", 1), 80)[:300], "truncated"},
		{"gif truncated", animatedGIF(3)[:100], "truncated"},
		{"pdf bomb", pdfBomb(64 << 20), "decompression bomb"},
		{"pdf truncated", pdfFile([][]string{{"hello"}}, true)[:300], "damaged or truncated"},
		{"wav truncated", wav[:len(wav)/2], "truncated"},
		{"flac truncated", fl[:len(fl)/2], "truncated"},
		{"mp4 truncated", mp4[:len(mp4)-1000], "truncated"},
		{"mp4 no moov", mp4Box("ftyp", []byte("isom"), u32s(0)), "no movie header"},
		{"json truncated", []byte(`[{"a":1},{"a":`), "truncated"},
		{"text too large", bytes.Repeat([]byte("word "), 300000), "at most 1 MB"},
		{"csv truncated", csv[:len(csv)-10], "truncated"},
		{"csv cut in a quote", append(csv[:len(csv):len(csv)], []byte("2025-01-01,\"unterminated")...), "truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items, _ := e.p.List(context.Background(), ListQuery{})
			mems := e.mem.Stats().Written
			_, err := e.ingest(t, c.name, c.data)
			if err == nil {
				t.Fatal("accepted")
			}
			if code := errs.CodeOf(err); (code != errs.Invalid && code != errs.TooLarge) || !strings.Contains(errs.MessageOf(err), c.want) {
				t.Fatalf("refusal %q (code %s), want words %q", errs.MessageOf(err), errs.CodeOf(err), c.want)
			}
			after, _ := e.p.List(context.Background(), ListQuery{})
			if len(after) != len(items) || e.mem.Stats().Written != mems {
				t.Fatal("something was stored")
			}
			if n := countFiles(t, filepath.Join(dir, "media")); n != len(items) {
				t.Fatalf("%d files under media for %d items", n, len(items))
			}
		})
	}
}

func TestUploadCap(t *testing.T) {
	e := open(t, t.TempDir(), Config{NoTools: true, Limits: Limits{MaxUpload: 1000}})
	_, err := e.ingest(t, "big.txt", bytes.Repeat([]byte("a"), 2000))
	if !errs.Is(err, errs.TooLarge) || !strings.Contains(errs.MessageOf(err), "larger than") {
		t.Fatalf("err %v", err)
	}
}

func TestNamesNeverBecomePaths(t *testing.T) {
	e := open(t, t.TempDir(), Config{NoTools: true})
	for i, name := range []string{"../../etc/passwd", `..\..\boot.ini`, "/abs/path.txt", "\x00evil\n.txt", ""} {
		res, err := e.ingest(t, name, []byte(fmt.Sprintf("Tin prices rose %d times.%s", i, strings.Repeat(" metal", 5))))
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(res.Item.Name, "/\\\x00\n") || res.Item.Name == ".." {
			t.Fatalf("name %q kept as %q", name, res.Item.Name)
		}
	}
	if _, err := e.p.files.path("../../x"); err == nil {
		t.Fatal("a non-digest became a path")
	}
}

// TestRecoverCompletesAnInterruptedItem writes an item as a crash after
// its first memories would leave it, then reopens: the item is completed
// with exactly its memories, none twice.
func TestRecoverCompletesAnInterruptedItem(t *testing.T) {
	dir := t.TempDir()
	e := open(t, dir, Config{NoTools: true, ChunkBytes: 200})
	var paras []string
	for i := 0; i < 12; i++ {
		paras = append(paras, strings.Repeat("Nickel mines in the south flooded after the rains. ", 3))
	}
	doc := []byte(strings.Join(paras, "\n\n"))
	ctx := context.Background()
	// The first half of the store step, by hand: original, row, 3 memories.
	sp, err := e.p.files.spool(bytes.NewReader(doc), 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := e.p.extract(ctx, TXT, sp.f, sp.size, "nickel.txt", func(float64) {})
	if err != nil {
		t.Fatal(err)
	}
	chunks, _ := chunkText(ex.pages, 200, 4000)
	it := Item{SHA256: sp.sum, Name: "nickel.txt", Format: TXT, Kind: Text, MIME: TXT.MIME(), Size: sp.size, Created: time.Now(), Summary: ex.summary, Chunks: len(chunks) + 1, Info: ex.info}
	if _, err := e.p.files.keep(sp); err != nil {
		t.Fatal(err)
	}
	id, err := e.p.insertItem(ctx, it, ex, chunks)
	if err != nil {
		t.Fatal(err)
	}
	it.ID = id
	ms := e.p.memories(it, ex, chunks)
	if _, err := e.mem.WriteBatch(ctx, ms[:3]); err != nil {
		t.Fatal(err)
	}
	e.mem.Flush(ctx)
	e.close()

	e2 := open(t, dir, Config{NoTools: true, ChunkBytes: 200})
	if got, _ := e2.p.Get(ctx, id); got.State != Ingesting {
		t.Fatalf("state %s before recovery", got.State)
	}
	n, err := e2.p.Recover(ctx)
	if err != nil || n != 1 {
		t.Fatalf("recovered %d: %v", n, err)
	}
	got, _ := e2.p.Get(ctx, id)
	if got.State != Ready {
		t.Fatalf("state %s after recovery", got.State)
	}
	line, err := e2.mem.Timeline("library", memory.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]int{}
	for _, m := range line {
		if m.Source == sourceOf(id) {
			refs[m.Links[2].Ref]++
		}
	}
	if len(refs) != len(ms) {
		t.Fatalf("%d distinct chunks stored, want %d", len(refs), len(ms))
	}
	for r, c := range refs {
		if c != 1 {
			t.Fatalf("chunk %s stored %d times", r, c)
		}
	}
}
