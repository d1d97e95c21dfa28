package web

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/store"
)

func marketTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u, _ := market.Preset("equity")
	m, err := market.NewService(market.ServiceConfig{Sim: market.SimConfig{Universe: u, Seed: 1, Agents: 200}}, bus.New(), nil, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	users := newVoterCookies(db)
	r := chi.NewRouter()
	r.Get("/api/market/instruments", marketInstruments(m))
	r.Get("/api/market/state", marketState(m))
	r.Get("/api/market/bars/{symbol}", marketBars(m))
	r.Get("/api/market/book/{symbol}", marketBook(m))
	r.Post("/api/market/speed", marketSpeed(m))
	r.Post("/api/market/script", marketScript(m))
	r.Post("/api/market/orders", marketOrder(m, users))
	r.Delete("/api/market/orders/{id}", marketCancel(m, users))
	r.Get("/api/market/account", marketAccount(m, users))
	r.Post("/api/market/import", marketImport(m))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

func TestMarketRoutes(t *testing.T) {
	srv := marketTestServer(t)
	tests := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/api/market/instruments", "", 200, `"symbol": "SPX"`},
		{"GET", "/api/market/state", "", 200, `"regime": "calm"`},
		{"GET", "/api/market/book/SPX?depth=5", "", 200, `"bids"`},
		{"GET", "/api/market/book/NOPE", "", 404, `No instrument \"NOPE\" in this market.`},
		{"GET", "/api/market/book/SPX?depth=x", "", 400, "The depth must be a whole number."},
		{"GET", "/api/market/book/SPX?depth=0", "", 400, "Depth must be between 1 and 500, not 0."},
		{"GET", "/api/market/bars/SPX?interval=1m", "", 200, `[]`},
		{"GET", "/api/market/bars/SPX?interval=5m", "", 400, `Unknown interval \"5m\"`},
		{"GET", "/api/market/bars/SPX?from=yesterday", "", 400, "The start of the range (from):"},
		{"GET", "/api/market/bars/SPX?to=999999999999", "", 400, "between the years 1 and 9999"},
		{"POST", "/api/market/speed", `{"speed": 10}`, 200, `"speed": 10`},
		{"POST", "/api/market/speed", `{"speed": -1}`, 400, "Speed must be between 0"},
		{"POST", "/api/market/speed", `{}`, 400, "The request needs a speed"},
		{"POST", "/api/market/speed", `{"sped": 1}`, 400, "unknown field"},
		{"POST", "/api/market/script", `{"script": "black_swan shock=-5; +10m calm"}`, 200, `"forced": true`},
		{"POST", "/api/market/script", `{"script": "storm"}`, 400, `Script step 1: unknown regime \"storm\"`},
		{"POST", "/api/market/orders", `{"symbol":"SPX","side":"buy","type":"limit","price":4000,"qty":2}`, 200, `"rested": 2`},
		{"POST", "/api/market/orders", `{"symbol":"SPX","side":"up","qty":2}`, 400, "The side must be"},
		{"POST", "/api/market/orders", `{"symbol":"SPX","side":"buy","type":"limit","price":4000,"qty":0}`, 400, "less than one lot"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path+" "+tc.body, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(buf.String(), tc.want) {
				t.Errorf("%s %s: %d %s, want %d containing %s", tc.method, tc.path, resp.StatusCode, buf.String(), tc.status, tc.want)
			}
		})
	}
}

// TestMarketAccountRoutes: a browser's orders are its own. With its cookie
// it sees its resting order in its account and can cancel it; another
// browser sees nothing and cannot cancel it; bad ids and forged cookies
// are refused with a sentence.
func TestMarketAccountRoutes(t *testing.T) {
	srv := marketTestServer(t)
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar}
	}
	do := func(c *http.Client, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		return resp.StatusCode, buf.String()
	}
	me, other := browser(), browser()
	if st, body := do(me, "GET", "/api/market/account", ""); st != 200 || !strings.Contains(body, `"orders": []`) {
		t.Fatalf("a new browser's account: %d %s", st, body)
	}
	st, body := do(me, "POST", "/api/market/orders", `{"symbol":"KO","side":"buy","type":"limit","price":55,"qty":3}`)
	var fill struct{ ID uint64 }
	if json.Unmarshal([]byte(body), &fill); st != 200 || fill.ID == 0 {
		t.Fatalf("the order: %d %s", st, body)
	}
	id := strconv.FormatUint(fill.ID, 10)
	if st, body := do(me, "GET", "/api/market/account", ""); st != 200 || !strings.Contains(body, `"id": `+id) || !strings.Contains(body, `"open": 3`) {
		t.Errorf("my account after the order: %d %s", st, body)
	}
	if st, body := do(other, "GET", "/api/market/account", ""); st != 200 || strings.Contains(body, `"id": `+id) {
		t.Errorf("another browser's account: %d %s", st, body)
	}
	for _, tc := range []struct {
		name   string
		c      *http.Client
		path   string
		status int
		want   string
	}{
		{"someone else's", other, id, 404, "You have no resting order " + id},
		{"not a number", me, "x", 400, "An order id is a whole number"},
		{"zero", me, "0", 400, "An order id is a whole number"},
		{"mine", me, id, 200, `"cancelled": ` + id},
		{"mine again", me, id, 404, "filled, cancelled, or someone else's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, body := do(tc.c, "DELETE", "/api/market/orders/"+tc.path, ""); st != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("DELETE %s: %d %s, want %d with %q", tc.path, st, body, tc.status, tc.want)
			}
		})
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/market/account", nil)
	req.AddCookie(&http.Cookie{Name: voterCookieName, Value: "me.forged"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("a forged cookie: %d, want 403", resp.StatusCode)
	}
}

func TestMarketImportRoute(t *testing.T) {
	srv := marketTestServer(t)
	post := func(symbol, content string) (int, map[string]any) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("symbol", symbol)
		fw, _ := mw.CreateFormFile("file", "prices.csv")
		fw.Write([]byte(content))
		mw.Close()
		resp, err := http.Post(srv.URL+"/api/market/import", mw.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	btc, err := os.ReadFile("../market/testdata/BTC-USD.csv")
	if err != nil {
		t.Fatal(err)
	}
	status, out := post("BTC", string(btc))
	if status != 200 || out["rows"].(float64) != 363 {
		t.Errorf("BTC import: %d %v", status, out)
	}
	status, out = post("BAD", "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1\n2024-01-02,1,2,0.5,1\n2024-01-03,1,x,0.5,1\n")
	if status != 422 || len(out["problems"].([]any)) != 2 {
		t.Errorf("bad import: %d %v", status, out)
	}
	if status, _ = post("", string(btc)); status != 400 {
		t.Errorf("no symbol: %d, want 400", status)
	}
}
