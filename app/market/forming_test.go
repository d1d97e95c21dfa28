package market

import (
	"math"
	"testing"
)

// TestFormingBarIsTheBarToBe: the state's forming bar of every instrument
// and interval holds what traded since its start (its volume is the sum of
// those trades), and when its minute ends the closed bar is the forming one
// as last published, so a chart's last candle and volume bar move together.
func TestFormingBarIsTheBarToBe(t *testing.T) {
	u, _ := Preset("equity")
	sim, err := NewSim(SimConfig{Universe: u, Seed: 4, Agents: 400})
	if err != nil {
		t.Fatal(err)
	}
	ko := u.Index("KO")
	var volume float64 // KO's traded units since the current minute began
	var last Bar       // KO's 1m forming bar after the previous step
	checked, grew := 0, 0
	for step := 0; step < 600; step++ {
		sim.Step()
		closed := sim.DrainBars()
		for _, b := range closed {
			if b.Symbol == "KO" && b.Interval == "1m" {
				if last.Time != b.Time || last.Volume != b.Volume || last.Close != b.Close || last.High != b.High {
					t.Fatalf("the closed bar %+v is not the forming bar before it %+v", b, last)
				}
				checked++
				volume = 0
			}
		}
		for _, tr := range sim.DrainTrades() {
			if tr.Symbol == "KO" {
				volume += tr.Qty
			}
		}
		forming := sim.Forming(ko, nil)
		if len(forming) == 0 && sim.inst[ko].last == 0 {
			continue // nothing has traded yet
		}
		if len(forming) != len(Intervals) {
			t.Fatalf("%d forming bars, want one per interval", len(forming))
		}
		f := forming[0]
		if f.Interval != "1m" || !f.Time.Equal(sim.Now().Truncate(60e9)) || math.Abs(f.Volume-volume) > 1e-9 {
			t.Fatalf("at %s the forming 1m bar is %+v; %g units traded this minute", sim.Now(), f, volume)
		}
		if f.Time == last.Time && f.Volume > last.Volume {
			grew++
		}
		last = f
	}
	if checked < 9 || grew < 100 {
		t.Errorf("%d closed bars checked, the forming volume grew on %d steps", checked, grew)
	}
}
