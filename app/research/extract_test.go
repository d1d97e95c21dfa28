package research

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/memory/wordvec"
)

var sharedEmbedder = sync.OnceValues(memory.NewEmbedder)

func embedder(t testing.TB) *wordvec.Embedder {
	t.Helper()
	e, err := sharedEmbedder()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestExtractFindsTheModelsConcepts(t *testing.T) {
	papers := SyntheticCorpus(CorpusConfig{Seed: 1})
	cs := Extract(papers, embedder(t), ExtractConfig{})
	byForm := map[string]int{}
	for _, c := range cs {
		t.Logf("%-30s df %4d kind %-8s forms %v", c.Name, c.DF, c.Kind, c.Forms)
		for _, f := range c.Forms {
			byForm[f] = c.ID
		}
	}
	for _, spec := range worldConcepts {
		id, ok := byForm[spec.Forms[0]]
		if !ok {
			t.Errorf("concept %q not extracted", spec.Name)
			continue
		}
		for _, f := range spec.Forms[1:] {
			if g, ok := byForm[normForm(f)]; !ok || g != id {
				t.Errorf("form %q of %q not merged into it", f, spec.Name)
			}
		}
	}
	if len(cs) != len(worldConcepts) {
		t.Errorf("%d concepts, want the model's %d", len(cs), len(worldConcepts))
	}
}

func TestPlantedGapRanksTopThree(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			papers := SyntheticCorpus(CorpusConfig{Seed: seed})
			cs := Extract(papers, embedder(t), ExtractConfig{})
			vecs := conceptVectors(cs, embedder(t))
			g := BuildGraph(papers, len(cs), math.MaxInt)
			gaps := Gaps(g, cs, vecs)
			rank := 0
			for _, gp := range gaps {
				names := []string{gp.AName, gp.CName}
				if slices.Contains(names, conceptName(cs, PlantedA)) && slices.Contains(names, conceptName(cs, PlantedC)) {
					rank = gp.Rank
				}
			}
			for _, gp := range gaps[:min(5, len(gaps))] {
				t.Logf("#%d %s – %s: %+v", gp.Rank, gp.AName, gp.CName, gp.Scores)
			}
			if rank == 0 || rank > 3 {
				t.Fatalf("planted gap %s – %s ranks %d of %d, want top 3", PlantedA, PlantedC, rank, len(gaps))
			}
			v := Validate(papers, cs, vecs, 2017)
			t.Logf("validation %+v", v)
			if v.AUC < 0.6 {
				t.Errorf("time-split AUC %.3f, want at least 0.6", v.AUC)
			}
		})
	}
}

// conceptName is the extracted name of the model concept whose first form
// is name.
func conceptName(cs []Concept, name string) string {
	for _, c := range cs {
		if slices.Contains(c.Forms, normForm(name)) {
			return c.Name
		}
	}
	return ""
}
