//go:build unix

package media

import "syscall"

// cpuSeconds is the CPU time the process has used (user and system): the
// bench divides by it too, since wall time on a shared machine measures
// the neighbours as much as the code.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
