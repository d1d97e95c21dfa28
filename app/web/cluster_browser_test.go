package web

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/bus"
)

const testClusterSecret = "web-test-cluster-secret-0123"

func freeRaftAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startClusterServers starts n full servers as one cluster on loopback:
// the first starts it, the others join it, as the README recipe does. The
// tournament keeps round 1's votes open for the whole test.
func startClusterServers(t *testing.T, n int) ([]*app.App, []string) {
	t.Helper()
	tc := fastTournament()
	tc.FirstWait = time.Hour
	var srvs []*app.App
	var urls []string
	first := ""
	for i := range n {
		cfg := testConfig(t)
		cfg.Showcase = false
		cfg.ClusterNode = []string{"n1", "n2", "n3", "n4"}[i]
		cfg.RaftAddr = freeRaftAddr(t)
		cfg.ClusterSecret = testClusterSecret
		cfg.ClusterFast = false
		cfg.RaftTimeout = time.Second // raft's own timing: three full servers on two busy cores must not flap
		cfg.ClusterJoin = first
		if i == 0 {
			first = cfg.RaftAddr
		}
		srv, url := startTournamentServerAt(t, cfg, tc)
		srvs, urls = append(srvs, srv), append(urls, url)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		joined := true
		for _, s := range srvs {
			h := s.Cluster.Health()
			joined = joined && len(h.Peers) == n && h.LeaderID != ""
		}
		if joined {
			return srvs, urls
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %d servers did not form a cluster", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A vote cast on a follower's page counts on the leader, and the leader's
// Cluster page shows the members, its role, terms and log indexes live.
func TestBrowserClusterVoteOnFollowerCountsOnLeader(t *testing.T) {
	ctx := newBrowser(t)
	srvs, urls := startClusterServers(t, 3)
	leader, follower := -1, -1
	for i, s := range srvs {
		if s.Cluster.IsLeader() {
			leader = i
		} else if follower < 0 {
			follower = i
		}
	}
	if leader < 0 || follower < 0 {
		t.Fatalf("leader %d, follower %d", leader, follower)
	}

	navigate(t, ctx, urls[follower]+"tournament")
	waitJS(t, ctx, "the vote buttons", `document.querySelectorAll("#vote-buttons button").length === 5`, 30*time.Second)
	waitJS(t, ctx, "the page's own vote asked for", `window.metastationTournament.myVoteLoaded === true`, 30*time.Second)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#vote-buttons button[data-strategy="maker"]`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the vote answered", `window.metastationTournament.votes === 1`, 30*time.Second)
	if msg := eval[string](t, ctx, `document.getElementById("vote-msg").textContent`); !strings.Contains(msg, "Vote recorded") {
		t.Fatalf("the follower's page says %q", msg)
	}

	// On the leader: in the replicated state (a linearizable read) and in
	// its own tournament's tally. Three full servers share busy cores:
	// leadership may have moved since the test began, so ask again.
	leader = currentLeader(t, srvs, 30*time.Second)
	code, body := httpDo(t, "GET", urls[leader]+"api/cluster/read?kind=tally&round=1&consistent=1", "")
	var ans struct {
		Tally map[string]int `json:"tally"`
	}
	if err := json.Unmarshal(body, &ans); code != http.StatusOK || err != nil || ans.Tally["maker"] != 1 {
		t.Fatalf("leader's replicated tally: %d %s", code, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, votes := srvs[leader].Tournament.Tally(); votes["maker"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			_, votes := srvs[leader].Tournament.Tally()
			t.Fatalf("the leader's tournament counts %v, want one vote for maker", votes)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The leader's Cluster page (of the leader at that moment: should
	// leadership move while the page loads, the page of the new one).
	deadline = time.Now().Add(90 * time.Second)
	for {
		leader = currentLeader(t, srvs, 30*time.Second)
		navigate(t, ctx, urls[leader]+"cluster")
		if jsWithin(ctx, `document.getElementById("cl-state").textContent === "Leader"`, 15*time.Second) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader's Cluster page said it leads within 90 s")
		}
	}
	if follower == leader {
		follower = (leader + 1) % len(srvs)
	}
	waitJS(t, ctx, "the members", `document.querySelectorAll("#cl-peers tr").length === 3`, 30*time.Second)
	waitJS(t, ctx, "the replicated tally", `document.querySelector('#cl-tally li[data-strategy="maker"] b')?.textContent === "1"`, 30*time.Second)
	waitJS(t, ctx, "the live index chart", `window.metastationCluster.points() >= 3 && document.querySelector("#cl-chart canvas") !== null`, 30*time.Second)
	term := eval[float64](t, ctx, `window.metastationCluster.state().term`)
	commit := eval[float64](t, ctx, `window.metastationCluster.state().commit_index`)
	if term < 1 || commit < 1 {
		t.Fatalf("the page shows term %v, commit index %v", term, commit)
	}

	// Hand leadership to the follower from the page; its own page then says so.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#cl-peers tr[data-id="`+srvs[follower].Config.ClusterNode+`"] button`))); err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, urls[follower]+"cluster")
	waitJS(t, ctx, "the follower leading", `document.getElementById("cl-state").textContent === "Leader"`, 30*time.Second)
}

func TestClusterAPI(t *testing.T) {
	_, urls := startClusterServers(t, 2)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"state", "GET", "api/cluster", "", 200, `"peers"`},
		{"healthz carries raft", "GET", "healthz", "", 200, `"commit_index"`},
		{"metrics carry raft", "GET", "metrics", "", 200, "metastation_raft_term"},
		{"local read", "GET", "api/cluster/read?kind=votes_open", "", 200, `"votes_open": 1`},
		{"consistent read", "GET", "api/cluster/read?kind=hash&consistent=1", "", 200, `"hash"`},
		{"bad kind", "GET", "api/cluster/read?kind=everything", "", 400, "Unknown query kind"},
		{"bad consistent", "GET", "api/cluster/read?kind=hash&consistent=2", "", 400, "consistent is 1 or 0"},
		{"bad round", "GET", "api/cluster/read?kind=tally&round=x", "", 400, "whole number"},
		{"join bad address", "POST", "api/cluster/join", `{"id":"n9","addr":"nowhere"}`, 400, "not HOST:PORT"},
		{"remove unknown", "POST", "api/cluster/remove", `{"id":"nope"}`, 404, "no node"},
		{"transfer unknown", "POST", "api/cluster/transfer", `{"id":"nope"}`, 404, "no node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := httpDo(t, tc.method, urls[1]+tc.path, tc.body)
			if code != tc.status || !strings.Contains(string(body), tc.want) {
				t.Fatalf("%s %s: %d %s", tc.method, tc.path, code, body)
			}
		})
	}
}

// An envelope posted to one node reaches the bus of every node.
func TestClusterEnvelopeReachesEveryNode(t *testing.T) {
	srvs, urls := startClusterServers(t, 2)
	subs := []*bus.Subscription{srvs[0].Bus.Subscribe(16, "agent.note"), srvs[1].Bus.Subscribe(16, "agent.note")}
	code, body := httpDo(t, "POST", urls[1]+"api/cluster/envelopes", `{"topic":"agent.note","from":"desk","kind":"note","payload":{"text":"hello"}}`)
	if code != http.StatusOK {
		t.Fatalf("post envelope: %d %s", code, body)
	}
	for i, sub := range subs {
		select {
		case e := <-sub.C():
			raw, _ := e.Payload.(json.RawMessage)
			if e.From != "desk" || !strings.Contains(string(raw), "hello") {
				t.Errorf("node %d got %+v", i, e)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("node %d never published the replicated envelope", i)
		}
		sub.Close()
	}
	for _, tc := range []struct{ body, want string }{
		{`{"topic":"market.ticks"}`, "not replicated"},
		{`{"topic":"agent.note","payload":"` + strings.Repeat("x", 70000) + `"}`, "at most"},
	} {
		code, body := httpDo(t, "POST", urls[0]+"api/cluster/envelopes", tc.body)
		if code != http.StatusBadRequest || !strings.Contains(string(body), tc.want) {
			t.Errorf("%.40s: %d %s", tc.body, code, body)
		}
	}
}

func TestClusterRoutesAlone(t *testing.T) {
	_, url := startServer(t)
	code, body := httpDo(t, "GET", url+"api/cluster", "")
	if code != http.StatusNotFound || !strings.Contains(string(body), "runs alone") {
		t.Fatalf("alone: %d %s", code, body)
	}
	if h := getHealth(t, url); h.Cluster != nil {
		t.Fatalf("healthz of a lone server carries cluster state: %+v", h.Cluster)
	}
}

// currentLeader waits until one of srvs leads its cluster.
func currentLeader(t *testing.T, srvs []*app.App, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for i, s := range srvs {
			if s.Cluster.IsLeader() {
				return i
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no server led its cluster within %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jsWithin polls a JavaScript condition until it is true or timeout
// passes, and says which.
func jsWithin(ctx context.Context, expr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}
