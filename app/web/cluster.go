package web

import (
	"net/http"
	"strconv"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/cluster"
	"github.com/metastation/metastation/app/errs"
)

// errAlone answers the cluster routes of a server that runs alone.
var errAlone = errs.Errorf(errs.NotFound, "this server runs alone; start it with --cluster NODE_ID (and --join a member) to run a cluster")

// clusterState answers this node's raft state and the replicated tally.
func clusterState(a *app.App) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.Cluster == nil {
			writeAppError(w, r, errAlone)
			return
		}
		writeJSON(w, http.StatusOK, a.ClusterState())
	}
}

// clusterRead answers a query of the replicated state: local by default,
// linearizable with ?consistent=1 (through the leader, after a barrier).
// ?kind=alias&model=M&alias=A, tally&round=N, vote&round=N&voter=V,
// votes_open, round&round=N, hash, command&id=ID.
func clusterRead(a *app.App) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.Cluster == nil {
			writeAppError(w, r, errAlone)
			return
		}
		q := r.URL.Query()
		query := cluster.Query{Kind: q.Get("kind"), Model: q.Get("model"), Alias: q.Get("alias"), Voter: q.Get("voter"), ID: q.Get("id")}
		if s := q.Get("round"); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				writeError(w, r, http.StatusBadRequest, "round must be a whole number, not "+strconv.Quote(s)+".")
				return
			}
			query.Round = n
		}
		consistent := false
		switch c := q.Get("consistent"); c {
		case "", "0", "false":
		case "1", "true":
			consistent = true
		default:
			writeError(w, r, http.StatusBadRequest, "consistent is 1 or 0, not "+strconv.Quote(c)+".")
			return
		}
		ans, err := a.Cluster.Read(r.Context(), consistent, query)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, ans)
	}
}

// clusterJoin adds a node: {"id": "n4", "addr": "127.0.0.1:7404"}.
func clusterJoin(a *app.App) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID   string `json:"id"`
			Addr string `json:"addr"`
		}
		if !clusterReq(w, r, a, &req, `{"id": "n4", "addr": "127.0.0.1:7404"}`) {
			return
		}
		clusterDone(w, r, a, a.Cluster.Join(r.Context(), req.ID, req.Addr))
	}
}

// clusterRemove takes a node out: {"id": "n3"}.
func clusterRemove(a *app.App) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID string `json:"id"`
		}
		if !clusterReq(w, r, a, &req, `{"id": "n3"}`) {
			return
		}
		clusterDone(w, r, a, a.Cluster.Remove(r.Context(), req.ID))
	}
}

// clusterTransfer hands leadership over: {"id": "n2"}, or {} for raft's
// choice.
func clusterTransfer(a *app.App) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID string `json:"id"`
		}
		if !clusterReq(w, r, a, &req, `{"id": "n2"}`) {
			return
		}
		clusterDone(w, r, a, a.Cluster.Transfer(r.Context(), req.ID))
	}
}

// clusterSnapshot takes a raft snapshot on this node now.
func clusterSnapshot(a *app.App) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.Cluster == nil {
			writeAppError(w, r, errAlone)
			return
		}
		clusterDone(w, r, a, a.Cluster.Snapshot())
	}
}

func clusterReq(w http.ResponseWriter, r *http.Request, a *app.App, v any, example string) bool {
	if a.Cluster == nil {
		writeAppError(w, r, errAlone)
		return false
	}
	return decodeJSON(w, r, v, example)
}

// clusterDone answers a membership change with the new state.
func clusterDone(w http.ResponseWriter, r *http.Request, a *app.App, err error) {
	if err != nil {
		writeAppError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.ClusterState())
}

// clusterEnvelope replicates an agent-protocol envelope:
// {"topic": "agent.note", "from": "desk", "kind": "note", "payload": {...}}.
func clusterEnvelope(a *app.App) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var e cluster.Envelope
		if !clusterReq(w, r, a, &e, `{"topic": "agent.note", "from": "desk", "kind": "note", "payload": {"text": "hello"}}`) {
			return
		}
		res, err := a.PublishReplicated(r.Context(), e)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	}
}
