package tournament

import (
	"math"
	"slices"
	"time"
)

// CrowdAccuracy is how often the audience's favourite won this season.
type CrowdAccuracy struct {
	Rounds  int `json:"rounds"`  // finished rounds of the season that had votes
	Correct int `json:"correct"` // of them, won by the crowd's pick
}

// RoundSummary is a finished round.
type RoundSummary struct {
	Round      int64    `json:"round"`
	Scenario   string   `json:"scenario"`
	Winner     string   `json:"winner"`
	WinnerName string   `json:"winner_name"`
	CrowdPick  string   `json:"crowd_pick,omitempty"`
	Results    []Result `json:"results"`
}

// Entry is one strategy's line on the live leaderboard.
type Entry struct {
	Strategy string    `json:"strategy"`
	Name     string    `json:"name"`
	Rank     int       `json:"rank"`
	PnL      float64   `json:"pnl"`
	Return   float64   `json:"return"`
	Sharpe   float64   `json:"sharpe"`
	Sortino  float64   `json:"sortino"`
	MaxDD    float64   `json:"max_drawdown"`
	Turnover float64   `json:"turnover"`
	Fees     float64   `json:"fees"`
	Score    float64   `json:"score"`
	Scored   bool      `json:"scored"`    // Sharpe and Sortino rest on MinReturns returns or more
	Returns  int       `json:"returns"`   // one-minute returns so far
	SharpeSE float64   `json:"sharpe_se"` // annualised standard error of Sharpe
	Losses   int       `json:"losses"`    // losing one-minute returns so far
	Gross    float64   `json:"gross"`     // money in positions, long plus short
	Stopped  bool      `json:"stopped"`
	Status   string    `json:"status"` // idle, trading, winning, losing, celebrating, stopped
	Curve    []float64 `json:"curve"`  // equity, at most curvePoints points
	Position []float64 `json:"position"`
}

// Price is one instrument on the ticker.
type Price struct {
	Symbol string  `json:"symbol"`
	Mid    float64 `json:"mid"`
	Change float64 `json:"change"` // since the open, as a fraction
}

// State is the tournament's snapshot, published on tournament.state.
type State struct {
	Season      int64          `json:"season"`
	Round       int64          `json:"round"`
	Phase       string         `json:"phase"`            // starting, running, voting, sitting-out
	Notice      string         `json:"notice,omitempty"` // cluster mode: why this node sits the round out
	Scenario    string         `json:"scenario"`
	Clock       string         `json:"clock"`
	Progress    float64        `json:"progress"` // 0..1 of the round
	Regime      string         `json:"regime"`
	Speed       float64        `json:"speed"`
	ScoreBy     ScoreBy        `json:"score_by"`
	MinReturns  int            `json:"min_returns"`       // returns Sharpe and Sortino need (MinReturns)
	PeriodsPerY float64        `json:"periods_per_year"`  // the annualisation factor of those returns
	Open        string         `json:"open,omitempty"`    // the round's simulated opening time, 15:04
	Close       string         `json:"close,omitempty"`   // and its closing time
	Capital     float64        `json:"capital,omitempty"` // each strategy's starting equity
	VoteRound   int64          `json:"vote_round"`
	LockInS     float64        `json:"lock_in_s"` // real seconds until the vote round starts, when known
	Votes       map[string]int `json:"votes"`
	VoteTotal   int            `json:"vote_total"`
	VoteSeq     uint64         `json:"vote_seq"` // the tally's Seq (see Tally)
	Crowd       CrowdAccuracy  `json:"crowd"`
	Leaderboard []Entry        `json:"leaderboard"`
	Prices      []Price        `json:"prices"`
	Standings   []Standing     `json:"standings"`
	LastResult  *RoundSummary  `json:"last_result,omitempty"`
	Recent      []Line         `json:"recent"`
	Profiles    []Profile      `json:"profiles"`
	// Decision latency of the strategies' Decide calls over the last
	// decisionWindow calls of the round, in microseconds.
	DecisionP50us float64 `json:"decision_p50_us"`
	DecisionP99us float64 `json:"decision_p99_us"`
}

// curvePoints is the most points of an equity curve in the state.
const curvePoints = 240

// State returns the current snapshot.
func (s *Service) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateLocked()
}

