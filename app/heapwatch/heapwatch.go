// Package heapwatch measures the peak live heap of a piece of work, for the
// benches that report memory (synthetic data, media ingestion).
package heapwatch

import (
	rtmetrics "runtime/metrics"
	"sync"
	"time"
)

// Bytes is the live heap now: the bytes of heap objects, reachable or not
// yet swept.
func Bytes() float64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(s)
	return float64(s[0].Value.Uint64())
}

// Start samples the live heap every period until the returned function is
// called, which stops the sampling and returns the peak in bytes (at least
// the heap at Start).
func Start(period time.Duration) (stop func() float64) {
	var mu sync.Mutex
	peak := Bytes()
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			v := Bytes()
			mu.Lock()
			peak = max(peak, v)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		<-stopped
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
