package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/metastation/metastation/app/errs"
)

// ChaosOptions shape a fault run: concurrent clients on every node
// writing and reading registers (alias pointers with compare-and-set, and
// votes) while the leader is killed, partitioned away, and the network
// delays and drops.
type ChaosOptions struct {
	Duration  time.Duration // how long the clients run
	Clients   int
	Keys      int  // alias registers; as many vote registers again
	Kills     bool // kill and restart the leader
	Isolate   bool // partition the leader away from the others, then heal
	Flaky     bool // delay every write 1-6 ms and drop 0.5% of writes
	Seed      uint64
	OpTimeout time.Duration
	// AliasesOnly leaves the vote registers out: against full servers,
	// whose tournaments open and close the votes of real rounds.
	AliasesOnly bool
}

// ChaosReport is what a fault run found.
type ChaosReport struct {
	Ops              int             `json:"ops"`
	Acknowledged     int             `json:"acknowledged_writes"`
	Unknown          int             `json:"unknown_outcome_writes"`
	Rejected         int             `json:"rejected_cas"`
	Linearizable     bool            `json:"linearizable"`
	Check            string          `json:"check"` // porcupine's Ok, Illegal or Unknown (timed out)
	LostAcknowledged int             `json:"lost_acknowledged_writes"`
	SameSequence     bool            `json:"same_applied_sequence"`
	SameState        bool            `json:"same_state_hash"`
	Failovers        []time.Duration `json:"-"`
	Faults           []string        `json:"faults"`
}

// regInput is one operation on a register: get, put or cas.
type regInput struct {
	Op   string
	Key  string
	Want int
	Val  int
}

// regOutput is its outcome: Known false for a write whose outcome is
// unknown (timed out, leader lost); OK for a cas that took effect.
type regOutput struct {
	Known bool
	OK    bool
	Val   int
}

// registerModel is the sequential specification porcupine checks the
// history against: independent integer registers, 0 initially.
var registerModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(regInput).Key
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() any { return 0 },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(int), input.(regInput), output.(regOutput)
		switch in.Op {
		case "get":
			return out.Val == s, s
		case "put":
			return true, in.Val
		case "del": // an alias removal: refused (not found) when there is none
			if !out.Known {
				return true, 0
			}
			if out.OK {
				return s != 0, 0
			}
			return s == 0, s
		case "cas":
			if !out.Known { // it took effect or it did not: either is legal
				if s == in.Want {
					return true, in.Val
				}
				return true, s
			}
			if out.OK {
				return s == in.Want, in.Val
			}
			return s != in.Want, s
		}
		return false, s
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(regInput), output.(regOutput)
		switch in.Op {
		case "get":
			return fmt.Sprintf("get(%s) -> %d", in.Key, out.Val)
		case "put":
			return fmt.Sprintf("put(%s, %d) known=%v", in.Key, in.Val, out.Known)
		case "del":
			return fmt.Sprintf("del(%s) -> ok=%v known=%v", in.Key, out.OK, out.Known)
		}
		return fmt.Sprintf("cas(%s, %d, %d) -> ok=%v known=%v", in.Key, in.Want, in.Val, out.OK, out.Known)
	},
}

// acked is an acknowledged write.
type acked struct {
	id    string
	index uint64
}

// Target is what a chaos client writes to and reads from: a node, or a
// Client of a cluster of processes.
type Target interface {
	Apply(ctx context.Context, c Command) (Result, error)
	ReadConsistent(ctx context.Context, q Query) (Answer, error)
}

// ReadConsistent is Read with consistent set (a Target).
func (n *Node) ReadConsistent(ctx context.Context, q Query) (Answer, error) {
	return n.Read(ctx, true, q)
}

// ReadConsistent is Read (a Target).
func (c *Client) ReadConsistent(ctx context.Context, q Query) (Answer, error) { return c.Read(ctx, q) }

// History records the operations of concurrent clients for porcupine.
type History struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
	acks  []acked
}

// NewHistory starts an empty history; times are measured from now.
func NewHistory() *History { return &History{start: time.Now()} }

func (h *History) now() int64 { return time.Since(h.start).Nanoseconds() }

