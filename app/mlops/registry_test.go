package mlops

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/synth/detect"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// clock is a settable time for the alias history.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openRegistry(t testing.TB, now func() time.Time) (*Registry, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(t.Context(), filepath.Join(dir, "m.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	art, err := NewArtifacts(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	return NewRegistry(db, art, Loaders(), now), dir
}

// logisticArtifact is a logistic fraud detector with weights drawn from seed.
func logisticArtifact(t testing.TB, seed uint64) []byte {
	t.Helper()
	names := detect.FeatureNames()
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &detect.Logistic{Weights: make([]float64, len(names)), Mean: make([]float64, len(names)), Std: make([]float64, len(names)), Bias: -4}
	for j := range names {
		m.Weights[j], m.Std[j] = rng.NormFloat64(), 1
	}
	data, err := EncodeDetector(&detect.Detector{Model: "logistic", Features: names, Logistic: m})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func register(t *testing.T, r *Registry, model string, seed uint64) Version {
	t.Helper()
	v, err := r.Register(t.Context(), RegisterRequest{Model: model, Kind: KindFraud, Artifact: logisticArtifact(t, seed),
		Lineage: Lineage{Source: "cli", Seed: seed}, Metrics: map[string]float64{"roc_auc": 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRegisterAndList(t *testing.T) {
	r, _ := openRegistry(t, nil)
	ctx := t.Context()
	v1, v2 := register(t, r, "fraud", 1), register(t, r, "fraud", 2)
	if v1.Version != 1 || v2.Version != 2 || v1.SHA256 == v2.SHA256 || v1.Metrics["roc_auc"] != 0.9 {
		t.Fatalf("versions %+v %+v", v1, v2)
	}
	ms, err := r.Models(ctx)
	if err != nil || len(ms) != 1 || ms[0].Versions != 2 || ms[0].Kind != KindFraud {
		t.Fatalf("models %+v, %v", ms, err)
	}
	vs, err := r.Versions(ctx, "fraud")
	if err != nil || len(vs) != 2 || vs[0].Version != 2 {
		t.Fatalf("versions %+v, %v", vs, err)
	}
	// The same artifact twice is stored once.
	v3 := register(t, r, "fraud", 1)
	if v3.SHA256 != v1.SHA256 {
		t.Errorf("the same artifact hashed to %s and %s", v1.SHA256, v3.SHA256)
	}

	bad := []struct {
		name string
		req  RegisterRequest
		code errs.Code
	}{
		{"bad name", RegisterRequest{Model: "Bad Name", Kind: KindFraud, Artifact: logisticArtifact(t, 1)}, errs.Invalid},
		{"bad kind", RegisterRequest{Model: "x", Kind: "llm", Artifact: logisticArtifact(t, 1)}, errs.Invalid},
		{"garbage", RegisterRequest{Model: "x", Kind: KindFraud, Artifact: []byte("not a model")}, errs.Invalid},
		{"empty", RegisterRequest{Model: "x", Kind: KindFraud}, errs.Invalid},
		{"other kind", RegisterRequest{Model: "fraud", Kind: KindTrading, Artifact: logisticArtifact(t, 1)}, errs.Invalid},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.Register(ctx, tc.req); errs.CodeOf(err) != tc.code {
				t.Errorf("got %v (%s), want %s", err, errs.CodeOf(err), tc.code)
			}
		})
	}
	// A run registers once.
	req := RegisterRequest{Model: "fraud", Kind: KindFraud, Artifact: logisticArtifact(t, 5), Lineage: Lineage{Source: "synth", Run: "synth job j-1"}}
	if _, err := r.Register(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Register(ctx, req); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("a second registration of the same run: %v", err)
	}
	for _, f := range []func() error{
		func() error { _, err := r.Model(ctx, "nope"); return err },
		func() error { _, err := r.Version(ctx, "fraud", 99); return err },
		func() error { _, err := r.Resolve(ctx, "fraud", "champion"); return err },
		func() error { _, err := r.AliasAt(ctx, "fraud", "champion", time.Now()); return err },
	} {
		if err := f(); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("got %v, want not found", err)
		}
	}
}

// "Which version was champion at time T" is answered from the history,
// including for times between moves, before the first and after a removal.
func TestAliasAt(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	r, _ := openRegistry(t, c.now)
	ctx := t.Context()
	for s := range uint64(3) {
		register(t, r, "fraud", s+1)
	}
	t0 := c.now()
	moves := []int{1, 2, 3, 2}
	for _, v := range moves {
		c.add(time.Hour)
		if _, err := r.SetAlias(ctx, "fraud", Champion, v, "user", ""); err != nil {
			t.Fatal(err)
		}
	}
	c.add(time.Hour)
	if _, err := r.DeleteAlias(ctx, "fraud", Champion, "user", "retired"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   time.Duration
		want int // -1: not found
	}{
		{30 * time.Minute, -1}, {time.Hour, 1}, {90 * time.Minute, 1}, {2 * time.Hour, 2},
		{3*time.Hour + time.Minute, 3}, {4 * time.Hour, 2}, {5 * time.Hour, 0}, {50 * time.Hour, 0},
	}
	for _, tc := range tests {
		t.Run(tc.at.String(), func(t *testing.T) {
			m, err := r.AliasAt(ctx, "fraud", Champion, t0.Add(tc.at))
			if tc.want < 0 {
				if errs.CodeOf(err) != errs.NotFound {
					t.Errorf("got %+v, %v; want not found", m, err)
				}
				return
			}
			if err != nil || m.Version != tc.want {
				t.Errorf("got %+v, %v; want version %d", m, err, tc.want)
			}
		})
	}
	// The history is append-only, in the database itself.
	if _, err := r.db.W.ExecContext(ctx, `UPDATE mlops_alias_history SET version = 3`); err == nil {
		t.Error("the alias history was updated")
	}
	if _, err := r.db.W.ExecContext(ctx, `DELETE FROM mlops_alias_history`); err == nil {
		t.Error("the alias history was deleted")
	}
	h, _ := r.History(ctx, "fraud", Champion)
	if len(h) != 5 {
		t.Errorf("history has %d moves, want 5", len(h))
	}
}

// A clock that goes backwards does not make the history ambiguous.
func TestAliasHistoryMonotonic(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	r, _ := openRegistry(t, c.now)
	register(t, r, "fraud", 1)
	register(t, r, "fraud", 2)
	r.SetAlias(t.Context(), "fraud", Champion, 1, "user", "")
	c.add(-time.Hour)
	r.SetAlias(t.Context(), "fraud", Champion, 2, "user", "")
	m, err := r.AliasAt(t.Context(), "fraud", Champion, c.now().Add(2*time.Hour))
	if err != nil || m.Version != 2 {
		t.Errorf("after the clock went back, champion is %+v, %v; want 2", m, err)
	}
}

// A tampered artifact refuses to load with a sentence that says so, and the
// alias it was asked to take stays where it was.
func TestTamperedArtifact(t *testing.T) {
	r, dir := openRegistry(t, nil)
	ctx := t.Context()
	register(t, r, "fraud", 1)
	v2 := register(t, r, "fraud", 2)
	if _, err := r.SetAlias(ctx, "fraud", Champion, 1, "user", ""); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "artifacts", "sha256", v2.SHA256[:2], v2.SHA256)
	data, _ := os.ReadFile(p)
	data[len(data)/2] ^= 0xff
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := r.SetAlias(ctx, "fraud", Champion, 2, "user", "")
	if errs.CodeOf(err) != errs.Unavailable || !strings.Contains(errs.MessageOf(err), "fails its check") {
		t.Fatalf("moving the alias to a tampered version: %v", err)
	}
	if v, _ := r.Resolve(ctx, "fraud", Champion); v.Version != 1 {
		t.Errorf("champion moved to %d", v.Version)
	}
	if _, _, err := r.Open(ctx, "fraud", 2); errs.CodeOf(err) != errs.Unavailable {
		t.Errorf("a tampered version opened: %v", err)
	}
	if h, _ := r.History(ctx, "fraud", Champion); len(h) != 1 {
		t.Errorf("the refused move is in the history: %+v", h)
	}
}

// Concurrent moves of one alias are serialised: every move is in the
// history, each one's previous version is the version of the move before,
// and the alias ends at the last move's version.
func TestConcurrentAliasMoves(t *testing.T) {
	r, _ := openRegistry(t, nil)
	ctx := t.Context()
	for s := range uint64(4) {
		register(t, r, "fraud", s+1)
	}
	var wg sync.WaitGroup
	const n = 40
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if _, err := r.SetAlias(ctx, "fraud", Champion, 1+i%4, "user", ""); err != nil {
				errc <- err
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	h, err := r.History(ctx, "fraud", Champion)
	if err != nil || len(h) != n {
		t.Fatalf("history of %d moves, %v; want %d", len(h), err, n)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Previous != h[i-1].Version {
			t.Fatalf("move %d says the alias was at %d, but move %d had put it at %d (a lost update)", i, h[i].Previous, i-1, h[i-1].Version)
		}
	}
	if v, _ := r.Resolve(ctx, "fraud", Champion); v.Version != h[n-1].Version {
		t.Errorf("alias at %d, last move says %d", v.Version, h[n-1].Version)
	}
	// A conditional move on a stale view is refused.
	if _, err := r.SetAliasIf(ctx, "fraud", Champion, 1, h[n-1].Version%4+1, "auto", ""); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("a move on a stale view: %v", err)
	}
}

// Rolling back goes to the version before the current one came in; twice
// goes back two versions; at the first version there is nothing to roll
// back to.
func TestRollback(t *testing.T) {
	r, _ := openRegistry(t, nil)
	ctx := t.Context()
	for s := range uint64(3) {
		register(t, r, "fraud", s+1)
		if _, err := r.SetAlias(ctx, "fraud", Champion, int(s+1), "user", ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []int{2, 1} {
		m, err := r.Rollback(ctx, "fraud", Champion, "user", "")
		if err != nil || m.Version != want || !m.Rollback {
			t.Fatalf("rollback: %+v, %v; want version %d", m, err, want)
		}
	}
	if _, err := r.Rollback(ctx, "fraud", Champion, "user", ""); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("rollback past the first version: %v", err)
	}
	if _, err := r.Rollback(ctx, "fraud", "nobody", "user", ""); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("rollback of an unknown alias: %v", err)
	}
}
