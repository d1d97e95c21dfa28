package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/bench"
	"github.com/metastation/metastation/app/command"
)

// commands lists every subcommand; this is the one place they are dispatched
// from. "serve" is what runs with no arguments.
func commands() []command.Command {
	return []command.Command{
		{Name: "serve", Summary: "serve the web app (the default)", Run: runServe},
		{Name: "bench", Summary: "measure one subsystem on this machine: bench <name> [--json]", Run: bench.Run},
		{Name: "generate", Summary: "generate synthetic data: generate --kind transactions --rows N --out FILE", Run: runGenerate},
		{Name: "ingest", Summary: "read files into memory as the Media page does: ingest [--data DIR] [--json] FILE...", Run: runIngest},
		{Name: "market", Summary: "the market: market simulate --preset equity --days N --out FILE.csv | market import FILE --symbol S | market fetch SYMBOL --out FILE.csv | market fit FILE | market crash-study", Run: runMarket},
		{Name: "research", Summary: "research agents: research ingest DIR [--seed S] [--out DIR] | research run [--seed S] [--out DIR]", Run: runResearch},
		{Name: "train", Summary: "train an agent: train --algo ppo|sac|qmix|vdn|maddpg --env cartpole|pendulum|trading|spread|matrix2|trading-ma|supply|allocation [--steps N|--episodes N] [--seed S] [--resume FILE]", Run: runTrain},
		{Name: "supply", Summary: "the supply-chain crisis room: supply compare --scenario NAME --seeds 30 [--json] | supply play --scenario NAME --seed S | supply scenarios", Run: runSupply},
		{Name: "models", Summary: "the model registry: models list | show MODEL | register MODEL --file F --kind K [--alias A] | alias MODEL ALIAS [VERSION|--at T|--delete] | rollback MODEL --reason WHY", Run: runModels},
		{Name: "cluster", Summary: "cluster mode: cluster status|join|remove|transfer --nodes HOST:PORT | cluster demo (three nodes on loopback)", Run: runCluster},
		{Name: "version", Summary: "print the version", Run: runVersion},
		{Name: "help", Summary: "show this help", Run: runHelp},
	}
}

// ExitCode maps an error from Main to the process exit status.
func ExitCode(err error) int { return command.ExitCode(err) }

// Main dispatches args to a subcommand. With no arguments, or only flags, it
// serves the web app.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, assets app.Assets) error {
	env := command.Env{Stdout: stdout, Stderr: stderr, Getenv: getenv, Assets: assets}
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	for _, c := range commands() {
		if c.Name == name {
			err := c.Run(ctx, env, args)
			if errors.Is(err, flag.ErrHelp) {
				return nil // --help printed the usage: a success
			}
			return err
		}
	}
	return command.Usagef("unknown command %q (try: metastation help)", name)
}

func runHelp(_ context.Context, env command.Env, _ []string) error {
	fmt.Fprintln(env.Stdout, "Metastation: a local lab of AI agents at work.")
	fmt.Fprintln(env.Stdout)
	fmt.Fprintln(env.Stdout, "Usage: metastation [command] [flags]")
	fmt.Fprintln(env.Stdout)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.Name, c.Summary)
	}
	tw.Flush()
	fmt.Fprintln(env.Stdout)
	fmt.Fprintln(env.Stdout, "Benchmarks:")
	tw = tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	bs := bench.List()
	names := make([]string, 0, len(bs))
	for n := range bs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(tw, "  bench %s\t%s\n", n, bs[n].Summary)
	}
	tw.Flush()
	fmt.Fprintln(env.Stdout)
	fmt.Fprintln(env.Stdout, "Run 'metastation <command> --help' for a command's flags.")
	fmt.Fprintln(env.Stdout, "Every flag has an environment twin: --no-browser is METASTATION_NO_BROWSER.")
	return nil
}

// defaultDataDir is the per-user data directory of the OS: on Linux and the
// BSDs $XDG_DATA_HOME or ~/.local/share, on macOS ~/Library/Application
// Support, on Windows %AppData%; each with "metastation" inside.
func defaultDataDir(getenv func(string) string) string {
	if runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
		if d := getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
			return filepath.Join(d, "metastation")
		}
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, ".local", "share", "metastation")
		}
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "metastation")
	}
	return ".metastation"
}

func runVersion(_ context.Context, env command.Env, _ []string) error {
	_, err := fmt.Fprintln(env.Stdout, "metastation", app.Version())
	return err
}
