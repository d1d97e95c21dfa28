package cluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// FaultNet is the network between in-process nodes, with faults injected
// on request: partitions (no connection across the cut; existing ones are
// cut), delays on every write, and connection drops with a probability per
// write. The zero-fault FaultNet (and a nil one) is a plain TCP dialer.
// Nodes of one test share one FaultNet, keyed by raft address.
type FaultNet struct {
	mu     sync.Mutex
	cut    map[[2]string]bool
	delay  time.Duration
	jitter time.Duration
	drop   float64
	rng    *rand.Rand
	conns  map[*faultConn]struct{}
}

// NewFaultNet returns a fault network with no faults; seed drives the
// drops and jitter.
func NewFaultNet(seed uint64) *FaultNet {
	return &FaultNet{cut: map[[2]string]bool{}, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), conns: map[*faultConn]struct{}{}}
}

// Partition cuts every link between addresses in different groups and
// closes the connections already open across the cut. Addresses in no
// group keep their links.
func (n *FaultNet) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, g := range groups {
		for j, h := range groups {
			if i == j {
				continue
			}
			for _, a := range g {
				for _, b := range h {
					n.cut[[2]string{a, b}] = true
				}
			}
		}
	}
	for c := range n.conns {
		if n.cut[[2]string{c.from, c.to}] {
			c.Conn.Close()
		}
	}
}

// Isolate cuts addr from every other address in all.
func (n *FaultNet) Isolate(addr string, all []string) {
	var rest []string
	for _, a := range all {
		if a != addr {
			rest = append(rest, a)
		}
	}
	n.Partition([]string{addr}, rest)
}

// Heal removes every partition.
func (n *FaultNet) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut = map[[2]string]bool{}
}

// SetDelay delays every write by d plus up to jitter.
func (n *FaultNet) SetDelay(d, jitter time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.delay, n.jitter = d, jitter
}

// SetDrop makes every write cut its connection with probability p.
func (n *FaultNet) SetDrop(p float64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.drop = p
}

// dial connects from to addr unless the link is cut.
func (n *FaultNet) dial(from, to string, timeout time.Duration) (net.Conn, error) {
	if n == nil {
		return net.DialTimeout("tcp", to, timeout)
	}
	n.mu.Lock()
	cut := n.cut[[2]string{from, to}]
	n.mu.Unlock()
	if cut {
		return nil, fmt.Errorf("dial %s: partitioned from %s (fault injection)", to, from)
	}
	c, err := net.DialTimeout("tcp", to, timeout)
	if err != nil {
		return nil, err
	}
	fc := &faultConn{Conn: c, net: n, from: from, to: to}
	n.mu.Lock()
	n.conns[fc] = struct{}{}
	n.mu.Unlock()
	return fc, nil
}

// fault returns the delay to apply to a write and whether to drop it.
func (n *FaultNet) fault(from, to string) (time.Duration, bool, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	d := n.delay
	if n.jitter > 0 {
		d += time.Duration(n.rng.Int64N(int64(n.jitter)))
	}
	return d, n.drop > 0 && n.rng.Float64() < n.drop, n.cut[[2]string{from, to}]
}

type faultConn struct {
	net.Conn
	net      *FaultNet
	from, to string
	once     sync.Once
}

func (c *faultConn) Write(b []byte) (int, error) {
	d, drop, cut := c.net.fault(c.from, c.to)
	if cut || drop {
		c.Close()
		return 0, fmt.Errorf("write to %s: connection cut (fault injection)", c.to)
	}
	if d > 0 {
		time.Sleep(d)
	}
	return c.Conn.Write(b)
}

func (c *faultConn) Close() error {
	c.once.Do(func() {
		c.net.mu.Lock()
		delete(c.net.conns, c)
		c.net.mu.Unlock()
	})
	return c.Conn.Close()
}
