package research

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// LLM rewords a memo's opinions through an OpenAI-compatible chat
// completions endpoint (a local model, the METASTATION_LLM_URL setting the
// tournament's commentator uses). Facts and numbers are never sent for
// rewriting; a rewording that is late, fails, or holds any number is
// dropped and the template's sentence stays. Without it memos are written
// from the templates alone, fully offline.
type LLM struct {
	URL     string
	Model   string        // default "local"
	Timeout time.Duration // default 5s
	Client  *http.Client
}

const llmSystem = "You edit investment memos. Rewrite the opinion you are given in plain, sober English for a portfolio manager, " +
	"in at most two sentences. Add no numbers, names or facts."

// Rewrite asks for a new wording of one opinion.
func (l *LLM) Rewrite(ctx context.Context, text string) (string, error) {
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	model := l.Model
	if model == "" {
		model = "local"
	}
	body, err := json.Marshal(map[string]any{
		"model": model, "temperature": 0.3, "max_tokens": 120,
		"messages": []map[string]string{{"role": "system", "content": llmSystem}, {"role": "user", "content": text}},
	})
	if err != nil {
		return "", fmt.Errorf("llm request: %w", err)
	}
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
	s := strings.TrimSpace(out.Choices[0].Message.Content)
	switch {
	case s == "" || len(s) > 600:
		return "", errors.New("llm: empty or overlong")
	case numberToken.MatchString(s):
		return "", errors.New("llm: the rewording holds a number")
	case strings.ContainsAny(s, "[]#|*"):
		return "", errors.New("llm: the rewording holds markup")
	}
	return s, nil
}
