package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/tournament"
)

// The agents' memory API and the Memory page. Wired in routes.go:
//
//	GET  /memory                          the Memory page (?agent=ID&q=TEXT opens on what ID remembers about TEXT)
//	GET  /api/memory/search               ?q=&agent=&kind=a,b&from=&to=&tags=&mode=hybrid|lexical|vector&limit=
//	GET  /api/memory/stats                the store's counters
//	GET  /api/memory/agents               every agent with memories, and the tournament's strategies
//	GET  /api/memory/agents/{id}          ?before=ID&limit=N&all=1: the agent's stream, newest first
//	GET  /api/memory/{id}                 one memory with its evidence resolved
//	POST /api/memory                      {"agent","text","kind","tags","pinned"} -> 201: a user's note
//	POST /api/memory/{id}/pin             {"pinned": true|false}
//	GET  /api/memory/consolidation        where background consolidation is
//	POST /api/memory/consolidation        run a pass now -> 202 (409 while one runs)
//
// A strategy of the tournament that has no memory yet is an agent with an
// empty stream, not an unknown one: the floor links to it from the start.

// maxNoteBytes caps a note's request body: a note's text is at most
// memory.MaxText, and the rest of the object is small.
const maxNoteBytes = 16 << 10

// maxEvidence is how many of a memory's evidence links /api/memory/{id}
// resolves to memories (a reflection links up to 200).
const maxEvidence = 100

// strategies lists the tournament's strategies at the time of a request.
type strategies func() []tournament.Profile

func (s strategies) has(id string) bool {
	if s == nil {
		return false
	}
	return slices.ContainsFunc(s(), func(p tournament.Profile) bool { return p.ID == id })
}

// memorySearchResponse is a search's answer.
type memorySearchResponse struct {
	Query   string          `json:"query"`
	Mode    memory.Mode     `json:"mode"`
	Agent   string          `json:"agent,omitempty"`
	TookMS  float64         `json:"took_ms"`
	Results []memory.Result `json:"results"`
}

// memorySearch ranks memories for the query and says why each matched.
func memorySearch(svc *memory.Service, strats strategies) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, err := parseMemoryQuery(r)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		st := svc.Store()
		if q.Agent != "" && !st.KnownAgent(q.Agent) && strats.has(q.Agent) {
			// Validate the rest of the query as the store would, then
			// answer the empty stream's empty result.
			probe := q
			probe.Agent = ""
			if _, err := st.Search(r.Context(), probe); err != nil {
				writeAppError(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, memorySearchResponse{Query: q.Text, Mode: modeOr(q.Mode), Agent: q.Agent, Results: []memory.Result{}})
			return
		}
		t0 := time.Now()
		res, err := st.Search(r.Context(), q)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		took := float64(time.Since(t0).Microseconds()) / 1e3
		writeJSON(w, http.StatusOK, memorySearchResponse{Query: strings.TrimSpace(q.Text), Mode: modeOr(q.Mode), Agent: q.Agent, TookMS: took, Results: res})
	}
}

func modeOr(m memory.Mode) memory.Mode {
	if m == "" {
		return memory.Hybrid
	}
	return m
}

// parseMemoryQuery reads a search from the URL; the store validates what
// it can (empty or long text, unknown agent, an inverted range).
func parseMemoryQuery(r *http.Request) (memory.Query, error) {
	v := r.URL.Query()
	q := memory.Query{Text: v.Get("q"), Agent: strings.TrimSpace(v.Get("agent")), Mode: memory.Mode(strings.ToLower(strings.TrimSpace(v.Get("mode"))))}
	if len(q.Text) > memory.MaxQuery {
		return q, errs.Errorf(errs.Invalid, "a search is at most %d bytes; this one is %d", memory.MaxQuery, len(q.Text))
	}
	for _, k := range splitList(v.Get("kind")) {
		q.Kinds = append(q.Kinds, memory.Kind(strings.ToLower(k)))
	}
	q.Tags = splitList(v.Get("tags"))
	var err error
	if q.From, err = parseSimTime("from", v.Get("from"), false); err != nil {
		return q, err
	}
	if q.To, err = parseSimTime("to", v.Get("to"), true); err != nil {
		return q, err
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > memory.MaxLimit {
			return q, errs.Errorf(errs.Invalid, "limit is a whole number from 1 to %d, not %q", memory.MaxLimit, s)
		}
		q.Limit = n
	}
	return q, nil
}

