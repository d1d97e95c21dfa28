package analytics

import (
	"context"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/hub"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/runs"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/system"
	"github.com/metastation/metastation/app/tournament"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestKeyIsCanonical(t *testing.T) {
	a := Key("market.price", Labels{"instrument": "SPY", "subsystem": "market"})
	b := Key("market.price", Labels{"subsystem": "market", "instrument": "SPY"})
	if a != b || a != "market.price{instrument=SPY,subsystem=market}" {
		t.Errorf("keys %q and %q", a, b)
	}
	if Key("x", nil) != "x" {
		t.Error(Key("x", nil))
	}
}

func TestRingKeepsTheNewestAndQueriesRanges(t *testing.T) {
	r := NewRegistry(Options{RawPoints: 100})
	l := Labels{"subsystem": "system"}
	for i := 0; i < 250; i++ {
		r.Record("s", l, "", t0.Add(time.Duration(i)*time.Second), float64(i))
	}
	r.Record("s", l, "", t0, -1) // out of order: dropped
	pts, err := r.Query(context.Background(), "s", l, t0, t0.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	// 100 raw points (150..249) and the one-minute means before them
	// (minutes 0, 1; minute 2 starts at 120 and is still open? no: closed at 180).
	if last := pts[len(pts)-1]; last.V != 249 {
		t.Errorf("last point %v", last)
	}
	raw := 0
	for _, p := range pts {
		if p.T >= t0.Add(150*time.Second).UnixMilli() {
			raw++
		}
	}
	if raw != 100 {
		t.Errorf("%d raw points, want 100", raw)
	}
	if pts[0].T != t0.UnixMilli() || pts[0].V != 29.5 {
		t.Errorf("first point %v, want the mean of minute 0 (29.5)", pts[0])
	}
	ds, _ := r.Query(context.Background(), "s", l, t0.Add(150*time.Second), t0.Add(time.Hour), 10)
	if len(ds) != 10 || ds[0].V != 154.5 {
		t.Errorf("downsampled %v", ds)
	}
	if _, err := r.Query(context.Background(), "nope", nil, t0, t0.Add(time.Hour), 0); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown series: %v", err)
	}
	if _, err := r.Query(context.Background(), "s", l, t0.Add(time.Hour), t0, 0); !errs.Is(err, errs.Invalid) {
		t.Errorf("reversed range: %v", err)
	}
	if got := r.List("", Labels{"subsystem": "system"}); len(got) != 1 || got[0].Points != 100 || got[0].Value != 249 {
		t.Errorf("list %+v", got)
	}
	if got := r.List("", Labels{"subsystem": "market"}); len(got) != 0 {
		t.Errorf("filtered list %+v", got)
	}
}

func openDB(t *testing.T) (*store.DB, *store.Writer) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(db, store.WriterOptions{}, quiet())
	t.Cleanup(func() {
		w.Close()
		db.Close()
	})
	return db, w
}

