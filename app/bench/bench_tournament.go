package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/tournament"
)

// TournamentBenchResult is what `metastation bench tournament --json`
// prints last.
type TournamentBenchResult struct {
	Rounds        int     `json:"rounds"`
	StepsPerRound int     `json:"steps_per_round"`
	Decisions     int     `json:"decisions"`
	DecisionsPerS float64 `json:"decisions_per_s"` // Decide calls per second of the whole round loop (market included)
	DecisionP50us float64 `json:"decision_p50_us"`
	DecisionP99us float64 `json:"decision_p99_us"`
	DecisionMaxus float64 `json:"decision_max_us"`
	RoundWallS    float64 `json:"round_wall_s"` // one full round (a trading day) at maximum speed, median over the rounds
	StepsPerS     float64 `json:"steps_per_s"`
}

// runBenchTournament is `metastation bench tournament`: full rounds of the
// five strategies at maximum speed, every Decide call timed.
func runBenchTournament(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench tournament", env.Stderr)
	rounds := fs.Int("rounds", 5, "full rounds to run")
	seed := fs.Uint64("seed", 1, "random seed of the first round")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *rounds < 1 || *rounds > 1000 {
		return command.Usagef("bench tournament: --rounds must be between 1 and 1000")
	}
	bar := progressbar.NewOptions(*rounds, progressbar.OptionSetWriter(env.Stderr),
		progressbar.OptionSetDescription("rounds"), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(250*time.Millisecond))
	var times []time.Duration
	var walls []float64
	res := TournamentBenchResult{Rounds: *rounds}
	var total time.Duration
	for k := range *rounds {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := tournament.NewRound(tournament.RoundConfig{Seed: *seed + uint64(k), Script: tournament.DefaultScript})
		if err != nil {
			return err
		}
		r.TimeDecisions(true)
		start := time.Now()
		for !r.Done() {
			r.Step()
			r.DrainFills()
			r.DrainEvents()
		}
		wall := time.Since(start)
		r.Results(tournament.BySortino)
		total += wall
		walls = append(walls, wall.Seconds())
		times = append(times, r.DecisionTimes()...)
		res.StepsPerRound = r.Steps()
		bar.Add(1)
	}
	bar.Finish()
	slices.Sort(times)
	slices.Sort(walls)
	q := func(p float64) float64 { return float64(times[int(p*float64(len(times)-1))]) / 1e3 }
	res.Decisions = len(times)
	res.DecisionsPerS = float64(len(times)) / total.Seconds()
	res.DecisionP50us, res.DecisionP99us, res.DecisionMaxus = q(0.5), q(0.99), q(1)
	res.RoundWallS = walls[len(walls)/2]
	res.StepsPerS = float64(res.StepsPerRound**rounds) / total.Seconds()
	fmt.Fprintf(env.Stdout, "tournament: %d rounds of %d steps, five strategies\n", res.Rounds, res.StepsPerRound)
	fmt.Fprintf(env.Stdout, "  decisions:       %.0f/s (the whole loop, market included)\n", res.DecisionsPerS)
	fmt.Fprintf(env.Stdout, "  decision time:   p50 %.1f µs, p99 %.1f µs, max %.1f µs\n", res.DecisionP50us, res.DecisionP99us, res.DecisionMaxus)
	fmt.Fprintf(env.Stdout, "  one round:       %.3f s at maximum speed (%.0f steps/s)\n", res.RoundWallS, res.StepsPerS)
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}
