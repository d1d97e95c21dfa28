package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/metastation/metastation/app/errs"
)

// The kinds of replicated command.
const (
	KindVote     = "vote"     // an audience vote for a strategy in a round
	KindAlias    = "alias"    // a model-registry alias move (compare-and-set)
	KindEnvelope = "envelope" // an agent-protocol envelope of a replicated kind
	KindRound    = "round"    // a tournament round record: started, progress, finished
)

// Limits on what a command may carry; checked at the edge and again when
// applied, so a forged entry cannot grow the state without bound.
const (
	MaxIDLen       = 64
	MaxNameLen     = 128
	MaxPayloadSize = 64 << 10
	MaxEnvelopes   = 1000   // envelopes kept in the state (oldest dropped first)
	MaxDedupe      = 10_000 // command ids remembered for at-most-once retries
)

// Command is one write to the replicated state, one entry of the raft log.
// ID makes a retried command take effect at most once. Node and At are set
// by the node that accepted it, so applying it is deterministic on every
// node. MAC is the HMAC-SHA256 of the rest under the cluster secret: an
// entry without a valid MAC is refused by every node alike.
type Command struct {
	ID       string     `json:"id"`
	Kind     string     `json:"kind"`
	Node     string     `json:"node"`
	At       time.Time  `json:"at"`
	Vote     *Vote      `json:"vote,omitempty"`
	Alias    *AliasMove `json:"alias,omitempty"`
	Envelope *Envelope  `json:"envelope,omitempty"`
	Round    *Round     `json:"round,omitempty"`
	MAC      string     `json:"mac,omitempty"`
}

// Vote is a voter's pick of a strategy to win a round. A later vote of the
// same voter for the same round replaces the earlier one.
type Vote struct {
	Round    int64  `json:"round"`
	Voter    string `json:"voter"`
	Strategy string `json:"strategy"`
}

