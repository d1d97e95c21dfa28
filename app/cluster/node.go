package cluster

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/metastation/metastation/app/errs"
)

// Node is one member of the cluster: raft, its stores, its transport and
// the state machine.
type Node struct {
	cfg   Config
	keys  *keys
	fsm   *fsm
	mux   *mux
	trans *raft.NetworkTransport
	bolt  *raftboltdb.BoltStore
	raft  *raft.Raft
	fwd   *forwarder
	log   *slog.Logger

	ready     atomic.Bool // Open has finished: forwarded requests may use raft
	closeOnce sync.Once
	closeErr  error

	handlersMu sync.Mutex
	handlers   map[string]Handler // services other nodes may Call
}

// Open starts a node: it opens (or creates) the raft stores under the data
// directory, listens on the raft address and, when asked to and the
// directory is new, bootstraps the cluster.
func Open(cfg Config) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	k, err := deriveKeys(cfg.Secret)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create raft directory: %w", err)
	}
	n := &Node{cfg: cfg, keys: k, log: cfg.Logger.With("node", cfg.NodeID)}
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: slogWriter{n.log}})

	ln, err := net.Listen("tcp", cfg.RaftAddr)
	if err != nil {
		return nil, errs.Errorf(errs.Unavailable, "cannot listen on raft address %s: %w", cfg.RaftAddr, err)
	}
	var advert net.Addr = ln.Addr()
	if cfg.Advertise != "" {
		a, err := net.ResolveTCPAddr("tcp", cfg.Advertise)
		if err != nil {
			ln.Close()
			return nil, errs.Errorf(errs.Invalid, "the advertised raft address %q does not resolve: %w", cfg.Advertise, err)
		}
		advert = a
	}
	n.mux = newMux(ln, advert, k, cfg.Fault, n.log)
	n.mux.forward = n.serveForward
	n.fwd = &forwarder{idle: map[string][]*fconn{}, dial: func(addr string, timeout time.Duration) (net.Conn, error) {
		return n.mux.dial(addr, timeout, connForward)
	}}
	go n.mux.serve()

	fail := func(err error) (*Node, error) {
		n.close()
		return nil, err
	}
	n.bolt, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
	if err != nil {
		return fail(fmt.Errorf("open raft log %s: %w", filepath.Join(dir, "raft.db"), err))
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 3, hl)
	if err != nil {
		return fail(fmt.Errorf("open snapshot store: %w", err))
	}
	// MaxRPCsInFlight 1 turns pipelined replication off. With it on (the
	// default 2), a follower answering Success=false (a restarted follower
	// whose log is behind) can wedge the leader's pipeline for good while
	// heartbeats still flow, so no one steps down and nothing commits:
	// hashicorp/raft issue 612, which our kill-and-restart fault run hit.
	n.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: n.mux, MaxPool: 3, MaxRPCsInFlight: 1, Timeout: 10 * time.Second, Logger: hl,
	})
	n.fsm = newFSM(k.command, cfg.DB, n.log, cfg.OnApply)

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	rc.BatchApplyCh = true
	rc.Logger = hl

	existing, err := raft.HasExistingState(n.bolt, n.bolt, snaps)
	if err != nil {
		return fail(fmt.Errorf("read raft state: %w", err))
	}
	n.raft, err = raft.NewRaft(rc, n.fsm, n.bolt, n.bolt, snaps, n.trans)
	if err != nil {
		return fail(fmt.Errorf("start raft: %w", err))
	}
	if !existing && (cfg.Bootstrap || len(cfg.Peers) > 0) {
		conf := raft.Configuration{}
		if len(cfg.Peers) == 0 {
			conf.Servers = []raft.Server{{ID: rc.LocalID, Address: raft.ServerAddress(advert.String())}}
		}
		for _, p := range cfg.Peers {
			conf.Servers = append(conf.Servers, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr)})
		}
		if err := n.raft.BootstrapCluster(conf).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return fail(fmt.Errorf("bootstrap cluster: %w", err))
		}
	}
	n.ready.Store(true)
	n.log.Info("cluster: node started", "addr", advert.String(), "existing_state", existing)
	return n, nil
}

// slogWriter turns raft's hclog lines into slog records.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	s := bufio.NewScanner(bytes.NewReader(p))
	for s.Scan() {
		w.log.Warn("raft", "line", s.Text())
	}
	return len(p), nil
}

// Run serves until ctx ends, then shuts the node down: the service form.
func (n *Node) Run(ctx context.Context) error {
	<-ctx.Done()
	return n.Close()
}

