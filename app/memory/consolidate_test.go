package memory

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/metastation/metastation/app/store"
)

// evidence is every (memory, link) pair in the database, and every merge as
// a link from the survivor to the merged memory.
func evidence(t *testing.T, e *env) map[string]bool {
	t.Helper()
	rows, err := e.db.R.Query(`SELECT m.id, coalesce(m.merged_into, 0), j.value ->> 'kind', j.value ->> 'ref'
		FROM memories m, json_each(m.links) j`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id, into int64
		var kind, ref string
		if err := rows.Scan(&id, &into, &kind, &ref); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%d %s %s", id, kind, ref)] = true
	}
	return out
}

// reachable reports whether memory id's link is still held: on its own row,
// or on the survivor its merges lead to.
func reachable(t *testing.T, e *env, after map[string]bool, id int64, link string) bool {
	for range 64 {
		if after[fmt.Sprintf("%d %s", id, link)] {
			return true
		}
		var into int64
		if err := e.db.R.QueryRow(`SELECT coalesce(merged_into, 0) FROM memories WHERE id = ?`, id).Scan(&into); err != nil {
			t.Fatal(err)
		}
		if into == 0 {
			return false
		}
		id = into
	}
	return false
}

func TestConsolidationNeverLosesEvidence(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	evs := SeededEvents(3, 3000, day, 72*time.Hour)
	for i, m := range evs {
		m.Links = []Link{{Kind: "trade", Ref: fmt.Sprint(i)}}
		if i%3 == 0 {
			m.Links = append(m.Links, Link{Kind: "file", Ref: fmt.Sprintf("docs/%d.txt", i)})
		}
		write(t, e.st, m)
	}
	e.st.Flush(ctx)
	before := evidence(t, e)
	var reps []Report
	for range 2 { // a second pass works on the first one's survivors
		rep, err := e.st.Consolidate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, rep)
	}
	if reps[0].Merged == 0 || reps[0].Superseded == 0 || reps[0].Reflections == 0 {
		t.Fatalf("the first pass did too little to test: %+v", reps[0])
	}
	after := evidence(t, e)
	lost := 0
	for k := range before {
		var id int64
		var kind, ref string
		fmt.Sscanf(k, "%d %s %s", &id, &kind, &ref)
		if !reachable(t, e, after, id, kind+" "+ref) {
			lost++
			if lost < 5 {
				t.Errorf("link %q is gone", k)
			}
		}
	}
	var rows int
	e.db.R.QueryRow(`SELECT count(*) FROM memories`).Scan(&rows)
	if want := 3000 + reps[0].Reflections + reps[1].Reflections; rows != want {
		t.Fatalf("%d rows after consolidation, want %d: nothing is deleted", rows, want)
	}
	// Every merged memory is linked from its survivor.
	var orphans int
	e.db.R.QueryRow(`SELECT count(*) FROM memories d WHERE d.status = 'merged' AND NOT EXISTS (
		SELECT 1 FROM memories s, json_each(s.links) j WHERE s.id = d.merged_into
		AND j.value ->> 'kind' = 'memory' AND j.value ->> 'ref' = CAST(d.id AS TEXT))`).Scan(&orphans)
	if orphans != 0 {
		t.Fatalf("%d merged memories are not linked from their survivor", orphans)
	}
	t.Logf("passes: %+v; %d links checked", reps, len(before))
}

