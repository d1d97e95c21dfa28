package memory

import (
	"testing"
)

func TestStem(t *testing.T) {
	tests := map[string]string{
		"shipments": "shipment", "delayed": "delay", "rallies": "rally", "carried": "carry",
		"boxes": "box", "press": "press", "bus": "bus", "trading": "trad", "o'neill's": "o'neill",
		"contract": "contract", "contrarian": "contrarian", "gas": "gas",
	}
	for in, want := range tests {
		if got := stem(in); got != want {
			t.Errorf("stem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLexiconRanksByBM25(t *testing.T) {
	l := newLexicon()
	docs := [][]string{
		{"steel", "steel", "port"}, // 0: the query's rare word twice
		{"steel", "port", "delay"}, // 1: once
		{"port", "delay"},          // 2: only the common word
		{"grain", "harvest"},       // 3: nothing
		{"port", "port", "grain"},  // 4
	}
	for pos, d := range docs {
		l.add(pos, d)
	}
	all := func(int) bool { return true }
	hits := l.search([]string{"steel", "port"}, all, 10)
	var got []int
	for _, h := range hits {
		got = append(got, h.pos)
	}
	if len(got) != 4 || got[0] != 0 || got[1] != 1 {
		t.Fatalf("ranking %v (hits %+v): the rare word twice, then once, then the common word only", got, hits)
	}
	if hits[0].coord != 1 || hits[len(hits)-1].coord != 0.5 {
		t.Fatalf("coord %v and %v, want 1 and 0.5", hits[0].coord, hits[len(hits)-1].coord)
	}
	if h := l.search([]string{"steel"}, func(pos int) bool { return pos != 0 }, 10); len(h) != 1 || h[0].pos != 1 {
		t.Fatalf("the filter was not applied: %+v", h)
	}
	if h := l.search([]string{"nothing"}, all, 10); len(h) != 0 {
		t.Fatalf("an unknown word matched %+v", h)
	}
}
