package web

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/synth/jobs"
)

// synthCall sends one request to the real server at base (which ends in /).
func synthCall(t *testing.T, method, base, path, body string) (int, []byte) {
	t.Helper()
	return httpDo(t, method, strings.TrimSuffix(base, "/")+path, body)
}

// synthJobAt reads one job through the API.
func synthJobAt(t *testing.T, base, id string) jobs.Status {
	t.Helper()
	code, b := synthCall(t, "GET", base, "/api/synth/jobs/"+id, "")
	var st jobs.Status
	if err := json.Unmarshal(b, &st); code != 200 || err != nil {
		t.Fatalf("job %s: %d %s", id, code, b)
	}
	return st
}

// synthFirstLife is what synthLiveAndStop saw of the first server.
type synthFirstLife struct {
	done, big             jobs.Status
	status, preview, file []byte
}

// synthLiveAndStop runs a first real server on cfg.DataDir: a job from
// doneBody runs to its end, then a 20-million-row shipments job starts and
// the server stops while it runs. It returns both jobs as they were and the
// finished job's status, preview and file as the API served them.
func synthLiveAndStop(t *testing.T, cfg app.Config, doneBody string) synthFirstLife {
	t.Helper()
	return synthLiveAndStopWith(t, cfg, doneBody, `{"kind":"shipments","rows":20000000,"seed":1}`)
}

// synthLiveAndStopWith is synthLiveAndStop with bigBody as the job cut off
// by the stop; it must be large enough to be still running when the first
// server sees its first rows and stops.
func synthLiveAndStopWith(t *testing.T, cfg app.Config, doneBody, bigBody string) synthFirstLife {
	t.Helper()
	_, url, stop := startServerToStop(t, cfg, nil)

	var life synthFirstLife
	code, b := synthCall(t, "POST", url, "/api/synth/jobs", doneBody)
	if code != 202 {
		t.Fatalf("start: %d %s", code, b)
	}
	json.Unmarshal(b, &life.done)
	deadline := time.Now().Add(30 * time.Second)
	for life.done = synthJobAt(t, url, life.done.ID); life.done.State != jobs.Done; life.done = synthJobAt(t, url, life.done.ID) {
		if time.Now().After(deadline) || life.done.State == jobs.Failed {
			t.Fatalf("the first job: %+v", life.done)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, life.status = synthCall(t, "GET", url, "/api/synth/jobs/"+life.done.ID, "")
	_, life.preview = synthCall(t, "GET", url, "/api/synth/jobs/"+life.done.ID+"/preview?n=30", "")
	_, life.file = synthCall(t, "GET", url, "/api/synth/jobs/"+life.done.ID+"/file", "")

	code, b = synthCall(t, "POST", url, "/api/synth/jobs", bigBody)
	if code != 202 {
		t.Fatalf("start the big job: %d %s", code, b)
	}
	json.Unmarshal(b, &life.big)
	for life.big = synthJobAt(t, url, life.big.ID); life.big.Rows == 0; life.big = synthJobAt(t, url, life.big.ID) {
		if time.Now().After(deadline) || life.big.State != jobs.Running && life.big.State != jobs.Queued {
			t.Fatalf("the big job: %+v", life.big)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return life
}

// TestSynthJobsSurviveRestart runs the real server twice on one data
// directory: a fraud job finished by the first comes back in the second's
// list as it was, with its reports, preview and file; a job running when
// the first stopped comes back interrupted, with a sentence, and no file.
func TestSynthJobsSurviveRestart(t *testing.T) {
	cfg := testConfig(t)
	life := synthLiveAndStop(t, cfg, `{"kind":"fraud","rows":22000,"seed":3,"fraud_rate":0.02}`)
	done, big := life.done, life.big
	if done.Detector == nil || done.Quality == nil {
		t.Fatalf("the fraud job has no reports: %+v", done)
	}

	_, url := startServerWith(t, cfg, nil)
	code, b := synthCall(t, "GET", url, "/api/synth/jobs", "")
	var list []jobs.Status
	if err := json.Unmarshal(b, &list); code != 200 || err != nil || len(list) != 2 {
		t.Fatalf("jobs after the restart: %d %s", code, b)
	}
	if list[0].ID != big.ID || list[1].ID != done.ID {
		t.Fatalf("jobs after the restart: %s and %s, want %s and %s", list[0].ID, list[1].ID, big.ID, done.ID)
	}
	var was, is map[string]any
	_, after := synthCall(t, "GET", url, "/api/synth/jobs/"+done.ID, "")
	json.Unmarshal(life.status, &was)
	json.Unmarshal(after, &is)
	if !reflect.DeepEqual(was, is) {
		t.Errorf("the fraud job after the restart:\n%s\nwant\n%s", after, life.status)
	}
	if code, got := synthCall(t, "GET", url, "/api/synth/jobs/"+done.ID+"/preview?n=30", ""); code != 200 || !bytes.Equal(got, life.preview) {
		t.Errorf("preview after the restart: %d, same as before: %v", code, bytes.Equal(got, life.preview))
	}
	if code, got := synthCall(t, "GET", url, "/api/synth/jobs/"+done.ID+"/file", ""); code != 200 || !bytes.Equal(got, life.file) || int64(len(got)) != done.Bytes {
		t.Errorf("file after the restart: %d, %d bytes (%d before, %d recorded)", code, len(got), len(life.file), done.Bytes)
	}

	st := list[0]
	if st.State != jobs.Interrupted || !strings.HasPrefix(st.Error, "The server stopped while this job was running, after ") || st.File != "" {
		t.Errorf("the big job after the restart: %s %q file %q", st.State, st.Error, st.File)
	}
	for _, path := range []string{"/file", "/preview"} {
		code, b := synthCall(t, "GET", url, "/api/synth/jobs/"+big.ID+path, "")
		if code != 404 || !strings.Contains(string(b), "Job "+big.ID+" is interrupted; it has no file.") {
			t.Errorf("%s of the interrupted job: %d %s", path, code, b)
		}
	}
	if code, b := synthCall(t, "DELETE", url, "/api/synth/jobs/"+big.ID, ""); code != 409 {
		t.Errorf("cancel the interrupted job: %d %s", code, b)
	}
	code, b = synthCall(t, "POST", url, "/api/synth/jobs", `{"kind":"employees","rows":10}`)
	var next jobs.Status
	if code != 202 || json.Unmarshal(b, &next) != nil || next.ID != "3" {
		t.Errorf("the next job after the restart: %d %s, want id 3", code, b)
	}
}
