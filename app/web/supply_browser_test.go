package web

import (
	"strings"
	"testing"
	"time"
)

// TestBrowserSupplyCrisisRoom opens the crisis room on a real server with
// a fast room, pauses it, closes the pacific port from the page's form for
// 40 periods and sees the lane drawn closed; plays on and watches the
// reroute drawn and on the agent protocol, the run's KPIs leave the
// twin's, the lane open again and the crisis's survival and recovery
// measured; then an impossible crisis from the form is refused with the
// server's sentence and adds nothing; then a comparison runs from the page.
func TestBrowserSupplyCrisisRoom(t *testing.T) {
	ctx := newBrowser(t)
	cfg := testConfig(t)
	cfg.SupplyTick = 80 * time.Millisecond
	_, url := startServerWith(t, cfg, nil)
	navigate(t, ctx, url+"supply")
	waitJS(t, ctx, "the room playing", `window.metastationSupply && window.metastationSupply.t > 5`, 15*time.Second)
	waitJS(t, ctx, "the scene, the agents and their messages", `document.querySelectorAll("#sc-net .sc-node").length === 6 &&
		window.metastationSupply.agents === 6 && window.metastationSupply.messages > 0 && window.metastationSupply.narration > 0`, 10*time.Second)
	waitJS(t, ctx, "shipments drawn", `window.metastationSupply.shipments > 0 && document.querySelectorAll("#sc-net .sc-ship[visibility=visible]").length > 0`, 10*time.Second)
	if eval[bool](t, ctx, `window.metastationSupply.diverged`) {
		t.Fatal("the run left its twin before any crisis")
	}
	before := eval[float64](t, ctx, `window.metastationSupply.t`)

	// Pause, close the pacific port from the form for 40 periods from now:
	// the crisis is listed and the lane drawn closed at once.
	eval[bool](t, ctx, `(document.getElementById("sc-pause").click(), true)`)
	waitJS(t, ctx, "the room paused", `document.getElementById("sc-pause").textContent === "Resume"`, 5*time.Second)
	eval[bool](t, ctx, `(() => { const v = (id, x) => { const e = document.getElementById(id); e.value = x; e.dispatchEvent(new Event("change")); };
		v("sc-kind", "port_closure"); v("sc-lane", "pacific"); v("sc-delay", "0"); v("sc-duration", "40"); v("sc-lead", "3"); v("sc-capacity", "0");
		document.getElementById("sc-inject").click(); return true; })()`)
	waitJS(t, ctx, "the crisis active", `window.metastationSupply.crises.length === 1 && window.metastationSupply.crises[0].active &&
		document.querySelector("#sc-crises li[data-kind=port_closure][data-state=active]") !== null`, 10*time.Second)
	waitJS(t, ctx, "the pacific lane drawn closed", `document.querySelector('#sc-net .sc-lane[data-lane="pacific"]').classList.contains("closed")`, 5*time.Second)
	eval[bool](t, ctx, `(window.scrollTo(0, document.querySelector(".sc-room").getBoundingClientRect().top + window.scrollY - 100), true)`)
	screenshot(t, ctx, "supply")
	// Play on: the coordinator reroutes the DC's orders to Europe.
	eval[bool](t, ctx, `(document.getElementById("sc-pause").click(), true)`)
	waitJS(t, ctx, "the reroute drawn and on the agent protocol", `document.querySelector('#sc-net .sc-lane[data-lane="pacific"]').classList.contains("rerouted") &&
		/reroute/.test(document.querySelector('#sc-agents li[data-role="logistics"] .sc-agent-last').textContent)`, 10*time.Second)
	waitJS(t, ctx, "the KPIs leaving the twin's", `window.metastationSupply.diverged && window.metastationSupply.cost > window.metastationSupply.twinCost`, 10*time.Second)
	waitJS(t, ctx, "a KPI tile worse than the twin", `document.querySelector(".sc-kpi[data-state=worse]") !== null`, 5*time.Second)
	waitJS(t, ctx, "the lane open again", `!document.querySelector('#sc-net .sc-lane[data-lane="pacific"]').classList.contains("closed")`, 10*time.Second)
	waitJS(t, ctx, "the recovery measured", `(() => { const c = window.metastationSupply.crises[0]; return !c.active && c.kpi && c.kpi.recovered; })()`, 40*time.Second)
	c := eval[map[string]any](t, ctx, `window.metastationSupply.crises[0]`)
	kpi := c["kpi"].(map[string]any)
	t.Logf("port closure from period %v to %v (injected at %v): %v", c["start"], c["end"], before, kpi)
	if kpi["extra_cost"].(float64) <= 0 {
		t.Errorf("the closure cost nothing extra: %v", kpi)
	}
	waitJS(t, ctx, "the recovery shown", `/after its end/.test(document.querySelector("#sc-crises li").textContent)`, 5*time.Second)

	// An impossible crisis: the server's sentence on the page, nothing added.
	eval[bool](t, ctx, `(() => { document.getElementById("sc-kind").value = "port_closure"; document.getElementById("sc-kind").dispatchEvent(new Event("change"));
		document.getElementById("sc-capacity").value = "-1"; document.getElementById("sc-inject").click(); return true; })()`)
	waitJS(t, ctx, "the refusal", `/capacity left must be between 0 and 1/.test(window.metastationSupply.error)`, 5*time.Second)
	if n := eval[float64](t, ctx, `window.metastationSupply.crises.length`); n != 1 {
		t.Errorf("%v crises after a refused one, want 1", n)
	}

	// The page ran the headline comparison by itself (the server had none).
	waitJS(t, ctx, "the page's own 30-seed comparison", `window.metastationSupply.results.includes("port-closure") && !window.metastationSupply.comparing`, 60*time.Second)
	if txt := eval[string](t, ctx, `document.querySelector('.sc-result[data-scenario="port-closure"] summary').textContent`); !strings.Contains(txt, "30 seeds") {
		t.Errorf("the headline comparison: %q", txt)
	}
	// Another from the page's form: progress, then the verdict and tables.
	eval[bool](t, ctx, `(() => { document.getElementById("sc-scenario").value = "beer"; document.getElementById("sc-seeds").value = "4";
		document.getElementById("sc-compare-run").click(); return true; })()`)
	waitJS(t, ctx, "the comparison's result", `!window.metastationSupply.comparing && window.metastationSupply.results.includes("beer")`, 30*time.Second)
	waitJS(t, ctx, "its verdict and tables", `document.querySelector('.sc-result[data-scenario="beer"] .sc-verdict').textContent.length > 20 &&
		document.querySelectorAll('.sc-result[data-scenario="beer"] .sc-table tbody tr').length >= 6`, 5*time.Second)
}
