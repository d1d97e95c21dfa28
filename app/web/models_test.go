package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastation/metastation/app/mlops"
	"github.com/metastation/metastation/app/synth/detect"
)

// memOptOuts keeps opt-outs in memory, for tests of the start handlers.
type memOptOuts struct {
	mu  sync.Mutex
	out map[string]bool
}

func (m *memOptOuts) SetOptOut(_ context.Context, source, run string, out bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.out == nil {
		m.out = map[string]bool{}
	}
	m.out[source+"/"+run] = out
	return nil
}

// fraudArtifact is a logistic fraud detector with weights drawn from seed.
func fraudArtifact(t *testing.T, seed uint64) []byte {
	t.Helper()
	names := detect.FeatureNames()
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &detect.Logistic{Weights: make([]float64, len(names)), Mean: make([]float64, len(names)), Std: make([]float64, len(names)), Bias: -4}
	for j := range names {
		m.Weights[j], m.Std[j] = rng.NormFloat64(), 1
	}
	data, err := mlops.EncodeDetector(&detect.Detector{Model: "logistic", Features: names, Logistic: m})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// registerBody is the JSON of a registration of artifact as kind.
func registerBody(kind string, artifact []byte, alias string) string {
	b, _ := json.Marshal(map[string]any{"kind": kind, "artifact": base64.StdEncoding.EncodeToString(artifact), "alias": alias,
		"metrics": map[string]float64{"roc_auc": 0.9}, "seed": 3})
	return string(b)
}

func decodeMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	return m
}

func featureRow(v float64) []float64 {
	row := make([]float64, len(detect.FeatureNames()))
	for i := range row {
		row[i] = v
	}
	return row
}