// Close shuts raft down and closes the transport and the stores.
func (n *Node) Close() error {
	n.closeOnce.Do(func() { n.closeErr = n.close() })
	return n.closeErr
}

func (n *Node) close() error {
	var errsList []error
	if n.raft != nil {
		if err := n.raft.Shutdown().Error(); err != nil {
			errsList = append(errsList, fmt.Errorf("shut raft down: %w", err))
		}
	}
	if n.fwd != nil {
		n.fwd.close()
	}
	if n.trans != nil {
		n.trans.Close() // closes the mux too
	}
	if n.mux != nil {
		n.mux.Close()
	}
	if n.bolt != nil {
		if err := n.bolt.Close(); err != nil {
			errsList = append(errsList, fmt.Errorf("close raft log: %w", err))
		}
	}
	return errors.Join(errsList...)
}

// ID is the node's id; Addr its advertised raft address.
func (n *Node) ID() string   { return n.cfg.NodeID }
func (n *Node) Addr() string { return n.mux.Addr().String() }

// IsLeader reports whether this node is the leader now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

func (n *Node) leader() (id, addr string) {
	a, i := n.raft.LeaderWithID()
	return string(i), string(a)
}

// isNotLeader reports whether err means "ask the leader instead".
func isNotLeader(err error) bool {
	return errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) ||
		errors.Is(err, raft.ErrLeadershipTransferInProgress) || errors.Is(err, raft.ErrAbortedByRestore)
}

// newID returns a random command id.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Apply commits c through the leader, forwarding it when this node is a
// follower and retrying across a leader change until ctx ends (or
// ApplyTimeout when ctx has no deadline). c.ID makes retries safe: the
// command takes effect at most once. The error is nil when the command
// was applied; a rejected command (a closed round, a stale alias version)
// returns its Result and the rejection as an errs.Error.
func (n *Node) Apply(ctx context.Context, c Command) (Result, error) {
	if c.ID == "" {
		c.ID = newID()
	}
	c.Node = n.cfg.NodeID
	if c.At.IsZero() {
		c.At = time.Now().UTC()
	}
	c.MAC = ""
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	if err := c.sign(n.keys.command); err != nil {
		return Result{}, err
	}
	var res Result
	err := n.toLeader(ctx, func(ctx context.Context) error {
		var err error
		res, err = n.applyLocal(ctx, c)
		return err
	}, request{Op: opApply, Command: &c}, func(r response) { res = *r.Result })
	if err != nil {
		return res, err
	}
	return res, res.Err()
}

// toLeader runs local when this node leads, otherwise sends req to the
// leader (and onResp takes its answer), retrying across leader changes.
func (n *Node) toLeader(ctx context.Context, local func(context.Context) error, req request, onResp func(response)) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.cfg.ApplyTimeout)
		defer cancel()
	}
	wait := 10 * time.Millisecond
	var last error
	for {
		if n.IsLeader() {
			err := local(ctx)
			if err == nil {
				return nil
			}
			if !isNotLeader(err) {
				return appError(err, req.Op)
			}
			last = err
		} else if _, addr := n.leader(); addr != "" && addr != n.Addr() {
			resp, err := n.fwd.call(ctx, addr, req)
			switch {
			case err != nil:
				last = err
			case resp.NotLeader:
				last = fmt.Errorf("%s is no longer the leader", addr)
			case resp.Code != "":
				return resp.err()
			default:
				onResp(resp)
				return nil
			}
		} else {
			last = errors.New("no leader is known")
		}
		select {
		case <-ctx.Done():
			return errs.Wrap(errs.Unavailable, fmt.Errorf("%w (last: %v)", ctx.Err(), last),
				"The cluster has no leader that could take the %s in time; a write may still be applied later, once.", req.Op)
		case <-time.After(wait):
		}
		// Backing off past a few tens of milliseconds only delays the write
		// once a new leader is elected: at 200 ms it added up to that much to
		// every failover (bench cluster: failover p50 720 ms, election 594).
		// A retry is cheap: a local check, or a call that a dead leader
		// refuses at once.
		wait = min(2*wait, 40*time.Millisecond)
	}
}

// appError keeps application errors and makes raft's a clear sentence.
func appError(err error, op string) error {
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	return errs.Wrap(errs.Unavailable, err, "The cluster could not do the %s: %v.", op, err)
}

