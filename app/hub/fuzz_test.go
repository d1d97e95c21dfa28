package hub

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/coder/websocket"

	"github.com/metastation/metastation/app/bus"
)

// FuzzHandle: whatever a browser sends over the web socket, the hub answers
// with frames that are valid JSON or refuses it with an error (which closes
// the connection with that reason); it never panics.
func FuzzHandle(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe","topics":["system.state","market.*"]}`,
		`{"type":"subscribe","topics":["*"]}`,
		`{"type":"subscribe","topics":[]}`,
		`{"type":"ping","id":7}`,
		`{"type":"subscribe","topics":["BAD TOPIC"]}`,
		`{"type":"nope"}`, `null`, `[]`, `{"type":"subscribe","topics":"x"}`, "\x00\xff",
	} {
		f.Add([]byte(s), true)
	}
	f.Add([]byte{1, 2, 3}, false)
	h := New(bus.New(), slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	h.latest["system.state"] = []byte(`{"topic":"system.state","data":{}}`)
	f.Fuzz(func(t *testing.T, data []byte, text bool) {
		typ := websocket.MessageBinary
		if text {
			typ = websocket.MessageText
		}
		c := &client{}
		frames, err := h.handle(c, typ, data)
		h.setSubscriptions(c, nil) // leave no group behind
		if err != nil {
			if err.Error() == "" {
				t.Fatal("a refusal without a reason")
			}
			return
		}
		if len(frames) == 0 {
			t.Fatalf("%q was accepted with no answer", data)
		}
		for _, fr := range frames {
			if !json.Valid(fr) {
				t.Fatalf("frame %q is not JSON", fr)
			}
		}
	})
}
