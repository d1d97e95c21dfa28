package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/media"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/store"
)

// mediaTestServer serves the media API over a fresh store with its
// service running, with a small upload cap.
func mediaTestServer(t *testing.T) (*httptest.Server, *media.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, store.FileName), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(db, store.WriterOptions{Interval: 10 * time.Millisecond}, log)
	emb, err := memoryTestEmbedder()
	if err != nil {
		t.Fatal(err)
	}
	st, err := memory.Open(ctx, memory.Config{}, db, w, emb, log)
	if err != nil {
		t.Fatal(err)
	}
	p, err := media.NewPipeline(ctx, media.Config{Dir: filepath.Join(dir, "media"), NoTools: true, Limits: media.Limits{MaxUpload: 64 << 10}}, db, st, log)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := media.NewService(media.ServiceConfig{}, p, bus.New(), log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	r := chi.NewRouter()
	r.Use(limitBody(maxBodyBytes, map[string]int64{"/api/media": maxUploadBytes}))
	r.Post("/api/media", mediaUpload(svc))
	r.Get("/api/media", mediaList(svc))
	r.Get("/api/media/jobs/{id}", mediaJob(svc))
	r.Get("/api/media/{id}", mediaItem(svc))
	r.Get("/api/media/{id}/assets/{name}", mediaAsset(svc))
	r.Get("/api/media/{id}/original", mediaOriginal(svc))
	ts := httptest.NewServer(r)
	t.Cleanup(func() { ts.Close(); cancel(); <-done; w.Close(); db.Close() })
	return ts, svc
}

func multipartBody(t *testing.T, files map[string][]byte) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for name, data := range files {
		fw, err := mw.CreateFormFile("files", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

func TestMediaAPI(t *testing.T) {
	ts, _ := mediaTestServer(t)
	post := func(body io.Reader, ctype string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(ts.URL+"/api/media", ctype, body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	get := func(path string) (int, map[string]any, http.Header) {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v, resp.Header
	}
	t.Run("refusals", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			body   io.Reader
			ctype  string
			status int
			words  string
		}{
			{"not multipart", strings.NewReader(`{"a":1}`), "application/json", 400, "multipart/form-data"},
			{"no file", strings.NewReader("--x--\r\n"), "multipart/form-data; boundary=x", 400, "no file"},
		} {
			status, v := post(c.body, c.ctype)
			if status != c.status || !strings.Contains(v["error"].(string), c.words) {
				t.Errorf("%s: %d %v", c.name, status, v)
			}
		}
		for path, want := range map[string]int{"/api/media/x": 400, "/api/media/999": 404, "/api/media/jobs/nope": 404, "/api/media?kind=sound": 400, "/api/media?limit=-1": 400} {
			if status, v, _ := get(path); status != want {
				t.Errorf("%s: %d %v", path, status, v)
			}
		}
	})
	t.Run("upload, job, item, picture, original", func(t *testing.T) {
		body, ctype := multipartBody(t, map[string][]byte{
			"note.txt": []byte("Freight rates rose as the canal closed."),
			"big.txt":  bytes.Repeat([]byte("a"), 70<<10),
			"evil.zip": append([]byte("PK\x03\x04"), make([]byte, 30)...),
			"pic.png":  testChartPNG(),
		})
		status, job := post(body, ctype)
		if status != http.StatusAccepted {
			t.Fatalf("upload: %d %v", status, job)
		}
		id := job["id"].(string)
		var j map[string]any
		for deadline := time.Now().Add(20 * time.Second); ; {
			_, j, _ = get("/api/media/jobs/" + id)
			if j["done"] == true {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job not done: %v", j)
			}
			time.Sleep(50 * time.Millisecond)
		}
		byName := map[string]map[string]any{}
		for _, it := range j["items"].([]any) {
			m := it.(map[string]any)
			byName[m["name"].(string)] = m
		}
		if byName["note.txt"]["state"] != "done" || byName["pic.png"]["state"] != "done" ||
			!strings.Contains(byName["big.txt"]["error"].(string), "larger than") || !strings.Contains(byName["evil.zip"]["error"].(string), "archive") {
			t.Fatalf("items: %v", byName)
		}
		pic := byName["pic.png"]["item"].(map[string]any)
		pid := int64(pic["id"].(float64))
		status, it, _ := get("/api/media/" + itoa(pid))
		if status != 200 || it["item"].(map[string]any)["kind"] != "image" {
			t.Fatalf("item: %d %v", status, it)
		}
		resp, err := http.Get(ts.URL + "/api/media/" + itoa(pid) + "/assets/thumb")
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("thumb: %v %v", err, resp)
		}
		resp.Body.Close()
		resp, err = http.Get(ts.URL + "/api/media/" + itoa(pid) + "/original")
		if err != nil {
			t.Fatal(err)
		}
		orig, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(orig, testChartPNG()) || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || resp.Header.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("original: %d bytes, %v", len(orig), resp.Header)
		}
		if status, _, _ := get("/api/media/" + itoa(pid) + "/assets/nope"); status != 404 {
			t.Fatalf("missing picture: %d", status)
		}
		_, list, _ := get("/api/media?kind=image")
		if n := len(list["items"].([]any)); n != 1 {
			t.Fatalf("%d images listed", n)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
