//go:build !(linux || darwin)

package synth

// FreeBytes cannot tell the free space on this system.
func FreeBytes(dir string) (uint64, bool) { return 0, false }
