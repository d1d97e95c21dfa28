package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecodeJSON: whatever a client sends as a JSON body, decodeJSON either
// accepts one object or answers 400/413 with a JSON error sentence; it never
// panics, and it never accepts what is not an object (null, [], 3 were
// accepted or misdescribed).
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"symbol":"SPX","side":"buy","type":"limit","price":5000,"qty":2}`,
		`{}`, `null`, `[]`, `3`, `"x"`, `{"qty":1e19}`, `{"qty":"2"}`, `{"x":1}`, `{} {}`, `{"symbol":`, "\xef\xbb\xbf{}",
		`{"price":-0,"qty":1e-400}`, `{"symbol":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/market/orders", strings.NewReader(string(body)))
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 1<<10)
		w := httptest.NewRecorder()
		var req struct {
			Symbol string  `json:"symbol"`
			Side   string  `json:"side"`
			Type   string  `json:"type"`
			Price  float64 `json:"price"`
			Qty    float64 `json:"qty"`
		}
		ok := decodeJSON(w, r, &req, `{"symbol": "SPX"}`)
		if ok {
			if w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("accepted but answered %d %q", w.Code, w.Body)
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
				t.Fatalf("accepted %q, which is not one JSON object", body)
			}
			return
		}
		if w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("refused with %d", w.Code)
		}
		var e struct{ Error string }
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" || !strings.HasSuffix(e.Error, ".") {
			t.Fatalf("refusal %q is not a JSON sentence", w.Body)
		}
	})
}
