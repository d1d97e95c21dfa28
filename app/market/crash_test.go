package market

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestFlashCrashWithdrawsLiquidity runs the scripted flash crash and its calm
// twin on seeds 1-5 and checks what makes a crash a crash: the book thins at
// the touch and within 1 % of the mid, the spread widens, the traded price
// falls several per cent within minutes, overshoots the fundamental's fall
// and rebounds, and
// the calm twin does none of it.
func TestFlashCrashWithdrawsLiquidity(t *testing.T) {
	st, err := RunCrashStudy(context.Background(), CrashStudyConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + CrashTable(st))
	get := map[string]CrashSummary{}
	for _, s := range st.Summary {
		get[s.Name] = s
	}
	touchPre, touch := get["lots at the touch before"], get["lots at the touch 10:30-10:40"]
	depthPre, depth := get["lots within 1% before"], get["lots within 1% 10:30-10:40"]
	spreadPre, spread := get["spread before (bps)"], get["spread 10:30-10:40 (bps)"]
	checks := []struct {
		name string
		ok   bool
		got  string
	}{
		{"the touch thins to under 60 % in the crash", touch.Crash+touch.CrashHalf < 0.6*touchPre.Crash, fmt.Sprintf("%.1f±%.1f of %.1f lots", touch.Crash, touch.CrashHalf, touchPre.Crash)},
		{"the twin's touch stays above 70 %", touch.Calm > 0.7*touchPre.Calm, fmt.Sprintf("%.1f of %.1f lots", touch.Calm, touchPre.Calm)},
		{"depth within 1 % falls below 80 %", depth.Crash+depth.CrashHalf < 0.8*depthPre.Crash, fmt.Sprintf("%.0f±%.0f of %.0f lots", depth.Crash, depth.CrashHalf, depthPre.Crash)},
		{"the twin's depth within 1 % stays above 90 %", depth.Calm > 0.9*depthPre.Calm, fmt.Sprintf("%.0f of %.0f lots", depth.Calm, depthPre.Calm)},
		{"the spread more than doubles", spread.Crash-spread.CrashHalf > 2*spreadPre.Crash, fmt.Sprintf("%.2f±%.2f vs %.2f bps", spread.Crash, spread.CrashHalf, spreadPre.Crash)},
		{"the price is down 3 % by 10:35 on average", get["price at 10:35 (%)"].Crash < -3, fmt.Sprintf("%.1f%%", get["price at 10:35 (%)"].Crash)},
		{"the twin's spread stays under 1.5x", spread.Calm < 1.5*spreadPre.Calm+0.25, fmt.Sprintf("%.2f vs %.2f bps", spread.Calm, spreadPre.Calm)},
	}
	for _, r := range st.Runs {
		if r.Crash {
			checks = append(checks,
				struct {
					name string
					ok   bool
					got  string
				}{fmt.Sprintf("seed %d falls 5 %% within 15 minutes", r.Seed), r.Low < -0.05 && r.LowAfter <= 15*60, fmt.Sprintf("low %.1f%% after %.1f min", 100*r.Low, r.LowAfter/60)},
				struct {
					name string
					ok   bool
					got  string
				}{fmt.Sprintf("seed %d rebounds from its low", r.Seed), r.Rebound > 0.001, fmt.Sprintf("%.2f pp", 100*r.Rebound)})
		} else {
			checks = append(checks, struct {
				name string
				ok   bool
				got  string
			}{fmt.Sprintf("calm twin of seed %d stays within 1 %%", r.Seed), r.Low > -0.01 && r.At30 > -0.01 && r.At30 < 0.01, fmt.Sprintf("low %.2f%%, 11:00 %.2f%%", 100*r.Low, 100*r.At30)})
		}
	}
	for _, c := range checks {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			if !c.ok {
				t.Errorf("%s: got %s", c.name, c.got)
			}
		})
	}
}
