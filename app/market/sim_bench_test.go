package market

import "testing"

// BenchmarkSim100k steps the equity market with 100,000 background agents;
// one op is one simulated second.
func BenchmarkSim100k(b *testing.B) {
	u, _ := Preset("equity")
	s, err := NewSim(SimConfig{Universe: u, Seed: 1, Agents: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	s.KeepEvents(false)
	for range 600 {
		s.Step()
	}
	c0 := s.Counters()
	b.ResetTimer()
	for b.Loop() {
		s.Step()
	}
	b.ReportMetric(float64(s.Counters().Decisions-c0.Decisions)/b.Elapsed().Seconds(), "decisions/s")
}
