package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAnalyticsAPI(t *testing.T) {
	srv, url := startServer(t)
	now := time.Now()
	for i := 100; i >= 0; i-- {
		srv.Analytics.Registry.Record("market.price", map[string]string{"subsystem": "market", "instrument": "X"}, "",
			now.Add(-time.Duration(i)*time.Second), float64(100+i%7))
	}
	get := func(path string) (int, map[string]any, []any) {
		t.Helper()
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		m, _ := v.(map[string]any)
		l, _ := v.([]any)
		return resp.StatusCode, m, l
	}
	if code, _, list := get("api/analytics/series?instrument=X"); code != 200 || len(list) != 1 {
		t.Errorf("list: %d %v", code, list)
	}
	code, body, _ := get("api/analytics/series/market.price?instrument=X&subsystem=market&range=1m&points=10")
	if pts, _ := body["points"].([]any); code != 200 || len(pts) != 10 {
		t.Errorf("query: %d %v", code, body)
	}
	code, body, _ = get("api/analytics/forecast/market.price?instrument=X&subsystem=market&range=5m&horizon=7")
	if f, _ := body["forecast"].(map[string]any); code != 200 || f == nil || len(f["mean"].([]any)) != 7 {
		t.Errorf("forecast: %d %v", code, body)
	}
	for path, want := range map[string]int{
		"api/analytics/series/nope":                                                  404,
		"api/analytics/series/market.price?colour=red":                               400,
		"api/analytics/series/market.price?range=forever":                            400,
		"api/analytics/series/market.price?points=0":                                 400,
		"api/analytics/series/market.price?from=yesterday":                           400,
		"api/analytics/forecast/market.price?instrument=X&horizon=9999":              400,
		"api/analytics/forecast/market.price?instrument=X&subsystem=market&range=5s": 422,
		"api/analytics/agents/nobody":                                                404,
		// Beyond year 9999 a time has no JSON form: this was 200 with an empty body.
		"api/analytics/series/market.price?instrument=X&subsystem=market&to=999999999999999":    400,
		"api/analytics/series/market.price?instrument=X&subsystem=market&from=-999999999999999": 400,
	} {
		t.Run(path, func(t *testing.T) {
			code, body, _ := get(path)
			msg, _ := body["error"].(string)
			if code != want || !strings.HasSuffix(msg, ".") || strings.HasPrefix(msg, "not found") {
				t.Errorf("%s: %d %q; want %d and a sentence", path, code, msg, want)
			}
		})
	}
	// The showcase fills the network within a couple of seconds.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body, _ = get("api/analytics/network")
		nodes, _ := body["nodes"].([]any)
		links, _ := body["links"].([]any)
		if len(nodes) >= 50 && len(links) >= 200 {
			id := nodes[0].(map[string]any)["id"].(string)
			if code, d, _ := get("api/analytics/agents/" + id); code != 200 || d["recent"] == nil {
				t.Errorf("agent %s: %d %v", id, code, d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("network has %d nodes and %d links", len(nodes), len(links))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
