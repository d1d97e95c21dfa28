package web

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/metastation/metastation/app/synth"
	"github.com/metastation/metastation/app/synth/jobs"
)

// TestBrowserDataPage uses the Data page as a person would: a fraud job
// started from the form runs to its end with live progress, its preview,
// download, quality report and detector curves appear; a second, large job
// is cancelled while it runs.
func TestBrowserDataPage(t *testing.T) {
	ctx := newBrowser(t)
	_, url := startServer(t)
	navigate(t, ctx, url+"data")
	waitJS(t, ctx, "the socket to be live", `document.getElementById("conn-state").dataset.state === "live"`, 15*time.Second)
	waitJS(t, ctx, "the page script", `window.metastationData !== undefined`, 5*time.Second)
	if nav := eval[string](t, ctx, `document.querySelector('.nav a[aria-current="page"]')?.textContent ?? ""`); nav != "Data" {
		t.Errorf("the current nav entry is %q, want Data", nav)
	}

	// A 50,000-row fraud job at 2 %, started by clicking.
	setField := func(id, v string) {
		t.Helper()
		eval[bool](t, ctx, fmt.Sprintf(`(() => { const el = document.getElementById(%q); el.value = %q;
			el.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, id, v))
	}
	setField("dt-kind", "fraud")
	setField("dt-rows", "50000")
	setField("dt-seed", "3")
	setField("dt-rate", "2")
	setField("dt-format", "csv")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#dt-start`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the job accepted", `window.metastationData.started.length === 1`, 10*time.Second)
	id := eval[string](t, ctx, `window.metastationData.started[0]`)
	waitJS(t, ctx, "progress of the job on synth.progress",
		fmt.Sprintf(`window.metastationData.progress.some(p => p.id === %q && p.rows > 0)`, id), 20*time.Second)
	waitJS(t, ctx, "the job done", `document.getElementById("dt-job-state").textContent === "done"`, 40*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById("dt-error").textContent`); msg != "" {
		t.Errorf("the page shows an error: %q", msg)
	}
	got := eval[map[string]any](t, ctx, `({
		bar: document.getElementById("dt-bar").getAttribute("aria-valuenow"),
		rows: document.getElementById("dt-rows-done").textContent,
		listed: document.querySelector('#dt-jobs tr[data-id="`+id+`"] .pill')?.textContent ?? "",
		roc: document.getElementById("dt-roc-auc").textContent,
		pr: document.getElementById("dt-pr-auc").textContent,
		quality: document.getElementById("dt-quality").textContent,
		recall: document.querySelectorAll("#dt-recall tr").length,
		targets: document.querySelectorAll("#dt-targets tbody tr").length,
		download: document.getElementById("dt-download").hidden ? "" : document.getElementById("dt-download").href,
	})`)
	if got["bar"] != "100" || got["rows"] != "50,000" || got["listed"] != "done" {
		t.Errorf("finished job shows bar %v, rows %v, list state %v", got["bar"], got["rows"], got["listed"])
	}
	for _, k := range []string{"roc", "pr", "quality"} {
		v, err := strconv.ParseFloat(got[k].(string), 64)
		if err != nil || v <= 0 || v > 1 {
			t.Errorf("%s figure %q is not a number in (0, 1]", k, got[k])
		}
	}
	if v, _ := strconv.ParseFloat(got["roc"].(string), 64); v < 0.7 {
		t.Errorf("ROC-AUC %v: the detector learned nothing", v)
	}
	if got["recall"].(float64) < 3 || got["targets"].(float64) < 2 {
		t.Errorf("reports: %v recall rows, %v target rows", got["recall"], got["targets"])
	}

	// The preview table holds the file's first rows.
	waitJS(t, ctx, "the preview", `document.querySelectorAll("#dt-preview tbody tr").length === 20`, 10*time.Second)
	cols := eval[[]string](t, ctx, `[...document.querySelectorAll("#dt-preview thead th")].map(th => th.textContent)`)
	if len(cols) < 10 || cols[0] != "id" || !strings.Contains(strings.Join(cols, ","), "is_fraud") {
		t.Errorf("preview columns %v", cols)
	}

	// Both curves are drawn: points handed to the canvas and pixels on it.
	waitJS(t, ctx, "the ROC and PR curves", `window.metastationData.drawn.roc > 5 && window.metastationData.drawn.pr > 5`, 5*time.Second)
	for _, c := range []string{"dt-roc", "dt-pr"} {
		lit := eval[int](t, ctx, fmt.Sprintf(`(() => { const c = document.getElementById(%q);
			const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
			let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()`, c))
		if lit < 2000 {
			t.Errorf("canvas %s has %d painted pixels: blank", c, lit)
		}
	}

	// The download link serves the file: a header row and 50,000 rows.
	dl, _ := got["download"].(string)
	if !strings.HasSuffix(dl, "/api/synth/jobs/"+id+"/file") {
		t.Fatalf("download link %q", dl)
	}
	eval[bool](t, ctx, `(window.dtFile = null, fetch(document.getElementById("dt-download").href)
		.then(async r => { const t = await r.text(); window.dtFile = {status: r.status, type: r.headers.get("content-type"),
			head: t.slice(0, t.indexOf("\n")), lines: t.split("\n").filter(Boolean).length}; }), true)`)
	waitJS(t, ctx, "the downloaded file", `window.dtFile !== null`, 15*time.Second)
	file := eval[map[string]any](t, ctx, `window.dtFile`)
	if file["status"] != 200.0 || !strings.HasPrefix(file["type"].(string), "text/csv") ||
		!strings.HasPrefix(file["head"].(string), "id,") || !strings.Contains(file["head"].(string), "is_fraud") || file["lines"] != 50001.0 {
		t.Errorf("download: %v", file)
	}
	eval[bool](t, ctx, `(window.scrollTo(0, document.querySelector(".data-grid").offsetTop - 70), true)`)
	screenshot(t, ctx, "data")

	// A large job: its progress moves, then Cancel stops it.
	setField("dt-rows", "20000000")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#dt-start`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the second job accepted", `window.metastationData.started.length === 2`, 10*time.Second)
	id2 := eval[string](t, ctx, `window.metastationData.started[1]`)
	waitJS(t, ctx, "the large job's progress moving", fmt.Sprintf(`new Set(window.metastationData.progress
		.filter(p => p.id === %q && p.rows > 0 && p.rows < 20000000).map(p => p.rows)).size >= 2`, id2), 20*time.Second)
	if eta := eval[string](t, ctx, `document.getElementById("dt-eta").textContent`); eta == "–" || eta == "" {
		t.Errorf("no ETA while running: %q", eta)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#dt-cancel`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the large job cancelled", fmt.Sprintf(`document.getElementById("dt-job-state").textContent === "cancelled" &&
		document.querySelector('#dt-jobs tr[data-id=%q] .pill')?.textContent === "cancelled"`, id2), 15*time.Second)
	after := eval[map[string]any](t, ctx, `({download: document.getElementById("dt-download").hidden,
		cancel: document.getElementById("dt-cancel").disabled, error: document.getElementById("dt-error").textContent})`)
	if after["download"] != true || after["cancel"] != true || after["error"] != "" {
		t.Errorf("after the cancel: %v", after)
	}

	// On a phone the page reflows: nothing wider than the screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the phone layout", `window.innerWidth === 390`, 5*time.Second)
	if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("on a 390 px phone the page is %v px wide", w)
	}
}

// TestBrowserDataPageAfterRestart opens the Data page of a server started
// on the data directory of one that stopped while a job ran: the finished
// job is listed done with its preview and download, the cut-off one
// interrupted with the sentence that says what happened, and no download.
func TestBrowserDataPageAfterRestart(t *testing.T) {
	ctx := newBrowser(t)
	cfg := testConfig(t)
	life := synthLiveAndStop(t, cfg, `{"kind":"employees","rows":2000,"seed":5}`)
	_, url := startServerWith(t, cfg, nil)
	navigate(t, ctx, url+"data")
	waitJS(t, ctx, "the page script", `window.metastationData !== undefined`, 5*time.Second)
	waitJS(t, ctx, "both jobs listed", fmt.Sprintf(`%s === "done" && %s === "interrupted"`, jobPill(life.done.ID), jobPill(life.big.ID)), 10*time.Second)

	clickJob(t, ctx, life.big.ID)
	waitJS(t, ctx, "the interrupted job selected", `document.getElementById("dt-job-state").textContent === "interrupted"`, 5*time.Second)
	got := eval[map[string]any](t, ctx, `({phase: document.getElementById("dt-phase").textContent,
		download: document.getElementById("dt-download").hidden, cancel: document.getElementById("dt-cancel").disabled,
		note: document.getElementById("dt-preview-note").textContent, error: document.getElementById("dt-error").textContent})`)
	if phase, _ := got["phase"].(string); !strings.HasPrefix(phase, "The server stopped while this job was running, after ") ||
		got["download"] != true || got["cancel"] != true || got["note"] != "no file to preview" || got["error"] != "" {
		t.Errorf("the interrupted job shows %v", got)
	}

	clickJob(t, ctx, life.done.ID)
	waitJS(t, ctx, "the finished job's preview", `document.querySelectorAll("#dt-preview tbody tr").length === 20`, 10*time.Second)
	dl := eval[string](t, ctx, `document.getElementById("dt-download").hidden ? "" : document.getElementById("dt-download").href`)
	if !strings.HasSuffix(dl, "/api/synth/jobs/"+life.done.ID+"/file") {
		t.Errorf("download link of the finished job %q", dl)
	}
}

// TestBrowserDataPageRunAgain stops a server while a job runs; on the next
// server's Data page the interrupted job offers Run again (a done job does
// not), and clicking it starts a new job with the same settings that runs
// to its end, listed beside the old one, whose file has the bytes the
// settings give uninterrupted.
func TestBrowserDataPageRunAgain(t *testing.T) {
	ctx := newBrowser(t)
	cfg := testConfig(t)
	// 300,000 rows (19 MB of CSV) in 37 chunks: the first server, stopped
	// when it sees the first chunk's rows, stops within the next one or two.
	spec := jobs.Spec{Kind: "employees", Rows: 300_000, Seed: 8, Format: "csv"}
	life := synthLiveAndStopWith(t, cfg, `{"kind":"customers","rows":300,"seed":5}`,
		fmt.Sprintf(`{"kind":%q,"rows":%d,"seed":%d,"format":%q}`, spec.Kind, spec.Rows, spec.Seed, spec.Format))
	if life.big.Rows >= spec.Rows {
		t.Fatalf("the big job was not cut off mid-run: %+v", life.big)
	}
	_, url := startServerWith(t, cfg, nil)
	navigate(t, ctx, url+"data")
	waitJS(t, ctx, "the page script", `window.metastationData !== undefined`, 5*time.Second)
	waitJS(t, ctx, "both jobs listed", fmt.Sprintf(`%s === "done" && %s === "interrupted"`, jobPill(life.done.ID), jobPill(life.big.ID)), 10*time.Second)
	shown := `(() => { const b = document.getElementById("dt-rerun"); return !b.hidden && b.offsetParent !== null && b.textContent === "Run again"; })()`

	clickJob(t, ctx, life.done.ID)
	waitJS(t, ctx, "the done job selected", `document.getElementById("dt-job-state").textContent === "done"`, 5*time.Second)
	if eval[bool](t, ctx, shown) {
		t.Errorf("a done job offers Run again")
	}
	clickJob(t, ctx, life.big.ID)
	waitJS(t, ctx, "the interrupted job offering Run again", `document.getElementById("dt-job-state").textContent === "interrupted" && `+shown, 5*time.Second)
	if phase := eval[string](t, ctx, `document.getElementById("dt-phase").textContent`); !strings.HasSuffix(phase, "Run it again to get the same data.") {
		t.Errorf("the interrupted job says %q", phase)
	}
	// The done job's download link, hidden, is not shown (a.button's display
	// once overrode the hidden attribute, offering job 1's file on job 2).
	if eval[bool](t, ctx, `document.getElementById("dt-download").offsetParent !== null`) {
		t.Errorf("the interrupted job shows a download link")
	}

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#dt-rerun`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the rerun accepted", `window.metastationData.reruns.length === 1`, 10*time.Second)
	id := eval[string](t, ctx, `window.metastationData.reruns[0].id`)
	if id == life.big.ID || id == life.done.ID {
		t.Fatalf("the rerun has the id %s of an old job", id)
	}
	waitJS(t, ctx, "the new job done", fmt.Sprintf(`document.getElementById("dt-job-id").textContent === %q &&
		document.getElementById("dt-job-state").textContent === "done" && %s === "done"`, id, jobPill(id)), 15*time.Second)
	got := eval[map[string]any](t, ctx, fmt.Sprintf(`({spec: document.getElementById("dt-job-spec").textContent,
		old: %s, rerun: document.getElementById("dt-rerun").hidden, error: document.getElementById("dt-error").textContent,
		download: document.getElementById("dt-download").hidden ? "" : document.getElementById("dt-download").href})`, jobPill(life.big.ID)))
	if got["spec"] != "employees · seed 8 · csv · again of job "+life.big.ID || got["old"] != "interrupted" ||
		got["rerun"] != true || got["error"] != "" || !strings.HasSuffix(got["download"].(string), "/api/synth/jobs/"+id+"/file") {
		t.Errorf("after the rerun the page shows %v", got)
	}
	screenshot(t, ctx, "data-rerun")

	code, file := synthCall(t, "GET", url, "/api/synth/jobs/"+id+"/file", "")
	path := filepath.Join(t.TempDir(), "ref.csv")
	if err := synth.GenerateFile(context.Background(), synth.Config{Seed: spec.Seed, Rows: spec.Rows, Workers: 1}, spec.Kind, synth.CSV, path, nil); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if code != 200 || !bytes.Equal(file, want) {
		t.Errorf("the rerun's file: %d, %d bytes, the same as an uninterrupted run's %d: %v", code, len(file), len(want), bytes.Equal(file, want))
	}
}

// jobPill is the script that reads the status pill of job id in the list.
func jobPill(id string) string {
	return fmt.Sprintf(`document.querySelector('#dt-jobs tr[data-id=%q] .pill')?.textContent`, id)
}

// clickJob selects job id in the list, in script: the list re-renders its
// rows on every update, so a pointer click may land on a row being replaced.
func clickJob(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(document.querySelector('#dt-jobs tr[data-id=%q]').click(), true)`, id))
}
