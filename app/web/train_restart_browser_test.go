package web

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/store"
)

// histBars counts the pixels of the histogram's bars (its green fill; the
// axes, labels and the "no returns" sentence are grey).
const histBars = `(() => { const c = document.getElementById("tr-hist"); if (!c || !c.width) return 0;
	const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
	let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 60 && d[i + 1] > 200 && d[i] < 200) n++; return n; })()`

// TestBrowserTrainPageAfterRestart opens the Training page of a server
// started on the data directory of one that trained a run: the reloaded
// run's histogram of episode returns has bars and the page counts the same
// episodes as before the restart. A run stored before migration 0032 (its
// points without returns) opens without an error, its histogram saying
// there are no returns to show.
func TestBrowserTrainPageAfterRestart(t *testing.T) {
	ctx := newBrowser(t)
	cfg := testConfig(t)
	_, url, stopFirst := startServerToStop(t, cfg, nil)
	var run rl.RunInfo
	if code := rlCall(t, "POST", url+"api/rl/runs", `{"algo":"ppo","env":"cartpole","steps":4096,"seed":1}`, &run); code != 201 {
		t.Fatalf("start: %d", code)
	}
	rlWaitFor(t, "the run done", func() bool { return rlRunOf(t, url, run.ID).Status == "done" })
	var pts []rl.RunMetric
	if code := rlCall(t, "GET", url+"api/rl/runs/1/metrics", "", &pts); code != 200 || len(pts) != 8 {
		t.Fatalf("curve before the restart: %d, %d points", code, len(pts))
	}
	episodes := 0
	for _, p := range pts {
		episodes += len(p.Episodes)
	}
	stopFirst()
	// A run as a server before migration 0032 stored it: points with the
	// count of their episodes, not their returns.
	db, err := store.Open(t.Context(), filepath.Join(cfg.DataDir, store.FileName), testAssets().Migrations)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.ExecContext(t.Context(), `INSERT INTO rl_runs (id, algo, env, seed, total_steps, status, steps, mean_return, created_at, updated_at)
		VALUES (2, 'ppo', 'cartpole', 9, 1536, 'done', 1536, 30, '2026-11-25T00:00:00Z', '2026-11-25T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := db.W.ExecContext(t.Context(), `INSERT INTO rl_metrics (run_id, steps, mean_return, episodes, approx_kl) VALUES (2, ?, ?, 20, 0.01)`, i*512, float64(10*i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	_, url = startServerWith(t, cfg, nil)
	navigate(t, ctx, url+"train?run=1")
	waitJS(t, ctx, "the reloaded run drawn", `window.metastationTrain?.selected === 1 && window.metastationTrain.points === 8 && window.metastationTrain.status === "done"`, 10*time.Second)
	got := eval[map[string]any](t, ctx, fmt.Sprintf(`({bars: %s,
		episodes: window.metastationTrain.state.points.reduce((n, p) => n + (p.episodes?.length ?? 0), 0),
		shown: document.getElementById("tr-episodes").textContent, error: document.getElementById("tr-error").textContent})`, histBars))
	if got["bars"].(float64) < 500 || got["episodes"] != float64(episodes) || got["shown"] != fmt.Sprint(episodes) || got["error"] != "" {
		t.Errorf("the reloaded run shows %v; want histogram bars and %d episodes", got, episodes)
	}

	n := eval[float64](t, ctx, `window.metastationTrain.draws`)
	eval[bool](t, ctx, `(document.querySelector('#tr-runs tr[data-run="2"]').click(), true)`)
	waitJS(t, ctx, "the run from before the migration drawn", fmt.Sprintf(`window.metastationTrain.selected === 2 && window.metastationTrain.points === 3 && window.metastationTrain.draws > %v`, n), 10*time.Second)
	old := eval[map[string]any](t, ctx, fmt.Sprintf(`({bars: %s, shown: document.getElementById("tr-episodes").textContent,
		error: document.getElementById("tr-error").textContent})`, histBars))
	if old["bars"].(float64) != 0 || old["shown"] != "0" || old["error"] != "" {
		t.Errorf("the run from before the migration shows %v; want no bars, 0 episodes, no error", old)
	}
	if n := eval[float64](t, ctx, canvasInk("#tr-hist")); n < 50 {
		t.Errorf("the histogram of the run from before the migration says nothing (%v painted pixels)", n)
	}
}
