package memory

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/metastation/metastation/app/store"
)

// BenchmarkEmbed is the SIF sentence vector of one seeded event's text.
func BenchmarkEmbed(b *testing.B) {
	emb := embedder(b)
	evs := SeededEvents(1, 4096, simDay0().Add(9*time.Hour), 14*24*time.Hour)
	vec := make([]float32, emb.Dims())
	for i := 0; b.Loop(); i++ {
		emb.Embed(evs[i%len(evs)].Text, vec)
	}
}

// BenchmarkWriteBatch is one 256-memory WriteBatch, embedding and the
// batching writer's SQLite commit included.
func BenchmarkWriteBatch(b *testing.B) {
	e := openAt(b, filepath.Join(b.TempDir(), store.FileName), Config{})
	ctx := context.Background()
	evs := SeededEvents(1, 256*64, simDay0().Add(9*time.Hour), 14*24*time.Hour)
	n := 0
	for b.Loop() {
		i := n % (len(evs) / 256)
		if _, err := e.st.WriteBatch(ctx, evs[i*256:(i+1)*256]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := e.st.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n*256)/b.Elapsed().Seconds(), "memories/s")
}

// BenchmarkSearchHybrid is one hybrid search over 20,000 seeded memories.
func BenchmarkSearchHybrid(b *testing.B) {
	e := openAt(b, filepath.Join(b.TempDir(), store.FileName), Config{})
	ctx := context.Background()
	evs := SeededEvents(1, 20_000, simDay0().Add(9*time.Hour), 14*24*time.Hour)
	for i := 0; i < len(evs); i += 256 {
		if _, err := e.st.WriteBatch(ctx, evs[i:min(i+256, len(evs))]); err != nil {
			b.Fatal(err)
		}
	}
	pairs, err := PlantedSet()
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		if _, err := e.st.Search(ctx, Query{Text: pairs[i%len(pairs)].Query}); err != nil {
			b.Fatal(err)
		}
	}
}
