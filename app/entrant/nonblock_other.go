//go:build !unix

package entrant

// openNonblock is 0 where open() of a special file does not block.
const openNonblock = 0
