package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/metastation/metastation/app/cluster"
	"github.com/metastation/metastation/app/command"
)

const clusterUsage = "cluster status|join|remove|transfer --nodes HOST:PORT[,...] | cluster demo [--dir DIR] | cluster train [--web URL] [--env trading] [--steps N]"

// runCluster is `metastation cluster`: the membership of a running
// cluster, through its nodes' authenticated raft ports, and a one-command
// three-node demo on loopback.
func runCluster(ctx context.Context, env command.Env, args []string) error {
	if len(args) == 0 || command.IsHelpFlag(args[0]) {
		fmt.Fprintln(env.Stdout, "Usage: metastation "+clusterUsage)
		fmt.Fprintln(env.Stdout, "  status    every node's raft state (role, leader, term, commit and applied index, last contact)")
		fmt.Fprintln(env.Stdout, "  join      add a voter: --id n4 --addr 127.0.0.1:7404")
		fmt.Fprintln(env.Stdout, "  remove    take a node out: --id n3")
		fmt.Fprintln(env.Stdout, "  transfer  hand leadership to --id n2 (or to raft's choice without --id)")
		fmt.Fprintln(env.Stdout, "  demo      start three nodes on loopback (web 8081-8083, raft 7401-7403) until Ctrl-C")
		fmt.Fprintln(env.Stdout, "  train     start a PPO run on --web URL that spreads its rollouts over every member, and follow it")
		fmt.Fprintln(env.Stdout, "The shared secret comes from --cluster-secret or METASTATION_CLUSTER_SECRET.")
		if len(args) == 0 {
			return command.Usagef("cluster needs a subcommand: status, join, remove, transfer, demo or train")
		}
		return nil
	}
	sub, args := args[0], args[1:]
	if sub == "demo" {
		return runClusterDemo(ctx, env, args)
	}
	if sub == "train" {
		return runClusterTrain(ctx, env, args)
	}
	fs := command.NewFlagSet("cluster "+sub, env.Stderr)
	nodes := fs.String("nodes", "127.0.0.1:7401", "comma-separated raft `addresses` of cluster members")
	secret := fs.String("cluster-secret", "", "the cluster's shared `secret` (prefer METASTATION_CLUSTER_SECRET)")
	id := fs.String("id", "", "node `id` to join, remove or make leader")
	addr := fs.String("addr", "", "raft `host:port` of the node to join")
	asJSON := fs.Bool("json", false, "status: print every node's state as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	addrs := strings.Split(*nodes, ",")
	c, err := cluster.NewClient(*secret, addrs)
	if err != nil {
		return command.Usagef("cluster %s: %v", sub, err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	switch sub {
	case "status":
		return clusterStatus(ctx, env, c, addrs, *asJSON)
	case "join":
		if *id == "" || *addr == "" {
			return command.Usagef("cluster join needs --id and --addr")
		}
		err = c.Join(ctx, *id, *addr)
	case "remove":
		if *id == "" {
			return command.Usagef("cluster remove needs --id")
		}
		err = c.Remove(ctx, *id)
	case "transfer":
		err = c.Transfer(ctx, *id)
	default:
		return command.Usagef("unknown cluster subcommand %q (%s)", sub, clusterUsage)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "cluster %s: done\n", sub)
	return clusterStatus(ctx, env, c, addrs[:1], false)
}

func clusterStatus(ctx context.Context, env command.Env, c *cluster.Client, addrs []string, asJSON bool) error {
	out := map[string]any{}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "node\taddress\tstate\tleader\tterm\tcommit\tapplied\tlast contact\tpeers")
	var firstErr error
	for _, a := range addrs {
		h, err := c.Health(ctx, a)
		if err != nil {
			fmt.Fprintf(tw, "?\t%s\tunreachable: %v\t\t\t\t\t\t\n", a, err)
			out[a] = map[string]string{"error": err.Error()}
			firstErr = firstOf(firstErr, err)
			continue
		}
		contact := "leader"
		if !h.Leader {
			contact = fmt.Sprintf("%.0f ms", h.LastContactMs)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%d\n", h.NodeID, h.Addr, h.State, h.LeaderID, h.Term, h.CommitIndex, h.AppliedIndex, contact, len(h.Peers))
		out[a] = h
	}
	tw.Flush()
	if asJSON {
		return command.PrintJSONLine(env.Stdout, out)
	}
	return firstErr
}

func firstOf(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// runClusterDemo starts three nodes of this binary on loopback as one
// cluster and stops them on Ctrl-C.
func runClusterDemo(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("cluster demo", env.Stderr)
	dir := fs.String("dir", "", "`directory` for the three data directories (default: a new temporary one, kept)")
	web := fs.Int("web-port", 8081, "web `port` of the first node (the others take the next two)")
	raftPort := fs.Int("raft-port", 7401, "raft `port` of the first node (the others take the next two)")
	secret := fs.String("cluster-secret", "", "shared `secret` (default: a random one)")
	fast := fs.Bool("cluster-fast", false, "100 ms raft timeouts (faster failover; elections may flap on a busy machine)")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *web < 1024 || *web > 65530 || *raftPort < 1024 || *raftPort > 65530 {
		return command.Usagef("cluster demo: ports must be between 1024 and 65530")
	}
	// Ctrl-C stops the nodes, then the demo.
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	if *secret == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		*secret = hex.EncodeToString(b[:])
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "metastation-cluster-demo-")
		if err != nil {
			return fmt.Errorf("demo directory: %w", err)
		}
		*dir = d
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("demo directory: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary: %w", err)
	}
	first := fmt.Sprintf("127.0.0.1:%d", *raftPort)
	var procs []*exec.Cmd
	stop := func() {
		for _, p := range procs {
			_ = p.Process.Signal(os.Interrupt)
		}
		for _, p := range procs {
			done := make(chan struct{})
			go func() { _ = p.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = p.Process.Kill()
			}
		}
	}
	defer stop()
	for i := range 3 {
		id := fmt.Sprintf("n%d", i+1)
		a := []string{"serve", "--no-browser", "--cluster", id,
			"--addr", fmt.Sprintf("127.0.0.1:%d", *web+i), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", *raftPort+i),
			"--data", filepath.Join(*dir, id), fmt.Sprintf("--cluster-fast=%v", *fast)}
		if i > 0 {
			a = append(a, "--join", first)
		}
		cmd := exec.Command(self, a...)
		cmd.Env = append(os.Environ(), "METASTATION_CLUSTER_SECRET="+*secret)
		logf, err := os.Create(filepath.Join(*dir, id+".log"))
		if err != nil {
			return fmt.Errorf("log file: %w", err)
		}
		defer logf.Close()
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", id, err)
		}
		procs = append(procs, cmd)
		url := fmt.Sprintf("http://127.0.0.1:%d/", *web+i)
		if err := waitHealthy(ctx, url, 60*time.Second); err != nil {
			return fmt.Errorf("%s (log: %s): %w", id, logf.Name(), err)
		}
		fmt.Fprintf(env.Stdout, "%s: %s (raft 127.0.0.1:%d, data %s, pid %d)\n", id, url, *raftPort+i, filepath.Join(*dir, id), cmd.Process.Pid)
	}
	fmt.Fprintf(env.Stdout, "three nodes up; the Cluster page: http://127.0.0.1:%d/cluster\n", *web)
	fmt.Fprintf(env.Stdout, "status: METASTATION_CLUSTER_SECRET=%s metastation cluster status --nodes 127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d\n",
		*secret, *raftPort, *raftPort+1, *raftPort+2)
	fmt.Fprintln(env.Stdout, "Ctrl-C stops them.")
	<-ctx.Done()
	return nil
}

func waitHealthy(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("not healthy within " + timeout.String())
}
