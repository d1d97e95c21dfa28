// Package memory holds agents' memory streams: what each agent saw, did and
// learned, recalled by meaning, the way Generative Agents (Park et al. 2023)
// do, embedded and offline.
//
// A Store is the whole API:
//
//	st, _ := memory.Open(ctx, memory.Config{}, db, writer, log)
//	m, _ := st.Write(ctx, memory.Memory{Agent: "momentum", Kind: memory.Action, Text: "Bought 300 SPY", SimTime: t})
//	res, _ := st.Search(ctx, memory.Query{Text: "purchases of index funds", Agent: "momentum"})
//	got, _ := st.Get(m.ID)
//	line, _ := st.Timeline("momentum", memory.Page{Limit: 50})
//	report, _ := st.Consolidate(ctx)
//
// Memories live in SQLite (table memories, written through the batching
// writer) and, as a working set rebuilt at Open, in memory: the rows, the
// vectors and a BM25 word index. Search fuses BM25 with exact cosine over
// SIF sentence vectors (package wordvec) by reciprocal rank fusion, then
// ranks by the Generative Agents score: relevance, recency and importance,
// each min-max normalised and weighted.
//
// Service wraps a Store for the application: it writes the tournament's
// notable decisions and outcomes from the bus, and consolidates in the
// background.
package memory

import (
	"time"
)

// Kind is what a memory records.
type Kind string

// The kinds of memory.
const (
	Observation Kind = "observation" // something the agent saw
	Action      Kind = "action"      // something it did
	Outcome     Kind = "outcome"     // how something turned out
	Reflection  Kind = "reflection"  // a summary of other memories
	Document    Kind = "document"    // a text it read (a file, a memo)
)

// Kinds lists every kind, in the order a page shows them.
var Kinds = []Kind{Observation, Action, Outcome, Reflection, Document}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// Status is where a memory is in its life.
type Status string

// The statuses. A merged or forgotten memory is kept (with its evidence) but
// no longer returned by searches.
const (
	Active    Status = "active"
	Merged    Status = "merged"    // folded into MergedInto, which holds its evidence
	Forgotten Status = "forgotten" // decayed below the forgetting threshold
)

// Link points at a memory's evidence: another memory, a trade, a file, a
// round.
type Link struct {
	Kind string `json:"kind"` // "memory", "trade", "file", "round", ...
	Ref  string `json:"ref"`  // its id in that space
}

// Memory is one entry of an agent's stream.
type Memory struct {
	ID      int64     `json:"id"`
	Agent   string    `json:"agent"`
	Kind    Kind      `json:"kind"`
	Text    string    `json:"text"`
	Topic   string    `json:"topic,omitempty"`  // what it is about: a symbol, an event kind; duplicates share one
	Stance  string    `json:"stance,omitempty"` // the agent's position on Topic; a different newer stance supersedes
	Source  string    `json:"source,omitempty"` // who wrote it: "tournament.fills", "user", ...
	Tags    []string  `json:"tags,omitempty"`
	Links   []Link    `json:"links,omitempty"`
	SimTime time.Time `json:"sim_time"`  // on the simulation's clock; recency decays on it
	Wall    time.Time `json:"wall_time"` // on the machine's clock
	Value   float64   `json:"value,omitempty"`
	// Expected, when set, is what the agent expected Value to be; the gap
	// is the surprise that raises importance.
	Expected     *float64 `json:"expected,omitempty"`
	Importance   float64  `json:"importance"` // 0..1; computed by rules when Write gets 0
	Pinned       bool     `json:"pinned,omitempty"`
	Status       Status   `json:"status"`
	MergedInto   int64    `json:"merged_into,omitempty"`
	SupersededBy int64    `json:"superseded_by,omitempty"`
	Count        int      `json:"count"` // how many memories it stands for (1 + merged duplicates)
	VecVersion   string   `json:"vec_version"`
}

// Limits on what Write and Search accept.
const (
	MaxText    = 8 << 10 // bytes of a memory's text
	MaxQuery   = 1 << 10 // bytes of a search query
	MaxTags    = 16
	MaxLinks   = 256 // a merged memory may gather more; this caps what one Write brings
	MaxLimit   = 100
	MaxAgentID = 64
)
