package web

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/metastation/metastation/app/rl"
)

// rlCall sends a request to the real server and decodes its JSON answer
// into out (when not nil), returning the status.
func rlCall(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	code, data := httpDo(t, method, url, body)
	if out != nil && code < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, data)
		}
	}
	return code
}

func rlRunOf(t *testing.T, url string, id int64) rl.RunInfo {
	t.Helper()
	var runs []rl.RunInfo
	if code := rlCall(t, "GET", url+"api/rl/runs", "", &runs); code != 200 {
		t.Fatalf("GET /api/rl/runs: %d", code)
	}
	for _, r := range runs {
		if r.ID == id {
			return r
		}
	}
	return rl.RunInfo{}
}

// TestRLRunsSurviveRestart runs the real server twice on one data
// directory: the single-agent runs of the first session are listed by the
// second, a finished one with its curve, the same episode returns and its
// checkpoint, one cut short by the shutdown stopped and resumable, one left
// waiting stopped and resumable afresh (it trains from step 0 to its end);
// a new run gets the next id.
func TestRLRunsSurviveRestart(t *testing.T) {
	cfg := testConfig(t)
	_, url, stopFirst := startServerToStop(t, cfg, nil)
	var done, cut rl.RunInfo
	if code := rlCall(t, "POST", url+"api/rl/runs", `{"algo":"ppo","env":"cartpole","steps":2048,"seed":1}`, &done); code != 201 {
		t.Fatalf("start: %d", code)
	}
	rlWaitFor(t, "the first run done", func() bool { return rlRunOf(t, url, done.ID).Status == "done" })
	if code := rlCall(t, "POST", url+"api/rl/runs", `{"algo":"ppo","env":"cartpole","steps":100000,"seed":2}`, &cut); code != 201 {
		t.Fatalf("start: %d", code)
	}
	var waiting rl.RunInfo
	if code := rlCall(t, "POST", url+"api/rl/runs", `{"algo":"ppo","env":"cartpole","steps":2048,"seed":4}`, &waiting); code != 201 {
		t.Fatalf("start: %d", code)
	}
	rlWaitFor(t, "the second run training", func() bool { return rlRunOf(t, url, cut.ID).Steps >= 1024 })
	before := rlRunOf(t, url, done.ID)
	var ptsBefore []rl.RunMetric
	if code := rlCall(t, "GET", url+"api/rl/runs/1/metrics", "", &ptsBefore); code != 200 || len(ptsBefore) != 4 {
		t.Fatalf("curve of run 1 before the restart: %d, %d points", code, len(ptsBefore))
	}
	stopFirst()

	_, url = startServerWith(t, cfg, nil)
	after := rlRunOf(t, url, done.ID)
	if after.Status != "done" || after.Steps != 2048 || after.EvalReturn == nil || *after.EvalReturn != *before.EvalReturn || after.Resumable {
		t.Errorf("the finished run after the restart: %+v; before: %+v", after, before)
	}
	stopped := rlRunOf(t, url, cut.ID)
	if stopped.Status != "stopped" || stopped.Steps < 1024 || stopped.Steps >= 100000 || !stopped.Resumable {
		t.Errorf("the run cut short by the shutdown: %+v", stopped)
	}
	var pts []rl.RunMetric
	if code := rlCall(t, "GET", url+"api/rl/runs/1/metrics", "", &pts); code != 200 || len(pts) != 4 || pts[3].Steps != 2048 {
		t.Fatalf("curve of run 1 after the restart: %d, %d points: %+v", code, len(pts), pts)
	}
	for i := range pts {
		b, a := ptsBefore[i].Episodes, pts[i].Episodes
		same := len(a) == len(b) && len(a) > 0
		for j := 0; same && j < len(a); j++ {
			same = a[j] == b[j]
		}
		if !same {
			t.Errorf("point %d of run 1: episode returns %v after the restart, %v before", i, a, b)
		}
	}
	if w := rlRunOf(t, url, waiting.ID); w.Status != "stopped" || w.Steps != 0 || !w.Resumable {
		t.Errorf("the run left waiting: %+v; want stopped, 0 steps, resumable", w)
	}
	resp, err := http.Get(url + "api/rl/runs/1/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	ck, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(ck) < 10_000 {
		t.Errorf("checkpoint of run 1 after the restart: %d, %d bytes", resp.StatusCode, len(ck))
	}
	var next rl.RunInfo
	if code := rlCall(t, "POST", url+"api/rl/runs", `{"algo":"ppo","env":"cartpole","steps":512,"seed":3}`, &next); code != 201 || next.ID != waiting.ID+1 {
		t.Errorf("a new run: %d, id %d, want %d", code, next.ID, waiting.ID+1)
	}
	var again rl.RunInfo
	if code := rlCall(t, "POST", url+"api/rl/runs/"+strconv.FormatInt(waiting.ID, 10)+"/resume", "", &again); code != 202 || again.Status != "queued" {
		t.Fatalf("resume of the run left waiting: %d %+v", code, again)
	}
	rlWaitFor(t, "the run left waiting done", func() bool { return rlRunOf(t, url, waiting.ID).Status == "done" })
	var wpts []rl.RunMetric
	if code := rlCall(t, "GET", url+"api/rl/runs/"+strconv.FormatInt(waiting.ID, 10)+"/metrics", "", &wpts); code != 200 || len(wpts) != 4 || wpts[0].Steps != 512 || wpts[3].Steps != 2048 {
		t.Errorf("the run left waiting, resumed afresh: %d, %d points", code, len(wpts))
	}
	var resumed rl.RunInfo
	if code := rlCall(t, "POST", url+"api/rl/runs/"+strconv.FormatInt(cut.ID, 10)+"/resume", "", &resumed); code != 202 || resumed.Status != "queued" {
		t.Errorf("resume after the restart: %d %+v", code, resumed)
	}
}
