package tournament

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// VoteResult is the state of a round's vote after a ballot.
type VoteResult struct {
	Round    int64          `json:"round"`
	Strategy string         `json:"strategy"` // the voter's current pick
	Replaced bool           `json:"replaced"` // the voter had voted before; the last vote counts
	Votes    map[string]int `json:"votes"`
	Total    int            `json:"total"`
}

// Vote records client's pick of strategy to win round. Votes are open for
// the next round to start, until it starts; a client's later vote replaces
// its earlier one. Every accepted vote is appended to the audit log. The
// client id must have been authenticated by the caller (the signed cookie).
func (s *Service) Vote(ctx context.Context, round int64, client, strategy string) (VoteResult, error) {
	if client == "" || len(client) > 64 {
		return VoteResult{}, fmt.Errorf("%w: the voter has no valid id", ErrInvalid)
	}
	known := false
	for _, p := range s.Profiles() {
		known = known || p.ID == strategy
	}
	if !known {
		return VoteResult{}, fmt.Errorf("%w: there is no strategy %q in the tournament", ErrNotFound, strategy)
	}
	s.voteMu.Lock()
	defer s.voteMu.Unlock()
	s.mu.Lock()
	open := s.voteRound
	s.mu.Unlock()
	switch {
	case round < 1 || round > open:
		return VoteResult{}, fmt.Errorf("%w: there is no round %d open for votes (votes are open for round %d)", ErrNotFound, round, open)
	case round < open:
		return VoteResult{}, fmt.Errorf("%w: voting for round %d closed when it started; vote for round %d", ErrLocked, round, open)
	}
	now := time.Now().UnixMilli()
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return VoteResult{}, fmt.Errorf("record vote: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO tournament_votes (round, client, strategy, at_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (round, client) DO UPDATE SET strategy = excluded.strategy, at_ms = excluded.at_ms`, round, client, strategy, now); err != nil {
		return VoteResult{}, fmt.Errorf("record vote: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tournament_vote_log (round, client, strategy, at_ms) VALUES (?, ?, ?, ?)`,
		round, client, strategy, now); err != nil {
		return VoteResult{}, fmt.Errorf("record vote: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return VoteResult{}, fmt.Errorf("record vote: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, replaced := s.votersPick[client]
	if replaced {
		s.tally[prev]--
		if s.tally[prev] == 0 {
			delete(s.tally, prev)
		}
	}
	s.votersPick[client] = strategy
	s.tally[strategy]++
	res := VoteResult{Round: round, Strategy: strategy, Replaced: replaced, Votes: map[string]int{}}
	for k, v := range s.tally {
		res.Votes[k] = v
		res.Total += v
	}
	if lead := leaderOf(s.tally); lead != s.voteLeader {
		s.voteLeader = lead
		if res.Total >= 3 && s.phase == "running" {
			for _, p := range s.profiles {
				if p.ID == lead {
					s.say(Event{Kind: EventVoteSwing, Step: s.round.StepNo(), Clock: s.round.clock(), Strategy: p.ID, Name: p.Name,
						Pct: round2(100 * float64(s.tally[lead]) / float64(res.Total))})
				}
			}
		}
	}
	return res, nil
}

// RebuildTally counts round's votes from the audit log alone: the last
// vote of each client counts.
func (s *Service) RebuildTally(ctx context.Context, round int64) (map[string]int, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT client, strategy FROM tournament_vote_log WHERE round = ? ORDER BY id`, round)
	if err != nil {
		return nil, fmt.Errorf("read vote log: %w", err)
	}
	defer rows.Close()
	last := map[string]string{}
	for rows.Next() {
		var c, st string
		if err := rows.Scan(&c, &st); err != nil {
			return nil, fmt.Errorf("read vote log: %w", err)
		}
		last[c] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read vote log: %w", err)
	}
	tally := map[string]int{}
	for _, st := range last {
		tally[st]++
	}
	return tally, nil
}

// Tally returns the current votes of the open round.
func (s *Service) Tally() (round int64, votes map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	votes = map[string]int{}
	for k, v := range s.tally {
		votes[k] = v
	}
	return s.voteRound, votes
}

// CookieKey returns the secret that signs voters' cookies, creating and
// storing a random one the first time, so cookies survive a restart.
func (s *Service) CookieKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := s.db.W.QueryRowContext(ctx, `SELECT value FROM tournament_meta WHERE key = 'cookie_key'`).Scan(&key)
	if err == nil && len(key) == 32 {
		return key, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read cookie key: %w", err)
	}
	key = make([]byte, 32)
	rand.Read(key)
	if _, err := s.db.W.ExecContext(ctx, `INSERT OR REPLACE INTO tournament_meta (key, value) VALUES ('cookie_key', ?)`, key); err != nil {
		return nil, fmt.Errorf("store cookie key: %w", err)
	}
	return key, nil
}

// Commentary returns the latest lines of round (0 for the current one),
// oldest first, at most limit.
func (s *Service) Commentary(ctx context.Context, round int64, limit int) ([]Line, error) {
	if round == 0 {
		s.mu.Lock()
		round = s.roundID
		s.mu.Unlock()
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT round, step, clock, kind, strategy, text FROM (
		SELECT * FROM tournament_commentary WHERE round = ? ORDER BY id DESC LIMIT ?) ORDER BY id`, round, limit)
	if err != nil {
		return nil, fmt.Errorf("read commentary: %w", err)
	}
	defer rows.Close()
	out := []Line{}
	for rows.Next() {
		var l Line
		if err := rows.Scan(&l.Round, &l.Step, &l.Clock, &l.Kind, &l.Strategy, &l.Text); err != nil {
			return nil, fmt.Errorf("read commentary: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