// Run runs o.Clients clients until stop closes; pick gives client k's
// target for its next operation (nil: none is up, wait). It returns when
// they have all stopped.
func (h *History) Run(ctx context.Context, stop <-chan struct{}, o ChaosOptions, pick func(k int) Target) {
	if o.Clients < 1 {
		o.Clients = 6
	}
	if o.Keys < 1 {
		o.Keys = 3
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = time.Second
	}
	var wg sync.WaitGroup
	for ci := range o.Clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(o.Seed, uint64(ci)+1))
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				t := pick(ci + seq)
				if t == nil {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				op, ack, rec := h.clientOp(ctx, t, rng, ci, seq, o)
				if !rec {
					continue
				}
				h.mu.Lock()
				h.ops = append(h.ops, op)
				if ack != nil {
					h.acks = append(h.acks, *ack)
				}
				h.mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// Check runs porcupine on the history and fills the report's counts.
// Writes whose outcome is unknown may take effect at any time after their
// call: they return "at infinity".
func (h *History) Check(rep *ChaosReport) {
	h.mu.Lock()
	defer h.mu.Unlock()
	end := h.now()
	ops := slices.Clone(h.ops)
	for i := range ops {
		if ops[i].Return < 0 {
			ops[i].Return = end + int64(time.Hour)
		}
	}
	rep.Ops = len(ops)
	rep.Acknowledged = len(h.acks)
	for _, op := range ops {
		in, out := op.Input.(regInput), op.Output.(regOutput)
		if in.Op != "get" && !out.Known {
			rep.Unknown++
		}
		if (in.Op == "cas" || in.Op == "del") && out.Known && !out.OK {
			rep.Rejected++
		}
	}
	res, _ := porcupine.CheckOperationsVerbose(registerModel, ops, 60*time.Second)
	rep.Check = string(res)
	rep.Linearizable = res == porcupine.Ok
}

// Missing counts the acknowledged writes that seen does not hold at the
// index they were acknowledged at.
func (h *History) Missing(seen func(id string) (Result, bool)) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, a := range h.acks {
		if r, ok := seen(a.id); !ok || r.Index != a.index {
			n++
		}
	}
	return n
}

// RunChaos runs the clients and the fault schedule on c, then heals the
// network, restarts every node, waits for them to converge and checks:
// the history is linearizable (porcupine), every acknowledged write is in
// every node's applied state at the index it was acknowledged at, and the
// applied sequences and state hashes are identical.
func RunChaos(ctx context.Context, c *LocalCluster, o ChaosOptions) (ChaosReport, error) {
	var rep ChaosReport
	h := NewHistory()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx, stop, o, func(k int) Target {
			if n := pickNode(c, k); n != nil {
				return n
			}
			return nil
		})
	}()
	faultErr := runFaults(ctx, c, o, &rep, h.start)
	close(stop)
	<-done
	if faultErr != nil {
		return rep, faultErr
	}
	h.Check(&rep)

	// Heal and restart, then the invariants.
	c.Net.Heal()
	c.Net.SetDelay(0, 0)
	c.Net.SetDrop(0)
	for i := range c.Len() {
		if c.Node(i) == nil {
			if err := c.Start(i); err != nil {
				return rep, err
			}
		}
	}
	if err := c.WaitConverged(ctx, 30*time.Second); err != nil {
		return rep, fmt.Errorf("after the fault run: %w", err)
	}
	hashes, chains := map[string]bool{}, map[string]bool{}
	var total uint64
	for _, n := range c.Live() {
		n.View(func(s *State) {
			hashes[s.Hash()], chains[s.Chain] = true, true
			total = s.Count
			rep.LostAcknowledged += h.Missing(func(id string) (Result, bool) { r, ok := s.Seen[id]; return r, ok })
		})
	}
	if total > MaxDedupe {
		return rep, fmt.Errorf("the run applied %d commands, more than the %d ids the state remembers; shorten it to check every acknowledged write", total, MaxDedupe)
	}
	rep.SameState, rep.SameSequence = len(hashes) == 1, len(chains) == 1
	return rep, nil
}

// pickNode spreads the clients over the running nodes.
func pickNode(c *LocalCluster, k int) *Node {
	for j := range c.Len() {
		if n := c.Node((k + j) % c.Len()); n != nil {
			return n
		}
	}
	return nil
}

