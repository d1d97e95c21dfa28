package cluster

import (
	"context"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// Handler answers a call of a named service from another node (Call),
// over the authenticated node-to-node channel; every node answers, leader
// or not. What it returns goes back to the caller; an *errs.Error keeps
// its code. app/disttrain registers its rollout workers this way: bulk
// that is no part of the replicated state stays out of the raft log.
type Handler func(ctx context.Context, body []byte) ([]byte, error)

// MaxCallBody caps a call's body and its answer: both travel base64 inside
// one forwarded JSON line of at most 1 MiB.
const MaxCallBody = 700 << 10

// maxCallTimeout bounds how long a handler may run for one call.
const maxCallTimeout = 10 * time.Minute

// Handle registers h for service on this node, replacing any earlier one.
func (n *Node) Handle(service string, h Handler) {
	n.handlersMu.Lock()
	defer n.handlersMu.Unlock()
	if n.handlers == nil {
		n.handlers = map[string]Handler{}
	}
	n.handlers[service] = h
}

func (n *Node) handler(service string) Handler {
	n.handlersMu.Lock()
	defer n.handlersMu.Unlock()
	return n.handlers[service]
}

// Call asks the node at addr (a member's raft address) to run service on
// body and returns its answer. It waits until ctx ends (the handler is
// given as long); a node that is down fails at once.
func (n *Node) Call(ctx context.Context, addr, service string, body []byte) ([]byte, error) {
	if len(body) > MaxCallBody {
		return nil, errs.Errorf(errs.TooLarge, "a call to %s carries %d bytes; the node-to-node channel takes at most %d", service, len(body), MaxCallBody)
	}
	timeout := DefaultApplyTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	resp, err := n.fwd.call(ctx, addr, request{Op: opCall, Service: service, Body: body, Timeout: timeout.Milliseconds()})
	if err != nil {
		return nil, errs.Errorf(errs.Unavailable, "call %s on %s: %w", service, addr, err)
	}
	if err := resp.err(); err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// answerCall runs a registered handler for a forwarded call.
func (n *Node) answerCall(req request) response {
	h := n.handler(req.Service)
	if h == nil {
		return errResponse(errs.Errorf(errs.NotFound, "node %s offers no service %q", n.cfg.NodeID, req.Service))
	}
	timeout := time.Duration(req.Timeout) * time.Millisecond
	if timeout <= 0 || timeout > maxCallTimeout {
		timeout = maxCallTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	body, err := h(ctx, req.Body)
	if err != nil {
		return errResponse(err)
	}
	if len(body) > MaxCallBody {
		return errResponse(errs.Errorf(errs.TooLarge, "the answer of %s is %d bytes; the node-to-node channel takes at most %d", req.Service, len(body), MaxCallBody))
	}
	return response{Body: body}
}