func TestPersistsQueriesHistoryAndPrunesByAge(t *testing.T) {
	db, w := openDB(t)
	ctx := context.Background()
	r := NewRegistry(Options{RawPoints: 10, Writer: w, DB: db, Retention: time.Hour})
	now := time.Now().Truncate(time.Second)
	now = now.Truncate(time.Minute)
	for i := 0; i <= 120; i++ { // two hours, one point a minute; the 121st closes the 120th minute
		r.Record("m", nil, "", now.Add(time.Duration(i-120)*time.Minute), float64(i))
	}
	r.FlushMinutes() // the 121st minute, still open
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A registry restarted on the same database still answers from SQLite.
	r2 := NewRegistry(Options{DB: db, Writer: w})
	pts, err := r2.Query(ctx, "m", nil, now.Add(-3*time.Hour), now, 0)
	if err != nil || len(pts) != 121 || pts[0].V != 0 || pts[120].V != 120 {
		t.Fatalf("%d points from the database, err %v", len(pts), err)
	}
	if err := r.Prune(ctx, now); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.R.QueryRow(`SELECT count(*) FROM metric_points`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 61 {
		t.Errorf("%d points after pruning at one hour, want 61", n)
	}
}

func TestServiceSamplesTheBus(t *testing.T) {
	b := bus.New()
	reg := NewRegistry(Options{})
	s := NewService(reg, b, quiet())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	time.Sleep(50 * time.Millisecond) // let Run subscribe

	system.TopicState.Publish(b, "system", "", "state", system.State{Time: t0, HeapBytes: 1e6, BusPerS: 12.5, Hub: hub.Stats{Clients: 2}})
	market.TopicState.Publish(b, "market", "", "state", market.State{Regime: market.Crisis,
		Quotes: []market.Quote{{Symbol: "SPY", Bid: 99, Ask: 101, Last: 100}}})
	tournament.TopicState.Publish(b, "tournament", "", "state", tournament.State{
		Leaderboard: []tournament.Entry{{Strategy: "momentum", Sharpe: 1.2, Curve: []float64{1000, 1100, 1010}}}})
	rl.TopicProgress.Publish(b, "rl", "", "progress", []rl.RunInfo{{Record: runs.Record{ID: 3, Status: runs.Running}, Steps: 1000, Return: -12}})
	tournament.TopicVotes.Publish(b, "tournament", "", "tally", tournament.Tally{Round: 4, Votes: map[string]int{"maker": 2, "learner": 1}, Total: 3})
	// A payload of another type than the topic's is refused, not guessed at.
	if err := NewService(NewRegistry(Options{}), bus.New(), quiet()).Sample(bus.Envelope{Topic: "market.state", Time: t0, Payload: map[string]any{"regime": "calm"}}); err == nil {
		t.Error("a map on market.state was sampled")
	}

	want := map[string]float64{
		"system.heap_bytes{subsystem=system}":                       1e6,
		"system.hub_clients{subsystem=system}":                      2,
		"market.regime{subsystem=market}":                           2,
		"market.price{instrument=SPY,subsystem=market}":             100,
		"market.spread_bps{instrument=SPY,subsystem=market}":        200,
		"tournament.equity{strategy=momentum,subsystem=tournament}": 1010,
		"rl.return{run=3,subsystem=rl}":                             -12,
		"tournament.votes{subsystem=tournament}":                    3,
		"tournament.votes{strategy=maker,subsystem=tournament}":     2,
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := map[string]float64{}
		for _, in := range reg.List("", nil) {
			got[in.Key] = in.Value
		}
		missing := ""
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				missing = k
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("series %s missing or wrong; have %v", missing, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestShowcaseFillsTheNetwork(t *testing.T) {
	b := bus.New()
	sc := NewShowcase(b, 7)
	if len(sc.Agents) < 50 || len(sc.Edges) < 200 {
		t.Fatalf("showcase has %d agents and %d edges", len(sc.Agents), len(sc.Edges))
	}
	if again := NewShowcase(b, 7); len(again.Edges) != len(sc.Edges) || again.Edges[17] != sc.Edges[17] {
		t.Error("the same seed gave another population")
	}
	// Drive the graph directly from the showcase's envelopes, 3 s worth.
	g := NewGraph(10 * time.Second)
	sub := b.Subscribe(100000, "showcase.*")
	sc.Tick = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	go sc.Run(ctx)
	deadline := time.Now().Add(5 * time.Second)
	var st NetworkState
	for time.Now().Before(deadline) {
		select {
		case e := <-sub.C():
			g.Observe(e)
		case <-time.After(10 * time.Millisecond):
		}
		if g.messages%500 == 0 {
			st = g.Snapshot(time.Now())
			if len(st.Nodes) >= 50 && len(st.Links) >= 200 {
				break
			}
		}
	}
	cancel()
	st = g.Snapshot(time.Now())
	if len(st.Nodes) < 50 || len(st.Links) < 200 {
		t.Fatalf("network has %d nodes and %d links after the showcase ran", len(st.Nodes), len(st.Links))
	}
	for _, n := range st.Nodes {
		if !n.Showcase || n.Subsystem == "" || n.Role == "" {
			t.Fatalf("node %+v", n)
		}
	}
	d, ok := g.Agent(st.Nodes[0].ID, time.Now())
	if !ok || len(d.Recent) == 0 || len(d.Peers) == 0 {
		t.Errorf("agent detail %+v", d)
	}
}

func TestGraphLinksBroadcastsToTheirTopic(t *testing.T) {
	g := NewGraph(10 * time.Second)
	g.Observe(bus.Envelope{Topic: "market.trades", From: "market", Time: t0})
	g.Observe(bus.Envelope{Topic: "market.trades", From: "market", Time: t0})
	st := g.Snapshot(t0)
	if len(st.Nodes) != 2 || len(st.Links) != 1 || st.Links[0].Target != "topic:market.trades" || st.Links[0].Count != 2 || st.Links[0].Recent != 2 {
		t.Fatalf("%+v", st)
	}
	if st = g.Snapshot(t0.Add(11 * time.Second)); len(st.Links) != 0 || len(st.Nodes) != 0 {
		t.Errorf("after the window: %+v", st)
	}
}

func TestRollingSharpe(t *testing.T) {
	up := make([]float64, 100)
	for i := range up {
		up[i] = 100 * math.Pow(1.001, float64(i)) * (1 + 0.0005*math.Sin(float64(i)))
	}
	if v, ok := RollingSharpe(up, 60); !ok || v < 5 {
		t.Errorf("steady growth: %v %v", v, ok)
	}
	if _, ok := RollingSharpe(up[:5], 60); ok {
		t.Error("5 points gave a Sharpe ratio")
	}
	if _, ok := RollingSharpe(constant(100, 50), 60); ok {
		t.Error("a flat curve gave a Sharpe ratio")
	}
}
