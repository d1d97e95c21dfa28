package cluster

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// State is the replicated state machine's value: what every node holds
// identically after applying the same log. It is plain data so that a
// snapshot is its JSON encoding (Go sorts map keys, so the encoding, and
// so the hash, is canonical).
type State struct {
	// Applied is the raft index of the last command applied.
	Applied uint64 `json:"applied"`
	// Chain is the running SHA-256 over every applied entry (index and
	// bytes): equal chains mean identical applied sequences.
	Chain string `json:"chain"`
	// Count is the number of commands applied (rejected ones included).
	Count uint64 `json:"count"`

	// VotesOpen is the round whose votes are open (the next to start).
	VotesOpen int64 `json:"votes_open"`
	// Votes: round -> voter -> strategy.
	Votes map[int64]map[string]string `json:"votes"`
	// Aliases: "model/alias" -> current pointer.
	Aliases map[string]AliasState `json:"aliases"`
	// Moves is the append-only history of alias moves.
	Moves []AliasRecord `json:"moves"`
	// Envelopes are the last MaxEnvelopes replicated envelopes, oldest first.
	Envelopes []EnvelopeRecord `json:"envelopes"`
	// Rounds: round number -> latest record.
	Rounds map[int64]RoundRecord `json:"rounds"`

	// Seen maps recent command ids to their results (at-most-once), Order
	// holds the same ids oldest first so the oldest is forgotten first.
	Seen  map[string]Result `json:"seen"`
	Order []string          `json:"order"`
}

// AliasState is where an alias points now.
type AliasState struct {
	Version int    `json:"version"`
	Index   uint64 `json:"index"`
}

// AliasRecord is one applied alias move.
type AliasRecord struct {
	Index    uint64    `json:"index"`
	Model    string    `json:"model"`
	Alias    string    `json:"alias"`
	From     int       `json:"from"`
	To       int       `json:"to"`
	Actor    string    `json:"actor,omitempty"`
	Why      string    `json:"reason,omitempty"`
	Rollback bool      `json:"rollback,omitempty"`
	At       time.Time `json:"at"`
	Node     string    `json:"node"`
}

// EnvelopeRecord is an applied envelope with where it sits in the log.
type EnvelopeRecord struct {
	Index uint64    `json:"index"`
	At    time.Time `json:"at"`
	Node  string    `json:"node"`
	Envelope
}

// RoundRecord is the latest record of a round. Started is when the
// round started (its "started" record's time), kept across checkpoints: a
// new leader resumes the round on that clock.
type RoundRecord struct {
	Round
	Index   uint64    `json:"index"`
	Node    string    `json:"node"` // the node (the leader) that wrote it
	At      time.Time `json:"at"`
	Started time.Time `json:"started"`
}

// NewState returns the empty state: votes open for round 1.
func NewState() *State {
	return &State{
		VotesOpen: 1,
		Votes:     map[int64]map[string]string{},
		Aliases:   map[string]AliasState{},
		Rounds:    map[int64]RoundRecord{},
		Seen:      map[string]Result{},
	}
}

func aliasKey(model, alias string) string { return model + "/" + alias }

// Apply applies the log entry at index holding raw, the encoding of a
// command, and returns what it did. It is deterministic: the same entries
// in the same order give the same state and results on every node. key is
// the cluster's command-signing key.
func (s *State) Apply(index uint64, raw []byte, key []byte) Result {
	s.chain(index, raw)
	s.Applied = index
	s.Count++
	var c Command
	if err := json.Unmarshal(raw, &c); err != nil {
		return reject(index, "", errs.Invalid, "The log entry is not a command.")
	}
	if !c.verify(key) {
		return reject(index, c.ID, errs.Invalid, "The command's signature does not match the cluster secret; it was refused.")
	}
	if err := c.Validate(); err != nil {
		return reject(index, c.ID, errs.Invalid, err.Error())
	}
	if prev, ok := s.Seen[c.ID]; ok {
		prev.Duplicate = true
		return prev
	}
	res := s.apply(index, &c)
	s.remember(c.ID, res)
	return res
}

func reject(index uint64, id string, code errs.Code, msg string) Result {
	return Result{ID: id, Index: index, Outcome: OutcomeRejected, Code: string(code), Message: msg}
}

func (s *State) chain(index uint64, raw []byte) {
	h := sha256.New()
	h.Write([]byte(s.Chain))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], index)
	h.Write(b[:])
	h.Write(raw)
	s.Chain = hex.EncodeToString(h.Sum(nil))
}

func (s *State) remember(id string, r Result) {
	s.Seen[id] = r
	s.Order = append(s.Order, id)
	for len(s.Order) > MaxDedupe {
		delete(s.Seen, s.Order[0])
		s.Order = s.Order[1:]
	}
}

