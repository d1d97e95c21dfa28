package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/supply"
)

// runSupply is `metastation supply compare|play|scenarios`.
func runSupply(ctx context.Context, env command.Env, args []string) error {
	if len(args) > 0 && command.IsHelpFlag(args[0]) {
		fmt.Fprintln(env.Stdout, "Usage: metastation supply compare|play|scenarios [flags]; 'metastation supply <sub> --help' for each one's flags.")
		return nil
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return command.Usagef("supply needs a subcommand: compare, play or scenarios")
	}
	switch args[0] {
	case "compare":
		return runSupplyCompare(ctx, env, args[1:])
	case "play":
		return runSupplyPlay(env, args[1:])
	case "scenarios":
		return runSupplyScenarios(env)
	}
	return command.Usagef("unknown supply subcommand %q (compare, play or scenarios)", args[0])
}

// runSupplyCompare plays coordinated, uncoordinated (Sterman), tuned
// base-stock and, when given, learned teams over many seeds of a scenario
// and reports means, 95 % intervals and paired tests.
func runSupplyCompare(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("supply compare", env.Stderr)
	scenario := fs.String("scenario", "port-closure", "named scenario (metastation supply scenarios lists them)")
	script := fs.String("script", "", "JSON `file` of your own scenario: {\"name\", \"preset\", \"crises\": [...]} (instead of --scenario)")
	seeds := fs.Int("seeds", 30, "evaluation seeds 1..N, every arm on each (paired)")
	tuneSeeds := fs.Int("tune-seeds", 10, "other seeds the base-stock safety factor is tuned on")
	learned := fs.String("learned", "", "multi-agent checkpoint `file` trained on the supply world (metastation train --env supply --algo qmix --out FILE) for the learned arm")
	trainAlgo := fs.String("train", "", "train the learned arm here first with this algorithm: qmix, vdn or maddpg")
	episodes := fs.Int("episodes", 300, "training episodes with --train")
	asJSON := fs.Bool("json", false, "print the comparison as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *learned != "" && *trainAlgo != "" {
		return command.Usagef("supply compare: --learned and --train both give the learned arm; choose one")
	}
	cfg := supply.CompareConfig{Scenario: *scenario, Seeds: *seeds, TuneSeeds: *tuneSeeds}
	if *script != "" {
		sc, err := readScenarioFile(*script)
		if err != nil {
			return err
		}
		cfg.Custom = &sc
	}
	ctrl, label, err := learnedArm(ctx, env, *learned, *trainAlgo, *episodes)
	if err != nil {
		return err
	}
	cfg.Learned, cfg.LearnedLabel = ctrl, label
	bar := progressbar.NewOptions(1, progressbar.OptionSetWriter(env.Stderr), progressbar.OptionSetDescription("runs"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	cfg.Progress = func(done, total int) {
		bar.ChangeMax(total)
		_ = bar.Set(done)
	}
	res, err := supply.Compare(ctx, cfg)
	_ = bar.Finish()
	if err != nil {
		return supplyError("supply compare", err)
	}
	fmt.Fprint(env.Stdout, res.Summary())
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}

// learnedArm loads or trains the learned arm's controller (nil without
// either flag).
func learnedArm(ctx context.Context, env command.Env, path, algo string, episodes int) (marl.Controller, string, error) {
	switch {
	case path != "":
		c, label, err := supply.LoadLearned(path)
		if err != nil {
			return nil, "", supplyError("supply compare", err)
		}
		return c, label, nil
	case algo != "":
		bar := progressbar.NewOptions(episodes, progressbar.OptionSetWriter(env.Stderr), progressbar.OptionSetDescription("training "+algo),
			progressbar.OptionShowCount(), progressbar.OptionSetItsString("episodes"), progressbar.OptionShowIts(),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		c, label, err := supply.TrainLearned(ctx, algo, episodes, 1, func(done, _ int) { _ = bar.Set(done) })
		_ = bar.Finish()
		if err != nil {
			return nil, "", supplyError("supply compare", err)
		}
		return c, label, nil
	}
	return nil, "", nil
}

// runSupplyPlay plays one run of a preset or scenario and its
// no-disruption twin, and prints the KPIs of both and of each crisis.
func runSupplyPlay(env command.Env, args []string) error {
	fs := command.NewFlagSet("supply play", env.Stderr)
	scenario := fs.String("scenario", "port-closure", "named scenario (metastation supply scenarios lists them)")
	script := fs.String("script", "", "JSON `file` of your own scenario (instead of --scenario)")
	seed := fs.Uint64("seed", 1, "demand `seed`; the same seed gives the same run")
	policy := fs.String("policy", supply.PolicyBaseStock, "every ordering role's policy: basestock or sterman")
	coordinated := fs.Bool("coordinated", true, "the coordinator shares point-of-sale demand, rations and reroutes")
	z := fs.Float64("z", 2, "base-stock safety factor")
	asJSON := fs.Bool("json", false, "print the KPIs as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	sc, err := supply.ScenarioByName(*scenario)
	if *script != "" {
		sc, err = readScenarioFile(*script)
	}
	if err != nil {
		return supplyError("supply play", err)
	}
	if *policy == supply.PolicyLearned {
		return command.Usagef("supply play: the learned policy plays in supply compare (--learned or --train)")
	}
	n, err := supply.Preset(sc.Preset)
	if err != nil {
		return supplyError("supply play", err)
	}
	crises := sc.Crises
	if sc.RandomRate > 0 {
		crises = supply.RandomCrises(n, *seed, 10, sc.RandomRate)
	}
	strat := supply.Uniform("cli", *policy, *coordinated, *z)
	res, err := supply.Play(n, *seed, strat, crises, nil, "")
	if err != nil {
		return supplyError("supply play", err)
	}
	fmt.Fprintf(env.Stdout, "%s, seed %d, %s (coordinated %v)\n", sc.Title, *seed, *policy, *coordinated)
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\trun\ttwin")
	fmt.Fprintf(tw, "total cost\t%.1f\t%.1f\n", res.KPIs.TotalCost, res.Twin.TotalCost)
	fmt.Fprintf(tw, "fill rate\t%.3f\t%.3f\n", res.KPIs.FillRate, res.Twin.FillRate)
	fmt.Fprintf(tw, "cycle service level\t%.3f\t%.3f\n", res.KPIs.CycleService, res.Twin.CycleService)
	fmt.Fprintf(tw, "unmet demand\t%.0f\t%.0f\n", res.KPIs.Unmet, res.Twin.Unmet)
	for i, b := range res.KPIs.Bullwhip {
		fmt.Fprintf(tw, "bullwhip %s (tier %d)\t%.2f\t%.2f\n", b.Node, b.Tier, b.Ratio, res.Twin.Bullwhip[i].Ratio)
	}
	tw.Flush()
	for _, d := range res.KPIs.Disruptions {
		fmt.Fprintf(env.Stdout, "%s: survived %d periods%s, recovered %d periods after its end%s, extra cost %.1f, extra unmet %.0f\n",
			d.Crisis.Describe(), d.TimeToSurvive, map[bool]string{true: " (no extra shortage)", false: ""}[d.Survived],
			d.TimeToRecover, map[bool]string{true: "", false: " (not yet at the end)"}[d.Recovered], d.ExtraCost, d.ExtraUnmet)
	}
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}

func runSupplyScenarios(env command.Env) error {
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tnetwork\twhat")
	for _, sc := range supply.Scenarios() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", sc.Name, sc.Preset, sc.Title)
	}
	tw.Flush()
	fmt.Fprintf(env.Stdout, "networks: %s; your own scenario: --script FILE\n", strings.Join(supply.PresetNames(), ", "))
	return nil
}

func readScenarioFile(path string) (supply.Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return supply.Scenario{}, command.Usagef("supply: cannot open the scenario script: %v", err)
	}
	defer f.Close()
	sc, err := supply.ReadScenario(f)
	if err != nil {
		return supply.Scenario{}, supplyError("supply", err)
	}
	return sc, nil
}

// supplyError makes a domain refusal a usage mistake (exit status 2) with
// its sentence, and wraps anything else.
func supplyError(cmd string, err error) error {
	switch errs.CodeOf(err) {
	case errs.Invalid, errs.NotFound, errs.Unavailable:
		return command.Usagef("%s: %s", cmd, errs.MessageOf(err))
	}
	return fmt.Errorf("%s: %w", cmd, err)
}
