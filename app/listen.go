package app

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// listen binds addr, or when its port is busy the next free one of the
// following 20. Port 0 picks any free port.
func listen(addr string) (net.Listener, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("address %q: bad port", addr)
	}
	tries := 21
	if port == 0 {
		tries = 1
	}
	var lastErr error
	for i := 0; i < tries && port+i <= 65535; i++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port+i)))
		if err == nil {
			return ln, nil
		}
		lastErr = err
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	return nil, fmt.Errorf("listen on %s: %w", addr, lastErr)
}
