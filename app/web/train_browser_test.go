package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// canvasInk counts the painted pixels of a canvas.
func canvasInk(sel string) string {
	return fmt.Sprintf(`(() => { const c = document.querySelector(%q); if (!c || !c.width) return 0;
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()`, sel)
}

// TestBrowserTrainPage starts a short PPO CartPole run from the form, as a
// person would, and watches it learn live: the learning curve gains points
// while the run trains, the diagnostics move, the run finishes with an
// evaluation, and its checkpoint link serves the real file. A second run is
// stopped and resumed from its row.
func TestBrowserTrainPage(t *testing.T) {
	ctx := newBrowser(t)
	_, url := startServer(t)
	navigate(t, ctx, url+"train")
	waitJS(t, ctx, "the socket to be live", `document.getElementById("conn-state").dataset.state === "live"`, 15*time.Second)
	waitJS(t, ctx, "the page script", `window.metastationTrain?.draws >= 1`, 10*time.Second)

	// 60 PPO updates of 512 steps: a few seconds of training.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#tr-steps`), "30720"),
		chromedp.SetValue(chromedp.CSS(`#tr-seed`), "1"),
		chromedp.Click(chromedp.CSS(`#tr-start`)),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the new run selected", `window.metastationTrain.selected === 1 || document.getElementById("tr-error").textContent !== ""`, 10*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById("tr-error").textContent`); msg != "" {
		t.Fatalf("starting a run shows: %q", msg)
	}
	waitJS(t, ctx, "three live learning-curve points", `window.metastationTrain.metrics >= 3 && window.metastationTrain.points >= 3`, 20*time.Second)
	first := eval[map[string]any](t, ctx, `({points: window.metastationTrain.points, status: window.metastationTrain.status,
		diags: [...document.querySelectorAll("#tr-diags .value")].map(b => b.textContent).join(" ")})`)
	if first["status"] != "running" {
		t.Logf("the run is %v at the first observation (a fast machine)", first["status"])
	}
	waitJS(t, ctx, "more points arriving live", fmt.Sprintf(`window.metastationTrain.points >= %v`, first["points"].(float64)+5), 20*time.Second)
	later := eval[map[string]any](t, ctx, `({diags: [...document.querySelectorAll("#tr-diags .value")].map(b => b.textContent).join(" "),
		labels: [...document.querySelectorAll("#tr-diags .label")].map(b => b.textContent).join(", ")})`)
	if later["diags"] == first["diags"] {
		t.Errorf("the diagnostics did not move: %v", later["diags"])
	}
	if later["labels"] != "approx KL, entropy, clip fraction, explained variance" {
		t.Errorf("PPO diagnostics: %v", later["labels"])
	}
	if n := eval[float64](t, ctx, canvasInk("#tr-curve")); n < 2000 {
		t.Errorf("the learning curve has %v painted pixels", n)
	}
	if n := eval[float64](t, ctx, canvasInk("#tr-hist")); n < 2000 {
		t.Errorf("the histogram has %v painted pixels", n)
	}
	if n := eval[float64](t, ctx, canvasInk(`#tr-diags .diag[data-key="approx_kl"] canvas`)); n < 300 {
		t.Errorf("the approx-KL chart has %v painted pixels", n)
	}

	waitJS(t, ctx, "the run done", `window.metastationTrain.status === "done"`, 60*time.Second)
	waitJS(t, ctx, "the evaluation shown", `document.getElementById("tr-eval").textContent !== "–"`, 5*time.Second)
	got := eval[map[string]any](t, ctx, `(() => {
		const pts = window.metastationTrain.state.points;
		const mean = pts.at(-1).return, early = pts.slice(0, 3).map(p => p.return);
		return {points: pts.length, last: pts.at(-1).steps, mean, early: Math.max(...early)};
	})()`)
	if got["last"].(float64) != 30720 || got["points"].(float64) != 60 {
		t.Errorf("the curve ends at %v steps with %v points; want 30720 and 60", got["last"], got["points"])
	}
	if got["mean"].(float64) <= got["early"].(float64) {
		t.Errorf("the rolling mean did not rise: %v at the start, %v at the end", got["early"], got["mean"])
	}
	dl, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`(async () => {
		const a = document.querySelector('#tr-runs tr[data-run="1"] a.ckpt');
		if (!a) return {error: "no checkpoint link"};
		const r = await fetch(a.href);
		const b = await r.arrayBuffer();
		return {status: r.status, bytes: b.byteLength, disposition: r.headers.get("Content-Disposition")};
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch the checkpoint from the page: %v", err)
	}
	if dl["status"] != float64(200) || dl["bytes"].(float64) < 10_000 || dl["disposition"] != `attachment; filename="ppo-cartpole-run-1.ckpt"` {
		t.Errorf("checkpoint download: %v", dl)
	}
	// The whole page in the picture.
	n := eval[float64](t, ctx, `window.metastationTrain.draws`)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 960)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "a redraw at the new size", fmt.Sprintf(`window.metastationTrain.draws > %v`, n), 5*time.Second)
	screenshot(t, ctx, "train")

	// A long run, stopped and resumed from its row.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#tr-steps`), "5000000"),
		chromedp.Click(chromedp.CSS(`#tr-start`)),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "run 2 training", `window.metastationTrain.selected === 2 && window.metastationTrain.status === "running" && window.metastationTrain.points >= 2`, 20*time.Second)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#tr-runs tr[data-run="2"] button.stop`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "run 2 stopped with a checkpoint", `window.metastationTrain.status === "stopped" && !!document.querySelector('#tr-runs tr[data-run="2"] a.ckpt')`, 20*time.Second)
	stoppedAt := eval[float64](t, ctx, `window.metastationTrain.state.points.at(-1).steps`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#tr-runs tr[data-run="2"] button.resume`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "run 2 training on from its checkpoint", fmt.Sprintf(`window.metastationTrain.status === "running" && window.metastationTrain.state.points.at(-1).steps > %v`, stoppedAt), 20*time.Second)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#tr-runs tr[data-run="2"] button.stop`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "run 2 stopped again", `window.metastationTrain.status === "stopped"`, 20*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById("tr-error").textContent`); msg != "" {
		t.Errorf("the page shows an error: %q", msg)
	}
}