// clientOp runs one random operation on t and returns it as a history
// entry (rec false: a failed read, which is left out).
func (h *History) clientOp(ctx context.Context, t Target, rng *rand.Rand, ci, seq int, o ChaosOptions) (porcupine.Operation, *acked, bool) {
	ctx, cancel := context.WithTimeout(ctx, o.OpTimeout)
	defer cancel()
	vote := rng.IntN(2) == 0 && !o.AliasesOnly
	k := rng.IntN(o.Keys)
	key := "alias/" + strconv.Itoa(k)
	if vote {
		key = "vote/" + strconv.Itoa(k)
	}
	in := regInput{Key: key, Val: rng.IntN(8) + 1}
	switch r := rng.IntN(20); {
	case r < 8:
		in.Op = "get"
	case r < 14 || vote:
		in.Op = "put"
	case r < 18:
		in.Op, in.Want = "cas", rng.IntN(9)
	default:
		in.Op = "del" // the model registry's DeleteAlias
	}
	id := fmt.Sprintf("c%d-%d-%d", ci, seq, h.start.UnixNano())
	op := porcupine.Operation{ClientId: ci, Input: in, Call: h.now()}
	if in.Op == "get" {
		q := Query{Kind: QueryAlias, Model: "chaos", Alias: strconv.Itoa(k)}
		if vote {
			q = Query{Kind: QueryVote, Round: 1, Voter: strconv.Itoa(k)}
		}
		a, err := t.ReadConsistent(ctx, q)
		if err != nil {
			return op, nil, false
		}
		op.Return = h.now()
		v := a.Version
		if vote {
			v, _ = strconv.Atoi(strings.TrimPrefix(a.Strategy, "s"))
		}
		op.Output = regOutput{Known: true, Val: v}
		return op, nil, true
	}
	c := Command{ID: id, Kind: KindVote, Vote: &Vote{Round: 1, Voter: strconv.Itoa(k), Strategy: "s" + strconv.Itoa(in.Val)}}
	if !vote {
		m := AliasMove{Model: "chaos", Alias: strconv.Itoa(k), Version: in.Val}
		switch in.Op {
		case "cas":
			m.HasIf, m.IfVersion = true, in.Want
		case "del":
			m.Version, m.Remove = 0, true
		}
		c = Command{ID: id, Kind: KindAlias, Alias: &m}
	}
	res, err := t.Apply(ctx, c)
	switch {
	case err == nil:
		op.Return = h.now()
		op.Output = regOutput{Known: true, OK: true}
		return op, &acked{id: id, index: res.Index}, true
	case (errs.Is(err, errs.Conflict) || in.Op == "del" && errs.Is(err, errs.NotFound)) && res.Outcome == OutcomeRejected:
		op.Return = h.now()
		op.Output = regOutput{Known: true, OK: false}
		return op, &acked{id: id, index: res.Index}, true
	default:
		op.Return = -1 // unknown: fixed up to "infinity" in Check
		op.Output = regOutput{Known: false}
		return op, nil, true
	}
}

// runFaults runs the fault schedule until o.Duration has passed: kill the
// leader and restart it, isolate the leader and heal, a flaky network.
func runFaults(ctx context.Context, c *LocalCluster, o ChaosOptions, rep *ChaosReport, start time.Time) error {
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return time.Since(start) < o.Duration
		}
	}
	note := func(format string, args ...any) {
		rep.Faults = append(rep.Faults, fmt.Sprintf("%6.2fs ", time.Since(start).Seconds())+fmt.Sprintf(format, args...))
	}
	for sleep(300 * time.Millisecond) {
		if o.Kills {
			l, err := c.Leader(ctx, 30*time.Second)
			if err != nil {
				return err
			}
			i := c.Index(l)
			t0 := time.Now()
			c.Stop(i)
			nl, err := c.Leader(ctx, 30*time.Second)
			if err != nil {
				return fmt.Errorf("after killing %s: %w", l.ID(), err)
			}
			rep.Failovers = append(rep.Failovers, time.Since(t0))
			note("killed leader %s; %s leads after %s", l.ID(), nl.ID(), time.Since(t0).Round(time.Millisecond))
			if !sleep(300 * time.Millisecond) {
				return c.Start(i)
			}
			if err := c.Start(i); err != nil {
				return err
			}
			note("restarted %s", l.ID())
			if !sleep(300 * time.Millisecond) {
				return nil
			}
		}
		if o.Isolate {
			l, err := c.Leader(ctx, 30*time.Second)
			if err != nil {
				return err
			}
			c.Net.Isolate(l.Addr(), c.Addrs())
			note("isolated leader %s", l.ID())
			ok := sleep(500 * time.Millisecond)
			c.Net.Heal()
			note("healed")
			if !ok || !sleep(300*time.Millisecond) {
				return nil
			}
		}
		if o.Flaky {
			c.Net.SetDelay(time.Millisecond, 5*time.Millisecond)
			c.Net.SetDrop(0.005)
			note("flaky network: 1-6 ms delays, 0.5%% drops")
			ok := sleep(500 * time.Millisecond)
			c.Net.SetDelay(0, 0)
			c.Net.SetDrop(0)
			note("network steady")
			if !ok {
				return nil
			}
		}
		if !o.Kills && !o.Isolate && !o.Flaky && time.Since(start) >= o.Duration {
			return nil
		}
	}
	return ctx.Err()
}
