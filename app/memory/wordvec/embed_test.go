package wordvec

import (
	"bytes"
	"os"
	"testing"
)

func loadShipped(t *testing.T) *Table {
	t.Helper()
	data, err := os.ReadFile("../wordvectors.bin")
	if err != nil {
		t.Fatal(err)
	}
	tab, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestShippedTable(t *testing.T) {
	tab := loadShipped(t)
	if len(tab.Words) != 100_000 || tab.Dims != 100 {
		t.Fatalf("%d words of %d dims, want 100000 of 100", len(tab.Words), tab.Dims)
	}
	if tab.Words[0] != "the" {
		t.Fatalf("first word %q, want the most frequent, \"the\"", tab.Words[0])
	}
	var norm float32
	for _, c := range tab.Common {
		norm += c * c
	}
	if norm < 0.99 || norm > 1.01 {
		t.Fatalf("common component has squared norm %v, want 1 (fitted)", norm)
	}
	var buf bytes.Buffer
	if err := tab.Write(&buf); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile("../wordvectors.bin")
	if !bytes.Equal(buf.Bytes(), data) {
		t.Fatal("Read then Write does not give back the same bytes")
	}
}

func TestReadRejectsBadFiles(t *testing.T) {
	good := Quantise([]string{"a", "b"}, [][]float32{{1, 2}, {-3, 4}})
	var buf bytes.Buffer
	good.Write(&buf)
	ok := buf.Bytes()
	tests := map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("XXXX"), ok[4:]...),
		"truncated": ok[:len(ok)-3],
		"trailing":  append(append([]byte{}, ok...), 0),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Read(data); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := Read(ok); err != nil {
		t.Fatalf("a good file: %v", err)
	}
}

func TestQuantiseKeepsDirection(t *testing.T) {
	v := []float32{0.5, -1.25, 3, 0.001}
	tab := Quantise([]string{"x"}, [][]float32{v})
	for d, x := range v {
		got := tab.Scales[0] * float32(tab.Data[d])
		if diff := got - x; diff > tab.Scales[0]/2+1e-6 || diff < -tab.Scales[0]/2-1e-6 {
			t.Errorf("dim %d: %v back as %v, error beyond half a step", d, x, got)
		}
	}
}

// Paraphrases must sit closer than unrelated sentences: the reason the
// vectors exist.
func TestEmbedRanksParaphrasesAboveUnrelated(t *testing.T) {
	e := NewEmbedder(loadShipped(t))
	tests := []struct{ a, para, unrelated string }{
		{"the trader bought shares after the rally", "purchased stock following the surge", "the recipe needs two eggs and flour"},
		{"heavy losses in the crash", "big deficit during the collapse", "a quiet walk in the garden"},
		{"the warehouse ran out of inventory", "the depot exhausted its stock", "the orchestra played a symphony"},
	}
	a, b, c := make([]float32, e.Dims()), make([]float32, e.Dims()), make([]float32, e.Dims())
	for _, tt := range tests {
		t.Run(tt.a, func(t *testing.T) {
			e.Embed(tt.a, a)
			e.Embed(tt.para, b)
			e.Embed(tt.unrelated, c)
			if p, u := Dot(a, b), Dot(a, c); p <= u+0.1 {
				t.Fatalf("paraphrase cosine %.3f, unrelated %.3f", p, u)
			}
		})
	}
}

func TestEmbedOutOfVocabulary(t *testing.T) {
	e := NewEmbedder(loadShipped(t))
	x, y, z := make([]float32, e.Dims()), make([]float32, e.Dims()), make([]float32, e.Dims())
	e.Embed("zqxticker", x)
	e.Embed("ZQXTICKER", y)
	e.Embed("blorfwidget", z)
	if Dot(x, y) < 0.999 {
		t.Fatalf("the same unknown word in two cases has cosine %.3f", Dot(x, y))
	}
	if Dot(x, z) > 0.5 {
		t.Fatalf("two different unknown words have cosine %.3f", Dot(x, z))
	}
	if e.Embed("  ,;  ", x) {
		t.Fatal("punctuation only was embedded")
	}
}

func TestTokens(t *testing.T) {
	tests := map[string]string{
		"Bought 120 AAPL @ 187.20.": "bought|120|aapl|187.20",
		"cross-border O'Neill's":    "cross-border|o'neill's",
		"--- ''":                    "",
	}
	for in, want := range tests {
		got := ""
		for i, tok := range Tokens(in) {
			if i > 0 {
				got += "|"
			}
			got += tok
		}
		if got != want {
			t.Errorf("Tokens(%q) = %q, want %q", in, got, want)
		}
	}
}
