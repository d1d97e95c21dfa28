package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/synth/jobs"
)

// TestResourceCaps: issue 21's resource caps, each met through the real
// server as a person meets it. Every refusal is a sentence with the limit
// and the way to change it (a flag of serve, or what to do instead). Each
// subtest failed on the code before the caps: the third data job was
// queued, the 2,000,001-row job got a sentence without the flag, a chunked
// 33 MB import was 400, a declared one said only "too large", a preview
// held a whole endless line in memory, three jobs were admitted on a disk
// with room for two, and a third training run queued past the cap.
func TestResourceCaps(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxRows = 2_000_000
	cfg.MaxSynthJobs = 2
	cfg.MaxQueuedRuns = 1
	a, url := startServerWith(t, cfg, nil)

	t.Run("rows per data job", func(t *testing.T) {
		code, body := httpDo(t, "POST", url+"api/synth/jobs", `{"kind":"employees","rows":2000001}`)
		want := "Rows must be between 1 and 2,000,000, not 2,000,001; serve --max-rows raises the cap (up to 100,000,000)."
		if code != http.StatusBadRequest || !strings.Contains(string(body), want) {
			t.Fatalf("2,000,001 rows: %d %s, want 400 with %q", code, body, want)
		}
	})

	t.Run("data jobs queued or running", func(t *testing.T) {
		// Two 2M-row jobs take seconds each, so both are still queued or
		// running when the third is asked for, milliseconds later.
		var ids []string
		for i := range 2 {
			st := startJob(t, url, fmt.Sprintf(`{"kind":"employees","rows":2000000,"seed":%d}`, i+1))
			ids = append(ids, st.ID)
		}
		code, body := httpDo(t, "POST", url+"api/synth/jobs", `{"kind":"employees","rows":1000,"seed":3}`)
		want := "2 data jobs are already queued or running, the most the queue holds (serve --max-synth-jobs sets it)"
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), want) {
			t.Fatalf("third job: %d %s, want 422 with %q", code, body, want)
		}
		for _, id := range ids {
			httpDo(t, "DELETE", url+"api/synth/jobs/"+id, "")
		}
		waitJobs(t, url, ids, "cancelled")
	})

	t.Run("upload sizes", func(t *testing.T) {
		tests := []struct {
			name, path, contentType string
			length                  int64
			want                    string
		}{
			{"JSON body", "/api/market/script", "application/json", maxBodyBytes + 1,
				"larger than the 1048576 bytes (1 MB) POST /api/market/script accepts; send a smaller body."},
			{"price file", "/api/market/import", "multipart/form-data; boundary=x", maxImportBytes + 1,
				"larger than the 33554432 bytes (32 MB) POST /api/market/import accepts; split the price file by years and import each part."},
			{"media upload", "/api/media", "multipart/form-data; boundary=x", maxUploadBytes + 1,
				"larger than the 1073741824 bytes (1024 MB) POST /api/media accepts; send the files in several uploads."},
			{"note", "/api/memory", "application/json", maxNoteBytes + 1,
				"larger than the 16384 bytes (16 KB) POST /api/memory accepts; a note's text holds at most 8 KB; shorten it."},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				// A declared length past the cap is refused before a byte of
				// the body is read, so only the headers are sent.
				code, body := declareLength(t, url, tc.path, tc.contentType, tc.length)
				if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, tc.want) {
					t.Fatalf("POST %s with %d bytes: %d %s, want 413 with %q", tc.path, tc.length, code, body, tc.want)
				}
			})
		}
		t.Run("chunked price file", func(t *testing.T) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			mw.WriteField("symbol", "BIG")
			fw, _ := mw.CreateFormFile("file", "big.csv")
			fw.Write([]byte("Date,Open,High,Low,Close,Adj Close,Volume\n"))
			line := []byte("2020-01-02,1,1,1,1,1,100\n")
			for buf.Len() < maxImportBytes+(1<<20) {
				fw.Write(line)
			}
			mw.Close()
			req, _ := http.NewRequest("POST", url+"api/market/import", io.MultiReader(&buf)) // no length: chunked
			req.ContentLength = -1
			req.Header.Set("Content-Type", mw.FormDataContentType())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			want := "larger than the 33554432 bytes (32 MB) POST /api/market/import accepts"
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), want) {
				t.Fatalf("chunked 33 MB import: %d %s, want 413 with %q", resp.StatusCode, b, want)
			}
		})
	})

	t.Run("preview memory", func(t *testing.T) {
		st := startJob(t, url, `{"kind":"employees","rows":1000,"seed":9}`)
		done := waitJobs(t, url, []string{st.ID}, "done")[0]
		// The file is changed on disk into a header and one 16 MB line:
		// a preview used to read all of it into one cell.
		path := filepath.Join(cfg.DataDir, "synth", done.File)
		head, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		header := head[:bytes.IndexByte(head, '\n')+1]
		if err := os.WriteFile(path, append(header, bytes.Repeat([]byte("x"), 16<<20)...), 0o644); err != nil {
			t.Fatal(err)
		}
		code, body := httpDo(t, "GET", url+"api/synth/jobs/"+st.ID+"/preview?n=20", "")
		want := "take more than the 4 MB a preview reads"
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), want) || len(body) > 4096 {
			t.Fatalf("preview of an endless line: %d, %d bytes (%.200s), want 413 with %q", code, len(body), body, want)
		}
	})

	t.Run("disk counts queued jobs", func(t *testing.T) {
		// A 20 MB disk: what the jobs directory holds now plus 20 MB, less
		// whatever the jobs write into it from here on. Each job needs
		// about 8.3 MB, so two fit and a third does not, whatever the first
		// two have written by the time it is asked for. The old check
		// compared each job with the free space alone, admitted all three,
		// and the third would have failed with the disk full.
		dir := filepath.Join(cfg.DataDir, "synth")
		base := dirBytes(t, dir)
		a.Synth.SetLimits(jobs.Limits{MaxQueued: 10, FreeBytes: func(string) (uint64, bool) {
			return uint64(base + 20<<20 - dirBytes(t, dir)), true
		}})
		var ids []string
		for i := range 2 {
			ids = append(ids, startJob(t, url, fmt.Sprintf(`{"kind":"employees","rows":120000,"seed":%d}`, 20+i)).ID)
		}
		code, body := httpDo(t, "POST", url+"api/synth/jobs", `{"kind":"employees","rows":120000,"seed":22}`)
		want := "free some space, cancel a queued job, or wait for the queue to empty"
		if code != http.StatusInsufficientStorage || !strings.Contains(string(body), want) {
			t.Fatalf("third job on a 20 MB disk: %d %s, want 507 with %q", code, body, want)
		}
		// The two admitted jobs fit, and finish.
		waitJobs(t, url, ids, "done")
	})

	t.Run("training runs waiting", func(t *testing.T) {
		first := startRun(t, url, `{"algo":"ppo","env":"cartpole","steps":5000000,"seed":1,"register":false}`)
		defer httpDo(t, "POST", fmt.Sprintf("%sapi/rl/runs/%d/stop", url, first), "")
		// The first trains, so the queue is empty until the second.
		deadline := time.Now().Add(60 * time.Second)
		for rlRunOf(t, url, first).Status != "running" {
			if time.Now().After(deadline) {
				t.Fatalf("run %d never started training", first)
			}
			time.Sleep(50 * time.Millisecond)
		}
		second := startRun(t, url, `{"algo":"ppo","env":"cartpole","steps":5000,"seed":2,"register":false}`)
		defer httpDo(t, "POST", fmt.Sprintf("%sapi/rl/runs/%d/stop", url, second), "")
		code, body := httpDo(t, "POST", url+"api/rl/runs", `{"algo":"ppo","env":"cartpole","steps":5000,"seed":3,"register":false}`)
		want := "1 rl runs are already waiting their turn, the most the queue holds"
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), want) || !strings.Contains(string(body), "serve --max-queued-runs") {
			t.Fatalf("third run: %d %s, want 422 with %q and the flag", code, body, want)
		}
	})
}

