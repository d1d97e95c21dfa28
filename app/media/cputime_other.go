//go:build !unix

package media

// cpuSeconds is unknown here; the bench then reports no per-CPU figures.
func cpuSeconds() float64 { return 0 }
