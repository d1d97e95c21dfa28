package tournament

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/llm"
)

// fakeLLM answers like an OpenAI-compatible chat endpoint with reply(line).
func fakeLLM(t *testing.T, reply func(string) string, delay time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Role, Content string } `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) != 2 || req.Messages[0].Role != "system" {
			http.Error(w, "bad request", 400)
			return
		}
		time.Sleep(delay)
		json.NewEncoder(w).Encode(map[string]any{"choices": []map[string]any{{"message": map[string]string{"role": "assistant", "content": reply(req.Messages[1].Content)}}}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLLMRewriteAndFallback(t *testing.T) {
	e := Event{Kind: EventNewHigh, Clock: "11:05", Strategy: "momentum", Name: "Momentum Chaser", Value: 12345}
	names := []string{"Momentum Chaser", "Market Maker"}
	line := "Momentum Chaser keeps climbing: +$12,345 and counting."

	good := fakeLLM(t, func(s string) string { return "Look at Momentum Chaser go, +$12,345 already!" }, 0)
	text, err := (&LLM{llm.Client{URL: good.URL}}).Rewrite(context.Background(), line)
	if err != nil || QuotesOnly(text, e, names, nil) != nil {
		t.Fatalf("good rewrite: %q, %v", text, err)
	}
	// A model that invents a number or a name is caught.
	for _, bad := range []string{"Momentum Chaser is up +$99,999!", "Market Maker weeps as Momentum Chaser hits +$12,345."} {
		if QuotesOnly(bad, e, names, nil) == nil {
			t.Errorf("invented content passed: %q", bad)
		}
	}
	slow := fakeLLM(t, func(s string) string { return s }, 300*time.Millisecond)
	start := time.Now()
	if _, err := (&LLM{llm.Client{URL: slow.URL, Timeout: 50 * time.Millisecond}}).Rewrite(context.Background(), line); err == nil {
		t.Error("a late answer was accepted")
	}
	if time.Since(start) > 250*time.Millisecond {
		t.Errorf("the timeout did not cut the wait: %v", time.Since(start))
	}
}

func TestServiceUsesLLMWithFallback(t *testing.T) {
	// The fake model rewrites every other line with an invented number: those
	// fall back to the template, the others are used.
	n := 0
	model := fakeLLM(t, func(s string) string {
		n++
		if n%2 == 0 {
			return "Something happened worth 424242."
		}
		return "LLM: " + s
	}, 0)
	cfg := fastConfig()
	cfg.LLM = &LLM{llm.Client{URL: model.URL, Timeout: time.Second}}
	s, _, db := testService(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for s.State().Round < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	s.tables.w.Flush(context.Background())
	rows, err := db.R.Query(`SELECT text FROM tournament_commentary`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var rewritten, plain int
	for rows.Next() {
		var text string
		rows.Scan(&text)
		if strings.Contains(text, "424242") {
			t.Fatalf("an invented line was used: %q", text)
		}
		if strings.HasPrefix(text, "LLM: ") {
			rewritten++
		} else {
			plain++
		}
	}
	if rewritten == 0 || plain == 0 {
		t.Errorf("%d rewritten and %d template lines, want both", rewritten, plain)
	}
}
