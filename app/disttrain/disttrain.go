// Package disttrain spreads the rollouts of a sharded PPO run
// (rl.PPOConfig.Shards, rl.RunSpec.Cluster) over the nodes of a raft
// cluster. The node where the run trains is its learner; every member is a
// worker. For each update the learner publishes the policy version (the
// encoded networks and their SHA-256) to every other member over the
// authenticated node-to-node channel (cluster.Node.Call — bulk, so not in
// the raft log), then hands out work orders, one shard at a time, from one
// queue: each member collects a shard with exactly that policy version and
// ships the rollout back. The learner's own worker takes shards from the
// same queue. A member that fails (down, cut off, too slow, another build,
// a malformed answer) puts its shard back in the queue, where the next
// free node — the learner's own worker included — takes it; the failed
// member is left out for RetryAfter. A shard's rollout does not depend on
// who collects it, so the learner updates on the same batch, to the bit,
// as a single-node run of the same seed and budget.
package disttrain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metastation/metastation/app/cluster"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/nn"
	"github.com/metastation/metastation/app/rl"
)

// The services a worker registers on its node.
const (
	servicePolicy  = "disttrain.policy"
	serviceRollout = "disttrain.rollout"
)

// Defaults of Config.
const (
	DefaultShardTimeout = 60 * time.Second
	DefaultRetryAfter   = 10 * time.Second
)

// keptPolicies is how many policy versions a worker keeps (a learner
// publishes one per update; two runs may train at once on a cluster).
const keptPolicies = 4

// Config sets up a node's trainer.
type Config struct {
	Node *cluster.Node
	// Build names this binary (commit and modification state). A worker
	// refuses orders from a learner of another build: its rollouts could
	// differ, and the learner would not know.
	Build string
	// ShardTimeout is how long the learner waits for one shard from a
	// member before it gives the shard to another node.
	ShardTimeout time.Duration
	// RetryAfter is how long a member that failed is left out.
	RetryAfter time.Duration
	// RemoteOnly keeps the learner's own worker idle while another member
	// can collect (tests: every shard then goes over the network).
	RemoteOnly bool
	Log        *slog.Logger

	// beforeRollout, in tests, runs on the worker before it collects.
	beforeRollout func(o rl.ShardOrder)
}

// Trainer is both sides on one node: the worker that answers other
// learners' orders, and the rl.Collector of runs that learn here.
type Trainer struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	policies map[string][]byte // hash → encoded policy version
	kept     []string          // hashes, oldest first
	out      map[string]time.Time
	stats    Stats
}

// Stats count what the learner's collections did.
type Stats struct {
	Updates    int            `json:"updates"`
	Shards     int            `json:"shards"`     // shards collected
	Remote     int            `json:"remote"`     // of them by other members
	Reassigned int            `json:"reassigned"` // shards given to another node after a member failed
	ByNode     map[string]int `json:"by_node"`    // shards per collecting node
	Served     int            `json:"served"`     // shards this node collected for other learners
	// Mean wall time of a shard collected by the learner's own worker, and
	// of a member's shard from order to checked answer (collection, the
	// policy decode, encoding, TLS, the round trip).
	LocalShardMs  float64 `json:"local_shard_ms"`
	RemoteShardMs float64 `json:"remote_shard_ms"`

	localSum, remoteSum time.Duration
}

var _ rl.Collector = (*Trainer)(nil)

// New builds the trainer and registers its worker on the node.
func New(cfg Config) *Trainer {
	if cfg.ShardTimeout <= 0 {
		cfg.ShardTimeout = DefaultShardTimeout
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	t := &Trainer{cfg: cfg, log: cfg.Log, policies: map[string][]byte{}, out: map[string]time.Time{}, stats: Stats{ByNode: map[string]int{}}}
	cfg.Node.Handle(servicePolicy, t.servePolicy)
	cfg.Node.Handle(serviceRollout, t.serveRollout)
	return t
}

// Stats returns a copy of the counters.
func (t *Trainer) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	if local := s.Shards - s.Remote; local > 0 {
		s.LocalShardMs = float64(s.localSum.Microseconds()) / 1e3 / float64(local)
	}
	if s.Remote > 0 {
		s.RemoteShardMs = float64(s.remoteSum.Microseconds()) / 1e3 / float64(s.Remote)
	}
	s.ByNode = map[string]int{}
	for k, v := range t.stats.ByNode {
		s.ByNode[k] = v
	}
	return s
}

// The wire messages, gob inside nn's versioned envelope.
type policyMsg struct {
	Version int
	Hash    string
	Bytes   []byte
}

type orderMsg struct {
	Build string
	Order rl.ShardOrder
}

