package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// The forwarded operations: what a follower asks of the leader.
const (
	opApply    = "apply"
	opRead     = "read"
	opJoin     = "join"
	opRemove   = "remove"
	opTransfer = "transfer"
	opHealth   = "health" // answered by any node: its own Health
	opCall     = "call"   // answered by any node: a service registered with Handle
)

// request is one forwarded operation.
type request struct {
	Op      string   `json:"op"`
	Command *Command `json:"command,omitempty"`
	Query   *Query   `json:"query,omitempty"`
	ID      string   `json:"id,omitempty"`
	Addr    string   `json:"addr,omitempty"`
	Voter   bool     `json:"voter,omitempty"`
	Local   bool     `json:"local,omitempty"` // a read answered by the receiver, leader or not
	Service string   `json:"service,omitempty"`
	Body    []byte   `json:"body,omitempty"`
	Timeout int64    `json:"timeout_ms,omitempty"` // how long the caller waits for a call
}

// response is its answer. Code and Message carry an error; NotLeader says
// the receiver is not the leader (Leader is its hint), so the sender
// retries there.
type response struct {
	Result    *Result `json:"result,omitempty"`
	Answer    *Answer `json:"answer,omitempty"`
	Code      string  `json:"code,omitempty"`
	Message   string  `json:"message,omitempty"`
	NotLeader bool    `json:"not_leader,omitempty"`
	Leader    string  `json:"leader,omitempty"`
	Health    *Health `json:"health,omitempty"`
	Body      []byte  `json:"body,omitempty"`
}

// maxRequest caps one forwarded request line.
const maxRequest = 1 << 20

// serveForward answers forwarded requests on c until it closes.
func (n *Node) serveForward(c net.Conn) {
	r := bufio.NewReaderSize(c, 64<<10)
	enc := json.NewEncoder(c)
	for {
		line, err := readLine(r)
		if err != nil {
			return
		}
		var req request
		var resp response
		if err := json.Unmarshal(line, &req); err != nil {
			resp = response{Code: string(errs.Invalid), Message: "The forwarded request is not valid JSON."}
		} else {
			resp = n.answer(req)
		}
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := enc.Encode(&resp); err != nil {
			return
		}
	}
}

func readLine(r *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		b, more, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
		if len(out) > maxRequest {
			return nil, errors.New("forwarded request too large")
		}
		if !more {
			return out, nil
		}
	}
}

// answer runs one forwarded request on this node, which must be the leader.
func (n *Node) answer(req request) response {
	if !n.ready.Load() {
		return response{Code: string(errs.Unavailable), Message: "This node is still starting; try again in a moment."}
	}
	if req.Op == opHealth {
		h := n.Health()
		return response{Health: &h}
	}
	if req.Op == opCall {
		return n.answerCall(req)
	}
	if req.Op == opRead && req.Local && req.Query != nil {
		a, err := n.Read(context.Background(), false, *req.Query)
		if err != nil {
			return errResponse(err)
		}
		return response{Answer: &a}
	}
	if !n.IsLeader() {
		_, addr := n.leader()
		return response{NotLeader: true, Leader: addr}
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ApplyTimeout)
	defer cancel()
	var err error
	var resp response
	switch req.Op {
	case opApply:
		if req.Command == nil {
			return errResponse(errs.Errorf(errs.Invalid, "a forwarded apply carries no command"))
		}
		var res Result
		res, err = n.applyLocal(ctx, *req.Command)
		resp.Result = &res
	case opRead:
		if req.Query == nil {
			return errResponse(errs.Errorf(errs.Invalid, "a forwarded read carries no query"))
		}
		var a Answer
		a, err = n.readLeader(ctx, *req.Query)
		resp.Answer = &a
	case opJoin:
		if err = validJoin(req.ID, req.Addr); err == nil {
			err = n.joinLocal(req.ID, req.Addr, req.Voter)
		}
	case opRemove:
		err = n.removeLocal(req.ID)
	case opTransfer:
		err = n.transferLocal(req.ID)
	default:
		err = errs.Errorf(errs.Invalid, "unknown forwarded operation %q", req.Op)
	}
	if err != nil {
		if isNotLeader(err) {
			_, addr := n.leader()
			return response{NotLeader: true, Leader: addr}
		}
		return errResponse(err)
	}
	return resp
}

func errResponse(err error) response {
	var e *errs.Error
	if errors.As(err, &e) {
		return response{Code: string(e.Code), Message: e.Message}
	}
	return response{Code: string(errs.Internal), Message: err.Error()}
}

func (r response) err() error {
	if r.Code == "" {
		return nil
	}
	return &errs.Error{Code: errs.Code(r.Code), Message: r.Message}
}

// fconn is a pooled forwarding connection.
type fconn struct {
	c   net.Conn
	r   *bufio.Reader
	enc *json.Encoder
}

// forwarder keeps a few open forwarding connections per peer address, so
// a forwarded write costs one round trip, not a TLS handshake.
type forwarder struct {
	dial func(addr string, timeout time.Duration) (net.Conn, error)
	mu   sync.Mutex
	idle map[string][]*fconn
}

const forwardPool = 8

// call sends req to addr and waits for the response.
func (f *forwarder) call(ctx context.Context, addr string, req request) (response, error) {
	fc, err := f.get(ctx, addr)
	if err != nil {
		return response{}, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultApplyTimeout)
	}
	_ = fc.c.SetDeadline(deadline)
	// A cancelled context ends the wait at once: the deadline moves to the
	// past (and the connection, with a half-read answer, is not pooled).
	stop := context.AfterFunc(ctx, func() { _ = fc.c.SetDeadline(time.Unix(1, 0)) })
	var resp response
	err = fc.enc.Encode(&req)
	if err == nil {
		var line []byte
		if line, err = readLine(fc.r); err == nil {
			err = json.Unmarshal(line, &resp)
		}
	}
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		fc.c.Close()
		return response{}, fmt.Errorf("forward %s to %s: %w", req.Op, addr, err)
	}
	_ = fc.c.SetDeadline(time.Time{})
	f.put(addr, fc)
	return resp, nil
}

func (f *forwarder) get(ctx context.Context, addr string) (*fconn, error) {
	f.mu.Lock()
	if l := f.idle[addr]; len(l) > 0 {
		fc := l[len(l)-1]
		f.idle[addr] = l[:len(l)-1]
		f.mu.Unlock()
		return fc, nil
	}
	f.mu.Unlock()
	timeout := 2 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	c, err := f.dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	return &fconn{c: c, r: bufio.NewReaderSize(c, 64<<10), enc: json.NewEncoder(c)}, nil
}

func (f *forwarder) put(addr string, fc *fconn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.idle[addr]) >= forwardPool {
		fc.c.Close()
		return
	}
	f.idle[addr] = append(f.idle[addr], fc)
}

func (f *forwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.idle {
		for _, fc := range l {
			fc.c.Close()
		}
	}
	f.idle = map[string][]*fconn{}
}
