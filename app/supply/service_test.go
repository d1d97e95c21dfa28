package supply

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openTestDB(t *testing.T, dir string) (*store.DB, *store.Writer) {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(dir, "s.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(db, store.WriterOptions{}, quiet())
	t.Cleanup(func() { w.Close(); db.Close() })
	return db, w
}

// The service plays the room on its ticks, publishes the agents' messages
// and its state on the bus, takes a crisis (refusing impossible ones),
// runs a comparison in the background, and keeps the disruption and the
// comparison in SQLite for the next start.
func TestService(t *testing.T) {
	dir := t.TempDir()
	db, w := openTestDB(t, dir)
	b := bus.New()
	sub := b.Subscribe(4096, "supply.*")
	defer sub.Close()
	s, err := NewService(t.Context(), ServiceConfig{Tick: 5 * time.Millisecond, Periods: 60, Linger: -1}, b, w, db, nil, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	for _, bad := range []Injection{
		{Kind: PortClosure, Lane: "pacific", Duration: 5, Capacity: -1},
		{Kind: PortClosure, Lane: "pacific", Duration: 5, Lead: 1_000_000_000},
		{Kind: PortClosure, Lane: "pacific", Duration: 0},
		{Kind: SupplierFailure, Node: "nowhere", Duration: 5},
	} {
		if _, err := s.Inject(bad, "user"); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("injection %+v: %v, want invalid", bad, err)
		}
	}
	c, err := s.Inject(Injection{Kind: PortClosure, Lane: "pacific", Delay: 2, Duration: 10, Lead: 3, Capacity: 0}, "user")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.StartCompare("port-closure", 4); err != nil || !p.Running {
		t.Fatalf("start compare: %+v %v", p, err)
	}
	kinds := map[string]int{}
	deadline := time.After(20 * time.Second)
	for !s.State().Finished || s.State().Compare.Running {
		select {
		case e := <-sub.C():
			kinds[e.Topic+"/"+e.Kind]++
		case <-deadline:
			t.Fatalf("room at %d of 60, compare %+v", s.State().T, s.State().Compare)
		}
	}
	st := s.State()
	if len(st.Crises) != 1 || st.Crises[0].ID != c.ID || st.Crises[0].KPI == nil {
		t.Fatalf("crises %+v", st.Crises)
	}
	if st.KPIs.TotalCost <= st.Twin.TotalCost {
		t.Errorf("the closure cost nothing: %.0f vs twin %.0f", st.KPIs.TotalCost, st.Twin.TotalCost)
	}
	for _, k := range []string{"supply.agents/order", "supply.agents/capacity_alert", "supply.agents/reroute_proposal", "supply.state/state", "supply.progress/progress"} {
		if kinds[k] == 0 {
			t.Errorf("no %s on the bus (%v)", k, kinds)
		}
	}
	if len(st.Results) != 1 || st.Results[0].Seeds != 4 {
		t.Fatalf("results %+v", st.Results)
	}
	if _, err := s.Inject(Injection{Kind: DemandSpike, Factor: 2, Duration: 3}, "user"); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("crisis after the end: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	next, err := NewService(t.Context(), ServiceConfig{Periods: 60}, bus.New(), w, db, nil, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if got := next.Comparisons(); len(got) != 1 || got[0].Scenario.Name != "port-closure" {
		t.Fatalf("comparisons after a restart: %+v", got)
	}
	stored, err := next.Disruptions(t.Context(), st.Room)
	if err != nil || len(stored) != 1 || stored[0].Lane != "pacific" {
		t.Fatalf("stored disruptions %+v, %v", stored, err)
	}
	var tts, recovered int
	if err := db.R.QueryRow(`SELECT time_to_survive, recovered FROM supply_disruptions WHERE id = ?`, c.ID).Scan(&tts, &recovered); err != nil {
		t.Fatalf("disruption KPIs not stored: %v", err)
	}
	if next.State().Room <= st.Room {
		t.Errorf("room id %d after a restart, the last was %d", next.State().Room, st.Room)
	}
	if _, err := next.Reset(t.Context(), RoomConfig{Preset: "global", Policies: map[Role]string{Retailer: PolicyLearned}}); errs.CodeOf(err) != errs.Unavailable {
		t.Errorf("learned without a run: %v", err)
	}
	if _, err := next.Reset(t.Context(), RoomConfig{Preset: "mars"}); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("unknown preset: %v", err)
	}
}

// A finished room stays on screen for Linger ticks, saying when the next
// starts, then gives way to the next seed with the same settings.
func TestServiceNextRoom(t *testing.T) {
	s, err := NewService(t.Context(), ServiceConfig{Tick: 2 * time.Millisecond, Periods: 10, Linger: 20}, bus.New(), nil, nil, nil, quiet())
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Reset(t.Context(), RoomConfig{Preset: "beer", Seed: 7, Coordinated: false, Policies: map[Role]string{Retailer: PolicySterman}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go s.Run(ctx)
	sawNext := false
	deadline := time.Now().Add(10 * time.Second)
	for s.State().Room == first.Room {
		if st := s.State(); st.Finished && st.NextIn > 0 {
			sawNext = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("still room %d at period %d", first.Room, s.State().T)
		}
		time.Sleep(time.Millisecond)
	}
	st := s.State()
	if !sawNext {
		t.Error("a finished room never said when the next starts")
	}
	if st.Seed != 8 || st.Preset != "beer" || st.Strategy.Coordinated || st.Strategy.Policies[Retailer] != PolicySterman {
		t.Errorf("next room: seed %d, preset %s, strategy %+v", st.Seed, st.Preset, st.Strategy)
	}
}
