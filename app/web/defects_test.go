package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/store"
)

// TestWrongAnswers holds the regression tests of issue 21's "wrong answers"
// found by probing the running server: each request below once got the
// wrong status or sentence.
func TestWrongAnswers(t *testing.T) {
	a, url := startServer(t)
	script := a.Market.State().Forced
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		// Was 405.
		{"HEAD /healthz", http.MethodHead, "healthz", "", 200, ""},
		// Was `The field "" must be of another type.`
		{"top-level []", "POST", "api/market/orders", `[]`, 400, "must be a JSON object like"},
		{"top-level number", "POST", "api/market/speed", `3`, 400, "must be a JSON object like"},
		// Was 200: null decoded as "no fields" and reset the market script.
		{"null body", "POST", "api/market/script", `null`, 400, "must be a JSON object like"},
		// Was "less than one lot" (1e19 lots overflowed int64).
		{"qty 1e19", "POST", "api/market/orders", `{"symbol":"SPX","side":"buy","type":"market","qty":1e19}`, 400, "more than the largest order"},
		// Was 404 (round 0, strategy "").
		{"vote {}", "POST", "api/tournament/votes", `{}`, 400, "A vote names the round"},
		{"vote without strategy", "POST", "api/tournament/votes", `{"round": 2}`, 400, "A vote names the round"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := httpDo(t, tc.method, url+tc.path, tc.body)
			if status != tc.status || !strings.Contains(string(body), tc.want) {
				t.Fatalf("%s %s %s: %d %s, want %d with %q", tc.method, tc.path, tc.body, status, body, tc.status, tc.want)
			}
		})
	}
	if a.Market.State().Forced != script {
		t.Error("a refused body changed the market's script")
	}

	// Was 400: a chunked body (no Content-Length) past the 1 MiB cap.
	t.Run("chunked over 1 MiB", func(t *testing.T) {
		big := `{"script": "` + strings.Repeat("a", maxBodyBytes+10) + `"}`
		req, _ := http.NewRequest(http.MethodPost, url+"api/market/script", io.MultiReader(strings.NewReader(big)) /* no Len: chunked */)
		req.ContentLength = -1 // sent chunked
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "larger than the 1048576 bytes") {
			t.Fatalf("chunked 1 MiB body: %d %s, want 413", resp.StatusCode, b)
		}
	})
}

// TestCookielessVotesFromManyLoopbackAddresses: every 127.x.y.z address had
// its own rate-limit bucket and a vote without the voter cookie counted as a
// new voter, so 120 votes from 40 loopback addresses all counted. Now none
// does.
func TestCookielessVotesFromManyLoopbackAddresses(t *testing.T) {
	tc := fastTournament()
	tc.FirstWait = time.Hour // round 1's vote stays open
	srv, url := startTournamentServer(t, tc)
	codes := map[int]int{}
	for k := range 120 {
		local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+k%40))}
		client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: local}).DialContext}}
		body, _ := json.Marshal(map[string]any{"round": 1, "strategy": "momentum"})
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"api/tournament/votes", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	if _, votes := srv.Tournament.Tally(); len(votes) != 0 {
		t.Fatalf("120 cookie-less votes from 40 addresses counted: tally %v, statuses %v", votes, codes)
	}
	if codes[http.StatusOK] != 0 || codes[http.StatusPreconditionRequired] == 0 {
		t.Fatalf("statuses %v, want 428 (or 429) and never 200", codes)
	}
}

// TestImportOnFullDiskIs507: a full disk during an import answered 500 with
// the raw SQLite error; it is 507 with a sentence, and nothing is saved.
// The disk is made "full" with SQLite's max_page_count on the writer.
func TestImportOnFullDiskIs507(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var pages int
	if err := db.W.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+1)); err != nil {
		t.Fatal(err)
	}
	u, _ := market.Preset("equity")
	m, err := market.NewService(market.ServiceConfig{Sim: market.SimConfig{Universe: u, Seed: 1, Agents: 50}}, bus.New(), nil, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile("../market/testdata/SPY-2007-2009.csv")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "SPY.csv")
	fw.Write(csv)
	mw.WriteField("symbol", "SPY")
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, "/api/market/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	w := httptest.NewRecorder()
	marketImport(m)(w, req)
	if w.Code != http.StatusInsufficientStorage || !strings.Contains(w.Body.String(), "disk holding the data directory is full") {
		t.Fatalf("import on a full disk: %d %s, want 507 with a sentence", w.Code, w.Body)
	}
	var n int
	if err := db.R.QueryRow(`SELECT count(*) FROM market_series`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d series saved after a failed import (%v)", n, err)
	}
}
