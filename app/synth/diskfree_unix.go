//go:build linux || darwin

package synth

import "syscall"

// FreeBytes returns the bytes free to an unprivileged user on the file
// system holding dir, and whether it could tell.
func FreeBytes(dir string) (uint64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
