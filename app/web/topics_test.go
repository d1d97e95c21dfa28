package web

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestPagesSubscribeToKnownTopics: every topic a page script subscribes to
// is accepted by the app's hub, which refuses topics outside the app's
// subsystems; a misspelt one gets an error frame instead of silence.
func TestPagesSubscribeToKnownTopics(t *testing.T) {
	files, err := filepath.Glob("../../static/js/*.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("page scripts: %v (%d)", err, len(files))
	}
	subscribe := regexp.MustCompile(`live\.subscribe\("([^"]+)"`)
	var topics []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range subscribe.FindAllSubmatch(b, -1) {
			topics = append(topics, string(m[1]))
		}
	}
	slices.Sort(topics)
	topics = slices.Compact(topics)
	if len(topics) < 10 {
		t.Fatalf("found only %d subscribed topics in the page scripts: %v", len(topics), topics)
	}
	_, url := startServer(t)
	ws := "ws" + strings.TrimPrefix(url, "http") + "ws"
	ask := func(topics ...string) map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, ws, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 24)
		b, _ := json.Marshal(map[string]any{"type": "subscribe", "topics": topics})
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			var f map[string]any
			if err := json.Unmarshal(data, &f); err != nil {
				t.Fatal(err)
			}
			if f["type"] == "subscribed" || f["type"] == "error" {
				return f
			}
		}
	}
	if f := ask(topics...); f["type"] != "subscribed" {
		t.Errorf("the pages' topics %v: %v", topics, f)
	}
	if f := ask("tournamnet.state"); f["type"] != "error" || !strings.Contains(f["error"].(string), `unknown topic "tournamnet.state"`) {
		t.Errorf("a misspelt topic: %v, want an error frame naming it", f)
	}
}
