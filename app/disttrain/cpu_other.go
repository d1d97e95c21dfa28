//go:build !unix

package disttrain

// processCPU cannot be read here.
func processCPU() (float64, bool) { return 0, false }
