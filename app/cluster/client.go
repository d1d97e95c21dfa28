package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// Client talks to a cluster from outside it (the CLI, the process tests)
// over the same authenticated channel the nodes use: it needs the cluster
// secret, not membership. It sends each request to a known node and
// follows the not-leader hints.
type Client struct {
	keys  *keys
	fwd   *forwarder
	addrs []string
	name  string
}

// NewClient returns a client of the cluster whose members include addrs.
func NewClient(secret string, addrs []string) (*Client, error) {
	k, err := deriveKeys(secret)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, errs.Errorf(errs.Invalid, "a cluster client needs the raft address of at least one node")
	}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, errs.Errorf(errs.Invalid, "the node address %q is not HOST:PORT", a)
		}
	}
	host, _ := os.Hostname()
	c := &Client{keys: k, addrs: addrs, name: "client@" + host}
	c.fwd = &forwarder{idle: map[string][]*fconn{}, dial: func(addr string, timeout time.Duration) (net.Conn, error) {
		return dialCluster(k, nil, "", addr, timeout, connForward)
	}}
	return c, nil
}

// Close closes the pooled connections.
func (c *Client) Close() { c.fwd.close() }

// call sends req to the leader, found from the known addresses and hints,
// retrying until ctx ends.
func (c *Client) call(ctx context.Context, req request) (response, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultApplyTimeout)
		defer cancel()
	}
	var last error
	hint := ""
	for try := 0; ; try++ {
		addr := c.addrs[try%len(c.addrs)]
		if hint != "" {
			addr, hint = hint, ""
		}
		resp, err := c.fwd.call(ctx, addr, req)
		switch {
		case err != nil:
			last = err
		case resp.NotLeader:
			hint = resp.Leader
			last = fmt.Errorf("%s is not the leader", addr)
			if hint != "" {
				continue
			}
		default:
			return resp, resp.err()
		}
		select {
		case <-ctx.Done():
			return response{}, errs.Wrap(errs.Unavailable, fmt.Errorf("%w (last: %v)", ctx.Err(), last),
				"No cluster leader answered the %s in time.", req.Op)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Apply signs c and commits it through the leader (at most once by c.ID).
func (c *Client) Apply(ctx context.Context, cmd Command) (Result, error) {
	if cmd.ID == "" {
		cmd.ID = newID()
	}
	cmd.Node = c.name
	if cmd.At.IsZero() {
		cmd.At = time.Now().UTC()
	}
	cmd.MAC = ""
	if err := cmd.Validate(); err != nil {
		return Result{}, err
	}
	if err := cmd.sign(c.keys.command); err != nil {
		return Result{}, err
	}
	resp, err := c.call(ctx, request{Op: opApply, Command: &cmd})
	if err != nil {
		return Result{}, err
	}
	if resp.Result == nil {
		return Result{}, errors.New("the leader answered an apply without a result")
	}
	return *resp.Result, resp.Result.Err()
}

// Read answers q linearizably (on the leader, after a barrier).
func (c *Client) Read(ctx context.Context, q Query) (Answer, error) {
	if err := q.validate(); err != nil {
		return Answer{}, err
	}
	resp, err := c.call(ctx, request{Op: opRead, Query: &q})
	if err != nil {
		return Answer{}, err
	}
	if resp.Answer == nil {
		return Answer{}, errors.New("the leader answered a read without an answer")
	}
	return *resp.Answer, nil
}

// ReadAt answers q from the state of the node at addr as it stands (a
// local read there).
func (c *Client) ReadAt(ctx context.Context, addr string, q Query) (Answer, error) {
	if err := q.validate(); err != nil {
		return Answer{}, err
	}
	resp, err := c.fwd.call(ctx, addr, request{Op: opRead, Query: &q, Local: true})
	if err != nil {
		return Answer{}, errs.Wrap(errs.Unavailable, err, "Node %s did not answer.", addr)
	}
	if err := resp.err(); err != nil {
		return Answer{}, err
	}
	if resp.Answer == nil {
		return Answer{}, errors.New("the node answered a read without an answer")
	}
	return *resp.Answer, nil
}

// Health asks the node at addr for its own state.
func (c *Client) Health(ctx context.Context, addr string) (Health, error) {
	resp, err := c.fwd.call(ctx, addr, request{Op: opHealth})
	if err != nil {
		return Health{}, errs.Wrap(errs.Unavailable, err, "Node %s did not answer.", addr)
	}
	if resp.Health == nil {
		return Health{}, errors.New("the node answered without its health")
	}
	return *resp.Health, nil
}

// Join adds node id at addr as a voter.
func (c *Client) Join(ctx context.Context, id, addr string) error {
	_, err := c.call(ctx, request{Op: opJoin, ID: id, Addr: addr, Voter: true})
	return err
}

// Remove takes node id out of the cluster.
func (c *Client) Remove(ctx context.Context, id string) error {
	_, err := c.call(ctx, request{Op: opRemove, ID: id})
	return err
}

// Transfer hands leadership to node id ("" for raft's choice).
func (c *Client) Transfer(ctx context.Context, id string) error {
	_, err := c.call(ctx, request{Op: opTransfer, ID: id})
	return err
}
