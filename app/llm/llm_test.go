package llm

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestComplete(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(w http.ResponseWriter)
		want    string
		wantErr string
	}{
		{"answer", func(w http.ResponseWriter) {
			w.Write([]byte(`{"choices":[{"message":{"content":"  Hello there.  "}}]}`))
		}, "Hello there.", ""},
		{"server error", func(w http.ResponseWriter) { http.Error(w, "no", http.StatusInternalServerError) }, "", "status 500"},
		{"no choices", func(w http.ResponseWriter) { w.Write([]byte(`{"choices":[]}`)) }, "", "no choices"},
		{"overlong", func(w http.ResponseWriter) {
			w.Write([]byte(`{"choices":[{"message":{"content":"` + strings.Repeat("a", 50) + `"}}]}`))
		}, "", "overlong"},
		{"late", func(w http.ResponseWriter) { time.Sleep(300 * time.Millisecond); w.Write([]byte(`{}`)) }, "", "deadline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]any
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				json.NewDecoder(r.Body).Decode(&got)
				tt.answer(w)
			}))
			defer srv.Close()
			c := &Client{URL: srv.URL, Model: "m", Timeout: 100 * time.Millisecond}
			text, err := c.Complete(context.Background(), Request{System: "sys", User: "line", MaxChars: 40})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || text != tt.want {
				t.Fatalf("Complete = %q, %v; want %q", text, err, tt.want)
			}
			if got["model"] != "m" || len(got["messages"].([]any)) != 2 {
				t.Errorf("request body %v", got)
			}
		})
	}
}