// simTimeLayouts are the forms a time range's ends may take: RFC 3339, a
// browser's datetime-local value, or a day. Times without a zone are UTC,
// the simulated calendar's zone.
var simTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

// parseSimTime parses one end of a time range. A day given as the end
// covers that whole day.
func parseSimTime(name, s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range simTimeLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if layout == "2006-01-02" && end {
			t = t.Add(24*time.Hour - time.Millisecond)
		}
		return t.UTC(), nil
	}
	return time.Time{}, errs.Errorf(errs.Invalid, "%s must be a time like 2026-01-05T10:30 or 2026-01-05, not %q", name, truncate(s, 40))
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// memoryStats answers the store's counters.
func memoryStats(svc *memory.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, svc.Store().Stats())
	}
}

// memoryAgentsResponse lists the agents with memories and the
// tournament's strategies (which may have none yet).
type memoryAgentsResponse struct {
	Agents []memory.AgentSummary `json:"agents"`
}

func memoryAgents(svc *memory.Service, strats strategies) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		list := svc.Store().Agents()
		if strats != nil {
			for _, p := range strats() {
				if !slices.ContainsFunc(list, func(a memory.AgentSummary) bool { return a.Agent == p.ID }) {
					list = append(list, memory.AgentSummary{Agent: p.ID})
				}
			}
		}
		slices.SortFunc(list, func(a, b memory.AgentSummary) int { return strings.Compare(a.Agent, b.Agent) })
		writeJSON(w, http.StatusOK, memoryAgentsResponse{Agents: list})
	}
}

// memoryTimelineResponse is a page of an agent's stream; NextBefore, when
// set, is the before= of the next (older) page.
type memoryTimelineResponse struct {
	Agent      string          `json:"agent"`
	Memories   []memory.Memory `json:"memories"`
	NextBefore int64           `json:"next_before,omitempty"`
}

// memoryTimeline answers a page of an agent's stream, newest first.
func memoryTimeline(svc *memory.Service, strats strategies) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		agent := chi.URLParam(r, "id")
		v := r.URL.Query()
		p := memory.Page{Limit: 50, All: v.Get("all") == "1" || v.Get("all") == "true"}
		if s := v.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > memory.MaxLimit {
				writeAppError(w, r, errs.Errorf(errs.Invalid, "limit is a whole number from 1 to %d, not %q", memory.MaxLimit, truncate(s, 20)))
				return
			}
			p.Limit = n
		}
		if s := v.Get("before"); s != "" {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil || id < 1 {
				writeAppError(w, r, errs.Errorf(errs.Invalid, "before is a memory id (a whole number from 1), not %q", truncate(s, 20)))
				return
			}
			p.Before = id
		}
		st := svc.Store()
		if !st.KnownAgent(agent) && strats.has(agent) && p.Before == 0 {
			writeJSON(w, http.StatusOK, memoryTimelineResponse{Agent: agent, Memories: []memory.Memory{}})
			return
		}
		ms, err := st.Timeline(agent, p)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		out := memoryTimelineResponse{Agent: agent, Memories: ms}
		if ms == nil {
			out.Memories = []memory.Memory{}
		}
		if len(ms) == p.Limit {
			out.NextBefore = ms[len(ms)-1].ID
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// memoryEvidence is one evidence link of a memory; Memory is the linked
// memory when the link is to one (and it is within maxEvidence).
type memoryEvidence struct {
	memory.Link
	Memory *memory.Memory `json:"memory,omitempty"`
}

// memoryDetail is one memory with what it rests on and what became of it.
type memoryDetail struct {
	Memory       memory.Memory    `json:"memory"`
	Evidence     []memoryEvidence `json:"evidence"`
	MergedInto   *memory.Memory   `json:"merged_into,omitempty"`
	SupersededBy *memory.Memory   `json:"superseded_by,omitempty"`
}

// memoryGet answers one memory with its evidence links resolved.
func memoryGet(svc *memory.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := memoryID(w, r)
		if !ok {
			return
		}
		st := svc.Store()
		m, err := st.Get(id)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		d := memoryDetail{Memory: m, Evidence: make([]memoryEvidence, 0, len(m.Links))}
		resolved := 0
		for _, l := range m.Links {
			e := memoryEvidence{Link: l}
			if l.Kind == "memory" && resolved < maxEvidence {
				if ref, err := strconv.ParseInt(l.Ref, 10, 64); err == nil {
					if lm, err := st.Get(ref); err == nil {
						e.Memory = &lm
						resolved++
					}
				}
			}
			d.Evidence = append(d.Evidence, e)
		}
		if m.MergedInto != 0 {
			if into, err := st.Get(m.MergedInto); err == nil {
				d.MergedInto = &into
			}
		}
		if m.SupersededBy != 0 {
			if by, err := st.Get(m.SupersededBy); err == nil {
				d.SupersededBy = &by
			}
		}
		writeJSON(w, http.StatusOK, d)
	}
}