func TestConsolidationMergesSupersedesReflectsForgets(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	a := write(t, e.st, Memory{Agent: "momentum", Kind: Action, Text: "Bought 300 SPY at 451.20.", Topic: "SPY", Stance: "buy", Importance: 0.5,
		Links: []Link{{Kind: "trade", Ref: "1"}}, SimTime: day})
	b := write(t, e.st, Memory{Agent: "momentum", Kind: Action, Text: "Bought 120 SPY at 452.10.", Topic: "SPY", Stance: "buy", Importance: 0.5,
		Links: []Link{{Kind: "trade", Ref: "2"}}, SimTime: day.Add(10 * time.Minute)})
	other := write(t, e.st, Memory{Agent: "meanrev", Kind: Action, Text: "Bought 300 SPY at 451.20.", Topic: "SPY", Stance: "buy", Importance: 0.5, SimTime: day})
	later := write(t, e.st, Memory{Agent: "momentum", Kind: Action, Text: "Bought 50 SPY at 450.00.", Topic: "SPY", Stance: "buy", Importance: 0.5, SimTime: day.Add(3 * time.Hour)})
	sell := write(t, e.st, Memory{Agent: "momentum", Kind: Action, Text: "Sold 470 SPY at 455.00.", Topic: "SPY", Stance: "sell", Importance: 0.5, SimTime: day.Add(4 * time.Hour)})
	for i := range 5 {
		write(t, e.st, Memory{Agent: "momentum", Kind: Outcome, Text: fmt.Sprintf("Trade %d on KO closed", i), Topic: "KO", Importance: 0.5,
			Value: float64(100 * (i - 2)), SimTime: day.Add(time.Duration(5+i) * time.Hour)})
	}
	faded := write(t, e.st, Memory{Agent: "planner", Text: "A minor note", Importance: 0.05, SimTime: day})
	pinned := write(t, e.st, Memory{Agent: "planner", Text: "A minor pinned note", Importance: 0.05, SimTime: day})
	if _, err := e.st.Pin(ctx, pinned.ID, true); err != nil {
		t.Fatal(err)
	}
	write(t, e.st, Memory{Agent: "planner", Text: "Much later", Importance: 0.5, SimTime: day.Add(10 * 24 * time.Hour)})

	rep, err := e.st.Consolidate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	get := func(id int64) Memory {
		m, err := e.st.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := get(b.ID); m.Status != Merged || m.MergedInto != a.ID {
		t.Errorf("the near-duplicate in the same hour: %+v", m)
	}
	sa := get(a.ID)
	if sa.Count != 2 || !slices.Contains(sa.Links, Link{"trade", "2"}) || !slices.Contains(sa.Links, Link{"memory", fmt.Sprint(b.ID)}) {
		t.Errorf("the survivor did not gather its duplicate's evidence: %+v", sa)
	}
	if m := get(other.ID); m.Status != Active {
		t.Errorf("another agent's identical memory was merged: %+v", m)
	}
	if m := get(later.ID); m.Status != Active || m.SupersededBy != sell.ID {
		t.Errorf("a later hour is not a duplicate, and the sell supersedes it: %+v", m)
	}
	if sa.SupersededBy != sell.ID {
		t.Errorf("the sell does not supersede the first buy: %+v", sa)
	}
	if m := get(faded.ID); m.Status != Forgotten {
		t.Errorf("a faded memory was kept: %+v", m)
	}
	if m := get(pinned.ID); m.Status != Active {
		t.Errorf("a pinned memory was forgotten: %+v", m)
	}
	refl, err := e.st.Search(ctx, Query{Text: "KO trades", Agent: "momentum", Kinds: []Kind{Reflection}})
	if err != nil || len(refl) != 1 {
		t.Fatalf("reflections on KO: %+v, %v (pass %+v)", refl, err, rep)
	}
	if want := "momentum on KO: 5 events between Jan 5 15:00 and Jan 5 19:00 (5 outcomes); values sum to +0.00, best +200.00, worst -200.00."; refl[0].Memory.Text != want {
		t.Errorf("reflection %q\nwant %q", refl[0].Memory.Text, want)
	}
	if len(refl[0].Memory.Links) != 5 {
		t.Errorf("the reflection links %d memories, want 5", len(refl[0].Memory.Links))
	}
	again, err := e.st.Consolidate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Merged+again.Superseded+again.Reflections+again.Forgotten != 0 {
		t.Errorf("a second pass over nothing new changed something: %+v", again)
	}
}

// dump is every memory row in id order, as text.
func dump(t *testing.T, path string) [32]byte {
	t.Helper()
	db, err := store.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.R.Query(`SELECT * FROM memories ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	h := sha256.New()
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%v\n", vals)
		n++
	}
	if n == 0 {
		t.Fatal("an empty store")
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// TestSameSeedSameStore is issue 13's evaluation (b): the same seed (and the
// same injected wall clock) gives a byte-identical store, consolidation and
// all.
func TestSameSeedSameStore(t *testing.T) {
	build := func(seed uint64) [32]byte {
		path := filepath.Join(t.TempDir(), store.FileName)
		e := openAt(t, path, Config{})
		for _, m := range SeededEvents(seed, 2000, day, 24*time.Hour) {
			write(t, e.st, m)
		}
		if _, err := e.st.Consolidate(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.close()
		return dump(t, path)
	}
	a, b, c := build(5), build(5), build(6)
	if a != b {
		t.Fatal("the same seed gave two different stores")
	}
	if a == c {
		t.Fatal("two seeds gave the same store: the dump sees nothing")
	}
}

// TestReflectionsReworded: a Rewriter's wording replaces the template only
// when it brings no number of its own; a failure or an invented number
// keeps the template, and the reworded text is what search finds.
func TestReflectionsReworded(t *testing.T) {
	template := "momentum on KO: 5 events between Jan 5 15:00 and Jan 5 19:00 (5 outcomes); values sum to +0.00, best +200.00, worst -200.00."
	tests := []struct {
		name    string
		rewrite Rewriter
		want    string
	}{
		{"reworded", func(_ context.Context, agent, topic, text string) (string, error) {
			return "Between Jan 5 15:00 and 19:00 momentum closed 5 trades on KO: the best made 200.00 and the worst lost 200.00, netting 0.00.", nil
		}, "Between Jan 5 15:00 and 19:00 momentum closed 5 trades on KO: the best made 200.00 and the worst lost 200.00, netting 0.00."},
		{"invented number", func(context.Context, string, string, string) (string, error) {
			return "momentum made 350.00 on KO in 5 trades.", nil
		}, template},
		{"failed", func(context.Context, string, string, string) (string, error) {
			return "", fmt.Errorf("connection refused")
		}, template},
		{"empty", func(context.Context, string, string, string) (string, error) { return "  ", nil }, template},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := openAt(t, filepath.Join(t.TempDir(), store.FileName), Config{Consolidation: ConsolidationConfig{Rewrite: tc.rewrite}})
			for i := range 5 {
				write(t, e.st, Memory{Agent: "momentum", Kind: Outcome, Text: fmt.Sprintf("Trade %d on KO closed", i), Topic: "KO", Importance: 0.5,
					Value: float64(100 * (i - 2)), SimTime: day.Add(time.Duration(5+i) * time.Hour)})
			}
			rep, err := e.st.Consolidate(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			refl, err := e.st.Search(context.Background(), Query{Text: "KO trades", Agent: "momentum", Kinds: []Kind{Reflection}})
			if err != nil || len(refl) != 1 {
				t.Fatalf("reflections: %+v, %v", refl, err)
			}
			m := refl[0].Memory
			if m.Text != tc.want {
				t.Errorf("reflection %q\nwant %q", m.Text, tc.want)
			}
			reworded := m.Text != template
			if reworded != slices.Contains(m.Tags, "reworded") || (rep.Reworded == 1) != reworded {
				t.Errorf("tags %v, report %+v", m.Tags, rep)
			}
			if len(m.Links) != 5 {
				t.Errorf("the reflection links %d memories, want 5", len(m.Links))
			}
		})
	}
}
