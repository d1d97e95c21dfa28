-- saveVote counts a voter's ballots in a round before it takes one more
-- (the per-voter ballot cap); this index keeps that count a lookup.
CREATE INDEX tournament_vote_log_round_client ON tournament_vote_log (round, client);
