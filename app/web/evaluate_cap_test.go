package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/mlops"
	"github.com/metastation/metastation/app/store"
)

// TestModelEvaluateCap: POST /api/models/{name}/evaluate ran the held-out
// evaluation inside the request with no cap on how many ran at once. With
// --max-evaluations 2, three evaluations asked for together: two run (to a
// real decision), the third is refused at once with 503, Retry-After and
// a JSON sentence naming the cap and the flag; once the two end, a fourth
// runs. The evaluations are the real held-out ones (fraud detectors on
// 2,000 held-out transactions), held open by a gate until the third has
// been answered, so the test does not depend on how fast they are.
func TestModelEvaluateCap(t *testing.T) {
	const limit = 2
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, store.FileName), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := mlops.OpenRegistry(db, dir)
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}, 16), make(chan struct{})
	heldOut := mlops.Evaluators(mlops.PromotionConfig{Rows: 2_000})
	gated := map[string]mlops.Evaluator{mlops.KindFraud: func(ctx context.Context, a, b []byte) ([]float64, []float64, string, error) {
		entered <- struct{}{}
		<-release
		return heldOut[mlops.KindFraud](ctx, a, b)
	}}
	svc := mlops.NewService(reg, mlops.Config{MaxEvaluations: limit, Evaluators: gated}, bus.New(), nil)
	for seed, alias := range map[uint64]string{1: mlops.Champion, 2: mlops.Challenger} {
		v, err := reg.Register(ctx, mlops.RegisterRequest{Model: "fraud", Kind: mlops.KindFraud, Artifact: fraudArtifact(t, seed)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SetAlias(ctx, "fraud", alias, v.Version, "test", ""); err != nil {
			t.Fatal(err)
		}
	}
	r := chi.NewRouter()
	r.Post("/api/models/{name}/evaluate", modelEvaluate(svc))
	ts := httptest.NewServer(r)
	t.Cleanup(ts.Close)

	type answer struct {
		code       int
		retryAfter string
		body       map[string]any
		err        error
	}
	// A refusal is immediate; without the cap the third request would sit
	// in the gate, so a client timeout turns that into a failure.
	client := &http.Client{Timeout: 30 * time.Second}
	evaluate := func() answer {
		req, _ := http.NewRequest("POST", ts.URL+"/api/models/fraud/evaluate", strings.NewReader(`{"promote": false}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return answer{err: err}
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		a := answer{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), err: err}
		if err == nil {
			if err := json.Unmarshal(b, &a.body); err != nil {
				a.err = err
			}
		}
		return a
	}

	answers := make(chan answer, limit)
	for range limit {
		go func() { answers <- evaluate() }()
	}
	for i := range limit {
		select {
		case <-entered:
		case a := <-answers:
			t.Fatalf("evaluation %d answered before the gate opened: %+v", i+1, a)
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d evaluations started within 30s", i, limit)
		}
	}
	// Both slots are held: the third is refused at once, without waiting.
	refused := evaluate()
	close(release)
	want := "2 held-out evaluations are already running, the most the server runs at once (serve --max-evaluations sets it); wait a few seconds for one to finish, then ask again."
	if refused.err != nil || refused.code != http.StatusServiceUnavailable || refused.body["error"] != want || refused.retryAfter != busyRetryAfter {
		t.Fatalf("third evaluation: %+v, want 503, Retry-After %s and {\"error\": %q}", refused, busyRetryAfter, want)
	}
	for i := range limit {
		select {
		case a := <-answers:
			test, _ := a.body["test"].(map[string]any)
			if a.err != nil || a.code != http.StatusOK || a.body["model"] != "fraud" || test["n"] != 2000.0 {
				t.Fatalf("evaluation %d: %+v, want 200 with a decision on 2,000 held-out transactions", i+1, a)
			}
		case <-time.After(2 * time.Minute):
			t.Fatalf("evaluation %d did not answer within 2 minutes of the gate opening", i+1)
		}
	}
	// The slots are free again: the next evaluation runs (entered has
	// room, release is closed: the gate no longer holds it).
	if a := evaluate(); a.err != nil || a.code != http.StatusOK {
		t.Fatalf("an evaluation after the first two ended: %+v", a)
	}
}