func (s *State) apply(index uint64, c *Command) Result {
	ok := Result{ID: c.ID, Index: index, Outcome: OutcomeApplied}
	switch c.Kind {
	case KindVote:
		v := c.Vote
		switch {
		case v.Round > s.VotesOpen:
			return reject(index, c.ID, errs.NotFound, fmt.Sprintf("There is no round %d open for votes (votes are open for round %d).", v.Round, s.VotesOpen))
		case v.Round < s.VotesOpen:
			return reject(index, c.ID, errs.Conflict, fmt.Sprintf("Voting for round %d closed when it started; vote for round %d.", v.Round, s.VotesOpen))
		}
		m := s.Votes[v.Round]
		if m == nil {
			m = map[string]string{}
			s.Votes[v.Round] = m
		}
		_, ok.Replaced = m[v.Voter]
		m[v.Voter] = v.Strategy
	case KindAlias:
		a := c.Alias
		k := aliasKey(a.Model, a.Alias)
		cur := s.Aliases[k]
		if a.HasIf && cur.Version != a.IfVersion {
			r := reject(index, c.ID, errs.Conflict, fmt.Sprintf("Alias %s of %s points at version %d, not %d; nothing was moved.", a.Alias, a.Model, cur.Version, a.IfVersion))
			r.Version = cur.Version
			return r
		}
		if a.Remove {
			if cur.Version == 0 {
				return reject(index, c.ID, errs.NotFound, fmt.Sprintf("Model %s has no alias %s to remove.", a.Model, a.Alias))
			}
			delete(s.Aliases, k)
		} else {
			s.Aliases[k] = AliasState{Version: a.Version, Index: index}
		}
		s.Moves = append(s.Moves, AliasRecord{Index: index, Model: a.Model, Alias: a.Alias, From: cur.Version, To: a.Version,
			Actor: a.Actor, Why: a.Reason, Rollback: a.Rollback, At: c.At, Node: c.Node})
		ok.Version, ok.Previous = a.Version, cur.Version
	case KindEnvelope:
		s.Envelopes = append(s.Envelopes, EnvelopeRecord{Index: index, At: c.At, Node: c.Node, Envelope: *c.Envelope})
		if n := len(s.Envelopes) - MaxEnvelopes; n > 0 {
			s.Envelopes = append([]EnvelopeRecord(nil), s.Envelopes[n:]...)
		}
	case KindRound:
		r := c.Round
		prev, seen := s.Rounds[r.Round]
		switch {
		case seen && prev.Status == RoundFinished:
			return reject(index, c.ID, errs.Conflict, fmt.Sprintf("Round %d has finished; its record cannot change.", r.Round))
		case !seen && r.Status != RoundStarted:
			return reject(index, c.ID, errs.Conflict, fmt.Sprintf("Round %d has not started.", r.Round))
		case seen && r.Status == RoundStarted:
			return reject(index, c.ID, errs.Conflict, fmt.Sprintf("Round %d has already started.", r.Round))
		case r.Status == RoundProgress && r.Step < prev.Step:
			return reject(index, c.ID, errs.Conflict, fmt.Sprintf("Round %d is at step %d; a checkpoint at step %d is stale.", r.Round, prev.Step, r.Step))
		}
		rec := RoundRecord{Round: *r, Index: index, Node: c.Node, At: c.At, Started: c.At}
		if seen {
			rec.Started = prev.Started // the start time, the seed and the roster are the round's, kept across checkpoints
			rec.Roster = prev.Roster
			if rec.Seed == 0 {
				rec.Seed = prev.Seed
			}
			if r.Status == RoundFinished && r.Step < prev.Step {
				rec.Step = prev.Step
			}
		}
		s.Rounds[r.Round] = rec
		if r.Status == RoundStarted && r.Round >= s.VotesOpen {
			s.VotesOpen = r.Round + 1
		}
	}
	return ok
}

// Hash is the SHA-256 of the state's canonical encoding: equal hashes mean
// equal states.
func (s *State) Hash() string {
	b, err := json.Marshal(s)
	if err != nil {
		return "" // cannot happen: the state is plain data
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Tally counts round's votes by strategy.
func (s *State) Tally(round int64) map[string]int {
	t := map[string]int{}
	for _, st := range s.Votes[round] {
		t[st]++
	}
	return t
}

// Alias returns where model's alias points, 0 when it does not exist.
func (s *State) Alias(model, alias string) int {
	return s.Aliases[aliasKey(model, alias)].Version
}

// roundsSorted returns the round records by round number.
func (s *State) roundsSorted() []RoundRecord {
	out := make([]RoundRecord, 0, len(s.Rounds))
	for _, r := range s.Rounds {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Round.Round < out[j].Round.Round })
	return out
}
