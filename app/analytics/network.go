package analytics

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/metastation/metastation/app/bus"
)

// The agent network: every sender and addressee seen on the bus is a node;
// a message from A to B adds to the link A->B; a broadcast (no addressee)
// links its sender to the topic it was published on. Counts are kept in
// one-second buckets over a window of the last seconds.

const buckets = 60 // seconds of history kept per node and link; the window is at most this

// NetworkState is the network's snapshot on analytics.network.state.
type NetworkState struct {
	Time    time.Time  `json:"time"`
	WindowS float64    `json:"window_s"`
	Nodes   []NodeInfo `json:"nodes"`
	Links   []LinkInfo `json:"links"`
	// Messages is how many envelopes the network has seen in all.
	Messages uint64 `json:"messages"`
}

// NodeInfo is one agent.
type NodeInfo struct {
	ID        string `json:"id"`
	Subsystem string `json:"sub"`
	Role      string `json:"role"`
	Showcase  bool   `json:"showcase,omitempty"` // from the seeded showcase population
	Count     int    `json:"n"`                  // messages sent or received in the window
}

// LinkInfo is the traffic from Source to Target in the window.
type LinkInfo struct {
	Source string `json:"s"`
	Target string `json:"t"`
	Count  int    `json:"n"` // messages in the window
	Recent int    `json:"p"` // messages since the previous snapshot (the pulses to draw)
}

// Message is one recent message of an agent, for its details panel.
type Message struct {
	Time  time.Time `json:"time"`
	Topic string    `json:"topic"`
	Kind  string    `json:"kind"`
	From  string    `json:"from"`
	To    string    `json:"to"`
}

// AgentDetail is what the network knows of one agent.
type AgentDetail struct {
	NodeInfo
	Total  uint64     `json:"total"` // messages since the agent first appeared
	First  time.Time  `json:"first_seen"`
	Last   time.Time  `json:"last_seen"`
	Peers  []LinkInfo `json:"peers"`  // links in the window, busiest first
	Recent []Message  `json:"recent"` // newest first
}

type counter struct {
	n     [buckets]int
	stamp [buckets]int64
}

func (c *counter) add(sec int64) {
	i := sec % buckets
	if c.stamp[i] != sec {
		c.stamp[i], c.n[i] = sec, 0
	}
	c.n[i]++
}

// sum counts the last w seconds up to now.
func (c *counter) sum(now int64, w int64) int {
	t := 0
	for i := range c.n {
		if c.stamp[i] > now-w && c.stamp[i] <= now {
			t += c.n[i]
		}
	}
	return t
}

type gnode struct {
	info   NodeInfo
	c      counter
	total  uint64
	first  time.Time
	last   time.Time
	recent [20]Message
	nrec   int
}

type glink struct {
	c       counter
	pending int
	last    time.Time
}

// Graph tracks the agent network. It is safe for concurrent use.
type Graph struct {
	window time.Duration

	mu       sync.Mutex
	nodes    map[string]*gnode
	links    map[[2]string]*glink
	messages uint64
}

// NewGraph returns an empty network counting over window (at most a minute).
func NewGraph(window time.Duration) *Graph {
	window = min(window, buckets*time.Second)
	return &Graph{window: window, nodes: map[string]*gnode{}, links: map[[2]string]*glink{}}
}

// Observe adds one envelope.
func (g *Graph) Observe(e bus.Envelope) {
	if e.From == "" {
		return
	}
	sub, showcase := subsystemOf(e.Topic)
	to := e.To
	toRole := ""
	if to == "" {
		to, toRole = "topic:"+e.Topic, "topic"
	}
	sec := e.Time.Unix()
	msg := Message{Time: e.Time, Topic: e.Topic, Kind: e.Kind, From: e.From, To: e.To}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.messages++
	from := g.node(e.From, sub, roleOf(e.From), showcase, e.Time)
	dst := g.node(to, sub, toRole, showcase, e.Time)
	for _, n := range []*gnode{from, dst} {
		n.c.add(sec)
		n.total++
		n.last = e.Time
		n.recent[n.nrec%len(n.recent)] = msg
		n.nrec++
	}
	k := [2]string{e.From, to}
	l := g.links[k]
	if l == nil {
		l = &glink{}
		g.links[k] = l
	}
	l.c.add(sec)
	l.pending++
	l.last = e.Time
}

