//go:build !windows

package cli

import "os"

// Console returns the process's standard output and error; only Windows
// GUI builds need more (console_windows.go).
func Console() (stdout, stderr *os.File) { return os.Stdout, os.Stderr }