func memoryID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	s := chi.URLParam(r, "id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		writeAppError(w, r, errs.Errorf(errs.Invalid, "a memory id is a whole number from 1, not %q", truncate(s, 20)))
		return 0, false
	}
	return id, true
}

// noteAgent is who a note without an agent is about: the person using the
// page.
const noteAgent = "user"

// memoryNote writes a user's note: {"agent": "momentum", "text": "...",
// "kind": "observation", "tags": ["a"], "pinned": false}. The agent is one
// with memories, a strategy of the tournament, or "user" (the default).
// It is placed at the newest simulated time, so recency ranks it as just
// said. A rejected note writes nothing.
func memoryNote(svc *memory.Service, strats strategies) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Agent  string   `json:"agent"`
			Text   string   `json:"text"`
			Kind   string   `json:"kind"`
			Tags   []string `json:"tags"`
			Pinned bool     `json:"pinned"`
		}
		if !decodeJSON(w, r, &req, `{"agent": "momentum", "text": "SPY gaps down after a rate surprise"}`) {
			return
		}
		st := svc.Store()
		agent := strings.TrimSpace(req.Agent)
		if agent == "" {
			agent = noteAgent
		}
		if agent != noteAgent && !st.KnownAgent(agent) && !strats.has(agent) {
			writeAppError(w, r, errs.Errorf(errs.Invalid, "there is no agent %q: a note is about an agent with memories, a strategy of the tournament, or %q", truncate(agent, 64), noteAgent))
			return
		}
		kind := memory.Kind(strings.ToLower(strings.TrimSpace(req.Kind)))
		if kind == "" {
			kind = memory.Observation
		}
		if kind == memory.Reflection {
			writeAppError(w, r, errs.Errorf(errs.Invalid, "reflections are written by consolidation; a note is an observation, action, outcome or document"))
			return
		}
		m := memory.Memory{Agent: agent, Kind: kind, Text: req.Text, Source: "user", Tags: append([]string{"note"}, req.Tags...),
			SimTime: st.Newest(), Pinned: req.Pinned}
		out, err := svc.Write(r.Context(), []memory.Memory{m})
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, out[0])
	}
}

// memoryPin pins a memory (kept from forgetting) or unpins it.
func memoryPin(svc *memory.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := memoryID(w, r)
		if !ok {
			return
		}
		var req struct {
			Pinned *bool `json:"pinned"`
		}
		if !decodeJSON(w, r, &req, `{"pinned": true}`) {
			return
		}
		if req.Pinned == nil {
			writeAppError(w, r, errs.Errorf(errs.Invalid, "say whether to pin: {\"pinned\": true} or {\"pinned\": false}"))
			return
		}
		m, err := svc.Store().Pin(r.Context(), id, *req.Pinned)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	}
}

// memoryConsolidation answers where background consolidation is.
func memoryConsolidation(svc *memory.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, svc.Consolidation())
	}
}

// memoryConsolidate asks for a pass now; its report comes on
// memory.consolidation.
func memoryConsolidate(svc *memory.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cs, err := svc.ConsolidateNow()
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, cs)
	}
}