// The model API through the real server: registration with aliases, the
// alias in force at a time, batched predictions, a canary rolled back by
// its live outcomes, opt-outs, and every error a clear sentence with its
// status (unknown model or alias 404, a tampered artifact 422 with the
// alias left where it was).
func TestModelsAPI(t *testing.T) {
	srv, url := startServer(t)
	api := url + "api/models"
	if code, b := httpDo(t, "GET", api, ""); code != 200 || !strings.Contains(string(b), `"models": []`) {
		t.Fatalf("empty list: %d %s", code, b)
	}
	code, b := httpDo(t, "POST", api+"/fraud/versions", registerBody(mlops.KindFraud, fraudArtifact(t, 1), "champion"))
	if code != 201 {
		t.Fatalf("register v1: %d %s", code, b)
	}
	if v := decodeMap(t, b); v["version"] != 1.0 || fmt.Sprint(v["aliases"]) != "[champion]" || v["sha256"] == "" {
		t.Fatalf("v1: %v", v)
	}
	time.Sleep(5 * time.Millisecond)
	between := time.Now().UTC()
	time.Sleep(5 * time.Millisecond)
	if code, b := httpDo(t, "POST", api+"/fraud/versions", registerBody(mlops.KindFraud, fraudArtifact(t, 2), "challenger")); code != 201 {
		t.Fatalf("register v2: %d %s", code, b)
	}
	if code, b := httpDo(t, "POST", api+"/solo/versions", registerBody(mlops.KindFraud, fraudArtifact(t, 3), "champion")); code != 201 {
		t.Fatalf("register solo: %d %s", code, b)
	}

	// Which version was champion at T.
	if code, b := httpDo(t, "PUT", api+"/fraud/aliases/champion", `{"version": 2, "reason": "try it"}`); code != 200 {
		t.Fatalf("move champion: %d %s", code, b)
	}
	at := func(ts string) (int, map[string]any) {
		code, b := httpDo(t, "GET", api+"/fraud/aliases/champion?at="+ts, "")
		return code, decodeMap(t, b)
	}
	if code, m := at(between.Format(time.RFC3339Nano)); code != 200 || m["version"] != 1.0 {
		t.Errorf("champion at %v: %d %v", between, code, m)
	}
	if code, m := at(fmt.Sprint(time.Now().UnixMilli())); code != 200 || m["version"] != 2.0 {
		t.Errorf("champion now: %d %v", code, m)
	}
	if code, b := httpDo(t, "POST", api+"/fraud/rollback", `{"reason": "v2 looked worse"}`); code != 200 || decodeMap(t, b)["version"] != 1.0 {
		t.Fatalf("rollback: %d %s", code, b)
	}

	// Batched predictions from the champion, and from a pinned version.
	rows, _ := json.Marshal(map[string]any{"inputs": [][]float64{featureRow(0), featureRow(1), featureRow(-1)}})
	code, b = httpDo(t, "POST", api+"/fraud/predict", string(rows))
	if p := decodeMap(t, b); code != 200 || p["version"] != 1.0 || p["route"] != "champion" || len(p["predictions"].([]any)) != 3 {
		t.Fatalf("predict: %d %s", code, b)
	}
	pinned, _ := json.Marshal(map[string]any{"version": 2, "inputs": [][]float64{featureRow(0)}})
	if code, b := httpDo(t, "POST", api+"/fraud/predict", string(pinned)); code != 200 || decodeMap(t, b)["version"] != 2.0 {
		t.Fatalf("predict v2: %d %s", code, b)
	}

	// A 50 % canary sends some keys to the challenger; outcomes far worse
	// than the champion's roll it back.
	if code, b := httpDo(t, "POST", api+"/fraud/canary", `{"share": 0.5}`); code != 200 || !strings.Contains(string(b), `"state": "canary"`) {
		t.Fatalf("canary: %d %s", code, b)
	}
	canary := 0
	for i := range 40 {
		req, _ := json.Marshal(map[string]any{"key": fmt.Sprintf("customer-%d", i), "inputs": [][]float64{featureRow(0)}})
		_, b := httpDo(t, "POST", api+"/fraud/predict", string(req))
		if decodeMap(t, b)["route"] == "canary" {
			canary++
		}
	}
	if canary == 0 || canary == 40 {
		t.Errorf("%d of 40 keys went to a 50 %% canary", canary)
	}
	good, bad := make([]float64, 300), make([]float64, 300)
	for i := range good {
		good[i], bad[i] = float64(min(1, i%10)), float64(i%2)
	}
	fb := func(v int, xs []float64) (int, []byte) {
		body, _ := json.Marshal(map[string]any{"version": v, "values": xs})
		return httpDo(t, "POST", api+"/fraud/feedback", string(body))
	}
	if code, b := fb(1, good); code != 200 {
		t.Fatalf("feedback: %d %s", code, b)
	}
	if code, b := fb(2, bad); code != 200 || !strings.Contains(string(b), `"verdict": "regressed"`) {
		t.Fatalf("feedback of a regressed canary: %d %s", code, b)
	}
	code, b = httpDo(t, "GET", api+"/fraud/canary", "")
	if code != 200 || !strings.Contains(string(b), `"state": "rolled_back"`) || !strings.Contains(string(b), `"canary_share": 0`) {
		t.Fatalf("canary after the regression: %d %s", code, b)
	}
	code, b = httpDo(t, "GET", api+"/fraud/events", "")
	if code != 200 || !strings.Contains(string(b), `"kind": "rollback"`) || !strings.Contains(string(b), `"test": "mSPRT"`) {
		t.Errorf("the rollback is not in the audit log with its statistics: %s", b)
	}

	// Shadow on and off.
	if code, b := httpDo(t, "POST", api+"/fraud/shadow", ""); code != 200 || !strings.Contains(string(b), `"on": true`) {
		t.Fatalf("shadow on: %d %s", code, b)
	}
	if code, b := httpDo(t, "DELETE", api+"/fraud/shadow", ""); code != 200 || !strings.Contains(string(b), `"on": false`) {
		t.Fatalf("shadow off: %d %s", code, b)
	}

	// Opt-outs are recorded where the auto-registration looks.
	if code, b := httpDo(t, "POST", api+"/optout", `{"source": "rl", "id": 5}`); code != 200 {
		t.Fatalf("opt out: %d %s", code, b)
	}
	if out, err := srv.MLOps.Registry().OptedOut(t.Context(), "rl", "rl run 5"); err != nil || !out {
		t.Errorf("rl run 5 opted out: %v %v", out, err)
	}
	if code, b := httpDo(t, "POST", url+"api/rl/runs", `{"algo": "ppo", "env": "cartpole", "steps": 1000, "register": false}`); code != 201 {
		t.Fatalf("start a run that opts out: %d %s", code, b)
	}
	if out, _ := srv.MLOps.Registry().OptedOut(t.Context(), "rl", "rl run 1"); !out {
		t.Error(`a run started with "register": false is not opted out`)
	}

	errCases := []struct {
		name, method, path, body string
		code                     int
		says                     string
	}{
		{"unknown model", "GET", "/nope", "", 404, `no model "nope"`},
		{"unknown model's versions", "GET", "/nope/versions", "", 404, `no model "nope"`},
		{"unknown version", "GET", "/fraud/versions/9", "", 404, "has no version 9"},
		{"bad version", "GET", "/fraud/versions/x", "", 400, "whole number"},
		{"unknown alias", "GET", "/fraud/aliases/nope", "", 404, `no alias "nope"`},
		{"alias not yet set at T", "GET", "/fraud/aliases/champion?at=1", "", 404, "had no alias"},
		{"bad time", "GET", "/fraud/aliases/champion?at=yesterday", "", 400, "RFC 3339"},
		{"predict unknown model", "POST", "/nope/predict", `{"inputs": [[1]]}`, 404, `no model "nope"`},
		{"predict unknown alias", "POST", "/fraud/predict", `{"alias": "nope", "inputs": [[1]]}`, 404, `no alias "nope"`},
		{"predict alias and version", "POST", "/fraud/predict", `{"alias": "champion", "version": 1, "inputs": [[1]]}`, 400, "not both"},
		{"predict wrong width", "POST", "/fraud/predict", `{"inputs": [[1, 2]]}`, 400, "the model takes"},
		{"predict no rows", "POST", "/fraud/predict", `{"inputs": []}`, 400, "at least one input row"},
		{"predict unknown field", "POST", "/fraud/predict", `{"rows": [[1]]}`, 400, "unknown field"},
		{"promote without reason", "POST", "/fraud/promote", `{}`, 400, "needs a reason"},
		{"rollback without reason", "POST", "/fraud/rollback", `{"reason": " "}`, 400, "needs a reason"},
		{"promote without challenger", "POST", "/solo/promote", `{"reason": "why not"}`, 409, "no challenger"},
		{"rollback with no history", "POST", "/solo/rollback", `{"reason": "why not"}`, 409, "nothing to roll back"},
		{"alias to unknown version", "PUT", "/fraud/aliases/champion", `{"version": 99}`, 404, "no version 99"},
		{"bad alias name", "PUT", "/fraud/aliases/Bad%20Alias", `{"version": 1}`, 400, "An alias is"},
		{"canary share too large", "POST", "/fraud/canary", `{"share": 0.7}`, 400, "between 0 and 0.5"},
		{"canary without share", "POST", "/fraud/canary", `{}`, 400, "needs a share"},
		{"canary without challenger", "POST", "/solo/canary", `{"share": 0.1}`, 409, "needs both a champion and a challenger"},
		{"feedback of another version", "POST", "/solo/feedback", `{"version": 7, "values": [1]}`, 400, "neither its champion"},
		{"register nothing", "POST", "/fraud/versions", `{"kind": "fraud-detector"}`, 400, "Send the run"},
		{"register garbage", "POST", "/fraud/versions", `{"kind": "fraud-detector", "artifact": "aGVsbG8="}`, 400, "is not a fraud-detector model"},
		{"register unknown kind", "POST", "/fraud/versions", `{"kind": "oracle", "artifact": "aGVsbG8="}`, 400, "Unknown model kind"},
		{"register bad name", "POST", "/Bad!/versions", registerBody(mlops.KindFraud, fraudArtifact(t, 4), ""), 400, "A model name is"},
		{"register unknown run", "POST", "/trading-policy/versions", `{"run": {"source": "marl", "id": 99}}`, 404, "no run 99"},
		{"register from unknown source", "POST", "/x/versions", `{"run": {"source": "excel", "id": 1}}`, 400, "not \"excel\""},
		{"opt out of unknown source", "POST", "/optout", `{"source": "excel", "id": 1}`, 400, "not \"excel\""},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			code, b := httpDo(t, tc.method, api+tc.path, tc.body)
			msg, _ := decodeMap(t, b)["error"].(string)
			if code != tc.code || !strings.Contains(msg, tc.says) {
				t.Errorf("%s %s: %d %q, want %d saying %q", tc.method, tc.path, code, msg, tc.code, tc.says)
			}
		})
	}

	// A tampered artifact refuses to load and the alias stays.
	v2, err := srv.MLOps.Registry().Version(t.Context(), "fraud", 2)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(srv.Config.DataDir, mlops.ArtifactsDir, "sha256", v2.SHA256[:2], v2.SHA256)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, b = httpDo(t, "PUT", api+"/fraud/aliases/champion", `{"version": 2, "reason": "again"}`)
	if msg, _ := decodeMap(t, b)["error"].(string); code != 422 || !strings.Contains(msg, "sha256") {
		t.Errorf("alias to a tampered version: %d %s", code, b)
	}
	if code, m := at(fmt.Sprint(time.Now().UnixMilli())); code != 200 || m["version"] != 1.0 {
		t.Errorf("the champion moved to a tampered version: %d %v", code, m)
	}
	code, b = httpDo(t, "POST", api+"/fraud/predict", string(pinned))
	if code != 200 {
		// v2 may still be loaded from before; a fresh load is refused.
		if msg, _ := decodeMap(t, b)["error"].(string); code != 422 || !strings.Contains(msg, "sha256") {
			t.Errorf("predict with a tampered version: %d %s", code, b)
		}
	}
}

// GET /api/models/{name} answers a model that has served nothing yet (no
// latencies: zeros, not NaN, which JSON cannot carry).
func TestModelsShowBeforeTraffic(t *testing.T) {
	_, url := startServer(t)
	if code, b := httpDo(t, "POST", url+"api/models/fraud/versions", registerBody(mlops.KindFraud, fraudArtifact(t, 1), "champion")); code != 201 {
		t.Fatalf("register: %d %s", code, b)
	}
	code, b := httpDo(t, "GET", url+"api/models/fraud", "")
	var d struct {
		Model    mlops.Model     `json:"model"`
		Versions []mlops.Version `json:"versions"`
		Live     mlops.Live      `json:"live"`
		History  []mlops.AliasMove
	}
	if err := json.Unmarshal(b, &d); code != 200 || err != nil {
		t.Fatalf("show: %d %v %s", code, err, b)
	}
	if d.Model.Aliases["champion"] != 1 || len(d.Versions) != 1 || d.Live.Latency.Window != 0 || len(d.History) != 1 {
		t.Errorf("show: %+v", d)
	}
}