func (g *Graph) node(id, sub, role string, showcase bool, t time.Time) *gnode {
	n := g.nodes[id]
	if n == nil {
		if role == "" {
			role = roleOf(id)
		}
		n = &gnode{info: NodeInfo{ID: id, Subsystem: sub, Role: role, Showcase: showcase}, first: t}
		g.nodes[id] = n
	}
	return n
}

// subsystemOf is a topic's first element; showcase topics are
// "showcase.<subsystem>".
func subsystemOf(topic string) (sub string, showcase bool) {
	first, rest, _ := strings.Cut(topic, ".")
	if first == "showcase" {
		sub, _, _ = strings.Cut(rest, ".")
		return sub, true
	}
	return first, false
}

// roleOf is an agent id without its number and prefix:
// "showcase:market-maker-03" -> "market-maker".
func roleOf(id string) string {
	if i := strings.LastIndexByte(id, ':'); i >= 0 {
		id = id[i+1:]
	}
	if i := strings.LastIndexByte(id, '-'); i > 0 && strings.Trim(id[i+1:], "0123456789") == "" {
		id = id[:i]
	}
	return id
}

// Snapshot returns the nodes and links active in the window up to now, and
// resets the pulse counts. Nodes silent for the whole window are left out
// (and forgotten after a minute).
func (g *Graph) Snapshot(now time.Time) NetworkState { return g.snapshot(now, true) }

// Peek is Snapshot without resetting the pulse counts or forgetting anyone.
func (g *Graph) Peek(now time.Time) NetworkState { return g.snapshot(now, false) }

func (g *Graph) snapshot(now time.Time, reset bool) NetworkState {
	sec := now.Unix()
	w := int64(g.window / time.Second)
	g.mu.Lock()
	defer g.mu.Unlock()
	st := NetworkState{Time: now, WindowS: g.window.Seconds(), Messages: g.messages,
		Nodes: []NodeInfo{}, Links: []LinkInfo{}}
	for k, l := range g.links {
		n := l.c.sum(sec, w)
		if n == 0 && l.pending == 0 {
			if reset && now.Sub(l.last) > time.Minute {
				delete(g.links, k)
			}
			continue
		}
		st.Links = append(st.Links, LinkInfo{Source: k[0], Target: k[1], Count: n, Recent: l.pending})
		if reset {
			l.pending = 0
		}
	}
	for id, n := range g.nodes {
		c := n.c.sum(sec, w)
		if c == 0 {
			if reset && now.Sub(n.last) > time.Minute {
				delete(g.nodes, id)
			}
			continue
		}
		info := n.info
		info.Count = c
		st.Nodes = append(st.Nodes, info)
	}
	sort.Slice(st.Nodes, func(i, j int) bool { return st.Nodes[i].ID < st.Nodes[j].ID })
	sort.Slice(st.Links, func(i, j int) bool {
		a, b := st.Links[i], st.Links[j]
		return a.Source < b.Source || a.Source == b.Source && a.Target < b.Target
	})
	return st
}

// Agent returns what the network knows of the agent id.
func (g *Graph) Agent(id string, now time.Time) (AgentDetail, bool) {
	sec := now.Unix()
	w := int64(g.window / time.Second)
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.nodes[id]
	if n == nil {
		return AgentDetail{}, false
	}
	d := AgentDetail{NodeInfo: n.info, Total: n.total, First: n.first, Last: n.last, Peers: []LinkInfo{}, Recent: []Message{}}
	d.Count = n.c.sum(sec, w)
	for k, l := range g.links {
		if k[0] != id && k[1] != id {
			continue
		}
		if c := l.c.sum(sec, w); c > 0 {
			d.Peers = append(d.Peers, LinkInfo{Source: k[0], Target: k[1], Count: c})
		}
	}
	sort.Slice(d.Peers, func(i, j int) bool { return d.Peers[i].Count > d.Peers[j].Count })
	for i := 0; i < min(n.nrec, len(n.recent)); i++ {
		d.Recent = append(d.Recent, n.recent[(n.nrec-1-i)%len(n.recent)])
	}
	return d, true
}
