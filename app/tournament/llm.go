package tournament

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// LLM rewrites commentary lines through an OpenAI-compatible chat
// completions endpoint (a local model). A rewrite that is late, fails, or
// quotes a name or number that is not a field of the event is dropped and
// the template's line is used: the commentary never waits for, nor trusts,
// the model.
type LLM struct {
	URL     string        // the full endpoint, e.g. http://127.0.0.1:11434/v1/chat/completions
	Model   string        // default "local"
	Timeout time.Duration // default 2s
	Client  *http.Client  // default http.DefaultClient
}

const llmSystem = "You are the lively commentator of an AI trading tournament. Rewrite the line you are given " +
	"in your own words, in one short sentence. Keep every name and every number exactly as written; add no other numbers or names."

// Rewrite asks the model for a new wording of line.
func (l *LLM) Rewrite(ctx context.Context, line string) (string, error) {
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	model := l.Model
	if model == "" {
		model = "local"
	}
	body, _ := json.Marshal(map[string]any{
		"model": model, "temperature": 0.7, "max_tokens": 80,
		"messages": []map[string]string{{"role": "system", "content": llmSystem}, {"role": "user", "content": line}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.URL, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("llm request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := l.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("llm: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("llm: status %s", resp.Status)
	}
	var out struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 64<<10)).Decode(&out); err != nil {
		return "", fmt.Errorf("llm: decode: %w", err)
	}
	if len(out.Choices) == 0 {
		return "", errors.New("llm: no choices")
	}
	text := strings.TrimSpace(out.Choices[0].Message.Content)
	if text == "" || len(text) > 280 {
		return "", errors.New("llm: empty or overlong line")
	}
	return text, nil
}

var numberRE = regexp.MustCompile(`[0-9][0-9,]*(\.[0-9]+)?`)

// QuotesOnly checks that every number in text is a field of e (money as
// its absolute value, the clock's hours and minutes), and that of names
// and symbols only e's own appear.
func QuotesOnly(text string, e Event, names, symbols []string) error {
	allowed := map[float64]bool{e.Pct: true, e.Qty: true, e.Price: true}
	if e.Value != 0 {
		allowed[abs(e.Value)] = true
	}
	for _, part := range strings.Split(e.Clock, ":") {
		if x, err := strconv.ParseFloat(part, 64); err == nil {
			allowed[x] = true
		}
	}
	for _, tok := range numberRE.FindAllString(text, -1) {
		x, err := strconv.ParseFloat(strings.ReplaceAll(tok, ",", ""), 64)
		if err != nil || !allowed[x] {
			return fmt.Errorf("the line shows %s, which is no field of the event", tok)
		}
	}
	for _, n := range names {
		if n != "" && strings.Contains(text, n) && n != e.Name && n != e.Other {
			return fmt.Errorf("the line names %s, who is not in the event", n)
		}
	}
	for _, s := range symbols {
		if containsWord(text, s) && s != e.Symbol {
			return fmt.Errorf("the line names %s, not the event's symbol", s)
		}
	}
	return nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// containsWord reports whether w occurs in s not inside a longer word.
func containsWord(s, w string) bool {
	for i := 0; ; {
		k := strings.Index(s[i:], w)
		if k < 0 {
			return false
		}
		k += i
		before := k == 0 || !isWordByte(s[k-1])
		after := k+len(w) == len(s) || !isWordByte(s[k+len(w)])
		if before && after {
			return true
		}
		i = k + 1
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
