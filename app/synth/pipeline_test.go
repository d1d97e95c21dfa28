package synth

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

func TestOrderedInOrderAndStops(t *testing.T) {
	var got []int
	err := ordered(context.Background(), 4, 100,
		func(i int) int {
			time.Sleep(time.Duration((i*7)%5) * 100 * time.Microsecond) // finish out of order
			return i * i
		},
		func(i, v int) error {
			if v != i*i {
				t.Errorf("item %d carries %d", i, v)
			}
			got = append(got, i)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	for k, i := range got {
		if i != k {
			t.Fatalf("emitted %v", got)
		}
	}
	if len(got) != 100 {
		t.Fatalf("emitted %d items", len(got))
	}

	before := runtime.NumGoroutine()
	boom := errors.New("boom")
	n := 0
	err = ordered(context.Background(), 4, 1000, func(i int) int { return i }, func(i, v int) error {
		if n++; n == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 10 {
		t.Fatalf("got %v after %d items, want boom after 10", err, n)
	}
	time.Sleep(20 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("%d goroutines before, %d after: a worker leaked", before, after)
	}
}
