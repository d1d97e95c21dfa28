package synth

import (
	"context"
	"sync"
)

// ordered generates items 0..n-1 on up to workers goroutines and hands them
// to emit in index order, on the caller's goroutine. At most 2*workers items
// are held at once, so memory stays constant however large n is. It stops at
// the first error of emit or when ctx ends.
func ordered[T any](ctx context.Context, workers, n int, gen func(i int) T, emit func(i int, v T) error) error {
	workers = max(1, min(workers, n))
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type result struct {
		i int
		v T
	}
	window := 2 * workers
	tokens := make(chan struct{}, window) // one per item generated but not yet emitted
	jobs := make(chan int)
	results := make(chan result, window)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // dispatcher
		defer wg.Done()
		defer close(jobs)
		for i := range n {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var workersWG sync.WaitGroup
	for range workers {
		workersWG.Add(1)
		go func() {
			defer workersWG.Done()
			for i := range jobs {
				v := gen(i)
				select {
				case results <- result{i, v}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		workersWG.Wait()
		close(results)
	}()

	pending := make(map[int]T, window)
	next := 0
	var err error
	for next < n && err == nil {
		r, ok := <-results
		if !ok {
			break
		}
		pending[r.i] = r.v
		for ctx.Err() == nil {
			v, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			if err = emit(next, v); err != nil {
				break
			}
			next++
			<-tokens
		}
	}
	cancel()
	for range results { // let the workers finish
	}
	wg.Wait()
	if err != nil {
		return err
	}
	if next < n {
		if err := parent.Err(); err != nil {
			return err
		}
		return context.Canceled
	}
	return nil
}
