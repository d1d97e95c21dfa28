package market

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/store"
)

// TestMarketResumesAfterARestart: a market started on a database that holds
// bars carries on after the latest one, at the last closes, instead of
// starting again at 09:30 on the preset's prices (issue 20 item 7).
func TestMarketResumesAfterARestart(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "m.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u, _ := Preset("equity")
	if _, _, ok, err := ResumePoint(ctx, db, u); err != nil || ok {
		t.Fatalf("an empty database gives a resume point: ok %v, err %v", ok, err)
	}
	last := DefaultStart.Add(26 * time.Hour)
	bars := []struct {
		sym   string
		ts    time.Time
		close float64
	}{
		{"SPX", last.Add(-time.Minute), 4800}, {"SPX", last, 4750}, {"KO", last.Add(-2 * time.Minute), 55},
	}
	for _, b := range bars {
		if _, err := db.W.ExecContext(ctx, insertBar, b.sym, "1m", b.ts.Unix(), b.close, b.close, b.close, b.close, 1.0, 1); err != nil {
			t.Fatal(err)
		}
	}
	resumed, start, ok, err := ResumePoint(ctx, db, u)
	if err != nil || !ok {
		t.Fatalf("ok %v, err %v", ok, err)
	}
	if want := last.Add(time.Minute); !start.Equal(want) {
		t.Errorf("resumes at %s, want %s", start, want)
	}
	svc, err := NewService(ServiceConfig{Sim: SimConfig{Universe: resumed, Seed: 1, Agents: 200, Start: start}}, bus.New(), nil, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := svc.State()
	if !st.Time.Equal(start) {
		t.Errorf("the resumed market's clock is %s, want %s", st.Time, start)
	}
	want := map[string]float64{"SPX": 4750, "KO": 55, "AAPL": u.Instruments[u.Index("AAPL")].Price}
	for _, q := range st.Quotes {
		if w, ok := want[q.Symbol]; ok && math.Abs(q.Latent/w-1) > 1e-3 {
			t.Errorf("%s resumes at %g, want its last close %g", q.Symbol, q.Latent, w)
		}
	}
	if u.Instruments[0].Price != 5000 {
		t.Errorf("ResumePoint changed the caller's universe: SPX %g", u.Instruments[0].Price)
	}
}
