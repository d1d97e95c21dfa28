package marl

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/metastation/metastation/app/nn"
)

func smallMADDPG(t *testing.T, env string, episodes int) *MADDPG {
	t.Helper()
	cfg := DefaultMADDPGConfig(env)
	cfg.Episodes, cfg.BatchSize, cfg.Hidden, cfg.LearningStarts, cfg.UpdateEvery = episodes, 32, []int{16}, 100, 10
	m, err := NewMADDPG(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tr, ok := m.Env.(*TradingMA); ok {
		tr.Horizon, tr.Mixed = 20, true
	}
	return m
}

// maddpgFingerprint is every number of m that training changes.
func maddpgFingerprint(m *MADDPG) []float64 {
	var out []float64
	for i := range m.Actors {
		for _, ps := range [][]*nn.Param{m.Actors[i].Params(), m.ActorsT[i].Params(), m.Critics[i].Params(), m.CritT[i].Params()} {
			for _, p := range ps {
				out = append(out, p.Data...)
			}
		}
		for _, st := range []nn.AdamState{m.ActorOpt[i].State(), m.CrOpt[i].State()} {
			for _, x := range st.M {
				out = append(out, x...)
			}
			for _, x := range st.V {
				out = append(out, x...)
			}
		}
	}
	out = append(out, float64(m.Episodes), float64(m.Steps), float64(m.Updates), float64(m.Buffer.Size), float64(m.Buffer.Pos))
	out = append(out, m.Buffer.Obs...)
	return append(out, m.Buffer.Reward...)
}

// N episodes, save, load, N more episodes is bit-identical to 2N episodes:
// on simple_spread and on the trading world (whose settings, the regime mix
// included, travel in the checkpoint).
func TestMADDPGCheckpointResumeIsExact(t *testing.T) {
	for _, c := range []struct {
		env string
		n   int
	}{{"spread", 12}, {"trading-ma", 6}} {
		t.Run(c.env, func(t *testing.T) {
			whole := smallMADDPG(t, c.env, 2*c.n)
			var wholeRet []float64
			for !whole.Done() {
				wholeRet = append(wholeRet, whole.Run().Return)
			}
			half := smallMADDPG(t, c.env, 2*c.n)
			for half.Episodes < c.n {
				half.Run()
			}
			var buf bytes.Buffer
			if err := SaveMADDPG(&buf, half); err != nil {
				t.Fatal(err)
			}
			size := buf.Len()
			m, err := LoadMADDPG(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if tr, ok := m.Env.(*TradingMA); c.env == "trading-ma" && (!ok || !tr.Mixed || tr.Horizon != 20) {
				t.Fatalf("the trading world's settings were not restored: %+v", m.Env)
			}
			var resumedRet []float64
			for !m.Done() {
				resumedRet = append(resumedRet, m.Run().Return)
			}
			if whole.Updates == 0 || m.Updates <= half.Updates {
				t.Fatalf("no updates after the resume (%d before, %d after)", half.Updates, m.Updates)
			}
			for k, r := range resumedRet {
				if r != wholeRet[c.n+k] {
					t.Fatalf("episode %d after the resume returned %v, the uninterrupted run %v", c.n+k+1, r, wholeRet[c.n+k])
				}
			}
			a, b := maddpgFingerprint(whole), maddpgFingerprint(m)
			if len(a) != len(b) {
				t.Fatalf("state sizes differ: %d vs %d", len(a), len(b))
			}
			for i := range a {
				if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
					t.Fatalf("state differs at %d: %v vs %v", i, a[i], b[i])
				}
			}
			t.Logf("%s: %d+%d episodes resumed bit-identical to %d (%d updates, checkpoint %d kB)", c.env, c.n, c.n, 2*c.n, m.Updates, size/1024)
		})
	}
}

// A QMIX checkpoint, or garbage, is not a MADDPG checkpoint.
func TestLoadMADDPGRefusesOtherFiles(t *testing.T) {
	if _, err := LoadMADDPG(strings.NewReader("junk")); err == nil {
		t.Error("junk loaded")
	}
	cfg := DefaultQMIXConfig("matrix2", "qmix")
	q, err := NewQMIX(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := SaveQMIX(&buf, q, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMADDPG(&buf); err == nil || !strings.Contains(err.Error(), "marl-qmix-checkpoint") {
		t.Errorf("a QMIX checkpoint as MADDPG: %v", err)
	}
}
