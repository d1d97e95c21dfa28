package tournament

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
)

// The tournament's topics on the bus.
var (
	TopicState      = bus.NewTopic[State]("tournament.state")       // snapshot
	TopicCommentary = bus.NewTopic[[]Line]("tournament.commentary") // new lines
	TopicFills      = bus.NewTopic[[]Fill]("tournament.fills")      // strategies' fills since the last message
	TopicVotes      = bus.NewTopic[Tally]("tournament.votes")       // the open round's tally, at every change
)

// Scenario is a named regime script.
type Scenario struct {
	Name   string `json:"name"`
	Script string `json:"script"`
}

// Scenarios are the market scenarios rounds rotate through.
var Scenarios = []Scenario{
	{"Flash crash at 10:30", DefaultScript},
	{"Nervous afternoon", "calm; 12:00 volatile; 14:30 crisis shock=-2; 15:15 volatile"},
	{"Quiet trend day", "calm"},
	{"Crisis open, recovery", "crisis shock=-3; 10:30 volatile; 12:30 calm"},
}

// Config sets up the tournament service. Zero fields take the defaults.
type Config struct {
	Seed            uint64
	Speed           float64       // simulated seconds per real second; default 130 (a round in 3 minutes); negative is as fast as possible
	Round           RoundConfig   // Seed and Script are set per round
	VoteWindow      time.Duration // real pause between rounds, votes still open; default 20s
	FirstWait       time.Duration // real wait before the first round; default 1s
	RoundsPerSeason int           // default 5
	ScoreBy         ScoreBy       // default sortino
	PublishEvery    time.Duration // default 250ms
	LLM             *LLM          // when set, commentary lines are rewritten by a local model (templates are the fallback)
	// Ledger, when set, is the replicated record of rounds shared by the
	// nodes of a cluster (ledger.go): the leader starts, checkpoints and
	// finishes rounds, every node runs them on the replicated clock.
	Ledger          Ledger
	CheckpointEvery time.Duration // the leader's checkpoint interval; default 1s
	// MaxBallots is how many ballots one voter may cast in one round
	// (a change of mind is a ballot); default 20. Each is kept in the
	// audit log (tournament_vote_log), so the cap bounds its growth at
	// MaxBallots rows per voter and round.
	MaxBallots int
}

func (c Config) withDefaults() Config {
	if c.Speed == 0 {
		c.Speed = 130
	}
	if c.VoteWindow == 0 {
		c.VoteWindow = 20 * time.Second
	}
	if c.FirstWait == 0 {
		c.FirstWait = time.Second
	}
	if c.RoundsPerSeason <= 0 {
		c.RoundsPerSeason = 5
	}
	if c.ScoreBy == "" {
		c.ScoreBy = BySortino
	}
	if c.PublishEvery <= 0 {
		c.PublishEvery = 250 * time.Millisecond
	}
	if c.CheckpointEvery <= 0 {
		c.CheckpointEvery = time.Second
	}
	if c.MaxBallots <= 0 {
		c.MaxBallots = 20
	}
	c.Round = c.Round.withDefaults()
	return c
}

// Service is the tournament: a round engine that runs rounds one after
// another on a clock (engine.go), the audience's votes (votes.go), the
// live commentary (feed.go), the season's standings and the snapshot it
// publishes (state.go); its SQL is in store.go. Its methods are safe to
// call while Run runs.
type Service struct {
	cfg    Config
	bus    *bus.Bus
	log    *slog.Logger
	tables *tables
	feed   *feed

	vmu   sync.Mutex // serialises changes of votes: the database and the ballot box change together
	votes *ballotBox

	mu         sync.Mutex // guards the fields below; taken after vmu, never before
	profiles   []Profile  // the roster's profiles, in roster order (cfg.Round.Roster)
	rostered   int64      // the last round whose roster is fixed; entrants play from the one after
	phase      string     // "starting", "running", "voting", "sitting-out" (cluster mode: see sitOut)
	notice     string     // cluster mode: why this node sits the round out; "" when it plays
	roundID    int64      // the current (or last) round
	lockAt     time.Time  // when the upcoming round starts
	live       *liveRound // the round in progress (or the last one), nil before the first
	lastResult *RoundSummary
	season     seasonState
	checks     CheckpointChecks // cluster mode: replicated checkpoints compared with this node's round

	unfinishable int64     // runLedger's goroutine only: the round whose result this leader could not replay (logged once)
	nextHandOff  time.Time // runLedger's goroutine only: when such a leader may hand the leadership on again
}

// NewService builds the tournament service. b and db are required; w (for
// commentary) may be nil.
func NewService(cfg Config, b *bus.Bus, db *store.DB, w *store.Writer, log *slog.Logger) (*Service, error) {
	if b == nil || db == nil {
		return nil, errors.New("the tournament needs a bus and a database")
	}
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	t := &tables{db: db, w: w}
	s := &Service{cfg: cfg, bus: b, log: log, tables: t, feed: &feed{llm: cfg.LLM, tables: t, log: log},
		votes: newBallotBox(), phase: "starting"}
	for k, mk := range cfg.Round.Roster {
		s.profiles = append(s.profiles, mk(uint64(k)).Profile())
	}
	if cfg.Ledger != nil {
		if err := RefuseSoloRounds(context.Background(), db); err != nil {
			return nil, err
		}
	}
	// Votes for the next round are open from now, before Run starts.
	if err := s.recover(context.Background()); err != nil {
		return nil, err
	}
	return s, nil
}

// RefuseSoloRounds refuses cluster mode on a database that holds rounds
// played alone (an errs.Conflict): the cluster numbers its rounds from 1
// too, so its round N would meet this node's own round N (a finished one
// is never played again, and its result would stand for the cluster's on
// this node's pages). It changes nothing: the app asks before it opens
// raft, so the node needs only a new data directory.
func RefuseSoloRounds(ctx context.Context, db *store.DB) error {
	n, first, last, err := (&tables{db: db}).soloRounds(ctx)
	if err != nil || n == 0 {
		return err
	}
	which := fmt.Sprintf("round %d", first)
	if n > 1 {
		which = fmt.Sprintf("%d rounds, %d to %d,", n, first, last)
	}
	return errs.Errorf(errs.Conflict, "this database holds %s of a tournament played without --cluster; "+
		"in a cluster the rounds are the cluster's and would collide with them, so this node does not join with it. "+
		"Start the node with a new --data directory (nothing in this one was changed)", which)
}

// Profiles are the strategies' profiles, in roster order.
func (s *Service) Profiles() []Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.profiles
}

// Commentary returns the latest lines of round (0 for the current one),
// oldest first, at most limit.
func (s *Service) Commentary(ctx context.Context, round int64, limit int) ([]Line, error) {
	if round == 0 {
		s.mu.Lock()
		round = s.roundID
		s.mu.Unlock()
	}
	return s.tables.lines(ctx, round, limit)
}
