package app

import (
	"context"
	"fmt"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/cluster"
	"github.com/metastation/metastation/app/disttrain"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/tournament"
)

// TopicClusterState carries this node's raft state twice a second.
var TopicClusterState = bus.NewTopic[ClusterState]("cluster.state")

// ClusterState is what the Cluster page shows: this node's raft state and
// the replicated tally of the round votes are open for.
type ClusterState struct {
	cluster.Health
	VotesOpen int64          `json:"votes_open"`
	Tally     map[string]int `json:"tally"`
	// Train counts the shards of runs spread over the cluster: those
	// this node's runs collected (where) and those it collected for others.
	Train *disttrain.Stats `json:"train,omitempty"`
}

// newCluster opens this node's raft when the server runs in cluster mode.
// Its cluster_* rows go to the database's writer connection.
func (a *App) newCluster() error {
	if a.Config.ClusterNode == "" {
		return nil
	}
	cfg := cluster.Config{
		NodeID: a.Config.ClusterNode, RaftAddr: a.Config.RaftAddr, DataDir: a.Config.DataDir,
		Secret: a.Config.ClusterSecret, Bootstrap: a.Config.ClusterJoin == "",
		DB: a.DB.W, Logger: a.Log.With("service", "cluster"), OnApply: a.clusterApplied,
	}
	// Before raft touches the data directory: a database with rounds
	// played alone is refused with nothing changed.
	if err := tournament.RefuseSoloRounds(context.Background(), a.DB); err != nil {
		return err
	}
	cfg.Timeouts(a.Config.RaftTimeout)
	if a.Config.ClusterFast {
		cfg.FastTimeouts()
	}
	a.clusterVotes = make(chan cluster.Vote, 1024)
	a.clusterAliased = make(chan struct{}, 1)
	n, err := cluster.Open(cfg)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	a.Cluster = n
	return nil
}

// runCluster joins the cluster when asked to (retrying until the member
// answers), then publishes the node's state and hands replicated votes to
// this node's tournament. The rounds themselves are the tournament's
// (tournament.ClusterLedger): the leader records their starts,
// checkpoints and results.
func (a *App) runCluster(ctx context.Context) error {
	if a.Config.ClusterJoin != "" {
		for {
			jctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := a.Cluster.JoinVia(jctx, a.Config.ClusterJoin)
			cancel()
			if err == nil {
				break
			}
			a.Log.Warn("cluster: join failed; retrying", "member", a.Config.ClusterJoin, "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			TopicClusterState.Publish(a.Bus, "cluster", "", "state", a.ClusterState())
		case v := <-a.clusterVotes:
			vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if _, err := a.Tournament.Vote(vctx, v.Round, v.Voter, v.Strategy); err != nil {
				a.Log.Debug("cluster: the local tournament did not take a replicated vote", "round", v.Round, "err", err)
			}
			cancel()
		}
	}
}

// ClusterState is this node's state for the page and the API.
func (a *App) ClusterState() ClusterState {
	cs := ClusterState{Health: a.Cluster.Health()}
	if a.DistTrain != nil {
		st := a.DistTrain.Stats()
		cs.Train = &st
	}
	a.Cluster.View(func(s *cluster.State) {
		cs.VotesOpen = s.VotesOpen
		cs.Tally = s.Tally(s.VotesOpen)
	})
	return cs
}

// CastVote records a tournament vote. Alone it goes to the tournament; in
// cluster mode it is a replicated command, committed through the leader
// (forwarded from a follower) for the round votes are open for on the
// leader, and each node's tournament counts it as it applies it.
func (a *App) CastVote(ctx context.Context, round int64, voter, strategy string) (tournament.VoteResult, error) {
	if a.Cluster == nil {
		return a.Tournament.Vote(ctx, round, voter, strategy)
	}
	known := false
	for _, p := range a.Tournament.Profiles() {
		known = known || p.ID == strategy
	}
	if !known {
		return tournament.VoteResult{}, errs.Errorf(errs.NotFound, "there is no strategy %q in the tournament", strategy)
	}
	res, err := a.Cluster.Vote(ctx, "", cluster.Vote{Round: round, Voter: voter, Strategy: strategy})
	if err != nil {
		return tournament.VoteResult{}, err
	}
	// Answer from this node's replica once it has applied the vote.
	if err := a.Cluster.WaitApplied(ctx, res.Index); err != nil {
		return tournament.VoteResult{}, errs.Wrap(errs.Unavailable, err, "The vote was committed but this node has not applied it yet; reload in a moment.")
	}
	out := tournament.VoteResult{Round: round, Strategy: strategy, Replaced: res.Replaced}
	a.Cluster.View(func(s *cluster.State) {
		out.Votes = s.Tally(round)
		for _, n := range out.Votes {
			out.Total += n
		}
	})
	return out, nil
}

// clusterApplied publishes applied envelopes on this node's bus and hands
// applied votes to this node's tournament, in log order, so its page and
// tally show them; a node whose tournament is on
// another round keeps the vote in the replicated state only. It runs on
// the state machine's goroutine, so it only queues.
func (a *App) clusterApplied(done []cluster.Applied) {
	wakeOnAlias(done, a.clusterAliased)
	for _, d := range done {
		if e := d.Command.Envelope; e != nil {
			// Every node's web socket clients see the replicated envelope.
			a.Bus.Publish(bus.Envelope{Topic: e.Topic, From: e.From, To: e.To, Kind: e.Kind, Payload: e.Payload})
			continue
		}
		if d.Command.Kind != cluster.KindVote {
			continue
		}
		select {
		case a.clusterVotes <- *d.Command.Vote:
		default:
			a.Log.Warn("cluster: vote queue full; a replicated vote is not shown by this node's tournament", "round", d.Command.Vote.Round)
		}
	}
}

// PublishReplicated replicates an agent-protocol envelope (a replicated
// topic: tournament.*, agent.*, mlops.*, supply.*): once committed, every
// node publishes it on its bus, so clients attached to any node see it.
func (a *App) PublishReplicated(ctx context.Context, e cluster.Envelope) (cluster.Result, error) {
	if a.Cluster == nil {
		return cluster.Result{}, errs.Errorf(errs.NotFound, "this server runs alone; replicated envelopes need cluster mode (--cluster NODE_ID)")
	}
	return a.Cluster.Publish(ctx, "", e)
}
