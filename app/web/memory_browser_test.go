package web

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/tournament"
)

// TestBrowserMemory opens the Memory page the way the floor links to it (a
// tournament strategy's memories, written by the tournament's feed while a
// fast round runs), watches the stream grow live, searches it and sees each
// retriever's scores, adds a note and finds it by a query that shares none
// of its words, and consolidates: the reflection opens with its evidence.
func TestBrowserMemory(t *testing.T) {
	ctx := newBrowser(t)
	srv, url := startTournamentServer(t, fastTournament())

	navigate(t, ctx, url+"memory?agent=momentum")
	waitJS(t, ctx, "the socket to be live", `document.getElementById("conn-state").dataset.state === "live"`, 15*time.Second)
	if got := eval[string](t, ctx, `document.querySelector('nav a[href="/memory"]')?.textContent ?? ""`); got != "Memory" {
		t.Errorf("the nav's Memory entry reads %q", got)
	}
	waitJS(t, ctx, "momentum's timeline", `!document.getElementById("mem-timeline").hidden && window.metastationMemory.timelines >= 1`, 10*time.Second)
	// The tournament's feed writes momentum's decisions as it trades; they
	// arrive on the open timeline over memory.memories.
	waitJS(t, ctx, "momentum's memories from the tournament",
		`document.querySelectorAll("#mem-timeline-list .mem-item").length >= 1 && document.querySelectorAll("#mem-strip circle").length >= 1`, 60*time.Second)
	if n := srv.Memory.Store().Stats().Written; n == 0 {
		t.Fatal("the tournament wrote no memories")
	}
	waitJS(t, ctx, "the memory counter", `document.getElementById("mem-count").textContent !== "–"`, 10*time.Second)

	// A search of every agent's memories shows both retrievers' views.
	search := func(text, mode string) {
		t.Helper()
		n := eval[float64](t, ctx, `window.metastationMemory.searches`)
		memSetValue(t, ctx, "#mem-q", text)
		memSetValue(t, ctx, "#mem-mode", mode)
		memClick(t, ctx, `#mem-search button[type=submit]`)
		waitJS(t, ctx, "the search "+text, fmt.Sprintf(`window.metastationMemory.searches > %v`, n), 10*time.Second)
	}
	search("momentum", "hybrid")
	res := eval[map[string]any](t, ctx, `(() => { const li = document.querySelector("#mem-results .mem-item");
		return {n: document.querySelectorAll("#mem-results .mem-item").length,
			parts: li ? [...li.querySelectorAll(".mem-why-part")].map((p) => p.dataset.part).join(",") : "",
			note: document.getElementById("mem-results-note").textContent}; })()`)
	if res["n"].(float64) < 1 || res["parts"] != "score,words,meaning,relevance,recency,importance" {
		t.Fatalf("search results: %v", res)
	}

	// A note, then a search by meaning that shares none of its words.
	noteText := "The central bank raised interest rates by half a point."
	memSetValue(t, ctx, "#mem-note-text", noteText)
	memClick(t, ctx, `#mem-note button[type=submit]`)
	waitJS(t, ctx, "the note remembered", `window.metastationMemory.notes === 1 && /^Remembered as #\d+\.$/.test(document.getElementById("mem-note-status").textContent)`, 10*time.Second)
	noteID := eval[float64](t, ctx, `window.metastationMemory.lastNote`)
	waitJS(t, ctx, "the note on the timeline, live", fmt.Sprintf(`!!document.querySelector('#mem-timeline-list .mem-item[data-id="%v"]')`, noteID), 10*time.Second)
	memSetValue(t, ctx, "#mem-agent", "momentum")
	search("monetary policy tightening", "hybrid")
	top := eval[map[string]any](t, ctx, `(() => { const li = document.querySelector("#mem-results .mem-item");
		return {id: Number(li?.dataset.id), words: li?.querySelector('[data-part="words"]')?.textContent ?? ""}; })()`)
	if top["id"] != noteID || top["words"] != "words no match" {
		t.Errorf("the first result by meaning is %v, want the note #%v found without a shared word", top, noteID)
	}

	// Five memories on one topic earn a reflection at the next pass, asked
	// for with the button; the reflection opens with its five memories.
	var ms []memory.Memory
	for i := range 5 {
		ms = append(ms, memory.Memory{Agent: "momentum", Kind: memory.Observation, Topic: "ZZTEST", Source: "test",
			Text:    fmt.Sprintf("ZZTEST opened %d points higher on heavy volume.", i+1),
			SimTime: tournament.OpenTime.Add(-time.Duration(5-i) * 24 * time.Hour)})
	}
	if _, err := srv.Memory.Write(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	passes := eval[float64](t, ctx, `window.metastationMemory.passes`)
	memClick(t, ctx, "#mem-consolidate")
	waitJS(t, ctx, "the pass on the page", fmt.Sprintf(`window.metastationMemory.passes > %v`, passes), 20*time.Second)
	memSetValue(t, ctx, "#mem-kind", "reflection")
	search("ZZTEST volume", "hybrid")
	waitJS(t, ctx, "a reflection in the results", `[...document.querySelectorAll("#mem-results .mem-item")].some((li) => li.textContent.includes("on ZZTEST"))`, 5*time.Second)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { [...document.querySelectorAll("#mem-results .mem-item")].find((li) => li.textContent.includes("on ZZTEST")).querySelector(".mem-text").click(); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the reflection's evidence", `!document.getElementById("mem-detail").hidden &&
		document.querySelectorAll('#mem-evidence .mem-item[data-kind="observation"]').length === 5 &&
		[...document.querySelectorAll("#mem-evidence .mem-text")].every((p) => p.textContent.startsWith("ZZTEST opened"))`, 10*time.Second)
	if got := eval[string](t, ctx, `document.querySelector("#mem-detail-body .mem-links")?.textContent ?? ""`); got != "evidence: 5 memories" {
		t.Errorf("the reflection's evidence line reads %q", got)
	}
	screenshot(t, ctx, "memory-evidence")
	eval[bool](t, ctx, `(window.scrollTo(0, 0), true)`)
	screenshot(t, ctx, "memory")
	if n := eval[float64](t, ctx, `window.metastationMemory.errors`); n != 0 {
		t.Errorf("the page showed %v errors: %s", n, eval[string](t, ctx, `document.getElementById("mem-error").textContent`))
	}
}

// memSetValue sets the value of the element sel selects.
func memSetValue(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(sel), value)); err != nil {
		t.Fatalf("set %s: %v", sel, err)
	}
}

// memClick clicks the element sel selects.
func memClick(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}
