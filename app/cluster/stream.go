package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// The first byte a dialer sends after the TLS handshake says what the
// connection carries: raft RPCs or forwarded requests. One port per node.
const (
	connRaft    byte = 'R'
	connForward byte = 'F'
)

// handshakeTimeout bounds a TLS handshake and the kind byte.
const handshakeTimeout = 5 * time.Second

// mux is a node's listener: it authenticates every connection by TLS with
// the cluster key, then hands raft connections to raft's NetworkTransport
// (it is the transport's StreamLayer) and forwarded requests to forward.
type mux struct {
	ln      net.Listener
	advert  net.Addr
	keys    *keys
	fault   *FaultNet
	log     *slog.Logger
	forward func(net.Conn)

	raftCh  chan net.Conn
	done    chan struct{}
	once    sync.Once
	refused atomic.Uint64 // connections refused at the handshake

	mu    sync.Mutex
	conns map[net.Conn]struct{} // accepted, closed on Close
}

var _ raft.StreamLayer = (*mux)(nil)

func newMux(ln net.Listener, advert net.Addr, k *keys, fault *FaultNet, log *slog.Logger) *mux {
	return &mux{ln: ln, advert: advert, keys: k, fault: fault, log: log,
		raftCh: make(chan net.Conn), done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
}

// serve accepts connections until the listener closes.
func (m *mux) serve() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			m.log.Error("cluster: accept", "err", err)
			return
		}
		go m.handle(c)
	}
}

func (m *mux) track(c net.Conn, on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if on {
		m.conns[c] = struct{}{}
	} else {
		delete(m.conns, c)
	}
}

// handle authenticates c and routes it by its kind byte.
func (m *mux) handle(raw net.Conn) {
	c := tls.Server(raw, m.keys.serverTLS())
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	var kind [1]byte
	if err := c.Handshake(); err != nil {
		m.refused.Add(1)
		m.log.Warn("cluster: refused a connection that failed the cluster handshake (wrong or missing secret?)", "remote", raw.RemoteAddr().String(), "err", err)
		raw.Close()
		return
	}
	if _, err := io.ReadFull(c, kind[:]); err != nil {
		c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	switch kind[0] {
	case connRaft:
		m.track(c, true)
		select {
		case m.raftCh <- c:
		case <-m.done:
			c.Close()
		}
	case connForward:
		m.track(c, true)
		defer m.track(c, false)
		defer c.Close()
		m.forward(c)
	default:
		m.log.Warn("cluster: unknown connection kind", "remote", raw.RemoteAddr().String(), "kind", kind[0])
		c.Close()
	}
}

// Accept returns the next authenticated raft connection.
func (m *mux) Accept() (net.Conn, error) {
	select {
	case c := <-m.raftCh:
		return c, nil
	case <-m.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes the accepted connections.
func (m *mux) Close() error {
	var err error
	m.once.Do(func() {
		close(m.done)
		err = m.ln.Close()
		m.mu.Lock()
		for c := range m.conns {
			c.Close()
		}
		m.mu.Unlock()
	})
	return err
}

// Addr is the advertised address (what peers dial).
func (m *mux) Addr() net.Addr { return m.advert }

// Dial opens an authenticated raft connection to address.
func (m *mux) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return m.dial(string(address), timeout, connRaft)
}

// dial connects to address through the fault network, runs the TLS
// handshake and sends the kind byte.
func (m *mux) dial(address string, timeout time.Duration, kind byte) (net.Conn, error) {
	select {
	case <-m.done:
		return nil, net.ErrClosed
	default:
	}
	return dialCluster(m.keys, m.fault, m.advert.String(), address, timeout, kind)
}

// dialCluster opens an authenticated connection of kind to address.
func dialCluster(k *keys, fault *FaultNet, from, address string, timeout time.Duration, kind byte) (net.Conn, error) {
	raw, err := fault.dial(from, address, timeout)
	if err != nil {
		return nil, err
	}
	c := tls.Client(raw, k.clientTLS())
	_ = c.SetDeadline(time.Now().Add(min(timeout, handshakeTimeout)))
	if err := c.Handshake(); err != nil {
		raw.Close()
		return nil, fmt.Errorf("cluster handshake with %s (is the cluster secret the same?): %w", address, err)
	}
	if _, err := c.Write([]byte{kind}); err != nil {
		c.Close()
		return nil, fmt.Errorf("write to %s: %w", address, err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}
