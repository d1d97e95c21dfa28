package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/metastation/metastation/app/research"
)

// TestBrowserResearchShowsATraceableMemo opens the Research page on a fresh
// server whose agents run the built-in corpus: the concept graph with the
// planted gap first, the leaderboard, a memo whose every number traces to
// the run's records (read back through the API) and whose citations open
// what they cite; then a run started from the page streams its progress
// and the agents' messages.
func TestBrowserResearchShowsATraceableMemo(t *testing.T) {
	ctx := newBrowser(t)
	cfg := testConfig(t)
	cfg.ResearchDemo, cfg.Showcase = true, false
	_, url := startServerWith(t, cfg, nil)
	navigate(t, ctx, url+"research")
	waitJS(t, ctx, "the demo run's memo", `window.metastationResearch.run > 0 && window.metastationResearch.memoTitle !== ""`, 60*time.Second)

	got := eval[map[string]any](t, ctx, `(() => { const r = window.metastationResearch; return {run: r.run, concepts: r.concepts, edges: r.edges,
		gaps: r.gaps, top: r.topGap, hyps: r.hypotheses, cites: r.citations, title: r.memoTitle, verdict: r.memoVerdict,
		text: document.getElementById("rs-memo").innerText}; })()`)
	if got["concepts"].(float64) < 20 || got["edges"].(float64) < 20 || got["gaps"].(float64) < 1 || got["hyps"].(float64) < 1 || got["cites"].(float64) < 5 {
		t.Fatalf("the page shows too little: %v", got)
	}
	waitJS(t, ctx, "the memo's charts", `window.metastationResearch.charts >= 4`, 10*time.Second)
	screenshot(t, ctx, "research")
	top := fmt.Sprint(got["top"])
	if !strings.Contains(top, "reversal") || !strings.Contains(top, "stress") {
		t.Errorf("top gap %s, want the planted short term reversal – market stress", top)
	}
	if got["verdict"] != string(research.Pursue) || !strings.Contains(got["title"].(string), "Reversal") {
		t.Errorf("first memo %q (%s), want the planted reversal hypothesis, pursued", got["title"], got["verdict"])
	}

	// Every number the page shows in the memo is a field of a record.
	run := int(got["run"].(float64))
	var sum research.Summary
	getJSON(t, fmt.Sprintf("%s/api/research/runs/%d", strings.TrimSuffix(url, "/"), run), &sum)
	var trials struct{ Trials []research.Trial }
	getJSON(t, fmt.Sprintf("%s/api/research/runs/%d/trials", strings.TrimSuffix(url, "/"), run), &trials)
	for i := range trials.Trials {
		trials.Trials[i].Curve = nil // the chart's points are no figures a memo may quote
	}
	text := got["text"].(string)
	var memIDs []int64
	for _, m := range regexp.MustCompile(`\[M([0-9]+)\]`).FindAllStringSubmatch(text, -1) {
		var mem struct {
			ID int64 `json:"id"`
		}
		getJSON(t, strings.TrimSuffix(url, "/")+"/api/research/memories/"+m[1], &mem)
		memIDs = append(memIDs, mem.ID)
	}
	if bad := research.Untraced(text, sum.Experiments, trials.Trials, sum.Gaps, sum.Plan, research.Bars, run, sum.Seed, memIDs); len(bad) > 0 {
		t.Errorf("the memo on the page shows numbers no record holds: %v", bad)
	}

	// Citations open what they cite.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#rs-memo a.cite[data-cite^="M"]`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "a memory citation to open", `window.metastationResearch.lastCite?.kind === "M" && !document.getElementById("rs-cite").hidden`, 10*time.Second)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#rs-memo a.cite[data-cite^="T"]`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "a trial citation to open", `window.metastationResearch.lastCite?.kind === "T" && window.metastationResearch.lastCite.hash.length === 16`, 10*time.Second)

	// Exports: Markdown and the printable page.
	code, md := httpDo(t, http.MethodGet, fmt.Sprintf("%sapi/research/runs/%d/memos/1.md", url, run), "")
	if code != http.StatusOK || !strings.HasPrefix(string(md), "# ") {
		t.Errorf("Markdown export: %d %.60q", code, md)
	}
	code, page := httpDo(t, http.MethodGet, fmt.Sprintf("%sresearch/runs/%d/memos/1/print", url, run), "")
	if code != http.StatusOK || !strings.Contains(string(page), "<h2>Evidence</h2>") {
		t.Errorf("printable memo: %d", code)
	}

	// A run started from the page streams progress and messages.
	eval[bool](t, ctx, `(document.getElementById("rs-seed").value = "8") === "8"`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#rs-go`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the second run to finish and open", `window.metastationResearch.run === 2 && window.metastationResearch.progress?.state === "done"`, 60*time.Second)
	if n := eval[float64](t, ctx, `window.metastationResearch.messages`); n < 5 {
		t.Errorf("%v agent messages shown, want the five agents'", n)
	}
	if busy := eval[string](t, ctx, `document.getElementById("rs-error").textContent`); busy != "" {
		t.Errorf("the page shows an error: %s", busy)
	}
	// The agents' messages are on the agent protocol: the network page's
	// graph has them.
	var network struct {
		Nodes []struct {
			ID string `json:"id"`
		} `json:"nodes"`
	}
	getJSON(t, url+"api/analytics/network", &network)
	seen := map[string]bool{}
	for _, n := range network.Nodes {
		seen[n.ID] = true
	}
	for _, a := range research.Agents {
		if !seen[a] {
			t.Errorf("the network has no node %s (nodes %v)", a, network.Nodes)
		}
	}
}

func TestResearchAPIErrors(t *testing.T) {
	_, url := startServer(t)
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"seed not a number", http.MethodPost, "api/research/runs", `{"seed": "x"}`, http.StatusBadRequest},
		{"unknown field", http.MethodPost, "api/research/runs", `{"sed": 1}`, http.StatusBadRequest},
		{"seed too large", http.MethodPost, "api/research/runs", `{"seed": 9007199254740993}`, http.StatusBadRequest},
		{"folder missing", http.MethodPost, "api/research/runs", `{"seed": 1, "dir": "/no/such/folder"}`, http.StatusBadRequest},
		{"no such run", http.MethodGet, "api/research/runs/99", "", http.StatusNotFound},
		{"run not a number", http.MethodGet, "api/research/runs/x", "", http.StatusBadRequest},
		{"no such memo", http.MethodGet, "api/research/runs/1/memos/3", "", http.StatusNotFound},
		{"no such memory", http.MethodGet, "api/research/memories/123456", "", http.StatusNotFound},
		{"no runs yet", http.MethodGet, "api/research/runs", "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := httpDo(t, tt.method, url+tt.path, tt.body)
			if code != tt.want {
				t.Fatalf("%s %s: %d %s, want %d", tt.method, tt.path, code, body, tt.want)
			}
			if code >= 400 && !strings.Contains(string(body), `"error"`) {
				t.Errorf("no error sentence: %s", body)
			}
		})
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	code, body := httpDo(t, http.MethodGet, url, "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