// TestBallotCap: every ballot is a row of tournament_vote_log, and a voter
// could change their mind without end (the old code took 200 ballots of
// one voter in one round, 200 rows). Now the 21st ballot of a voter in a
// round is refused with a sentence and the current vote stands.
func TestBallotCap(t *testing.T) {
	tc := fastTournament()
	tc.FirstWait = time.Hour // round 1's vote stays open
	a, url := startTournamentServer(t, tc)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	vote := func(strategy string) (int, string) {
		body, _ := json.Marshal(map[string]any{"round": 1, "strategy": strategy})
		for {
			resp, err := client.Post(url+"api/tournament/votes", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusPreconditionRequired: // the cookie is set now
				continue
			case http.StatusTooManyRequests: // the address's rate limit: 5 a second
				time.Sleep(300 * time.Millisecond)
				continue
			}
			return resp.StatusCode, string(b)
		}
	}
	strategies := []string{"momentum", "reverter"}
	for i := range 20 {
		if code, body := vote(strategies[i%2]); code != http.StatusOK {
			t.Fatalf("ballot %d: %d %s", i+1, code, body)
		}
	}
	code, body := vote("momentum")
	want := "You have cast 20 ballots in round 1, the most one voter may"
	if code != http.StatusConflict || !strings.Contains(body, want) {
		t.Fatalf("21st ballot: %d %s, want 409 with %q", code, body, want)
	}
	var logged int
	if err := a.DB.R.QueryRow(`SELECT count(*) FROM tournament_vote_log WHERE round = 1`).Scan(&logged); err != nil || logged != 20 {
		t.Fatalf("the audit log holds %d ballots (%v), want 20", logged, err)
	}
	if _, votes := a.Tournament.Tally(); votes["reverter"] != 1 || votes["momentum"] != 0 {
		t.Fatalf("tally %v: the 20th ballot (reverter) should stand", votes)
	}
}