// applyLocal appends the signed command on this node, the leader.
func (n *Node) applyLocal(ctx context.Context, c Command) (Result, error) {
	if !c.verify(n.keys.command) {
		return Result{}, errs.Errorf(errs.Invalid, "the command's signature does not match the cluster secret")
	}
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	b, err := json.Marshal(&c)
	if err != nil {
		return Result{}, fmt.Errorf("encode command: %w", err)
	}
	f := n.raft.Apply(b, timeLeft(ctx))
	if err := wait(ctx, f); err != nil {
		if errors.Is(err, raft.ErrEnqueueTimeout) {
			return Result{}, errs.Wrap(errs.Unavailable, err, "The leader could not take the write in time.")
		}
		return Result{}, err
	}
	res, ok := f.Response().(Result)
	if !ok {
		return Result{}, fmt.Errorf("apply %s: unexpected response %T", c.ID, f.Response())
	}
	return res, nil
}

// wait waits for a raft future until ctx ends: raft bounds only the
// enqueueing of an entry, not its commit, and a leader that cannot reach a
// quorum holds its futures until it steps down.
func wait(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return errs.Wrap(errs.Unavailable, ctx.Err(), "The write or read was not committed in time; it may still be applied, once.")
	}
}

func timeLeft(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return DefaultApplyTimeout
}

// Vote casts voter's vote for strategy in round.
func (n *Node) Vote(ctx context.Context, id string, v Vote) (Result, error) {
	return n.Apply(ctx, Command{ID: id, Kind: KindVote, Vote: &v})
}

// MoveAlias moves a model's alias (compare-and-set when m.HasIf).
func (n *Node) MoveAlias(ctx context.Context, id string, m AliasMove) (Result, error) {
	return n.Apply(ctx, Command{ID: id, Kind: KindAlias, Alias: &m})
}

// Publish replicates an agent-protocol envelope.
func (n *Node) Publish(ctx context.Context, id string, e Envelope) (Result, error) {
	return n.Apply(ctx, Command{ID: id, Kind: KindEnvelope, Envelope: &e})
}

// RecordRound appends a round record (the leader's round lifecycle).
func (n *Node) RecordRound(ctx context.Context, id string, r Round) (Result, error) {
	return n.Apply(ctx, Command{ID: id, Kind: KindRound, Round: &r})
}

// View runs fn on this node's state as applied so far: a local read, which
// may lag the leader. fn must not keep the state.
func (n *Node) View(fn func(*State)) { n.fsm.read(fn) }

// StateHash is the hash of this node's state and the chain hash of its
// applied sequence.
func (n *Node) StateHash() (state, chain string, applied uint64) {
	n.fsm.read(func(s *State) { state, chain, applied = s.Hash(), s.Chain, s.Applied })
	return
}

// WaitApplied blocks until this node has applied the command at index.
func (n *Node) WaitApplied(ctx context.Context, index uint64) error {
	return n.fsm.waitApplied(ctx, index)
}

// Snapshot takes a snapshot now (raft also takes them by threshold).
func (n *Node) Snapshot() error {
	if err := n.raft.Snapshot().Error(); err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return fmt.Errorf("take snapshot: %w", err)
	}
	return nil
}

// Join adds node id at addr to the cluster as a voter (through the leader).
func (n *Node) Join(ctx context.Context, id, addr string) error {
	if err := validJoin(id, addr); err != nil {
		return err
	}
	return n.toLeader(ctx, func(context.Context) error { return n.joinLocal(id, addr, true) },
		request{Op: opJoin, ID: id, Addr: addr, Voter: true}, func(response) {})
}

func validJoin(id, addr string) error {
	if !validName(id, 64) {
		return errs.Errorf(errs.Invalid, "a joining node needs an id of 1 to 64 printable characters")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return errs.Errorf(errs.Invalid, "the joining node's raft address %q is not HOST:PORT", addr)
	}
	return nil
}

// JoinVia asks the member at peer (its raft address) to add this node.
// The request travels over the authenticated channel: a node without the
// cluster secret is refused at the handshake.
func (n *Node) JoinVia(ctx context.Context, peer string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.cfg.ApplyTimeout)
		defer cancel()
	}
	target := peer
	for {
		resp, err := n.fwd.call(ctx, target, request{Op: opJoin, ID: n.cfg.NodeID, Addr: n.Addr(), Voter: true})
		switch {
		case err != nil:
			return errs.Wrap(errs.Unavailable, err, "Could not reach cluster member %s to join (wrong secret or address?).", peer)
		case resp.NotLeader && resp.Leader != "" && resp.Leader != target:
			target = resp.Leader
			continue
		case resp.NotLeader:
			select {
			case <-ctx.Done():
				return errs.Errorf(errs.Unavailable, "the cluster at %s has no leader to take the join", peer)
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		return resp.err()
	}
}

func (n *Node) joinLocal(id, addr string, voter bool) error {
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return err
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == id && string(s.Address) == addr {
			return nil // already a member: joining again is a no-op
		}
		if string(s.Address) == addr && string(s.ID) != id {
			return errs.Errorf(errs.Conflict, "address %s already belongs to node %s", addr, s.ID)
		}
	}
	f := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, n.cfg.ApplyTimeout)
	if !voter {
		f = n.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, n.cfg.ApplyTimeout)
	}
	return f.Error()
}

