package cluster

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/metastation/metastation/app/store"
)

const testSecret = "test-cluster-secret-0123456789"

// tcluster is a LocalCluster that fails its test on errors.
type tcluster struct {
	*LocalCluster
	t   testing.TB
	dbs map[string]*store.DB
}

type clusterOpts struct {
	n         int
	sqlite    bool
	threshold uint64
	trailing  uint64
	fast      bool
}

func testLogger() *slog.Logger {
	if os.Getenv("CLUSTER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

func openTestDB(dbs map[string]*store.DB) func(id, dir string) (*sql.DB, io.Closer, error) {
	return func(id, dir string) (*sql.DB, io.Closer, error) {
		db, err := store.Open(context.Background(), filepath.Join(dir, store.FileName), os.DirFS("../../migrations"))
		if err != nil {
			return nil, nil, err
		}
		dbs[id] = db
		return db.W, db, nil
	}
}

func newTestCluster(t testing.TB, o clusterOpts) *tcluster {
	t.Helper()
	c := &tcluster{t: t, dbs: map[string]*store.DB{}}
	lo := LocalOptions{Nodes: o.n, Dir: t.TempDir(), Secret: testSecret, Fast: o.fast, Seed: 1,
		Logger: testLogger(), Snap: o.threshold, Trail: o.trailing, ApplyTO: 5 * time.Second}
	if o.sqlite {
		lo.OpenDB = openTestDB(c.dbs)
	}
	lc, err := StartLocal(t.Context(), lo)
	if err != nil {
		t.Fatal(err)
	}
	c.LocalCluster = lc
	t.Cleanup(lc.Close)
	return c
}

func (c *tcluster) live() []*Node { return c.Live() }

func (c *tcluster) waitLeader(timeout time.Duration) *Node {
	c.t.Helper()
	n, err := c.Leader(context.Background(), timeout)
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

func (c *tcluster) waitConverged(timeout time.Duration) {
	c.t.Helper()
	if err := c.WaitConverged(context.Background(), timeout); err != nil {
		c.t.Fatal(err)
	}
}

func (c *tcluster) stop(i int)        { c.Stop(i) }
func (c *tcluster) index(n *Node) int { return c.Index(n) }
func (c *tcluster) start(i int) {
	c.t.Helper()
	if err := c.Start(i); err != nil {
		c.t.Fatal(err)
	}
}

func rafts(a string) raft.ServerAddress { return raft.ServerAddress(a) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// waitSameRows polls until node got's rows equal node want's or timeout
// passes, and returns both dumps: the rows follow the applied state through
// the batching writer, so they may trail it by a flush.
func waitSameRows(t testing.TB, got, want *store.DB, timeout time.Duration) (string, string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		g, w := dumpRows(t, got), dumpRows(t, want)
		if g == w || time.Now().After(deadline) {
			return g, w
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dumpRows returns every cluster_* row of node id's database as text.
func dumpRows(t testing.TB, db *store.DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT key, value FROM cluster_meta ORDER BY key`,
		`SELECT round, voter, strategy FROM cluster_votes ORDER BY round, voter`,
		`SELECT model, alias, version, raft_index FROM cluster_aliases ORDER BY model, alias`,
		`SELECT raft_index, model, alias, from_version, to_version, actor, reason, at, node FROM cluster_alias_moves ORDER BY raft_index`,
		`SELECT raft_index, at, node, topic, sender, recipient, kind, payload FROM cluster_envelopes ORDER BY raft_index`,
		`SELECT round, status, seed, step, state, results, raft_index, node, at, started FROM cluster_rounds ORDER BY round`,
	} {
		rows, err := db.R.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

// eventually polls check until it returns nil or timeout passes, then
// fails the test with check's last error: for state that other goroutines
// (raft, the state machine, the SQLite writer) change asynchronously. The
// deadlines are generous because CI machines may be loaded.
func eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