const wireVersion = 1

func encode(kind string, v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := nn.Encode(&buf, kind, wireVersion, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decode(kind string, b []byte, v any) error {
	if err := nn.Decode(bytes.NewReader(b), kind, wireVersion, v); err != nil {
		return errs.Errorf(errs.Invalid, "%w", err)
	}
	return nil
}

// servePolicy keeps a published policy version.
func (t *Trainer) servePolicy(_ context.Context, body []byte) ([]byte, error) {
	var m policyMsg
	if err := decode(servicePolicy, body, &m); err != nil {
		return nil, err
	}
	// The hash is checked here, the contents when an order decodes them.
	if sum := sha256.Sum256(m.Bytes); hex.EncodeToString(sum[:]) != m.Hash {
		return nil, errs.Errorf(errs.Invalid, "policy version %d: the bytes do not match their hash", m.Version)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.policies[m.Hash]; !ok {
		t.policies[m.Hash] = m.Bytes
		t.kept = append(t.kept, m.Hash)
		if len(t.kept) > keptPolicies {
			delete(t.policies, t.kept[0])
			t.kept = t.kept[1:]
		}
	}
	return nil, nil
}

// serveRollout collects one shard with a policy version published before.
func (t *Trainer) serveRollout(_ context.Context, body []byte) ([]byte, error) {
	var m orderMsg
	if err := decode(serviceRollout, body, &m); err != nil {
		return nil, err
	}
	if m.Build != t.cfg.Build {
		return nil, errs.Errorf(errs.Conflict, "node %s runs build %q, the learner %q: its rollouts could differ", t.cfg.Node.ID(), t.cfg.Build, m.Build)
	}
	t.mu.Lock()
	b, ok := t.policies[m.Order.Hash]
	t.mu.Unlock()
	if !ok {
		return nil, errs.Errorf(errs.NotFound, "node %s does not hold policy version %d", t.cfg.Node.ID(), m.Order.Version)
	}
	sp, err := rl.DecodePolicy(rl.PolicyVersion{Version: m.Order.Version, Hash: m.Order.Hash, Bytes: b})
	if err != nil {
		return nil, err
	}
	if t.cfg.beforeRollout != nil {
		t.cfg.beforeRollout(m.Order)
	}
	r, err := sp.Collect(m.Order)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "%w", err)
	}
	r.Node = t.cfg.Node.ID()
	out, err := encode(serviceRollout, r)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.stats.Served++
	t.mu.Unlock()
	return out, nil
}

// workers are the members to ask: every other member not left out.
func (t *Trainer) workers() []cluster.Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []cluster.Peer
	for _, p := range t.cfg.Node.Peers() {
		if p.ID == t.cfg.Node.ID() || time.Now().Before(t.out[p.ID]) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// leaveOut skips a failed member for RetryAfter.
func (t *Trainer) leaveOut(p cluster.Peer, err error) {
	t.mu.Lock()
	t.out[p.ID] = time.Now().Add(t.cfg.RetryAfter)
	t.mu.Unlock()
	t.log.Warn("disttrain: a member failed; its shards go to the other nodes", "member", p.ID, "retry_after", t.cfg.RetryAfter, "err", err)
}

// collection is one update's shards being collected.
type collection struct {
	orders  []rl.ShardOrder
	todo    chan int
	mu      sync.Mutex
	results []rl.ShardRollout
	have    []bool
	left    int
	done    chan struct{} // closed when every shard is in
}

func newCollection(orders []rl.ShardOrder) *collection {
	c := &collection{orders: orders, todo: make(chan int, len(orders)), results: make([]rl.ShardRollout, len(orders)),
		have: make([]bool, len(orders)), left: len(orders), done: make(chan struct{})}
	for j := range orders {
		c.todo <- j
	}
	return c
}

// take returns the next shard to collect; false once all are in or ctx ends.
func (c *collection) take(ctx context.Context) (int, bool) {
	select {
	case <-c.done:
		return 0, false
	default:
	}
	select {
	case j := <-c.todo:
		return j, true
	case <-c.done:
		return 0, false
	case <-ctx.Done():
		return 0, false
	}
}

func (c *collection) deliver(j int, r rl.ShardRollout) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.have[j] {
		return
	}
	c.results[j], c.have[j] = r, true
	if c.left--; c.left == 0 {
		close(c.done)
	}
}

// Collect gathers the shards of one update from the members and this node.
func (t *Trainer) Collect(ctx context.Context, pv rl.PolicyVersion, orders []rl.ShardOrder) ([]rl.ShardRollout, error) {
	sp, err := rl.DecodePolicy(pv)
	if err != nil {
		return nil, err
	}
	pub, err := encode(servicePolicy, policyMsg{Version: pv.Version, Hash: pv.Hash, Bytes: pv.Bytes})
	if err != nil {
		return nil, err
	}
	peers := t.workers()
	if len(pub) > cluster.MaxCallBody {
		t.log.Warn("disttrain: the policy is too large for the node-to-node channel; collecting every shard here",
			"bytes", len(pub), "cap", cluster.MaxCallBody)
		peers = nil
	}
	c := newCollection(orders)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	var reassigned atomic.Int64
	remotes := atomic.Int64{}
	remotes.Store(int64(len(peers)))
	noRemote := make(chan struct{})
	if len(peers) == 0 {
		close(noRemote)
	}
	for _, p := range peers {
		wg.Go(func() {
			defer func() {
				if remotes.Add(-1) == 0 {
					close(noRemote)
				}
			}()
			t.remote(cctx, c, p, pub, &reassigned)
		})
	}
	var localErr error
	wg.Go(func() {
		if t.cfg.RemoteOnly {
			select {
			case <-noRemote:
			case <-c.done:
				return
			case <-cctx.Done():
				return
			}
		}
		for {
			j, ok := c.take(cctx)
			if !ok {
				return
			}
			start := time.Now()
			r, err := sp.Collect(orders[j])
			if err != nil {
				localErr = err
				cancel()
				return
			}
			r.Node = t.cfg.Node.ID()
			t.addTime(&t.stats.localSum, time.Since(start))
			c.deliver(j, r)
		}
	})
	select {
	case <-c.done:
	case <-cctx.Done():
	}
	cancel()
	wg.Wait()
	if localErr != nil {
		return nil, localErr
	}
	select {
	case <-c.done:
	default:
		return nil, ctx.Err()
	}
	t.mu.Lock()
	t.stats.Updates++
	t.stats.Reassigned += int(reassigned.Load())
	for _, r := range c.results {
		t.stats.Shards++
		t.stats.ByNode[r.Node]++
		if r.Node != t.cfg.Node.ID() {
			t.stats.Remote++
		}
	}
	t.mu.Unlock()
	return c.results, nil
}

// remote publishes the policy to member p, then collects shards there
// until none is left; on a failure the shard goes back to the queue.
func (t *Trainer) remote(ctx context.Context, c *collection, p cluster.Peer, pub []byte, reassigned *atomic.Int64) {
	publish := func() error {
		pctx, cancel := context.WithTimeout(ctx, t.cfg.ShardTimeout)
		defer cancel()
		_, err := t.cfg.Node.Call(pctx, p.Addr, servicePolicy, pub)
		return err
	}
	if err := publish(); err != nil {
		if ctx.Err() == nil {
			t.leaveOut(p, fmt.Errorf("publish the policy: %w", err))
		}
		return
	}
	for {
		j, ok := c.take(ctx)
		if !ok {
			return
		}
		start := time.Now()
		r, err := t.order(ctx, p, c.orders[j])
		if errs.CodeOf(err) == errs.NotFound { // restarted since the publish
			if err = publish(); err == nil {
				r, err = t.order(ctx, p, c.orders[j])
			}
		}
		if err != nil {
			c.todo <- j // never full: a shard is in the queue or held, not both
			if ctx.Err() != nil {
				return
			}
			reassigned.Add(1)
			t.leaveOut(p, fmt.Errorf("shard %d: %w", j, err))
			return
		}
		t.addTime(&t.stats.remoteSum, time.Since(start))
		c.deliver(j, r)
	}
}

func (t *Trainer) addTime(sum *time.Duration, d time.Duration) {
	t.mu.Lock()
	*sum += d
	t.mu.Unlock()
}

// order asks member p for one shard and checks the answer.
func (t *Trainer) order(ctx context.Context, p cluster.Peer, o rl.ShardOrder) (rl.ShardRollout, error) {
	body, err := encode(serviceRollout, orderMsg{Build: t.cfg.Build, Order: o})
	if err != nil {
		return rl.ShardRollout{}, err
	}
	octx, cancel := context.WithTimeout(ctx, t.cfg.ShardTimeout)
	defer cancel()
	ans, err := t.cfg.Node.Call(octx, p.Addr, serviceRollout, body)
	if err != nil {
		return rl.ShardRollout{}, err
	}
	var r rl.ShardRollout
	if err := decode(serviceRollout, ans, &r); err != nil {
		return rl.ShardRollout{}, err
	}
	if err := o.Check(r); err != nil {
		return rl.ShardRollout{}, errors.Join(errs.Errorf(errs.Invalid, "member %s answered a malformed shard", p.ID), err)
	}
	return r, nil
}
