//go:build unix

package entrant

import "syscall"

// openNonblock makes open() return at once on a FIFO or device swapped in
// between the check and the open; regular files ignore it.
const openNonblock = syscall.O_NONBLOCK
