package marl

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/metastation/metastation/app/nn"
)

// TestCheckpointBombIsRefusedBeforeAllocating: a small checkpoint whose
// configuration asks for [3000, 3000] hidden layers took 29 s and 760 MB
// before it was refused, because the networks were built from the
// configuration first. Now it is refused before anything is allocated.
func TestCheckpointBombIsRefusedBeforeAllocating(t *testing.T) {
	env, err := NewEnv("matrix2")
	if err != nil {
		t.Fatal(err)
	}
	q, err := NewQMIXEnv(DefaultQMIXConfig("matrix2", "qmix"), env)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := SaveQMIX(&buf, q, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadQMIX(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("an honest checkpoint: %v", err)
	}
	var ck QMIXCheckpoint
	if err := nn.Decode(bytes.NewReader(buf.Bytes()), checkpointKind, CheckpointVersion, &ck); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*QMIXCheckpoint)
		want string
	}{
		{"hidden [3000 3000]", func(c *QMIXCheckpoint) { c.Config.Hidden = []int{3000, 3000} }, "makes an agent network of"},
		{"hidden 1e6 wide", func(c *QMIXCheckpoint) { c.Config.Hidden = []int{1_000_000} }, "layer 1000000 wide"},
		{"100 layers", func(c *QMIXCheckpoint) { c.Config.Hidden = make([]int, 100) }, "100 hidden layers"},
		{"mixer 1e6 wide", func(c *QMIXCheckpoint) { c.Config.Embed = 1_000_000 }, "mixer 1000000 wide"},
		{"replay 1e9", func(c *QMIXCheckpoint) { c.Config.BufferSize = 1_000_000_000 }, "replay of 1000000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bomb := ck
			bomb.Config.Hidden = append([]int(nil), ck.Config.Hidden...)
			tc.edit(&bomb)
			refusedBeforeAllocating(t, checkpointKind, CheckpointVersion, bomb, tc.want, func(r io.Reader) error {
				_, _, err := LoadQMIX(r)
				return err
			})
		})
	}
}

// FuzzLoadQMIX: any bytes as a checkpoint give a QMIX or an error, never a
// panic or an allocation the file does not pay for.
func FuzzLoadQMIX(f *testing.F) {
	env, err := NewEnv("matrix2")
	if err != nil {
		f.Fatal(err)
	}
	q, err := NewQMIXEnv(DefaultQMIXConfig("matrix2", "vdn"), env)
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := SaveQMIX(&buf, q, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:len(buf.Bytes())/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		LoadQMIX(bytes.NewReader(data))
	})
}

// maddpgCheckpoint is a freshly built MADDPG learner of the trading world,
// saved, and its decoded checkpoint.
func maddpgCheckpoint(t testing.TB) ([]byte, MADDPGCheckpoint) {
	t.Helper()
	cfg := DefaultMADDPGConfig("trading-ma")
	cfg.Hidden, cfg.BufferSize = []int{16}, 64
	m, err := NewMADDPG(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := SaveMADDPG(&buf, m); err != nil {
		t.Fatal(err)
	}
	var ck MADDPGCheckpoint
	if err := nn.Decode(bytes.NewReader(buf.Bytes()), maddpgCheckpointKind, MADDPGCheckpointVersion, &ck); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), ck
}

// TestMADDPGCheckpointBombIsRefusedBeforeAllocating: LoadMADDPG built every
// agent's four networks from the file's configuration and world before
// comparing them with the weights it holds, so a small file naming a
// million agents or [3000, 3000] layers allocated gigabytes first.
func TestMADDPGCheckpointBombIsRefusedBeforeAllocating(t *testing.T) {
	honest, ck := maddpgCheckpoint(t)
	if _, err := LoadMADDPG(bytes.NewReader(honest)); err != nil {
		t.Fatalf("an honest checkpoint: %v", err)
	}
	tests := []struct {
		name string
		edit func(*MADDPGCheckpoint)
		want string
	}{
		{"hidden [3000 3000]", func(c *MADDPGCheckpoint) { c.Config.Hidden = []int{3000, 3000} }, "makes an actor of"},
		{"hidden 1e6 wide", func(c *MADDPGCheckpoint) { c.Config.Hidden = []int{1_000_000} }, "layer 1000000 wide"},
		{"100 layers", func(c *MADDPGCheckpoint) { c.Config.Hidden = make([]int, 100) }, "100 hidden layers"},
		{"a million agents", func(c *MADDPGCheckpoint) { w := *c.Env; w.N = 1_000_000; c.Env = &w }, "1000000 agents"},
		{"replay 1e12", func(c *MADDPGCheckpoint) { c.Config.BufferSize = 1_000_000_000_000 }, "replay of 1000000000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bomb := ck
			bomb.Config.Hidden = append([]int(nil), ck.Config.Hidden...)
			tc.edit(&bomb)
			refusedBeforeAllocating(t, maddpgCheckpointKind, MADDPGCheckpointVersion, bomb, tc.want, func(r io.Reader) error {
				_, err := LoadMADDPG(r)
				return err
			})
		})
	}
}

// FuzzLoadRun: bytes offered as a multi-agent checkpoint (QMIX, VDN or
// MADDPG) are loaded or refused, never a panic.
func FuzzLoadRun(f *testing.F) {
	honest, _ := maddpgCheckpoint(f)
	f.Add(honest)
	f.Add(honest[:len(honest)/3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := LoadRun(bytes.NewReader(data)); err == nil && r.Q == nil && r.M == nil {
			t.Fatal("loaded a run with no learner")
		}
	})
}

// refusedBeforeAllocating encodes the checkpoint ck and checks that load
// refuses it with an error saying want, having allocated under 32 MB.
func refusedBeforeAllocating(t *testing.T, kind string, version int, ck any, want string, load func(io.Reader) error) {
	t.Helper()
	var b bytes.Buffer
	if err := nn.Encode(&b, kind, version, ck); err != nil {
		t.Fatal(err)
	}
	size := b.Len()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := load(&b)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("load: %v, want an error saying %q", err, want)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Fatalf("refusing a %d-byte checkpoint allocated %d MB", size, grew>>20)
	}
}
