// Package llm asks a local language model for one short text through an
// OpenAI-compatible chat completions endpoint (llama.cpp's server, Ollama,
// vLLM...), the --llm-url setting. Callers always have a template to fall
// back on: an answer that is late, fails, or is empty or too long is an
// error, never a wait.
package llm

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

// Client is one endpoint and model.
type Client struct {
	URL     string        // the full endpoint, e.g. http://127.0.0.1:11434/v1/chat/completions
	Model   string        // default "local"
	Timeout time.Duration // default: the request's own Timeout, else 2s
	Client  *http.Client  // default http.DefaultClient
}

// Request is one completion: the system prompt, the user's text, and the
// limits of the answer.
type Request struct {
	System      string
	User        string
	Temperature float64
	MaxTokens   int           // default 120
	MaxChars    int           // a longer answer is an error; default 600
	Timeout     time.Duration // overrides the client's
}

// maxAnswerBytes caps what is read of the endpoint's answer.
const maxAnswerBytes = 64 << 10

// Complete returns the model's answer to req, trimmed.
func (c *Client) Complete(ctx context.Context, req Request) (string, error) {
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = c.Timeout
	}
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	model, maxTokens, maxChars := c.Model, req.MaxTokens, req.MaxChars
	if model == "" {
		model = "local"
	}
	if maxTokens <= 0 {
		maxTokens = 120
	}
	if maxChars <= 0 {
		maxChars = 600
	}
	body, err := json.Marshal(map[string]any{
		"model": model, "temperature": req.Temperature, "max_tokens": maxTokens,
		"messages": []map[string]string{{"role": "system", "content": req.System}, {"role": "user", "content": req.User}},
	})
	if err != nil {
		return "", fmt.Errorf("llm request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("llm request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hreq)
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
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, maxAnswerBytes)).Decode(&out); err != nil {
		return "", fmt.Errorf("llm: decode: %w", err)
	}
	if len(out.Choices) == 0 {
		return "", errors.New("llm: no choices")
	}
	text := strings.TrimSpace(out.Choices[0].Message.Content)
	if text == "" || len(text) > maxChars {
		return "", errors.New("llm: empty or overlong answer")
	}
	return text, nil
}