// Remove takes node id out of the cluster (through the leader).
func (n *Node) Remove(ctx context.Context, id string) error {
	return n.toLeader(ctx, func(context.Context) error { return n.removeLocal(id) },
		request{Op: opRemove, ID: id}, func(response) {})
}

func (n *Node) removeLocal(id string) error {
	if !n.member(id) {
		return errs.Errorf(errs.NotFound, "there is no node %q in the cluster", id)
	}
	return n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.ApplyTimeout).Error()
}

// Transfer hands leadership to node id ("" lets raft pick the most
// up-to-date follower).
func (n *Node) Transfer(ctx context.Context, id string) error {
	if id != "" && !n.member(id) {
		return errs.Errorf(errs.NotFound, "there is no node %q in the cluster", id)
	}
	return n.toLeader(ctx, func(context.Context) error { return n.transferLocal(id) },
		request{Op: opTransfer, ID: id}, func(response) {})
}

func (n *Node) transferLocal(id string) error {
	if id == "" {
		return n.raft.LeadershipTransfer().Error()
	}
	if id == n.cfg.NodeID {
		return nil // already the leader
	}
	for _, p := range n.Peers() {
		if p.ID == id {
			return n.raft.LeadershipTransferToServer(raft.ServerID(id), raft.ServerAddress(p.Addr)).Error()
		}
	}
	return errs.Errorf(errs.NotFound, "there is no node %q in the cluster", id)
}

func (n *Node) member(id string) bool {
	for _, p := range n.Peers() {
		if p.ID == id {
			return true
		}
	}
	return false
}

// Peers is the cluster's membership as this node knows it.
func (n *Node) Peers() []Peer {
	cf := n.raft.GetConfiguration()
	if cf.Error() != nil {
		return nil
	}
	lid, _ := n.leader()
	var out []Peer
	for _, s := range cf.Configuration().Servers {
		out = append(out, Peer{ID: string(s.ID), Addr: string(s.Address), Suffrage: s.Suffrage.String(), Leader: string(s.ID) == lid})
	}
	return out
}

// Health is a node's raft state as a plain value, for /healthz, /metrics
// and the Cluster page.
type Health struct {
	NodeID            string  `json:"node_id"`
	Addr              string  `json:"addr"`
	State             string  `json:"state"` // Leader, Follower, Candidate, Shutdown
	Leader            bool    `json:"leader"`
	LeaderID          string  `json:"leader_id"`
	LeaderAddr        string  `json:"leader_addr"`
	Term              uint64  `json:"term"`
	CommitIndex       uint64  `json:"commit_index"`
	AppliedIndex      uint64  `json:"applied_index"`
	LastIndex         uint64  `json:"last_index"`
	LastSnapshotIndex uint64  `json:"last_snapshot_index"`
	LastContactMs     float64 `json:"last_contact_ms"` // -1: never; 0 on the leader
	Peers             []Peer  `json:"peers"`
	StateHash         string  `json:"state_hash"`
	Chain             string  `json:"chain"`
	Commands          uint64  `json:"commands"`
	RefusedConns      uint64  `json:"refused_conns"`
}

// Health reports the node's raft state now.
func (n *Node) Health() Health {
	h := Health{NodeID: n.cfg.NodeID, Addr: n.Addr(), State: n.raft.State().String()}
	h.Leader = n.raft.State() == raft.Leader
	h.LeaderID, h.LeaderAddr = n.leader()
	h.Term = n.raft.CurrentTerm()
	h.CommitIndex = n.raft.CommitIndex()
	h.AppliedIndex = n.raft.AppliedIndex()
	h.LastIndex = n.raft.LastIndex()
	h.LastSnapshotIndex, _ = strconv.ParseUint(n.raft.Stats()["last_snapshot_index"], 10, 64)
	switch lc := n.raft.LastContact(); {
	case h.Leader:
	case lc.IsZero():
		h.LastContactMs = -1
	default:
		h.LastContactMs = float64(time.Since(lc).Microseconds()) / 1000
	}
	h.Peers = n.Peers()
	n.fsm.read(func(s *State) { h.StateHash, h.Chain, h.Commands = s.Hash(), s.Chain, s.Count })
	h.RefusedConns = n.mux.refused.Load()
	return h
}
