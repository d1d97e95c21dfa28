package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAuditLogRecordsStateChanges: a state-changing request lands in the
// audit log with its method, path, status and client, shown by /api/audit
// and on /audit; reads are not logged.
func TestAuditLogRecordsStateChanges(t *testing.T) {
	a, url := startServer(t)
	httpDo(t, "GET", url+"api/market/state", "")
	if status, _ := httpDo(t, "POST", url+"api/market/speed", `{"speed": 10}`); status != 200 {
		t.Fatalf("speed: %d", status)
	}
	httpDo(t, "POST", url+"api/market/speed", `null`) // refused: logged with its 400
	if err := a.Writer.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Rows []struct {
			Time   time.Time
			Method string
			Path   string
			Status int
			Client string
		}
	}
	status, body := httpDo(t, "GET", url+"api/audit?limit=10", "")
	if status != 200 || json.Unmarshal(body, &got) != nil {
		t.Fatalf("GET /api/audit: %d %s", status, body)
	}
	if len(got.Rows) != 2 {
		t.Fatalf("%d audit rows, want the 2 POSTs: %s", len(got.Rows), body)
	}
	newest, older := got.Rows[0], got.Rows[1]
	if newest.Status != 400 || older.Status != 200 || older.Method != "POST" || older.Path != "/api/market/speed" ||
		!strings.HasPrefix(older.Client, "127.0.0.1") || time.Since(older.Time) > time.Minute {
		t.Fatalf("audit rows %+v", got.Rows)
	}
	if status, _ := httpDo(t, "GET", url+"api/audit?limit=0", ""); status != 400 {
		t.Errorf("limit=0: %d, want 400", status)
	}
	resp, err := http.Get(url + "audit")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		page.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != 200 || !strings.Contains(page.String(), "POST /api/market/speed") {
		t.Fatalf("/audit: %d, page lacks the request", resp.StatusCode)
	}
}
