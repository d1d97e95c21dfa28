package synth

import (
	"testing"
	"time"
)

func TestDST(t *testing.T) {
	for _, c := range []struct {
		date string
		dst  bool
	}{
		{"2025-03-08", false}, {"2025-03-09", true}, {"2025-07-04", true},
		{"2025-11-01", true}, {"2025-11-02", false}, {"2025-12-25", false}, {"2025-01-06", false},
		{"2026-03-07", false}, {"2026-03-08", true}, {"2026-10-31", true}, {"2026-11-01", false},
	} {
		d, _ := time.Parse("2006-01-02", c.date)
		if got := isDST(d.Unix() / 86400); got != c.dst {
			t.Errorf("%s: DST %v, want %v", c.date, got, c.dst)
		}
	}
}

// Times in files are UTC; LocalUnix gives back the local clock they were
// drawn on, in every region and season.
func TestLocalUnixRoundTrip(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	w := NewWorld(Config{Start: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Days: 120}.Normalize(), 0)
	for reg := range regions {
		for _, local := range []int64{
			time.Date(2025, 1, 15, 12, 30, 0, 0, time.UTC).Unix(),
			time.Date(2025, 7, 15, 23, 59, 0, 0, time.UTC).Unix(),
			time.Date(2025, 11, 30, 0, 5, 0, 0, time.UTC).Unix(),
		} {
			rows := []Transaction{{Unix: local, Region: uint8(reg)}}
			w.toUTC(rows)
			if got := LocalUnix(&rows[0]); got != local {
				t.Fatalf("%s: local %d became UTC %d and local %d", regions[reg].Name, local, rows[0].Unix, got)
			}
			if regions[reg].Name == "New York" && ny != nil {
				want := time.Unix(local, 0).UTC().Format("15:04")
				if got := time.Unix(rows[0].Unix, 0).In(ny).Format("15:04"); got != want {
					t.Fatalf("New York: %s UTC reads %s local, want %s", time.Unix(rows[0].Unix, 0).UTC(), got, want)
				}
			}
		}
	}
}