// AliasMove points a model's alias at a version (Remove: takes the alias
// away; Version is then 0). When IfVersion is set (>= 0 with HasIf) the
// move happens only if the alias currently points at IfVersion (0: the
// alias does not exist yet): a compare-and-set that lets two operators
// race safely. Rollback marks a move that undoes an earlier one (the model
// registry's history keeps it).
type AliasMove struct {
	Model     string `json:"model"`
	Alias     string `json:"alias"`
	Version   int    `json:"version"`
	Remove    bool   `json:"remove,omitempty"`
	HasIf     bool   `json:"has_if,omitempty"`
	IfVersion int    `json:"if_version,omitempty"`
	Actor     string `json:"actor,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Rollback  bool   `json:"rollback,omitempty"`
}

// Envelope is an agent-protocol message of a replicated kind, the same
// shape as app/bus's envelope with its payload kept as JSON.
type Envelope struct {
	Topic   string          `json:"topic"`
	From    string          `json:"from,omitempty"`
	To      string          `json:"to,omitempty"`
	Kind    string          `json:"kind,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// The statuses of a round record.
const (
	RoundStarted  = "started"
	RoundProgress = "progress"
	RoundFinished = "finished"
)

// Round is a tournament round record. The leader owns the running round:
// it appends "started", then "progress" checkpoints (Step and the opaque
// State a new leader resumes from), then "finished" with the Results.
// Starting round N closes the votes for N and opens them for N+1.
// Roster, on the "started" record, is the leader's roster of the round
// (opaque here; the tournament's entrant ids and digests): every node
// plays the round with it, and it is kept across the round's records.
type Round struct {
	Round   int64           `json:"round"`
	Status  string          `json:"status"`
	Seed    int64           `json:"seed,omitempty"`
	Step    int             `json:"step,omitempty"`
	State   json.RawMessage `json:"state,omitempty"`
	Results json.RawMessage `json:"results,omitempty"`
	Roster  json.RawMessage `json:"roster,omitempty"`
}

// validName reports whether s is a non-empty printable name of at most n bytes.
func validName(s string, n int) bool {
	if s == "" || len(s) > n || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Validate checks a command's shape: a clear error for bad input, before
// it reaches the log. Apply checks again (an entry may be forged).
func (c *Command) Validate() error {
	if !validName(c.ID, MaxIDLen) {
		return errs.Errorf(errs.Invalid, "a command needs an id of 1 to %d printable characters", MaxIDLen)
	}
	set := 0
	for _, p := range []bool{c.Vote != nil, c.Alias != nil, c.Envelope != nil, c.Round != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return errs.Errorf(errs.Invalid, "a command carries exactly one of vote, alias, envelope or round")
	}
	switch c.Kind {
	case KindVote:
		v := c.Vote
		if v == nil {
			return errs.Errorf(errs.Invalid, "a vote command has no vote")
		}
		if v.Round < 1 {
			return errs.Errorf(errs.Invalid, "a vote names a round from 1 up, not %d", v.Round)
		}
		if !validName(v.Voter, 64) || !validName(v.Strategy, MaxNameLen) {
			return errs.Errorf(errs.Invalid, "a vote needs a voter id and a strategy")
		}
	case KindAlias:
		a := c.Alias
		if a == nil {
			return errs.Errorf(errs.Invalid, "an alias command has no alias move")
		}
		if !validName(a.Model, MaxNameLen) || !validName(a.Alias, MaxNameLen) {
			return errs.Errorf(errs.Invalid, "an alias move needs a model and an alias name")
		}
		if a.Remove && a.Version != 0 {
			return errs.Errorf(errs.Invalid, "an alias removal names no version (got %d)", a.Version)
		}
		if !a.Remove && a.Version < 1 {
			return errs.Errorf(errs.Invalid, "an alias points at a version from 1 up, not %d", a.Version)
		}
		if a.HasIf && a.IfVersion < 0 {
			return errs.Errorf(errs.Invalid, "the expected version of an alias is 0 (none) or more")
		}
		if len(a.Actor) > MaxNameLen || len(a.Reason) > 1024 {
			return errs.Errorf(errs.Invalid, "an alias move's actor or reason is too long")
		}
	case KindEnvelope:
		e := c.Envelope
		if e == nil {
			return errs.Errorf(errs.Invalid, "an envelope command has no envelope")
		}
		if !validName(e.Topic, MaxNameLen) {
			return errs.Errorf(errs.Invalid, "an envelope needs a topic of at most %d characters", MaxNameLen)
		}
		if !ReplicatedTopic(e.Topic) {
			return errs.Errorf(errs.Invalid, "envelopes on topic %q are not replicated (replicated: %s)", e.Topic, strings.Join(replicatedTopics, ", "))
		}
		if len(e.From) > MaxNameLen || len(e.To) > MaxNameLen || len(e.Kind) > MaxNameLen {
			return errs.Errorf(errs.Invalid, "an envelope's from, to or kind is too long")
		}
		if len(e.Payload) > MaxPayloadSize {
			return errs.Errorf(errs.Invalid, "an envelope's payload is %d bytes; at most %d", len(e.Payload), MaxPayloadSize)
		}
		if len(e.Payload) > 0 && !json.Valid(e.Payload) {
			return errs.Errorf(errs.Invalid, "an envelope's payload is not valid JSON")
		}
	case KindRound:
		r := c.Round
		if r == nil {
			return errs.Errorf(errs.Invalid, "a round command has no round")
		}
		if r.Round < 1 {
			return errs.Errorf(errs.Invalid, "a round number starts at 1, not %d", r.Round)
		}
		switch r.Status {
		case RoundStarted, RoundProgress, RoundFinished:
		default:
			return errs.Errorf(errs.Invalid, "a round's status is started, progress or finished, not %q", r.Status)
		}
		if len(r.State)+len(r.Results)+len(r.Roster) > MaxPayloadSize {
			return errs.Errorf(errs.Invalid, "a round's state, results and roster exceed %d bytes", MaxPayloadSize)
		}
		if len(r.Roster) > 0 && r.Status != RoundStarted {
			return errs.Errorf(errs.Invalid, "a round's roster is given when it starts, not in a %q record", r.Status)
		}
		for _, raw := range []json.RawMessage{r.State, r.Results, r.Roster} {
			if len(raw) > 0 && !json.Valid(raw) {
				return errs.Errorf(errs.Invalid, "a round's state, results or roster are not valid JSON")
			}
		}
	default:
		return errs.Errorf(errs.Invalid, "unknown command kind %q (known: vote, alias, envelope, round)", c.Kind)
	}
	return nil
}

// replicatedTopics are the agent-protocol topic prefixes whose envelopes
// are replicated: what every node must agree on. Live market ticks and
// progress frames are local and not replicated.
var replicatedTopics = []string{"tournament.", "agent.", "mlops.", "supply."}

// ReplicatedTopic reports whether envelopes on topic are replicated.
func ReplicatedTopic(topic string) bool {
	if strings.HasSuffix(topic, ".progress") {
		return false
	}
	for _, p := range replicatedTopics {
		if strings.HasPrefix(topic, p) {
			return true
		}
	}
	return false
}

// sign sets c.MAC under key.
func (c *Command) sign(key []byte) error {
	mac, err := c.mac(key)
	if err != nil {
		return err
	}
	c.MAC = mac
	return nil
}

// verify reports whether c.MAC is the command's HMAC under key.
func (c *Command) verify(key []byte) bool {
	want, err := c.mac(key)
	if err != nil {
		return false
	}
	return hmac.Equal([]byte(want), []byte(c.MAC))
}

func (c *Command) mac(key []byte) (string, error) {
	cp := *c
	cp.MAC = ""
	b, err := json.Marshal(&cp)
	if err != nil {
		return "", fmt.Errorf("encode command: %w", err)
	}
	h := hmac.New(sha256.New, key)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Result is what applying a command did. Outcome is "applied", or
// "rejected" with Code and Message saying why (the same on every node).
// Duplicate is set when the command's id had already been applied: the
// result is the original one.
type Result struct {
	ID        string `json:"id"`
	Index     uint64 `json:"index"`
	Outcome   string `json:"outcome"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
	Version   int    `json:"version,omitempty"`  // alias: the version it points at now
	Previous  int    `json:"previous,omitempty"` // alias: the version before the move
	Replaced  bool   `json:"replaced,omitempty"` // vote: an earlier vote of the voter was replaced
	Duplicate bool   `json:"duplicate,omitempty"`
}

// The outcomes of a command.
const (
	OutcomeApplied  = "applied"
	OutcomeRejected = "rejected"
)

// Err is the result as an error: nil when applied, an errs.Error with the
// rejection's code and message otherwise.
func (r Result) Err() error {
	if r.Outcome == OutcomeApplied {
		return nil
	}
	code := errs.Code(r.Code)
	if code == "" {
		code = errs.Invalid
	}
	return &errs.Error{Code: code, Message: r.Message}
}
