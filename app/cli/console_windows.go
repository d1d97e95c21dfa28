//go:build windows

package cli

import (
	"os"
	"syscall"
)

// Console returns the process's standard output and error. Release builds
// for Windows are GUI-subsystem binaries (-H windowsgui), so a double-click
// opens no console window; started from a terminal, such a binary has no
// standard handles either, so it attaches to its parent's console and
// writes there (`metastation version` in cmd.exe prints). Double-clicked,
// there is no console and serve logs to the data directory (openLog).
func Console() (stdout, stderr *os.File) {
	if usable(os.Stderr) {
		return os.Stdout, os.Stderr // a console build, or redirected output
	}
	const attachParentProcess = ^uintptr(0) // (DWORD)-1
	attach := syscall.NewLazyDLL("kernel32.dll").NewProc("AttachConsole")
	if r, _, _ := attach.Call(attachParentProcess); r == 0 {
		return os.Stdout, os.Stderr // no parent console: double-clicked
	}
	out, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0)
	if err != nil {
		return os.Stdout, os.Stderr
	}
	return out, out
}