func (s *Service) stateLocked() State {
	votes := s.votes.snapshot()
	st := State{Season: s.season.id, Round: s.roundID, Phase: s.phase, Notice: s.notice, Speed: s.cfg.Speed,
		ScoreBy: s.cfg.ScoreBy, MinReturns: MinReturns, VoteRound: votes.Round, Votes: votes.Votes, VoteTotal: votes.Total, VoteSeq: votes.Seq,
		Crowd: s.season.crowd, Standings: s.season.standings, LastResult: s.lastResult, Profiles: s.profiles,
		Recent: s.feed.recentCopy()}
	if s.phase == "voting" {
		st.LockInS = max(0, time.Until(s.lockAt).Seconds())
	}
	if s.live == nil {
		return st
	}
	r := s.live.round
	st.Scenario = s.live.scenario.Name
	st.DecisionP50us, st.DecisionP99us = decisionLatency(r.DecisionTimes())
	st.Clock = r.Clock().Format("15:04:05")
	st.Progress = float64(r.StepNo()) / float64(r.Steps())
	st.Regime = r.Regime().String()
	st.PeriodsPerY = r.PeriodsPerYear()
	st.Open, st.Close = OpenTime.Format("15:04"), OpenTime.Add(time.Duration(r.Steps())*r.cfg.Step).Format("15:04")
	st.Capital = r.cfg.Capital
	for i, in := range r.Instruments() {
		m := r.Mids(i)
		st.Prices = append(st.Prices, Price{Symbol: in.Symbol, Mid: m[len(m)-1], Change: m[len(m)-1]/m[0] - 1})
	}
	results := r.Results(s.cfg.ScoreBy)
	for _, res := range results {
		k := r.indexOf(res.Strategy)
		a := r.Account(k)
		e := Entry{Strategy: res.Strategy, Name: res.Name, Rank: res.Rank, PnL: res.PnL, Return: res.Return,
			Sharpe: res.Sharpe, Sortino: res.Sortino, MaxDD: res.MaxDrawdown, Turnover: res.Turnover, Fees: res.Fees,
			Score: res.Score, Scored: res.Scored, Returns: res.Returns, SharpeSE: res.SharpeSE, Losses: res.Losses, Stopped: a.Stopped, Curve: downsample(r.Equity(k), curvePoints),
			Position: append([]float64(nil), a.Position...)}
		for i, p := range a.Position {
			e.Gross += math.Abs(p) * r.Mids(i)[len(r.Mids(i))-1]
		}
		switch {
		case a.Stopped:
			e.Status = "stopped"
		case s.phase == "voting" && res.Rank == 1:
			e.Status = "celebrating"
		case res.Rank == 1 && res.PnL > 0:
			e.Status = "winning"
		case res.Return < -0.01:
			e.Status = "losing"
		case r.StepNo()-s.live.recentFill[k] <= 3:
			e.Status = "trading"
		default:
			e.Status = "idle"
		}
		st.Leaderboard = append(st.Leaderboard, e)
	}
	return st
}

// downsample keeps at most n points of xs, evenly spaced, always the last,
// rounded to whole units of money (the curves are for drawing).
func downsample(xs []float64, n int) []float64 {
	m := min(len(xs), n)
	out := make([]float64, 0, m)
	for k := range m {
		i := len(xs) - 1
		if m > 1 {
			i = k * (len(xs) - 1) / (m - 1)
		}
		out = append(out, math.Round(xs[i]))
	}
	return out
}

// publish sends the pending commentary and fills and the state.
func (s *Service) publish() {
	s.mu.Lock()
	var fills []Fill
	if s.live != nil {
		fills, s.live.fills = s.live.fills, nil
	}
	st := s.stateLocked()
	s.mu.Unlock()
	lines := s.feed.drain()
	if len(lines) > 0 {
		TopicCommentary.Publish(s.bus, "tournament", "", "lines", lines)
	}
	if len(fills) > 0 {
		if len(fills) > 200 {
			fills = fills[len(fills)-200:]
		}
		TopicFills.Publish(s.bus, "tournament", "", "fills", fills)
	}
	TopicState.Publish(s.bus, "tournament", "", "state", st)
}

// decisionWindow is how many recent Decide calls the live latency covers.
const decisionWindow = 2000

// decisionLatency returns the median and 99th percentile, in microseconds,
// of the last decisionWindow durations.
func decisionLatency(ds []time.Duration) (p50, p99 float64) {
	if len(ds) == 0 {
		return 0, 0
	}
	w := slices.Clone(ds[max(0, len(ds)-decisionWindow):])
	slices.Sort(w)
	at := func(q float64) float64 { return float64(w[int(q*float64(len(w)-1))]) / 1e3 }
	return at(0.50), at(0.99)
}