// startJob starts a data job and returns its status; anything but 202 fails
// the test.
func startJob(t *testing.T, url, body string) jobs.Status {
	t.Helper()
	code, b := httpDo(t, "POST", url+"api/synth/jobs", body)
	if code != http.StatusAccepted {
		t.Fatalf("start %s: %d %s", body, code, b)
	}
	var st jobs.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitJobs polls until every job of ids is in state, and returns them.
func waitJobs(t *testing.T, url string, ids []string, state string) []jobs.Status {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var out []jobs.Status
		for _, id := range ids {
			var st jobs.Status
			code, b := httpDo(t, "GET", url+"api/synth/jobs/"+id, "")
			if code != http.StatusOK || json.Unmarshal(b, &st) != nil {
				t.Fatalf("job %s: %d %s", id, code, b)
			}
			if st.State != state && st.State != jobs.Queued && st.State != jobs.Running {
				t.Fatalf("job %s is %s (%s), want %s", id, st.State, st.Error, state)
			}
			if st.State == state {
				out = append(out, st)
			}
		}
		if len(out) == len(ids) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs %v not all %s after 3 minutes", ids, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startRun starts an rl run and returns its id.
func startRun(t *testing.T, url, body string) int64 {
	t.Helper()
	var info struct {
		ID int64 `json:"id"`
	}
	code, b := httpDo(t, "POST", url+"api/rl/runs", body)
	if code != http.StatusCreated || json.Unmarshal(b, &info) != nil {
		t.Fatalf("start run %s: %d %s", body, code, b)
	}
	return info.ID
}

// declareLength sends a POST whose headers declare length bytes of body,
// sends none, and returns the answer.
func declareLength(t *testing.T, url, path, contentType string, length int64) (int, string) {
	t.Helper()
	host := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", path, host, contentType, length)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// dirBytes is the size of the regular files under dir.
func dirBytes(t *testing.T, dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// TestMediaUploadDiskPreflight: an upload is spooled to the disk as it
// arrives, so one larger than the free space used to fill the disk before
// it failed. Now a declared length is checked first: with 100 MB free, a
// 40 MB upload (plus the 64 MB kept for what ingestion writes) is refused
// with 507 and a sentence before a byte is spooled, and a small one is
// taken.
func TestMediaUploadDiskPreflight(t *testing.T) {
	_, url := startServerWith(t, testConfig(t), func(a *app.App) error {
		a.Media.Pipeline().SetFreeBytes(func(string) (uint64, bool) { return 100 << 20, true })
		return nil
	})
	code, body := declareLength(t, url, "/api/media", "multipart/form-data; boundary=x", 40<<20)
	want := "has 100 MB free, and this upload of 40 MB needs that much and 64 MB more for its pictures, text and memories; free some space, or upload fewer files at a time."
	if code != http.StatusInsufficientStorage || !strings.Contains(body, want) {
		t.Fatalf("40 MB upload on 100 MB free: %d %s, want 507 with %q", code, body, want)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "note.txt")
	fw.Write([]byte("A small note fits on the disk.\n"))
	mw.Close()
	resp, err := http.Post(url+"api/media", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("small upload: %d %s, want 202", resp.StatusCode, b)
	}
}
